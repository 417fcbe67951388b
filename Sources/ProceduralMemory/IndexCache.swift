import Foundation
import HybridSearch
import KeywordIndex
import RetrievalCore
import VectorIndex

/// How the index caches of a store were obtained when it opened.
public enum IndexCacheState: Sendable, Equatable {
    /// Loaded from the cache files, which matched the store's generation and their checksums.
    case loaded
    /// Rebuilt from the backend; `reason` says why the files could not be used.
    case rebuilt(reason: String)
    /// The store keeps no cache files (an in-memory store); the indexes were built from the backend.
    case notPersisted
    /// Not loaded yet: the store was opened to load them when first needed, or the backend runs lookups in its
    /// database (``DatabaseSearching``), and nothing has needed the in-process indexes so far.
    case deferred
    /// A write committed, then could not save the cache files (a full disk, a folder that can't be written);
    /// `reason` says why. Lookups use the indexes in memory, and an open that finds the files stale rebuilds them.
    case unsaved(reason: String)
}

/// The index cache files of a store directory: the ``HybridIndex`` of tasks (`tasks.vectors`, `text.bm25`) and
/// `manifest.json`, which records the generation they reflect and each file's size and CRC-32C.
///
/// The files are caches of the backend: a missing, stale or corrupt file makes the store rebuild all of them.
///
/// Format 1 also held `keywords.vectors`, the mean keyword embeddings of the `keyword` policy, which are now built
/// when that policy is first used (``IndexSnapshot/keywordMeans``). A format 1 cache loads as it is, its keyword file
/// unread, and the next save writes format 2 and removes that file.
struct IndexCache: Sendable {
    static let formatVersion = 2
    /// The formats a load reads.
    static let readableFormatVersions = 1...2
    /// The names the hybrid index's files have had since format 1.
    static let memoryFiles = HybridIndex.FileNames(vectors: "tasks.vectors", keywords: "text.bm25")
    /// The file of mean keyword embeddings a format 1 cache holds.
    static let formatOneKeywordMeansFile = "keywords.vectors"
    static let files = [memoryFiles.vectors, memoryFiles.keywords]

    /// The cache directory (`DIR/index`).
    let directory: String

    private struct Manifest: Codable {
        var formatVersion: Int
        var generation: UInt64
        var embedderID: String
        var dimension: Int
        var files: [String: FileDigest]
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    /// Loads the cached indexes if they reflect `info` and hold their vectors as `vectorStorage`; otherwise says
    /// why not.
    func load(matching info: StoreInfo, vectorStorage: VectorStorage?) -> Result<HybridIndex, CacheMiss> {
        let manifest: Manifest
        switch readManifest() {
        case .success(let read): manifest = read
        case .failure(let miss): return .failure(miss)
        }
        guard Self.readableFormatVersions.contains(manifest.formatVersion) else {
            return .failure(
                CacheMiss(
                    "the cache is format v\(manifest.formatVersion), this build reads "
                        + "v\(Self.readableFormatVersions.lowerBound)–v\(Self.readableFormatVersions.upperBound)"))
        }
        guard manifest.generation == info.generation else {
            return .failure(
                CacheMiss(
                    "the cache is at generation \(manifest.generation), the store at \(info.generation)"))
        }
        guard manifest.embedderID == info.embedderID, manifest.dimension == info.dimension else {
            return .failure(CacheMiss("the cache was built with another embedder"))
        }
        for name in Self.files {
            guard let expected = manifest.files[name] else {
                return .failure(CacheMiss("the manifest does not list \(name)"))
            }
            // A file of another size can't match: say so before reading it (it may be gigabytes).
            switch Self.size(of: path(name)) {
            case .failure(let miss): return .failure(miss)
            case .success(let bytes) where bytes != expected.bytes:
                return .failure(
                    CacheMiss("\(path(name)) is \(bytes) bytes, its manifest entry \(expected.bytes)"))
            case .success: break
            }
            switch Self.digest(of: path(name)) {
            case .failure(let miss): return .failure(miss)
            case .success(let actual) where actual != expected:
                return .failure(CacheMiss("\(path(name)) does not match its checksum in the manifest"))
            case .success: continue
            }
        }
        do {
            // The whole-file checksums above cover every section, so the loaders need not verify them again.
            let memories = try HybridIndex(contentsOf: directory, names: Self.memoryFiles, verifyChecksums: false)
            let tasks = memories.vectors
            // Each file's checksum only says it is intact, not that it holds what its name says: another vector
            // file in its place (its manifest entry too) would otherwise be searched as the tasks' index.
            guard tasks.metric == .cosine else {
                return .failure(
                    CacheMiss(
                        "the cached task vector file holds an index of metric \(tasks.metric.rawValue), not cosine"))
            }
            guard tasks.dimension == info.dimension else {
                return .failure(CacheMiss("the cached vectors have another dimension than the store"))
            }
            let expectedStorage = vectorStorage ?? tasks.vectorStorage
            guard tasks.vectorStorage == expectedStorage else {
                return .failure(
                    CacheMiss(
                        "the cached vectors are stored as \(tasks.vectorStorage.rawValue), not \(expectedStorage.rawValue)"
                    ))
            }
            return .success(memories)
        } catch {
            return .failure(CacheMiss(error.description))
        }
    }

