import Embeddings
import Foundation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import VectorIndex

#if PostgreSQL
    import PostgresMemory
#endif

/// How ``ProceduralMemory/MemoryStore/open(at:embedder:options:)`` opens a store.
public struct StoreOpenOptions: Sendable, Equatable {
    /// How the vector indexes hold vectors; see
    /// ``ProceduralMemory/MemoryStore/open(backend:embedder:cacheDirectory:vectorStorage:)``.
    public var vectorStorage: VectorStorage
    /// Where a PostgreSQL store's `query`, `bm25` and `hybrid` lookups run.
    public var databaseSearch: DatabaseSearch
    /// What the open loads before it returns.
    public var loading: StoreLoading

    /// Creates options; the defaults are int8 vector storage, HNSW search in PostgreSQL, and loading everything.
    public init(
        vectorStorage: VectorStorage = .int8, databaseSearch: DatabaseSearch = .standard,
        loading: StoreLoading = .everything
    ) {
        self.vectorStorage = vectorStorage
        self.databaseSearch = databaseSearch
        self.loading = loading
    }
}

/// What opening a store loads before it returns.
public enum StoreLoading: Sendable, Equatable {
    /// The embedder's model and the index caches, so that the first lookup is as fast as the later ones, and a
    /// missing model or broken cache shows at once: for a server, or a command that looks up or writes.
    case everything
    /// Only the store's settings: the model at the first embedding, the index caches at the first lookup or write
    /// (``ProceduralMemory/IndexCacheState/deferred`` until then). For a command that shows, lists or exports
    /// memories, or records feedback; at 100,000 memories `memp show` takes milliseconds instead of a second.
    case onFirstUse
}

extension MemoryStore {
    /// Opens the store at `location` on the backend it lives on: a SQLite store directory, a directory describing a
    /// PostgreSQL store, or a PostgreSQL database.
    ///
    /// - Parameters:
    ///   - location: Where the store lives.
    ///   - embedder: The embedder, which must be the one the store was created with; `nil` builds the one the
    ///     store records.
    ///   - options: How to hold vectors, where PostgreSQL lookups run, and what to load before returning.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when there is no store;
    ///   ``ProceduralMemory/MemoryError/backendNotBuilt(backend:location:)`` for a PostgreSQL store in a build
    ///   without PostgreSQL; ``ProceduralMemory/MemoryError/embedderMismatch(store:given:)``;
    ///   ``ProceduralMemory/MemoryError/storeWithoutEmbedder(location:)`` when no embedder is given and the store
    ///   records none.
    public static func open(
        at location: StoreLocation, embedder: (any Embedder)? = nil, options: StoreOpenOptions = StoreOpenOptions()
    ) async throws(MemoryError) -> MemoryStore {
        let backend = try await Self.backend(at: location, access: .write, databaseSearch: options.databaseSearch)
        let deferring = options.loading == .onFirstUse
        let chosen: any Embedder
        if let embedder {
            chosen = embedder
        } else {
            let info = try await storeInfo(of: backend, at: location)
            guard let configuration = info.embedderConfiguration else {
                throw .storeWithoutEmbedder(location: location.description)
            }
            chosen = deferring ? configuration.deferredEmbedder(for: info) : try configuration.makeEmbedder()
        }
        return try await open(
            backend: backend, embedder: chosen, cacheDirectory: location.cacheDirectory,
            vectorStorage: options.vectorStorage, deferringIndexes: deferring)
    }

    /// Opens the store in `directory` (or at a `postgres://` URL) with the embedder it records; see
    /// ``open(at:embedder:options:)``.
    public static func open(
        at directory: String, vectorStorage: VectorStorage = .int8
    ) async throws(MemoryError) -> MemoryStore {
        try await open(at: StoreLocation(directory), options: StoreOpenOptions(vectorStorage: vectorStorage))
    }

    /// Opens the store in `directory` (or at a `postgres://` URL) with `embedder`; see ``open(at:embedder:options:)``.
    public static func open(
        at directory: String, embedder: any Embedder, vectorStorage: VectorStorage = .int8
    ) async throws(MemoryError) -> MemoryStore {
        try await open(
            at: StoreLocation(directory), embedder: embedder, options: StoreOpenOptions(vectorStorage: vectorStorage))
    }

