import Embeddings
import Foundation
import KeywordIndex
import RetrievalCore
import VectorIndex

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The collection directory format.
///
///     DIR/CURRENT                     the name of the live generation, e.g. "generation-000003"
///     DIR/LOCK                        held (flock) by a writer, so concurrent saves and updates take turns
///     DIR/generation-000003/
///         manifest.json               format version, configuration, document count, next internal ID, and
///                                     each file's size and CRC-32C (format 2)
///         vectors.mvi                 the HybridIndex's vector file (magic MVIX)
///         keywords.mkix               the HybridIndex's keyword file (magic MKIX)
///         documents.mdoc              IDs, texts and metadata (magic MDOC, same checksummed container)
///
/// A save writes a complete new generation beside the live one, syncs it, then replaces `CURRENT` atomically
/// (temporary file, fsync, rename, directory fsync) and deletes older generations. A crash at any moment leaves
/// `CURRENT` naming a complete generation. Readers take no lock: one that finds a file of the generation it read
/// in `CURRENT` deleted by a save reads the generation that replaced it.
public enum CollectionFormat {
    /// The format version this build writes.
    public static let version = 2
    /// The format versions this build reads: 1 (manifests without file digests) and 2.
    public static let readableVersions = 1...2
    static let currentFile = "CURRENT"
    static let lockFile = "LOCK"
    static let generationPrefix = "generation-"
    static let manifestFile = "manifest.json"
    static let documentFile = "documents.mdoc"
    static let documentMagic = "MDOC"
    /// The files a generation holds besides its manifest, which records their digests.
    static let dataFiles = [
        HybridIndex.FileNames.standard.vectors, HybridIndex.FileNames.standard.keywords, documentFile,
    ]
    /// The most internal IDs a collection allocates.
    ///
    /// Every JSON reader holds integers up to 2^53 exactly (the manifest records the next ID), and no collection
    /// adds that many documents. Rebuilding renumbers from 0.
    public static let maximumNextID: UInt64 = 1 << 53
}

/// The contents of `manifest.json`.
struct CollectionManifest: Codable, Equatable {
    var format: Int
    var configuration: CollectionConfiguration
    var documents: Int
    var nextID: UInt64
    /// Each data file's size and CRC-32C, by name; `nil` in format 1, which recorded none.
    var files: [String: FileDigest]?
}

extension DocumentCollection {
    /// Writes the collection into `directory` (created if needed) as a new generation, atomically.
    ///
    /// A collection opened from `directory` (or saved there last) is saved only if the generation it holds is
    /// still the live one, so that a save never drops what another writer saved meanwhile; a collection from
    /// elsewhere replaces what `directory` holds. ``update(at:embedder:verifyChecksums:_:)`` opens, changes and
    /// saves without another writer in between.
    ///
    /// - Throws: ``CollectionError/generationChanged(path:opened:current:)`` when another writer saved to
    ///   `directory` since this collection was read from it, ``CollectionError/io(path:reason:)`` or
    ///   ``CollectionError/index(_:)``; the previous generation then stays live.
    /// - Complexity: Writes every document, vector and posting once.
    public mutating func save(to directory: String) throws(CollectionError) {
        do { try FileManager.default.createDirectories(atPath: directory) } catch {
            throw CollectionError.io(path: directory, reason: "can't create the directory: \(error)")
        }
        let lock = try DocumentCollection.lockExclusively(directory)
        defer { close(lock) }  // closing releases the lock
        try saveHoldingLock(to: directory)
    }

    /// Opens the live generation of `directory`, lets `change` modify it, and saves the result as the next
    /// generation, all under the directory's lock: concurrent updates and saves take turns, and each update starts
    /// from what the one before saved.
    ///
    /// - Parameters:
    ///   - directory: A collection directory.
    ///   - embedder: As for ``init(contentsOf:embedder:verifyChecksums:)``.
    ///   - verifyChecksums: As for ``init(contentsOf:embedder:verifyChecksums:)``.
    ///   - change: Modifies the collection; when it throws, nothing is saved.
    /// - Returns: The collection as saved.
    /// - Throws: What opening, `change` and ``save(to:)`` throw; the live generation is then unchanged.
    @discardableResult
    public static func update(
        at directory: String, embedder: (any Embedder)? = nil, verifyChecksums: Bool = true,
        _ change: (inout DocumentCollection) throws(CollectionError) -> Void
    ) throws(CollectionError) -> DocumentCollection {
        _ = try currentGeneration(in: directory)  // "not a collection directory" rather than a LOCK file there
        let lock = try lockExclusively(directory)
        defer { close(lock) }
        var collection = try DocumentCollection(
            contentsOf: directory, embedder: embedder, verifyChecksums: verifyChecksums)
        try change(&collection)
        try collection.saveHoldingLock(to: directory)
        return collection
    }