    /// Writes the snapshot's indexes, then the manifest that names them; each file is replaced atomically.
    ///
    /// Saves hold the directory's ``DirectoryLock`` shared while their temporary files exist; a save that finds it
    /// free first removes the temporary files of saves that were stopped (a process killed while saving).
    func save(_ snapshot: IndexSnapshot, info: StoreInfo) throws(MemoryError) {
        do { try FileManager.default.createDirectories(atPath: directory) } catch {
            throw .io(path: directory, reason: "can't create the index directory: \(error)")
        }
        let lock = DirectoryLock.forWriting(in: directory, Self.isTemporary)
        defer { lock?.release() }
        // The manifest goes first so that a crash between the files leaves a manifest that can't match them.
        let manifestPath = path("manifest.json")
        try Self.removeIfPresent(manifestPath)
        // Each file is written under a name of this save alone and digested there, then renamed into place: another
        // process saving at the same time can replace a file after the rename, but then its digest differs from
        // this manifest's and the cache is rebuilt, so files of two snapshots are never taken for one.
        let suffix = ".tmp-" + UUID().uuidString
        defer { for name in Self.files { try? FileManager.default.removeItem(atPath: path(name + suffix)) } }
        do {
            try snapshot.memories.save(
                to: directory,
                names: HybridIndex.FileNames(
                    vectors: Self.memoryFiles.vectors + suffix, keywords: Self.memoryFiles.keywords + suffix))
        } catch .io(_, let reason) {
            // The file's temporary name, removed by now, would tell the reader nothing: name the cache directory.
            throw .io(path: directory, reason: "can't write the index cache: \(reason)")
        } catch {
            throw .index(error)
        }
        var digests: [String: FileDigest] = [:]
        for name in Self.files {
            switch Self.digest(of: path(name + suffix)) {
            case .success(let digest): digests[name] = digest
            case .failure(let miss): throw .io(path: path(name), reason: miss.reason)
            }
            if rename(path(name + suffix), path(name)) != 0 {
                throw .io(path: path(name), reason: String(cString: strerror(errno)))
            }
        }
        // A format 1 cache's keyword file is read by nothing now; a file that can't be removed only takes room.
        try? Self.removeIfPresent(path(Self.formatOneKeywordMeansFile))
        let manifest = Manifest(
            formatVersion: Self.formatVersion, generation: snapshot.generation,
            embedderID: info.embedderID,
            dimension: info.dimension, files: digests)
        try Self.write(manifest, to: manifestPath)
    }

    /// Moves the manifest from generation `from` to `to`, for a write that changed nothing the files hold (only
    /// what filters look at: statuses, labels, sources, which a load reads from the backend); a manifest at another
    /// generation, or none, stays as it is.
    ///
    /// Another process saving the cache meanwhile can pair this manifest with its files, whose checksums then don't
    /// match it: the next open rebuilds, and never reads files of two snapshots as one.
    ///
    /// - Returns: Whether the manifest was at `from` and moved.
    /// - Throws: ``MemoryError/io(path:reason:)`` when it can't be written.
    @discardableResult
    func advance(from: UInt64, to: UInt64) throws(MemoryError) -> Bool {
        // The manifest's atomic write makes a temporary file: hold the lock that keeps a save from removing it.
        let lock = DirectoryLock(directory: directory)
        lock?.lockShared()
        defer { lock?.release() }
        guard case .success(var manifest) = readManifest(), manifest.generation == from else { return false }
        manifest.generation = to
        try Self.write(manifest, to: path("manifest.json"))
        return true
    }

    /// Whether `name` is a temporary file of a save: the files it writes before renaming them into place
    /// (`tasks.vectors.tmp-UUID`, and the index writers' own `.NAME.tmp-…`) and Foundation's atomic writes of the
    /// manifest (`.dat.nosync…`).
    private static func isTemporary(_ name: String) -> Bool {
        name.contains(".tmp-") || name.hasPrefix(".dat.nosync")
    }

    /// The temporary files in the cache directory that saves stopped before removing them: none while a save is
    /// running, because its own can't be told from those.
    func leftoverTemporaryFiles() -> [String] { DirectoryLock.leftoverFiles(in: directory, Self.isTemporary) }

    /// The largest manifest read: one lists two files (three in format 1), in a few hundred bytes.
    static let maximumManifestBytes = 64 * 1024

    /// The manifest, or why it can't be used: missing, not a regular file, larger than
    /// ``maximumManifestBytes`` (checked before reading it), or not a manifest.
    private func readManifest() -> Result<Manifest, CacheMiss> {
        let manifestPath = path("manifest.json")
        let data: Data
        do { data = try RegularFile.contents(of: manifestPath, limit: Self.maximumManifestBytes) } catch {
            return .failure(CacheMiss("\(manifestPath) \(error)"))
        }
        do { return .success(try JSONDecoder().decode(Manifest.self, from: data)) } catch {
            return .failure(
                CacheMiss(
                    "\(manifestPath) is not a manifest of this format: \(JSONSyntax.decodingProblem(error, in: data))"))
        }
    }

    /// The size of the regular file at `path`, or why there is none: missing, or another kind of file.
    private static func size(of path: String) -> Result<Int, CacheMiss> {
        do { return .success(try RegularFile.size(of: path)) } catch { return .failure(CacheMiss("\(path) \(error)")) }
    }

    private static func write(_ manifest: Manifest, to manifestPath: String) throws(MemoryError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
        } catch {
            throw .io(path: manifestPath, reason: systemErrorText(of: error))
        }
    }

    /// Removes the file at `path`; a file that is already gone is no error, because another process saving the
    /// same cache may remove it between any check and the removal (a check first made such a save fail after its
    /// write had committed).
    ///
    /// - Throws: ``MemoryError/io(path:reason:)`` with the `strerror` text when the file exists and can't be removed.
    static func removeIfPresent(_ path: String) throws(MemoryError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
    }

    private static func digest(of path: String) -> Result<FileDigest, CacheMiss> {
        do { return .success(try FileDigest(ofFileAt: path)) } catch { return .failure(CacheMiss("\(path) \(error)")) }
    }
}

/// Why the cache files could not be used.
struct CacheMiss: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