    /// Creates a SQLite store in `directory` (created if needed) that embeds with `embedder`.
    ///
    /// - Parameters:
    ///   - configuration: How to rebuild `embedder`, recorded so that ``open(at:vectorStorage:)`` needs none.
    ///   - vectorStorage: See ``ProceduralMemory/MemoryStore/open(backend:embedder:cacheDirectory:vectorStorage:)``.
    /// - Throws: ``ProceduralMemory/MemoryError/databaseURLAsDirectory(url:)`` when `directory` is a
    ///   `postgres://` URL; ``ProceduralMemory/MemoryError/storeExists(path:)`` when the directory holds a store
    ///   already (of either backend); ``ProceduralMemory/MemoryError/incompleteCopy(source:)`` when that store is a
    ///   copy that did not finish; ``ProceduralMemory/MemoryError/emptyDatabaseFile(path:)`` when it holds an empty
    ///   database file; ``ProceduralMemory/MemoryError/configurationMismatch(configured:embedder:)`` when
    ///   `configuration` doesn't rebuild `embedder`; ``ProceduralMemory/MemoryError/io(path:reason:)`` or
    ///   ``ProceduralMemory/MemoryError/database(reason:)`` when it can't be written.
    public static func create(
        at directory: String, embedder: any Embedder, configuration: EmbedderConfiguration? = nil,
        vectorStorage: VectorStorage = .int8
    ) async throws(MemoryError) -> MemoryStore {
        guard !DatabaseLocation.isURL(directory) else { throw .databaseURLAsDirectory(url: directory) }
        guard !StoreLocation.isStore(directory) else { throw await existingStoreError(in: directory) }
        return try await SQLiteStore.create(
            at: directory, embedder: embedder, configuration: configuration, vectorStorage: vectorStorage)
    }

    /// Why no store can be created in `directory`, which holds a store or an empty database file.
    ///
    /// An empty database file is no store, but is not overwritten either. A store that is a copy which did not
    /// finish says so, as every open of it does: it is to be removed and migrated again, not opened, as "already
    /// holds a memory store" would suggest.
    private static func existingStoreError(in directory: String) async -> MemoryError {
        let error =
            StoreLocation.kind(of: directory) == .sqlite
            ? SQLiteStore.existingFileError(in: directory) : .storeExists(path: directory)
        guard case .storeExists = error, let source = try? await info(at: directory).incompleteCopyOf else {
            return error
        }
        return .incompleteCopy(source: source)
    }

    /// Creates a store in `database` described by `directory`.
    ///
    /// Initializes the database's store for `embedder`, or attaches to the store already there when it was created
    /// with the same embedder. The directory keeps the URL and the index caches, so every later open of the
    /// directory finds the database.
    ///
    /// - Returns: The store, whether it was attached to an existing one, and the database's URL as understood
    ///   (port and options spelled out).
    /// - Throws: ``ProceduralMemory/MemoryError/storeExists(path:)`` when the directory holds a store
    ///   (``ProceduralMemory/MemoryError/incompleteCopy(source:)`` when that store is a copy that did not finish);
    ///   ``ProceduralMemory/MemoryError/embedderMismatch(store:given:)`` when the database's store has another
    ///   embedder; ``ProceduralMemory/MemoryError/configurationMismatch(configured:embedder:)`` when
    ///   `configuration` doesn't rebuild `embedder`; ``ProceduralMemory/MemoryError/backendNotBuilt(backend:location:)``
    ///   in a build without PostgreSQL.
    public static func create(
        at directory: String, database: DatabaseLocation, embedder: any Embedder,
        configuration: EmbedderConfiguration?
    ) async throws(MemoryError) -> (store: MemoryStore, attached: Bool, url: String) {
        guard !StoreLocation.isStore(directory) else { throw await existingStoreError(in: directory) }
        #if PostgreSQL
            let location = try database.postgresLocation()
            let (store, attached) = try await PostgresStore.create(
                at: directory, location: location, embedder: embedder, configuration: configuration)
            return (store, attached, location.url)
        #else
            throw .backendNotBuilt(backend: StoreLocation.postgreSQL, location: database.url)
        #endif
    }

    /// The settings of the store at `location`, read without opening it.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when there is none.
    public static func info(at location: StoreLocation) async throws(MemoryError) -> StoreInfo {
        try await storeInfo(of: Self.backend(at: location, access: .read), at: location)
    }

    /// The settings of the store in `directory` (or at a `postgres://` URL); see the `StoreLocation` overload.
    public static func info(at directory: String) async throws(MemoryError) -> StoreInfo {
        try await info(at: StoreLocation(directory))
    }