    /// Opens and exclusively locks `directory/LOCK`; closing the descriptor releases it.
    private static func lockExclusively(_ directory: String) throws(CollectionError) -> Int32 {
        let lockPath = directory + "/" + CollectionFormat.lockFile
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw CollectionError.io(path: lockPath, reason: String(cString: strerror(errno))) }
        guard flock(lock, LOCK_EX) == 0 else {
            let reason = String(cString: strerror(errno))
            close(lock)
            throw CollectionError.io(path: lockPath, reason: reason)
        }
        return lock
    }

    /// The identity of a directory (device and inode), which tells the same directory under two spellings of its
    /// path; `nil` when it can't be read.
    private static func identity(of directory: String) -> DirectoryIdentity? {
        var status = stat()
        guard stat(directory, &status) == 0 else { return nil }
        return DirectoryIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Writes the next generation; the caller holds the directory's lock.
    private mutating func saveHoldingLock(to directory: String) throws(CollectionError) {
        let files = FileManager.default
        let current = try? DocumentCollection.currentGeneration(in: directory)
        let target = DocumentCollection.identity(of: directory)
        if let origin, origin.directory == target, let current, current.name != origin.generation {
            throw CollectionError.generationChanged(path: directory, opened: origin.generation, current: current.name)
        }
        let existing = DocumentCollection.generations(in: directory)
        let number = (existing.map(\.number).max() ?? current?.number ?? 0) + 1
        let name = CollectionFormat.generationPrefix + String(format: "%06d", number)
        let generation = directory + "/" + name
        do {
            try files.createDirectory(atPath: generation, withIntermediateDirectories: false)
        } catch {
            throw CollectionError.io(
                path: generation, reason: "can't create the generation: \(systemErrorText(of: error))")
        }
        do {
            try index.save(to: generation)
            try saveDocuments(to: generation + "/" + CollectionFormat.documentFile)
        } catch {
            throw CollectionError.index(error)
        }
        var digests: [String: FileDigest] = [:]
        for file in CollectionFormat.dataFiles {
            let path = generation + "/" + file
            do { digests[file] = try FileDigest(ofFileAt: path) } catch {
                throw CollectionError.io(path: path, reason: "the file just written \(error)")
            }
        }
        let manifest = CollectionManifest(
            format: CollectionFormat.version, configuration: configuration, documents: count, nextID: nextID,
            files: digests)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let manifestData: Data
        do { manifestData = try encoder.encode(manifest) } catch {
            throw CollectionError.io(path: generation, reason: "can't encode the manifest: \(error)")
        }
        try DocumentCollection.writeDurably(manifestData, to: generation + "/" + CollectionFormat.manifestFile)
        try DocumentCollection.syncDirectory(generation)
        try DocumentCollection.writeDurably(
            Data((name + "\n").utf8), to: directory + "/" + CollectionFormat.currentFile)
        origin = target.map { Origin(directory: $0, generation: name) }
        for old in existing where old.name != name {
            try? files.removeItem(atPath: directory + "/" + old.name)
        }
    }

    /// Opens a collection saved with ``save(to:)``.
    ///
    /// Takes no lock: when a save replaces the generation `CURRENT` named and deletes it while this reads its
    /// files, the generation that replaced it is read instead.
    ///
    /// - Parameters:
    ///   - directory: The collection directory.
    ///   - embedder: The embedder for text queries and new texts; must be the one the collection records.
    ///   - verifyChecksums: Whether to check every file against its digest in the manifest (format 2) and every
    ///     section of every file; file sizes are checked either way.
    /// - Throws: ``CollectionError/io(path:reason:)``, ``CollectionError/corrupted(path:reason:)``,
    ///   ``CollectionError/unsupportedFormat(path:version:)``, ``CollectionError/index(_:)`` for a damaged
    ///   index file, or ``CollectionError/embedderMismatch(collection:given:)``.
    public init(contentsOf directory: String, embedder: (any Embedder)? = nil, verifyChecksums: Bool = true)
        throws(CollectionError)
    {
        try self.init(
            contentsOf: directory, generation: try DocumentCollection.currentGeneration(in: directory).name,
            embedder: embedder, verifyChecksums: verifyChecksums)
    }

    /// Opens `generation` of `directory`, read from `CURRENT` by the caller, or the generation that replaced it.
    init(contentsOf directory: String, generation: String, embedder: (any Embedder)?, verifyChecksums: Bool)
        throws(CollectionError)
    {
        self = try DocumentCollection.readingLiveGeneration(in: directory, from: generation) {
            (name) throws(CollectionError) in
            try DocumentCollection(
                loading: name, in: directory, embedder: embedder, verifyChecksums: verifyChecksums)
        }
    }

    /// What `read` makes of generation `name`, or, when it fails and `CURRENT` names another generation by now, of
    /// that one: a save deletes the generation it replaces, perhaps while a reader that read `CURRENT` before it
    /// opens that generation's files.
    ///
    /// A failure with `CURRENT` unchanged is the generation's own and is thrown. Each retry follows a save that
    /// completed, so a reader retries only as often as writers publish.
    static func readingLiveGeneration<Value>(
        in directory: String, from name: String, _ read: (String) throws(CollectionError) -> Value
    ) throws(CollectionError) -> Value {
        var name = name
        while true {
            do {
                return try read(name)
            } catch {
                guard let live = try? currentGeneration(in: directory).name, live != name else { throw error }
                name = live
            }
        }
    }

    /// Opens generation `name` of `directory` as it is.
    private init(loading name: String, in directory: String, embedder: (any Embedder)?, verifyChecksums: Bool)
        throws(CollectionError)
    {
        let generation = directory + "/" + name
        let manifest = try DocumentCollection.readManifest(of: generation)
        let configuration = manifest.configuration
        if let embedder { try DocumentCollection.check(embedder, against: configuration) }
        self.configuration = configuration
        self.embedder = embedder
        let filesChecksummed = try DocumentCollection.checkFiles(
            of: generation, against: manifest, verifyChecksums: verifyChecksums)
        // A whole file's checksum covers every section of it.
        let sectionChecksums = verifyChecksums && !filesChecksummed
        do {
            index = try HybridIndex(contentsOf: generation, verifyChecksums: sectionChecksums)
            records = try DocumentCollection.loadDocuments(
                from: generation + "/" + CollectionFormat.documentFile, verifyChecksums: sectionChecksums)
        } catch {
            throw CollectionError.index(error)
        }
        nextID = manifest.nextID
        origin = DocumentCollection.identity(of: directory).map { Origin(directory: $0, generation: name) }
        guard index.vectors.dimension == configuration.dimension, index.vectors.metric == configuration.metric,
            index.keywords.tokenizerConfiguration == configuration.tokenizer,
            index.keywords.parameters == configuration.bm25
        else {
            throw CollectionError.corrupted(path: generation, reason: "the index files disagree with the manifest")
        }
        guard records.count == manifest.documents, index.count == records.count,
            records.keys.allSatisfy({ index.contains($0) && $0.rawValue < nextID })
        else {
            throw CollectionError.corrupted(
                path: generation, reason: "the vector index, keyword index and documents hold different IDs")
        }
        for (storedID, record) in records {
            guard internalIDs.updateValue(storedID, forKey: record.id) == nil else {
                throw CollectionError.corrupted(path: generation, reason: "document \"\(record.id)\" appears twice")
            }
            for (key, value) in record.metadata {
                metadataIndex[key, default: [:]][value, default: []].insert(storedID)
            }
        }
    }

    /// Checks each data file of `generation` against its size and (when `verifyChecksums`) its CRC-32C in the
    /// manifest, so that a file of another generation or collection in its place is refused.
    ///
    /// - Returns: Whether every file's checksum was checked: when `verifyChecksums` and the manifest records digests
    ///   (format 2; format 1 records none, and nothing is checked).
    private static func checkFiles(of generation: String, against manifest: CollectionManifest, verifyChecksums: Bool)
        throws(CollectionError) -> Bool
    {
        guard let digests = manifest.files else { return false }
        let manifestPath = generation + "/" + CollectionFormat.manifestFile
        for file in CollectionFormat.dataFiles {
            guard let expected = digests[file] else {
                throw CollectionError.corrupted(path: manifestPath, reason: "field files lists no \(file)")
            }
            let path = generation + "/" + file
            let actual: FileDigest
            do {
                // Without checksums, only the size is measured; the recorded checksum stands in for the file's.
                actual =
                    try verifyChecksums
                    ? FileDigest(ofFileAt: path)
                    : FileDigest(bytes: RegularFile.size(of: path), crc32c: expected.crc32c)
            } catch {
                throw CollectionError.io(path: path, reason: "the \(file) file \(error)")
            }
            guard actual.bytes == expected.bytes else {
                throw CollectionError.corrupted(
                    path: path, reason: "the file is \(actual.bytes) bytes; the manifest records \(expected.bytes)")
            }
            guard actual.crc32c == expected.crc32c else {
                throw CollectionError.corrupted(
                    path: path,
                    reason: "its CRC-32C is \(actual.crc32c); the manifest records \(expected.crc32c), so it is "
                        + "damaged or another collection's file")
            }
        }
        return verifyChecksums
    }

    /// The configuration a saved collection records (its embedder, dimension, …), without loading it.
    ///
    /// - Throws: As ``init(contentsOf:embedder:verifyChecksums:)`` for the directory and manifest.
    public static func configuration(of directory: String) throws(CollectionError) -> CollectionConfiguration {
        try readingLiveGeneration(in: directory, from: try currentGeneration(in: directory).name) {
            (name) throws(CollectionError) in
            try readManifest(of: directory + "/" + name).configuration
        }
    }

    /// The manifest of the generation directory `generation`, checked.
    static func readManifest(of generation: String) throws(CollectionError) -> CollectionManifest {
        let manifestPath = generation + "/" + CollectionFormat.manifestFile
        let manifestData: Data
        do { manifestData = try RegularFile.contents(of: manifestPath, limit: RegularFile.settingsLimit) } catch {
            throw CollectionError.io(path: manifestPath, reason: "the manifest \(error)")
        }
        let manifest: CollectionManifest
        do {
            manifest = try JSONDecoder().decode(CollectionManifest.self, from: manifestData)
        } catch {
            if let format = (try? JSONSerialization.jsonObject(with: manifestData) as? [String: Any])?["format"]
                as? Int, !CollectionFormat.readableVersions.contains(format)
            {
                throw CollectionError.unsupportedFormat(path: manifestPath, version: format)
            }
            throw CollectionError.corrupted(
                path: manifestPath,
                reason: "the manifest can't be decoded: \(JSONSyntax.decodingProblem(error, in: manifestData))")
        }
        guard CollectionFormat.readableVersions.contains(manifest.format) else {
            throw CollectionError.unsupportedFormat(path: manifestPath, version: manifest.format)
        }
        guard manifest.format == 1 || manifest.files != nil else {
            throw CollectionError.corrupted(
                path: manifestPath,
                reason: "field files is missing; format \(manifest.format) records each file's digest")
        }
        guard manifest.nextID <= CollectionFormat.maximumNextID else {
            throw CollectionError.corrupted(
                path: manifestPath,
                reason: "field nextID is \(manifest.nextID), above the \(CollectionFormat.maximumNextID) IDs a "
                    + "collection allocates")
        }
        return manifest
    }

    // MARK: - Documents file

    private func saveDocuments(to path: String) throws(IndexError) {
        let ordered = records.keys.sorted()
        var ids: [UInt64] = []
        var blobs: [(bytes: [UInt8], offsets: [UInt64])] = Array(repeating: ([], [0]), count: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for storedID in ordered {
            guard let record = records[storedID] else { continue }
            ids.append(storedID.rawValue)
            let metadata = (try? encoder.encode(record.metadata)).map(Array.init) ?? Array("{}".utf8)
            for (slot, bytes) in [Array(record.id.utf8), Array(record.text.utf8), metadata].enumerated() {
                blobs[slot].bytes.append(contentsOf: bytes)
                blobs[slot].offsets.append(UInt64(blobs[slot].bytes.count))
            }
        }
        let writer = try IndexFileWriter(
            path: path, magic: CollectionFormat.documentMagic, version: 1, fields: [UInt64(ids.count)],
            sectionCapacity: 7)
        try writer.appendSection("DIDS", ids)
        for (slot, tags) in [("EXTB", "EXTO"), ("TXTB", "TXTO"), ("MDTB", "MDTO")].enumerated() {
            try writer.appendSection(tags.0, blobs[slot].bytes)
            try writer.appendSection(tags.1, blobs[slot].offsets)
        }
        try writer.commit()
    }

    private static func loadDocuments(from path: String, verifyChecksums: Bool) throws(IndexError)
        -> [DocumentID: Record]
    {
        let file = try MappedIndexFile(
            path: path, magic: CollectionFormat.documentMagic, readableVersions: 1...1,
            verifyChecksums: verifyChecksums)
        guard file.fields[0] < UInt64(Int32.max) else {
            throw IndexError.corrupted(path: path, section: "header", reason: "impossible document count")
        }
        let count = Int(file.fields[0])
        let ids = try file.array("DIDS", of: UInt64.self, expectedCount: count)
        var strings: [[String]] = []
        for (bytesTag, offsetsTag) in [("EXTB", "EXTO"), ("TXTB", "TXTO"), ("MDTB", "MDTO")] {
            let bytes = try file.array(bytesTag, of: UInt8.self)
            let offsets = try file.array(offsetsTag, of: UInt64.self, expectedCount: count + 1)
            guard offsets.first == 0, offsets.last == UInt64(bytes.count),
                zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
            else { throw IndexError.corrupted(path: path, section: offsetsTag, reason: "offsets out of order") }
            var column: [String] = []
            column.reserveCapacity(count)
            for index in 0..<count {
                guard let text = String(validating: bytes[Int(offsets[index])..<Int(offsets[index + 1])], as: UTF8.self)
                else { throw IndexError.corrupted(path: path, section: bytesTag, reason: "invalid UTF-8") }
                column.append(text)
            }
            strings.append(column)
        }
        var records: [DocumentID: Record] = [:]
        for index in 0..<count {
            guard let metadata = try? JSONDecoder().decode([String: String].self, from: Data(strings[2][index].utf8))
            else { throw IndexError.corrupted(path: path, section: "MDTB", reason: "metadata is not a JSON object") }
            guard
                records.updateValue(
                    Record(id: strings[0][index], text: strings[1][index], metadata: metadata),
                    forKey: DocumentID(ids[index]))
                    == nil
            else { throw IndexError.corrupted(path: path, section: "DIDS", reason: "an ID appears twice") }
        }
        return records
    }

    // MARK: - Generations

    /// The generation `CURRENT` names.
    static func currentGeneration(in directory: String) throws(CollectionError) -> (name: String, number: Int) {
        let path = directory + "/" + CollectionFormat.currentFile
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            guard error != .missing else {
                throw CollectionError.io(path: path, reason: "not a collection directory (no CURRENT file)")
            }
            throw CollectionError.io(path: path, reason: "the CURRENT file \(error)")
        }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let number = generationNumber(name) else {
            throw CollectionError.corrupted(path: path, reason: "CURRENT does not name a generation")
        }
        return (name, number)
    }

    static func generations(in directory: String) -> [(name: String, number: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in generationNumber(name).map { (name, $0) } }
    }

    static func generationNumber(_ name: String) -> Int? {
        guard name.hasPrefix(CollectionFormat.generationPrefix) else { return nil }
        let digits = name.dropFirst(CollectionFormat.generationPrefix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// Writes `data` to a temporary file, syncs it, renames it over `path` and syncs the directory.
    static func writeDurably(_ data: Data, to path: String) throws(CollectionError) {
        let temporary = path + ".tmp-\(getpid())"
        let handle = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard handle >= 0 else { throw CollectionError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { bytes in bytes.isEmpty ? 0 : write(handle, bytes.baseAddress, bytes.count)
        }
        let synced = fsync(handle) == 0
        close(handle)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CollectionError.io(path: path, reason: reason)
        }
        try syncDirectory(IndexFileWriter.directory(of: path))
    }

    static func syncDirectory(_ directory: String) throws(CollectionError) {
        do {
            try IndexFileWriter.syncDirectory(directory)
        } catch {
            throw CollectionError.index(error)
        }
    }
}
