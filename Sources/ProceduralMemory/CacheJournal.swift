import HybridSearch
import RetrievalCore

/// The changes to a store's cached indexes since their files were written: what a save writes, instead of rewriting
/// the files, while the changes stay small beside them.
///
/// At 100,000 memories of 384 dimensions the files are 219 MB, and a write of one memory rewrote all of it: a save now
/// writes the memories added and the numbers removed since the files (``IndexCache``'s `journal.changes`), and only
/// rewrites the files once the journal grows past an eighth of them (``IndexCache/journalFraction``), so writes cost
/// what they change, amortized. A load replays the journal over the files: removals, then additions in number order,
/// through the same ``HybridSearch/HybridIndex`` calls the writer made, so lookups rank as they did in the writer
/// (BM25 and cosine scores depend only on the live documents; ties go to the lower number).
struct CacheJournal: Sendable, Equatable {
    /// What one added memory gave the index: its search text and task vector, as given (not normalized).
    struct Addition: Sendable, Equatable {
        var text: String
        var vector: [Float]
    }

    /// The digests of the cache files the changes apply to, by file name.
    var base: [String: FileDigest]
    /// The memories added since the files, by number; a memory replaced since is removed, then added.
    var added: [DocumentID: Addition] = [:]
    /// The numbers removed since the files: of memories the files hold, or of memories added since and removed again.
    var removed: Set<DocumentID> = []

    /// Whether nothing changed since the files.
    var isEmpty: Bool { added.isEmpty && removed.isEmpty }

    /// About how many bytes the journal file takes.
    var byteCount: Int {
        added.values.reduce(removed.count * 8) { $0 + 8 + 8 + $1.text.utf8.count + $1.vector.count * 4 }
    }

    /// The additions in number order: the order a load replays them in and the journal file holds them.
    var additionsInOrder: [(number: DocumentID, addition: Addition)] {
        added.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Records a memory added to the index.
    mutating func recordAddition(number: DocumentID, text: String, vector: [Float]) {
        added[number] = Addition(text: text, vector: vector)
    }

    /// Records a memory removed from the index.
    mutating func recordRemoval(number: DocumentID) {
        added[number] = nil
        removed.insert(number)
    }

    /// Applies the changes to the index loaded from the base files.
    ///
    /// - Throws: ``RetrievalCore/IndexError`` when an addition doesn't fit the index (a number it holds, a vector of
    ///   another dimension): the journal is not of these files.
    func replay(on index: inout HybridIndex) throws(IndexError) {
        for number in removed.sorted() where index.contains(number) { try index.remove(number) }
        for (number, addition) in additionsInOrder {
            try index.add(text: addition.text, vector: addition.vector, id: number)
        }
    }
}

extension CacheJournal {
    /// The journal file's magic and format version, in Memp's index file container (``RetrievalCore/IndexFileWriter``),
    /// whose per-section checksums cover its contents.
    static let magic = "MJNL"
    static let formatVersion: UInt32 = 1

    /// Writes the changes to `path`, atomically.
    ///
    /// Header fields: dimension, removed count, added count. Sections: `RMVD` the removed numbers, `ADID` the added
    /// numbers (ascending), `ADVC` their vectors (added count × dimension floats), `TXOF` the offsets of their texts
    /// in `TEXT` (added count + 1), `TEXT` the texts' UTF-8 bytes.
    ///
    /// - Throws: ``RetrievalCore/IndexError/io(path:reason:)``.
    func write(to path: String, dimension: Int) throws(IndexError) {
        let additions = additionsInOrder
        var vectors: [Float] = []
        vectors.reserveCapacity(additions.count * dimension)
        var offsets: [UInt64] = [0]
        var text: [UInt8] = []
        for (_, addition) in additions {
            vectors += addition.vector
            text += addition.text.utf8
            offsets.append(UInt64(text.count))
        }
        let writer = try IndexFileWriter(
            path: path, magic: Self.magic, version: Self.formatVersion,
            fields: [UInt64(dimension), UInt64(removed.count), UInt64(additions.count)], sectionCapacity: 5)
        try writer.appendSection("RMVD", removed.sorted().map(\.rawValue))
        try writer.appendSection("ADID", additions.map(\.number.rawValue))
        try writer.appendSection("ADVC", vectors)
        try writer.appendSection("TXOF", offsets)
        try writer.appendSection("TEXT", text)
        try writer.commit()
    }

    /// Reads the changes a journal file holds over the files `base` describes.
    ///
    /// - Throws: ``RetrievalCore/IndexError`` for a file that isn't a journal of this format or this dimension, or
    ///   whose sections disagree with its header.
    init(contentsOf path: String, dimension: Int, base: [String: FileDigest]) throws(IndexError) {
        let file = try MappedIndexFile(
            path: path, magic: Self.magic, readableVersions: Self.formatVersion...Self.formatVersion)
        guard file.fields[0] == UInt64(dimension) else {
            throw .corrupted(
                path: path, section: "header", reason: "dimension \(file.fields[0]), the store's \(dimension)")
        }
        // Counts come from the file: each is checked against its section's length before it sizes anything.
        guard let removedCount = Int(exactly: file.fields[1]), let addedCount = Int(exactly: file.fields[2]) else {
            throw .corrupted(path: path, section: "header", reason: "counts out of range")
        }
        let removed = try file.array("RMVD", of: UInt64.self, expectedCount: removedCount)
        let numbers = try file.array("ADID", of: UInt64.self, expectedCount: addedCount)
        let (vectorCount, overflow) = addedCount.multipliedReportingOverflow(by: dimension)
        guard !overflow, addedCount < Int.max else {
            throw .corrupted(path: path, section: "header", reason: "counts out of range")
        }
        let vectors = try file.array("ADVC", of: Float.self, expectedCount: vectorCount)
        let offsets = try file.array("TXOF", of: UInt64.self, expectedCount: addedCount + 1)
        let text = try file.array("TEXT", of: UInt8.self)
        guard offsets.first == 0, offsets.last == UInt64(text.count), zip(offsets, offsets.dropFirst()).allSatisfy(<=)
        else {
            throw .corrupted(path: path, section: "TXOF", reason: "the text offsets don't partition the text")
        }
        self.base = base
        self.removed = Set(removed.map(DocumentID.init(rawValue:)))
        for (position, number) in numbers.enumerated() {
            let bytes = text[Int(offsets[position])..<Int(offsets[position + 1])]
            added[DocumentID(rawValue: number)] = Addition(
                text: String(decoding: bytes, as: UTF8.self),
                vector: Array(vectors[position * dimension..<(position + 1) * dimension]))
        }
        guard added.count == addedCount else {
            throw .corrupted(path: path, section: "ADID", reason: "a number is added twice")
        }
    }
}
