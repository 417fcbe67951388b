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
///     DIR/LOCK                        held (flock) by a saver, so concurrent saves take turns
///     DIR/generation-000003/
///         manifest.json               format version, configuration, document count, next internal ID
///         vectors.mvi                 the HybridIndex's vector file (magic MVIX)
///         keywords.mkix               the HybridIndex's keyword file (magic MKIX)
///         documents.mdoc              IDs, texts and metadata (magic MDOC, same checksummed container)
///
/// A save writes a complete new generation beside the live one, syncs it, then replaces `CURRENT` atomically
/// (temporary file, fsync, rename, directory fsync) and deletes older generations. A crash at any moment leaves
/// `CURRENT` naming a complete generation.
public enum CollectionFormat {
    /// The format version this build writes and reads.
    public static let version = 1
    static let currentFile = "CURRENT"
    static let lockFile = "LOCK"
    static let generationPrefix = "generation-"
    static let manifestFile = "manifest.json"
    static let documentFile = "documents.mdoc"
    static let documentMagic = "MDOC"
}

/// The contents of `manifest.json`.
struct CollectionManifest: Codable, Equatable {
    var format: Int
    var configuration: CollectionConfiguration
    var documents: Int
    var nextID: UInt64
}

extension DocumentCollection {
    /// Writes the collection into `directory` (created if needed) as a new generation, atomically.
    ///
    /// - Throws: ``CollectionError/io(path:reason:)`` or ``CollectionError/index(_:)``; the previous
    ///   generation then stays live.
    /// - Complexity: Writes every document, vector and posting once.
    public func save(to directory: String) throws(CollectionError) {
        let files = FileManager.default
        do { try files.createDirectories(atPath: directory) } catch {
            throw CollectionError.io(path: directory, reason: "can't create the directory: \(error)")
        }
        // Savers to one directory take turns, so none deletes a generation another is writing or publishing.
        let lockPath = directory + "/" + CollectionFormat.lockFile
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw CollectionError.io(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(lock) }  // closing releases the lock
        guard flock(lock, LOCK_EX) == 0 else {
            throw CollectionError.io(path: lockPath, reason: String(cString: strerror(errno)))
        }
        let current = try? DocumentCollection.currentGeneration(in: directory)
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
        let manifest = CollectionManifest(
            format: CollectionFormat.version, configuration: configuration, documents: count, nextID: nextID)
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
        for old in existing where old.name != name {
            try? files.removeItem(atPath: directory + "/" + old.name)
        }
    }

    /// Opens a collection saved with ``save(to:)``.
    ///
    /// - Parameters:
    ///   - directory: The collection directory.
    ///   - embedder: The embedder for text queries and new texts; must be the one the collection records.
    ///   - verifyChecksums: Whether to check every section of every file.
    /// - Throws: ``CollectionError/io(path:reason:)``, ``CollectionError/corrupted(path:reason:)``,
    ///   ``CollectionError/unsupportedFormat(path:version:)``, ``CollectionError/index(_:)`` for a damaged
    ///   index file, or ``CollectionError/embedderMismatch(collection:given:)``.
    public init(contentsOf directory: String, embedder: (any Embedder)? = nil, verifyChecksums: Bool = true)
        throws(CollectionError)
    {
        let (generation, manifest) = try DocumentCollection.readManifest(in: directory)
        let configuration = manifest.configuration
        if let embedder { try DocumentCollection.check(embedder, against: configuration) }
        self.configuration = configuration
        self.embedder = embedder
        do {
            index = try HybridIndex(contentsOf: generation, verifyChecksums: verifyChecksums)
            records = try DocumentCollection.loadDocuments(
                from: generation + "/" + CollectionFormat.documentFile, verifyChecksums: verifyChecksums)
        } catch {
            throw CollectionError.index(error)
        }
        nextID = manifest.nextID
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

    /// The configuration a saved collection records (its embedder, dimension, …), without loading it.
    ///
    /// - Throws: As ``init(contentsOf:embedder:verifyChecksums:)`` for the directory and manifest.
    public static func configuration(of directory: String) throws(CollectionError) -> CollectionConfiguration {
        try readManifest(in: directory).manifest.configuration
    }

    /// The live generation's path and manifest.
    static func readManifest(in directory: String) throws(CollectionError)
        -> (generation: String, manifest: CollectionManifest)
    {
        let generation = directory + "/" + (try currentGeneration(in: directory)).name
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
                as? Int, format != CollectionFormat.version
            {
                throw CollectionError.unsupportedFormat(path: manifestPath, version: format)
            }
            throw CollectionError.corrupted(
                path: manifestPath,
                reason: "the manifest can't be decoded: \(JSONSyntax.decodingProblem(error, in: manifestData))")
        }
        guard manifest.format == CollectionFormat.version else {
            throw CollectionError.unsupportedFormat(path: manifestPath, version: manifest.format)
        }
        return (generation, manifest)
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