    /// Counts of what the store at `location` holds, read without loading its indexes.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when there is none;
    ///   ``ProceduralMemory/MemoryError/incompleteCopy(source:)`` for a copy that did not finish.
    public static func statistics(at location: StoreLocation) async throws(MemoryError) -> StoreStatistics {
        let backend = try await Self.backend(at: location, access: .read)
        // Counts of half a copy would pass for the source's, as every open refuses to (hostile run 18).
        if let source = try await storeInfo(of: backend, at: location).incompleteCopyOf {
            throw .incompleteCopy(source: source)
        }
        return try await backend.statistics()
    }

    /// Counts of what the store in `directory` (or at a `postgres://` URL) holds; see
    /// the `StoreLocation` overload.
    public static func statistics(at directory: String) async throws(MemoryError) -> StoreStatistics {
        try await statistics(at: StoreLocation(directory))
    }

    /// Checks a whole store without changing it: the database's own checks (SQLite's integrity and foreign-key
    /// checks), that every row decodes, the counter invariants, that every memory has a source trajectory and
    /// well-formed vectors, and that index cache files the store would trust hold what the database holds.
    ///
    /// - Returns: The findings; a store that can't be read is reported as a problem, not thrown.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when there is no store.
    /// - Complexity: O(*n*) in the rows and vectors stored.
    public static func verify(at location: StoreLocation) async throws(MemoryError) -> StoreVerification {
        if case .directory(let directory) = location, StoreLocation.kind(of: directory) == .sqlite {
            return try await SQLiteStore.verify(at: directory)
        }
        let backend = try await Self.backend(at: location, access: .read)
        return await verify(backend: backend, cacheDirectory: location.cacheDirectory)
    }

    /// Checks the store in `directory` (or at a `postgres://` URL); see the `StoreLocation` overload.
    public static func verify(at directory: String) async throws(MemoryError) -> StoreVerification {
        try await verify(at: StoreLocation(directory))
    }
}

extension MemoryStore {
    /// Copies the store at `source` into `destination` and verifies the copy.
    ///
    /// The two may live on different backends (SQLite to PostgreSQL and back); a destination directory that holds
    /// no store becomes a SQLite store, which is removed again if the copy fails. Every trajectory and memory (with
    /// its counters, status, revision and vectors) is copied in batches, then the whole history (numbers, dates and
    /// reverted entries kept) and the record of fusion choices; then both stores must have the same
    /// ``ProceduralMemory/StoreDigest``. The source must not change during the copy.
    ///
    /// - Parameters:
    ///   - source: The store to copy.
    ///   - destination: Where to copy it: an empty store, or a location that holds none.
    ///   - batchSize: Trajectories or memories per transaction.
    /// - Returns: The digest both stores share.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when `source` holds no store (nothing is created at
    ///   the destination then);
    ///   ``ProceduralMemory/MemoryError/storeExists(path:)`` when the destination holds trajectories, memories,
    ///   history or a fusion record; ``ProceduralMemory/MemoryError/incompleteCopy(source:)`` when another copy
    ///   into it is under way or did not finish (or when `source` is such a copy);
    ///   ``ProceduralMemory/MemoryError/copyEmbedderMismatch(destination:destinationEmbedder:sourceEmbedder:)`` when
    ///   it was initialized for another embedder; ``ProceduralMemory/MemoryError/database(reason:)`` when the
    ///   verification fails.
    @discardableResult
    public static func copy(
        from source: StoreLocation, to destination: StoreLocation, batchSize: Int = 500
    ) async throws(MemoryError) -> StoreDigest {
        // The destination is opened, and a missing SQLite store created, only once the source is read and checked.
        try await StoreMigration.copy(
            from: try await MemoryStore.backend(at: source, access: .read), sourceName: source.description,
            toBackendMadeBy: { (settings) async throws(MemoryError) in
                if case .directory(let directory) = destination, StoreLocation.kind(of: directory) == .none {
                    let made = try await SQLiteStore.copyDestination(
                        at: directory, settings: settings, copyOf: source.description)
                    return .made(made.backend, discard: made.discard)
                }
                // Opened for writing, a store of an older schema is upgraded: one that holds data is refused first,
                // from a read-only look (finding 210).
                try await StoreMigration.refuseHeldData(
                    in: try await MemoryStore.backend(at: destination, access: .read),
                    destinationName: destination.description)
                return .existing(try await MemoryStore.backend(at: destination, access: .write))
            }, destinationName: destination.description, reason: "migrate from \(source)", batchSize: batchSize)
    }
}

