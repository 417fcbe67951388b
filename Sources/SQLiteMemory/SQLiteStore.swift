import Embeddings
import Foundation
import ProceduralMemory
import RetrievalCore
import VectorIndex

/// A store directory whose source of truth is a SQLite database: `DIR/memp.sqlite`, with the index caches in
/// `DIR/index/`.
///
/// The SQLite counterpart of `PostgresStore`; MemoryLocation's `MemoryStore.open(at:)` picks between them, so front
/// ends never look inside a store directory.
public enum SQLiteStore {
    /// The name of the database file inside a store directory.
    public static let databaseFileName = "memp.sqlite"

    /// Whether `directory` holds a SQLite store's database file (never when its path can name no directory).
    public static func isSQLiteStore(at directory: String) -> Bool {
        pathProblem(directory) == nil && FileManager.default.fileExists(atPath: databasePath(in: directory))
    }

    /// Why the store in `directory`, whose database file exists, can't be created there: the file is no database
    /// (empty, a directory, a FIFO), or a store is there already.
    public static func existingFileError(in directory: String) -> MemoryError {
        databaseFileProblem(databasePath(in: directory)) ?? .storeExists(path: directory)
    }

    /// Why the database file at `path`, which exists, can hold no store: it is not a regular file, its
    /// write-ahead log (`-wal`) or shared-memory file (`-shm`) is there but not a regular file, or it is empty
    /// (0 bytes, with no write-ahead log beside it that SQLite could replay); `nil` when it may hold one.
    ///
    /// SQLite takes an empty file for an empty database (a write would add tables to it without a store's
    /// settings), fails on a directory with "disk I/O error", and waits forever to read a FIFO. A FIFO as the
    /// write-ahead log made every lookup fail with "disk I/O error (SQLite code 10)", a directory as the
    /// shared-memory file every write with "attempt to write a readonly database (SQLite code 8)" (hostile run 10).
    /// `stat` follows symbolic links and never opens the file, so a FIFO is not waited on.
    static func databaseFileProblem(_ path: String) -> MemoryError? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }  // SQLite says why it can't open it
        if let kind = Self.kind(of: status) {
            return .io(path: path, reason: "is \(kind), not a database file; move it away and create the store again")
        }
        for (suffix, role) in [("-wal", "write-ahead log"), ("-shm", "shared-memory file")] {
            var companion = stat()
            guard stat(path + suffix, &companion) == 0, let kind = Self.kind(of: companion) else { continue }
            return .io(
                path: path + suffix,
                reason: "is \(kind), but SQLite keeps the database's \(role) there, which must be a regular file or "
                    + "absent; move it away (it holds none of the store's data) and open the store again")
        }
        var log = stat()
        let logIsEmpty = stat(path + "-wal", &log) != 0 || log.st_size == 0
        return status.st_size == 0 && logIsEmpty ? .emptyDatabaseFile(path: path) : nil
    }

    /// What a file that is not a regular file is, in words (``RetrievalCore/RegularFile/kind(of:)``); `nil` for a
    /// regular file.
    private static func kind(of status: stat) -> String? {
        status.st_mode & S_IFMT == S_IFREG ? nil : RegularFile.kind(of: status.st_mode)
    }

    /// Creates a store in `directory` (created if needed) that embeds with `embedder`.
    ///
    /// - Parameters:
    ///   - directory: The store directory.
    ///   - embedder: The embedder of tasks and keywords.
    ///   - configuration: How to rebuild `embedder`, recorded so that a later open needs no embedder.
    ///   - vectorStorage: See ``ProceduralMemory/MemoryStore/open(backend:embedder:cacheDirectory:vectorStorage:)``.
    /// - Throws: ``ProceduralMemory/MemoryError/storeExists(path:)`` when the directory holds a store already (also
    ///   one another process created meanwhile); ``ProceduralMemory/MemoryError/index(_:)`` when no index takes
    ///   the embedder's dimension; ``ProceduralMemory/MemoryError/configurationMismatch(configured:embedder:)``
    ///   when `configuration` doesn't rebuild `embedder`; ``ProceduralMemory/MemoryError/storageFull(path:)``,
    ///   ``ProceduralMemory/MemoryError/io(path:reason:)`` or ``ProceduralMemory/MemoryError/database(reason:)``
    ///   when it can't be written, or the store made can't be opened. A create that fails leaves no database file
    ///   behind. A create that is killed leaves a temporary database (`memp.sqlite.tmp-…`), which the next create
    ///   in the directory removes when no other create is running there (and ``verify(at:)`` reports).
    public static func create(
        at directory: String, embedder: any Embedder, configuration: EmbedderConfiguration?,
        vectorStorage: VectorStorage
    ) async throws(MemoryError) -> MemoryStore {
        try MemoryStore.checkIndexable(embedder, vectorStorage: vectorStorage)
        try configuration?.check(rebuilds: embedder)
        let made = try await makeDatabase(in: directory) { (backend) throws(MemoryError) in
            try await backend.initialize(
                embedderID: embedder.modelIdentifier, dimension: embedder.dimension, configuration: configuration)
        }
        do {
            return try await MemoryStore.open(
                backend: try SQLiteBackend(path: made.path), embedder: embedder,
                cacheDirectory: cacheDirectory(of: directory), vectorStorage: vectorStorage)
        } catch {
            // Made, but it can't be opened (a process short of file descriptors opens more for the store than for
            // its settings): removed, so that the create, with the cause gone, can be run again. It holds nothing
            // but its settings; only a process that opened it in this moment would lose it.
            made.remove()
            throw error
        }
    }

    /// Creates a store in `directory` (created if needed) for a copy of the store at `source` to fill: it is made
    /// with `settings` and marked as an incomplete copy of `source` (``ProceduralMemory/MemoryBackend/beginCopy(from:)``)
    /// before it takes its place, so that no other process writes to it, nor takes it for a store, until the copy
    /// ends.
    ///
    /// - Returns: The store's backend, and `discard`, which closes it and removes the store: a copy that fails
    ///   leaves nothing in the directory, and can be run again (hostile run 17: a copy that failed after making its
    ///   destination left a database without settings, which the rerun and `create` both refused).
    /// - Throws: As ``create(at:embedder:configuration:vectorStorage:)``.
    package static func copyDestination(
        at directory: String, settings: StoreInfo, copyOf source: String
    ) async throws(MemoryError) -> (backend: SQLiteBackend, discard: @Sendable () -> Void) {
        let made = try await makeDatabase(in: directory) { (backend) throws(MemoryError) in
            try await backend.initialize(
                embedderID: settings.embedderID, dimension: settings.dimension,
                configuration: settings.embedderConfiguration)
            try await backend.beginCopy(from: source)
        }
        let backend: SQLiteBackend
        do { backend = try SQLiteBackend(path: made.path) } catch {
            made.remove()
            throw error
        }
        return (
            backend,
            {
                try? backend.close()
                made.remove()
            }
        )
    }

    /// A store database just made by ``makeDatabase(in:prepare:)``.
    private struct MadeDatabase: Sendable {
        /// The database file.
        let path: String
        /// The store directory, when the create made it.
        let madeDirectory: String?

        /// Removes the database's files, and the directory when the create made it and nothing else is in it.
        func remove() {
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            if let madeDirectory { SQLiteStore.removeIfEmpty(madeDirectory) }
        }
    }

    /// Makes the database of a new store in `directory` (created if needed), prepared by `prepare`, and returns its
    /// path.
    ///
    /// The database is made under a name of its own and linked into place once `prepare` is done: a create stopped
    /// by a full disk or a kill leaves no half-made database that would refuse the next create, and link(2), unlike
    /// rename(2), refuses to replace a store another process created meanwhile.
    private static func makeDatabase(
        in directory: String, prepare: (SQLiteBackend) async throws(MemoryError) -> Void
    ) async throws(MemoryError) -> MadeDatabase {
        try checkPathLength(of: directory)
        let existed = FileManager.default.fileExists(atPath: directory)
        do { try FileManager.default.createDirectories(atPath: directory) } catch {
            throw .io(path: directory, reason: "can't create the store directory: \(error)")
        }
        do throws(MemoryError) {
            let lock = lockForCreating(in: directory)
            defer { lock?.release() }
            guard !isSQLiteStore(at: directory) else { throw existingFileError(in: directory) }
            let path = databasePath(in: directory)
            let temporary = temporaryDatabasePath(in: directory)
            defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) } }
            do {
                let backend = try SQLiteBackend(path: temporary)
                try await prepare(backend)
                try backend.close()
            } catch .storageFull {
                throw .storageFull(path: path)  // the temporary name, removed by now, would tell the reader nothing
            }
            if link(temporary, path) != 0 {
                guard errno != EEXIST else { throw existingFileError(in: directory) }
                // A file system without hard links: rename, which would replace a store made since the first check.
                guard !isSQLiteStore(at: directory) else { throw existingFileError(in: directory) }
                guard rename(temporary, path) == 0 else {
                    throw .io(path: path, reason: String(cString: strerror(errno)))
                }
            }
            return MadeDatabase(path: path, madeDirectory: existed ? nil : directory)
        } catch {
            // A directory made for nothing is not left behind (hostile run 18: a failed migration left one).
            if !existed { removeIfEmpty(directory) }
            throw error
        }
    }

    /// Removes `directory` when it holds nothing but an empty index directory.
    private static func removeIfEmpty(_ directory: String) {
        rmdir(cacheDirectory(of: directory))
        rmdir(directory)
    }

    /// The longest full path SQLite opens a file by (its Unix VFS's `MAX_PATHNAME`).
    static let maximumDatabasePathBytes = 512

    /// Refuses a store directory whose path holds a NUL (``RetrievalCore/pathProblem(_:)``), or whose database, under
    /// the longest name SQLite gives it (the temporary database of a create with its `-journal`), would pass
    /// ``maximumDatabasePathBytes``: SQLite then failed with "unable to open database file", after the directory
    /// was made.
    static func checkPathLength(of directory: String) throws(MemoryError) {
        if let problem = pathProblem(directory) { throw .io(path: printableText(directory), reason: problem) }
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        let longest = temporaryDatabasePath(in: absolute) + "-journal"
        let excess = longest.utf8.count - maximumDatabasePathBytes
        guard excess > 0 else { return }
        throw .io(
            path: directory,
            reason: "the store's path is \(absolute.utf8.count) bytes long, \(excess) more than SQLite can open its "
                + "database files under (\(maximumDatabasePathBytes) bytes for the whole path, file names included); "
                + "choose a shorter directory")
    }

    /// Opens the store in `directory` with `embedder`, which must be the one it was created with.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when there is none;
    ///   ``ProceduralMemory/MemoryError/embedderMismatch(store:given:)`` when it was created with another embedder.
    public static func open(
        at directory: String, embedder: any Embedder, vectorStorage: VectorStorage
    ) async throws(MemoryError) -> MemoryStore {
        try await MemoryStore.open(
            backend: try backend(at: directory), embedder: embedder, cacheDirectory: cacheDirectory(of: directory),
            vectorStorage: vectorStorage)
    }

    /// Creates a store kept only in memory, gone when the store is released: for tests and fuzzing.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/database(reason:)`` when SQLite can't open the database.
    public static func inMemory(
        embedder: any Embedder, vectorStorage: VectorStorage = .int8
    ) async throws(MemoryError) -> MemoryStore {
        try await MemoryStore.open(
            backend: try SQLiteBackend(path: nil), embedder: embedder, cacheDirectory: nil, vectorStorage: vectorStorage
        )
    }

    /// The backend of the store in `directory`.
    ///
    /// - Parameter readOnly: Opens the database without writing to it (no migration is run).
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when the directory holds no database file;
    ///   ``ProceduralMemory/MemoryError/io(path:reason:)`` when the file is a directory, FIFO, socket or device;
    ///   ``ProceduralMemory/MemoryError/emptyDatabaseFile(path:)``,
    ///   ``ProceduralMemory/MemoryError/notSQLiteDatabase(path:)`` or
    ///   ``ProceduralMemory/MemoryError/databaseWithoutStoreSettings(path:)`` when the file holds no store; nothing
    ///   is written to it then.
    public static func backend(at directory: String, readOnly: Bool = false) throws(MemoryError) -> SQLiteBackend {
        guard isSQLiteStore(at: directory) else { throw .notAStore(path: directory) }
        let path = databasePath(in: directory)
        if let problem = databaseFileProblem(path) { throw problem }
        return try SQLiteBackend(path: path, readOnly: readOnly, existingStore: true)
    }

    /// Checks the whole store without changing it: SQLite's integrity and foreign-key checks, that every row
    /// decodes, the counter invariants, that every memory has a source trajectory and well-formed vectors, and that
    /// index cache files the store would trust hold exactly what the database holds.
    ///
    /// - Returns: The findings; a database that can't be opened at all is reported as a problem, not thrown.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when the directory holds no database file.
    /// - Complexity: O(*n*) in the rows and vectors stored; reads every page of the database once.
    public static func verify(at directory: String) async throws(MemoryError) -> StoreVerification {
        guard isSQLiteStore(at: directory) else { throw .notAStore(path: directory) }
        let backend: SQLiteBackend
        do throws(MemoryError) {
            backend = try Self.backend(at: directory, readOnly: true)
        } catch {
            var report = StoreVerification()
            report.problems.append("the database can't be checked: \(error)")
            return report
        }
        var report = await MemoryStore.verify(backend: backend, cacheDirectory: cacheDirectory(of: directory))
        for name in leftoverTemporaryFiles(in: directory) {
            report.problems.append(
                "\(directory)/\(name) is a temporary database file left by a store create that was stopped; no create "
                    + "is using it: delete it")
        }
        return report
    }

    static func databasePath(in directory: String) -> String { directory + "/" + databaseFileName }

    static func cacheDirectory(of directory: String) -> String { directory + "/" + MemoryStore.indexDirectoryName }
}

extension SQLiteBackend: StorageChecking {
    /// SQLite's integrity and foreign-key checks; see ``integrityProblems()``.
    package func storageProblems() async throws(MemoryError) -> [String] {
        try await integrityProblems().map { "SQLite integrity check: \($0)" }
    }
}
