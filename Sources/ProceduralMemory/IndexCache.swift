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

/// The index cache files of a store directory: the ``HybridIndex`` of tasks (`tasks.vectors`, `text.bm25`), the
/// changes since they were written (`journal.changes`, ``CacheJournal``; format 3) and `manifest.json`, which records
/// the generation they reflect and each file's size and CRC-32C.
///
/// The files are caches of the backend: a missing, stale or corrupt file makes the store rebuild all of them.
///
/// Format 1 also held `keywords.vectors`, the mean keyword embeddings of the `keyword` policy, which are now built
/// when that policy is first used (``IndexSnapshot/keywordMeans``). A format 1 cache loads as it is, its keyword file
/// unread, and the next save writes format 2 and removes that file.
struct IndexCache: Sendable {
    /// The format of a cache without a journal: what a save that rewrites the files writes, which builds that read
    /// format 2 read as well.
    static let formatVersion = 2
    /// The format of a cache with a journal beside its files.
    static let journalFormatVersion = 3
    /// The formats a load reads.
    static let readableFormatVersions = 1...3
    /// The journal's file.
    static let journalFile = "journal.changes"
    /// How large a journal may grow beside the files it applies to, as a fraction of their bytes, before a save
    /// rewrites the files instead: each save writes the whole journal, so a larger fraction makes writes rewrite more
    /// bytes between two rewrites of the files, a smaller one rewrite the files more often.
    static let journalFraction = 1.0 / 8
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
        /// The journal's digest, when the changes since `files` are in one (format 3).
        var journal: FileDigest?
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    /// Loads the cached indexes, with the journal's changes replayed, if they reflect `info`.
    ///
    /// The indexes must hold their vectors as `vectorStorage`; otherwise the failure says why they can't be used.
    /// The journal returned is what later changes add to.
    func load(
        matching info: StoreInfo, vectorStorage: VectorStorage?
    ) -> Result<(HybridIndex, CacheJournal), CacheMiss> {
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
            if let miss = check(name, against: expected) { return .failure(miss) }
        }
        if let expected = manifest.journal, let miss = check(Self.journalFile, against: expected) {
            return .failure(miss)
        }
        do {
            // The whole-file checksums above cover every section, so the loaders need not verify them again.
            var memories = try HybridIndex(contentsOf: directory, names: Self.memoryFiles, verifyChecksums: false)
            let base = manifest.files.filter { Self.files.contains($0.key) }
            var journal = CacheJournal(base: base)
            if manifest.journal != nil {
                journal = try CacheJournal(
                    contentsOf: path(Self.journalFile), dimension: info.dimension, base: base)
                try journal.replay(on: &memories)
            }
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
            return .success((memories, journal))
        } catch {
            return .failure(CacheMiss(error.description))
        }
    }

    /// Why the file `name` does not match its manifest entry, or `nil` when it does: its size first (a file of
    /// another size can't match, and it may be gigabytes), then its checksum.
    private func check(_ name: String, against expected: FileDigest) -> CacheMiss? {
        switch Self.size(of: path(name)) {
        case .failure(let miss): return miss
        case .success(let bytes) where bytes != expected.bytes:
            return CacheMiss("\(path(name)) is \(bytes) bytes, its manifest entry \(expected.bytes)")
        case .success: break
        }
        switch Self.digest(of: path(name)) {
        case .failure(let miss): return miss
        case .success(let actual) where actual != expected:
            return CacheMiss("\(path(name)) does not match its checksum in the manifest")
        case .success: return nil
        }
    }

    /// Writes the snapshot's changes, or its indexes whole, then the manifest that names what was written.
    ///
    /// The changes since the files its journal applies to are written when the manifest still names those files
    /// and the journal is small beside them (``journalFraction``); otherwise, or when the journal can't be written,
    /// the indexes. Each file is replaced atomically.
    ///
    /// Saves hold the directory's ``DirectoryLock`` shared while their temporary files exist; a save that finds it
    /// free first removes the temporary files of saves that were stopped (a process killed while saving).
    ///
    /// - Returns: The journal the snapshot has after the save: its own after a journal save, an empty one over the
    ///   new files after the files were rewritten.
    func save(_ snapshot: IndexSnapshot, info: StoreInfo) throws(MemoryError) -> CacheJournal {
        do { try FileManager.default.createDirectories(atPath: directory) } catch {
            throw .io(path: directory, reason: "can't create the index directory: \(error)")
        }
        let lock = DirectoryLock.forWriting(in: directory, Self.isTemporary)
        defer { lock?.release() }
        // The manifest goes first so that a crash between the files leaves a manifest that can't match them.
        let manifestPath = path("manifest.json")
        if let journal = snapshot.journal, case .success(let manifest) = readManifest(),
            manifest.formatVersion >= Self.formatVersion, manifest.files == journal.base,
            Double(journal.byteCount) <= Self.journalFraction * Double(journal.base.values.reduce(0) { $0 + $1.bytes })
        {
            try Self.removeIfPresent(manifestPath)
            // A journal that can't be written or read back (a directory or a FIFO in its place) leaves the files to
            // rewrite, as before there were journals: failing here left every later write unsaved and every open
            // rebuilding, whatever the files could still do. Written and digested under a name of this save alone,
            // then renamed into place, as the files are: digested after the rename, it could be another process's
            // journal, renamed in meanwhile, that this manifest named.
            let written = path(Self.journalFile + ".tmp-" + UUID().uuidString)
            defer { try? FileManager.default.removeItem(atPath: written) }
            if (try? journal.write(to: written, dimension: info.dimension)) != nil,
                case .success(let digest) = Self.digest(of: written), rename(written, path(Self.journalFile)) == 0
            {
                try Self.write(
                    Manifest(
                        formatVersion: Self.journalFormatVersion, generation: snapshot.generation,
                        embedderID: info.embedderID, dimension: info.dimension, files: journal.base, journal: digest),
                    to: manifestPath)
                return journal
            }
        }
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
        // A format 1 cache's keyword file, and a journal of the files replaced, are read by nothing now; a file that
        // can't be removed only takes room.
        try? Self.removeIfPresent(path(Self.formatOneKeywordMeansFile))
        try? Self.removeIfPresent(path(Self.journalFile))
        let manifest = Manifest(
            formatVersion: Self.formatVersion, generation: snapshot.generation,
            embedderID: info.embedderID,
            dimension: info.dimension, files: digests)
        try Self.write(manifest, to: manifestPath)
        return CacheJournal(base: digests)
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