extension StoreLocation {
    /// The name of the server backend in messages.
    static let postgreSQL = "PostgreSQL"

    /// Where the store's index cache files live; `nil` for a database named by URL, whose caches stay in memory.
    var cacheDirectory: String? {
        switch self {
        case .directory(let directory): directory + "/" + MemoryStore.indexDirectoryName
        case .database: nil
        }
    }
}

/// How a backend is opened.
enum BackendAccess {
    /// Reading only: a SQLite database is opened read-only, without migrating it.
    case read
    /// Reading and writing a store that exists.
    case write
}

extension MemoryStore {
    /// The settings of the store `backend` reaches at `location`.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when it holds none, naming the database's URL when
    ///   a directory's descriptor leads to a database without the store (it said the directory held no descriptor).
    static func storeInfo(of backend: any MemoryBackend, at location: StoreLocation) async throws(MemoryError)
        -> StoreInfo
    {
        if let info = try await backend.storeInfo() { return info }
        #if PostgreSQL
            if let database = backend as? PostgresBackend { throw .notAStore(path: database.location.url) }
        #endif
        throw .notAStore(path: location.description)
    }

    /// The backend of the store at `location`: the one place that decides which backend a location holds.
    ///
    /// - Parameter databaseSearch: Where a PostgreSQL store runs lookups; `nil` searches in-process caches.
    static func backend(
        at location: StoreLocation, access: BackendAccess, databaseSearch: DatabaseSearch? = nil
    ) async throws(MemoryError) -> any MemoryBackend {
        switch location {
        case .directory(let directory):
            switch StoreLocation.kind(of: directory) {
            case .sqlite:
                return try SQLiteStore.backend(at: directory, readOnly: access == .read)
            case .postgres:
                #if PostgreSQL
                    return try await PostgresStore.backend(at: directory, databaseSearch: databaseSearch?.postgres)
                #else
                    throw .backendNotBuilt(backend: StoreLocation.postgreSQL, location: directory)
                #endif
            case .none:
                if let reason = notADirectoryReason(directory) { throw .io(path: directory, reason: reason) }
                throw .notAStore(path: directory)
            }
        case .database(let database):
            #if PostgreSQL
                return try await PostgresBackend.connect(
                    to: try database.postgresLocation(), databaseSearch: databaseSearch?.postgres)
            #else
                throw .backendNotBuilt(backend: StoreLocation.postgreSQL, location: database.url)
            #endif
        }
    }
}

/// Why `path` can't be a store directory, or `nil` for a directory and for a path where nothing is.
///
/// It is a file, a FIFO, a device or a socket (a FIFO was "a file"), or a symbolic link leading to nothing (it was
/// "not a memory store", as if it were a directory).
private func notADirectoryReason(_ path: String) -> String? {
    var target = stat()
    if stat(path, &target) == 0 {
        guard target.st_mode & S_IFMT != S_IFDIR else { return nil }
        return "is \(RegularFile.kind(of: target.st_mode)), not a store directory"
    }
    let code = errno
    var link = stat()
    guard lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK else { return nil }
    let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
    if code == ELOOP {
        return "is a symbolic link in a loop (it points to \(destination), which leads back round to it)"
    }
    return "is a symbolic link to \(destination), which can't be reached (\(String(cString: strerror(code))))"
}

#if PostgreSQL
    extension DatabaseLocation {
        /// The PostgresMemory location: the password file when given, else the variable named (which must be set),
        /// else the default variable when it is set, else none.
        func postgresLocation() throws(MemoryError) -> PostgresLocation {
            let password: PostgresLocation.PasswordSource =
                if let passwordFile {
                    .file(passwordFile)
                } else if let passwordVariable {
                    .environment(passwordVariable)
                } else if ProcessInfo.processInfo.environment[Self.defaultPasswordVariable] != nil {
                    .environment(Self.defaultPasswordVariable)
                } else {
                    .none
                }
            return try PostgresLocation(url: url, password: password)
        }
    }

    extension DatabaseSearch {
        /// The PostgresMemory search mode; `nil` for index caches.
        var postgres: PostgresVectorSearch? {
            switch self {
            case .hnsw(let efSearch): .hnsw(efSearch: efSearch)
            case .exact: .exact
            case .indexCaches: nil
            }
        }
    }
#endif
