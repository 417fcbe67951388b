import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import KeywordIndex

@Suite struct KeywordIndexFileTests {
    static func sample() throws -> KeywordIndex {
        var index = KeywordIndex(tokenizer: .english, parameters: BM25Parameters(k1: 1.2, b: 0.6))
        let texts = [
            "Opening files with the standard library", "Sockets and network streams", "東京の天気予報",
            "Café menus in Zürich", "Parsing JSON lines with line numbers", "Files, streams and buffers",
        ]
        for (offset, text) in texts.enumerated() { try index.add(text, id: DocumentID(UInt64(100 + offset))) }
        try index.remove(101)
        try index.upsert("Network sockets, revisited", id: 103)
        return index
    }

    /// Saves ``sample()`` to `keywords.mkix` in `directory` and returns the file's path.
    static func savedSample(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("keywords.mkix")
        try sample().save(to: path)
        return path
    }

    static let queries = ["files streams", "network socket", "天気", "zurich café", "json", "nothing here"]

    @Test func roundTripKeepsConfigurationScoresAndTombstones() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = try Self.sample()
        let path = directory.file("keywords.mkix")
        try index.save(to: path)
        let loaded = try KeywordIndex(contentsOf: path)
        #expect(loaded.tokenizerConfiguration == .english)
        #expect(loaded.parameters == BM25Parameters(k1: 1.2, b: 0.6))
        #expect(loaded.count == index.count && loaded.tombstoneCount == index.tombstoneCount)
        for query in Self.queries {
            #expect(try loaded.search(query, k: 10) == index.search(query, k: 10), "\(query)")
        }
        // The loaded index keeps working incrementally.
        var updated = loaded
        try updated.add("more files", id: 500)
        try updated.remove(100)
        #expect(try updated.search("files", k: 10).map(\.id) == [500, 105])
        #expect(loaded.matchedTerms("network files", in: 103) == ["network"])
    }

    @Test func everyFlippedByteIsCaught() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.savedSample(in: directory)
        let damaged = directory.file("damaged.mkix")
        // Every byte of the header and section table, then a stride through each section (alignment padding
        // between sections is covered by no checksum and read by no one).
        let layout = try MappedIndexFile(path: path, magic: "MKIX", readableVersions: 1...1)
        let tableEnd = 128 + 32 * layout.sections.count
        var positions = Array(0..<tableEnd)
        for section in layout.sections {
            positions += Array(stride(from: section.offset, to: section.offset + section.length, by: 5))
        }
        #expect(positions.count > 400)
        try forEachFlippedByte(of: path, at: positions, mask: 0x5A, writingTo: damaged) { position in
            #expect(throws: IndexError.self, "byte \(position)") { try KeywordIndex(contentsOf: damaged) }
        }
    }

    @Test func truncationIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.savedSample(in: directory)
        let cut = directory.file("cut.mkix")
        try forEachTruncation(of: path, every: 13, writingTo: cut) { length in
            #expect(throws: IndexError.self, "length \(length)") { try KeywordIndex(contentsOf: cut) }
        }
    }

    /// With checksums skipped, structural checks still stop a file whose sections were rewritten consistently
    /// (valid checksums, impossible content).
    @Test func structuralDamageIsCaughtWithoutChecksums() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.mkix")
        let index = try Self.sample()
        var rowIDs = index.rowIDs
        rowIDs[2] = rowIDs[0]  // two live rows with one ID
        try Self.write(index, rowIDs: rowIDs, to: path)
        #expect(throws: IndexError.corrupted(path: path, section: "RIDS", reason: "ID 100 is live twice")) {
            try KeywordIndex(contentsOf: path, verifyChecksums: false)
        }
        var lengths = index.rowLength
        lengths[0] += 1
        try Self.write(index, rowLength: lengths, to: path)
        #expect(
            throws: IndexError.corrupted(
                path: path, section: "RLEN", reason: "document lengths differ from their postings")
        ) {
            try KeywordIndex(contentsOf: path, verifyChecksums: false)
        }
    }

    /// With checksums skipped, any flipped byte in any section either throws or loads an index that searches
    /// without crashing (a flip in an ID or a term can yield a different but valid index).
    @Test func flippedBytesWithoutChecksumsNeverCrash() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.savedSample(in: directory)
        let layout = try MappedIndexFile(path: path, magic: "MKIX", readableVersions: 1...1)
        let damaged = directory.file("damaged.mkix")
        let positions = layout.sections.flatMap { Array($0.offset..<$0.offset + $0.length) }
        var loaded = 0
        for mask: UInt8 in [0x01, 0x80] {
            try forEachFlippedByte(of: path, at: positions, mask: mask, writingTo: damaged) { _ in
                guard let index = try? KeywordIndex(contentsOf: damaged, verifyChecksums: false) else { return }
                loaded += 1
                for query in Self.queries { _ = try index.search(query, k: 3) }
            }
        }
        #expect(loaded > 0)  // some flips (in IDs, term bytes) are legal; the rest must have thrown
    }

    /// Writes `index` with some arrays replaced, through the same container, so checksums are valid.
    static func write(
        _ index: KeywordIndex, rowIDs: [DocumentID]? = nil, rowLength: [UInt32]? = nil, to path: String
    ) throws {
        var copy = index
        copy.rowIDs = rowIDs ?? index.rowIDs
        copy.rowLength = rowLength ?? index.rowLength
        try copy.save(to: path)
    }

    @Test func wrongMagicIsNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try expectRefusesIndexFile(ofKind: "XXXX", expecting: "MKIX", in: directory) {
            try KeywordIndex(contentsOf: $0)
        }
    }

    /// A process killed with SIGKILL while saving leaves the previous file or the new one, never a mix.
    @Test func killDuringSaveLeavesACompleteFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("keywords.mkix")
        await #expect(processExitsWith: .signal(SIGKILL)) { [path = path as String] in
            var first = KeywordIndex(tokenizer: .plain)
            try first.add("alpha beta", id: 1)
            try first.save(to: path)
            var second = first
            for id in 2..<3_000 { try second.add("gamma delta w\(id)", id: DocumentID(UInt64(id))) }
            let saving = Thread { [second] in
                while true { try? second.save(to: path) }
            }
            saving.start()
            // Kill as soon as a save is under way (its temporary file exists).
            let directory = IndexFileWriter.directory(of: path)
            while !((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains(where: {
                $0.contains(".tmp-")
            }) {}
            kill(getpid(), SIGKILL)
        }
        let survivor = try KeywordIndex(contentsOf: path)
        #expect(survivor.count == 1 || survivor.count == 2_999)
        #expect(try survivor.search("alpha", k: 1).map(\.id) == [1])
    }
}
