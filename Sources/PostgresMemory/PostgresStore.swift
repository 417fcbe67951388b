import Embeddings
import Foundation
import ProceduralMemory
import RetrievalCore

/// A store directory whose source of truth is PostgreSQL.
///
/// `DIR/postgres.json` names the server (URL without password, and where the password comes from); `DIR/index/`
/// holds the index caches as in a local store. Several machines can attach directories to the same database: each
/// keeps its own caches, rebuilt when the database's generation moved on.
public enum PostgresStore {
    /// The name of the descriptor file inside a store directory.
    public static let descriptorFileName = "postgres.json"

    /// What `postgres.json` holds.
    struct Descriptor: Codable {
        var url: String
        var passwordEnvironmentVariable: String?
        var passwordFile: String?

        var location: PostgresLocation {
            get throws(MemoryError) {
                let password: PostgresLocation.PasswordSource =
                    if let passwordFile { .file(passwordFile) } else if let passwordEnvironmentVariable {
                        .environment(passwordEnvironmentVariable)
                    } else { .none }
                return try PostgresLocation(url: url, password: password)
            }
        }
    }

    /// Whether `directory` holds a PostgreSQL store descriptor.
    public static func isPostgresStore(at directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + descriptorFileName)
    }

    /// Creates a store directory on PostgreSQL: initializes the database's store for `embedder`, or attaches to the
    /// store already there when it was created with the same embedder.
    ///
    /// - Parameter databaseSearch: See ``open(at:databaseSearch:)``; with one, attaching to a large store loads
    ///   nothing into this process.
    /// - Returns: The store, and whether it was attached to an existing one.
    /// - Throws: ``ProceduralMemory/MemoryError/storeExists(path:)`` when the directory holds a PostgreSQL store;
    ///   ``ProceduralMemory/MemoryError/embedderMismatch(store:given:)`` when the database's store has another embedder;
    ///   ``ProceduralMemory/MemoryError/configurationMismatch(configured:embedder:)`` when `configuration` doesn't
    ///   rebuild `embedder` (before connecting).
    public static func create(
        at directory: String, location: PostgresLocation, embedder: any Embedder, configuration: EmbedderConfiguration?,
        databaseSearch: PostgresVectorSearch? = .standard
    ) async throws(MemoryError) -> (store: MemoryStore, attached: Bool) {
        let manager = FileManager.default
        // MemoryLocation's `MemoryStore.create(at:database:embedder:configuration:)` refuses a directory holding a
        // store of either backend before calling this.
        guard !isPostgresStore(at: directory) else { throw .storeExists(path: directory) }
        // Before the database is touched: the system would cut such a path and make another directory.
        if let problem = pathProblem(directory) { throw .io(path: printableText(directory), reason: problem) }
        try configuration?.check(rebuilds: embedder)
        let backend = try await PostgresBackend.connect(to: location, databaseSearch: databaseSearch)
        let existing = try await backend.storeInfo()
        if existing == nil {
            try await backend.initialize(
                embedderID: embedder.modelIdentifier, dimension: embedder.dimension, configuration: configuration)
        }
        let password: (environment: String?, file: String?) =
            switch location.password {
            case .none: (nil, nil)
            case .environment(let name): (name, nil)
            // A relative path would be read from wherever the store is opened later.
            case .file(let path): (nil, URL(fileURLWithPath: path).standardizedFileURL.path)
            }
        let descriptor = Descriptor(
            url: location.url, passwordEnvironmentVariable: password.environment, passwordFile: password.file)
        let store = try await MemoryStore.open(
            backend: backend, embedder: embedder, cacheDirectory: directory + "/" + MemoryStore.indexDirectoryName)
        let path = directory + "/" + descriptorFileName
        do { try manager.createDirectories(atPath: directory) } catch {
            throw .io(path: directory, reason: "can't create the store directory: \(error)")
        }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(descriptor).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: "can't write the store descriptor: \(systemErrorText(of: error))")
        }
        return (store, existing != nil)
    }

    /// The server a store directory's descriptor names, read without connecting.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when the directory holds no descriptor;
    ///   ``ProceduralMemory/MemoryError/invalidRecord(path:line:field:reason:)`` naming the field when one is wrong
    ///   or repeated, ``ProceduralMemory/MemoryError/io(path:reason:)`` when it is no JSON object; what
    ///   ``PostgresLocation/init(url:password:)`` throws for the URL it holds.
    public static func location(at directory: String) throws(MemoryError) -> PostgresLocation {
        let path = directory + "/" + descriptorFileName
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            guard error != .missing else { throw .notAStore(path: directory) }
            throw .io(path: path, reason: "the PostgreSQL store descriptor \(error)")
        }
        // Every fault was blamed on field url, and a repeated key was read silently (the first value kept).
        let descriptor: Descriptor
        do { descriptor = try JSONDecoder().decode(Descriptor.self, from: data) } catch {
            if let decoding = error as? DecodingError, let (field, reason) = JSONSyntax.fieldProblem(decoding) {
                guard field.isEmpty else { throw .invalidRecord(path: path, line: 1, field: field, reason: reason) }
                throw .io(path: path, reason: "is not a PostgreSQL store descriptor: it \(reason)")
            }
            throw .io(
                path: path,
                reason: "is not a PostgreSQL store descriptor (\(JSONSyntax.decodingProblem(error, in: data)))")
        }
        if let (field, reason) = JSONSyntax.laxness(in: data) {
            throw .invalidRecord(path: path, line: 1, field: field.isEmpty ? "(file)" : field, reason: reason)
        }
        return try descriptor.location
    }

    /// The backend a store directory names.
    ///
    /// - Parameter databaseSearch: See ``PostgresBackend/connect(to:maximumConnections:databaseSearch:)``.
    /// - Throws: What ``location(at:)`` throws, and what connecting throws.
    public static func backend(
        at directory: String, databaseSearch: PostgresVectorSearch? = nil
    ) async throws(MemoryError) -> PostgresBackend {
        try await PostgresBackend.connect(to: try location(at: directory), databaseSearch: databaseSearch)
    }

    /// Opens a store directory with the embedder the database's store records.
    ///
    /// - Parameter databaseSearch: How the store's `query`, `bm25` and `hybrid` lookups search in PostgreSQL (the
    ///   store then loads its index caches only for writes and the other policies); `nil` searches the index caches
    ///   for every policy, as a local store does.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when the directory or the database holds no store;
    ///   ``ProceduralMemory/MemoryError/storeWithoutEmbedder(location:)`` when the store doesn't record its embedder.
    public static func open(
        at directory: String, databaseSearch: PostgresVectorSearch? = .standard
    ) async throws(MemoryError) -> MemoryStore {
        let backend = try await backend(at: directory, databaseSearch: databaseSearch)
        guard let info = try await backend.storeInfo() else { throw .notAStore(path: backend.location.url) }
        guard let configuration = info.embedderConfiguration else {
            throw .storeWithoutEmbedder(location: backend.location.url)
        }
        return try await MemoryStore.open(
            backend: backend, embedder: try configuration.makeEmbedder(),
            cacheDirectory: directory + "/" + MemoryStore.indexDirectoryName)
    }
}
