import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

/// A ``ProceduralMemory/MemoryBackend`` on PostgreSQL with pgvector, for procedural memories shared by many
/// agents on many machines, or larger than one machine's memory.
///
/// Every write runs in one transaction (``transaction(commit:_:)``); writers serialize on the store's row (the
/// generation) and hold the memories they read (`SELECT … FOR UPDATE`) until they end, so concurrent agents never
/// lose an increment. What the writes are is decided in ProceduralMemory, the same for every backend. Retrieval runs
/// in the database (``searchVectors(_:k:mode:filter:)``,
/// ``searchKeywords(_:k:filter:)``, ``searchHybrid(text:vector:k:depth:fusion:mode:filter:minimumCosine:)``; a
/// ``ProceduralMemory/MemoryStore`` on a backend connected with a ``databaseSearch`` uses them for its `query`,
/// `bm25` and `hybrid` policies) or on in-process index caches rebuilt from it. The schema is described in
/// ``PostgresSchema``.
///
///     let backend = try await PostgresBackend.connect(to: location, databaseSearch: .exact)
///     let hits = try await backend.searchHybrid(text: task, vector: embedding, k: 5, mode: .exact)
public final class PostgresBackend: MemoryBackend {
    /// Where the store lives.
    public let location: PostgresLocation
    /// How a ``ProceduralMemory/MemoryStore`` on this backend searches vectors in the database; `nil` makes it
    /// search in-process index caches for every policy.
    public let databaseSearch: PostgresVectorSearch?
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    private init(
        location: PostgresLocation, password: String?, maximumConnections: Int, databaseSearch: PostgresVectorSearch?
    ) {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database,
            tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = [("search_path", "\(location.schema), public")]
        var logger = Logger(label: "memp.postgres")
        logger.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.location = location
        self.databaseSearch = databaseSearch
        self.client = client
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Connects to the server and brings the schema up to date (creating it when missing).
    ///
    /// - Parameters:
    ///   - maximumConnections: The most connections the backend's pool opens.
    ///   - databaseSearch: How a ``ProceduralMemory/MemoryStore`` on the backend searches vectors in the database
    ///     (its `query`, `bm25` and `hybrid` lookups then run there and it loads no index caches for them); `nil`
    ///     makes the store search in-process index caches for every policy.
    /// - Throws: ``ProceduralMemory/MemoryError/database(reason:)`` when the server can't be reached or refuses the
    ///   login (the message never contains the password); errors of ``PostgresLocation`` password sources;
    ///   ``ProceduralMemory/MemoryError/invalidParameter(name:value:expected:)`` for an `efSearch` outside 1…1000.
    public static func connect(
        to location: PostgresLocation, maximumConnections: Int = 8, databaseSearch: PostgresVectorSearch? = nil
    ) async throws(MemoryError) -> PostgresBackend {
        try PostgresLocation.validate(schema: location.schema)
        try databaseSearch?.validate()
        let backend = PostgresBackend(
            location: location, password: try location.resolvePassword(), maximumConnections: maximumConnections,
            databaseSearch: databaseSearch)
        try await backend.migrate()
        return backend
    }

    /// Deletes the store: drops its schema with every table in it.
    ///
    /// The backend is unusable afterwards.
    public func dropSchema() async throws(MemoryError) {
        let schema = location.schema
        try await withConnection { connection in
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
        }
    }

    /// Closes the backend's connections.
    public func close() { runner.cancel() }

    // MARK: - Access

    /// Runs `body` on a pooled connection, mapping errors.
    func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws(MemoryError) -> Result {
        do { return try await client.withConnection { connection in try await body(connection) } } catch {
            throw mapped(error)
        }
    }

    /// Runs `body` in one transaction, mapping errors; the transaction rolls back when `body` throws.
    func inTransaction<Result: Sendable>(
        commit: Bool = true, _ body: (PostgresConnection) async throws -> Result
    ) async throws(MemoryError) -> Result {
        do {
            return try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    let result = try await body(connection)
                    // A dry run rolls back what it did and reports it.
                    try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    /// The error as a ``ProceduralMemory/MemoryError``, with the server's message and SQLSTATE (never the
    /// statement's arguments).
    func mapped(_ error: any Error) -> MemoryError {
        if let error = error as? MemoryError { return error }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                return .database(
                    reason: "PostgreSQL at \(location): \(message) (SQLSTATE \(info[.sqlState] ?? "?"))")
            }
            return .database(reason: "PostgreSQL at \(location): \(error.code)")
        }
        if let error = error as? PostgresDecodingError {
            return .database(reason: "PostgreSQL at \(location): can't decode column \(error.columnName)")
        }
        return .database(reason: "PostgreSQL at \(location): \(error)")
    }

    // MARK: - Migrations

    /// Applies the migrations not yet applied, under an advisory lock so that concurrent openers don't race.
    private func migrate() async throws(MemoryError) {
        let schema = location.schema
        try await inTransaction { connection in
            // One lock for every store: CREATE EXTENSION is database-wide.
            try await connection.query("SELECT pg_advisory_xact_lock(727_367_001)", logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS memp_migration (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query(
                "SELECT version FROM memp_migration", logger: logger
            ).decode(Int.self) {
                applied.insert(version)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO memp_migration (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
            }
        }
    }

    // MARK: - Settings

    public func storeInfo() async throws(MemoryError) -> StoreInfo? {
        try await withConnection { connection in try await Self.info(connection, logger: self.logger) }
    }

    static func info(_ connection: PostgresConnection, logger: Logger) async throws -> StoreInfo? {
        let rows = try await connection.query(
            "SELECT schema_version, embedder, dimension, embedder_configuration, generation FROM store",
            logger: logger)
        for try await (version, embedder, dimension, configuration, generation) in rows.decode(
            (Int, String, Int, String?, Int64).self)
        {
            return StoreInfo(
                schemaVersion: version, embedderID: embedder, dimension: dimension,
                embedderConfiguration: try configuration.map { try decodeJSON(EmbedderConfiguration.self, $0) },
                generation: UInt64(generation))
        }
        return nil
    }

    public func initialize(
        embedderID: String, dimension: Int, configuration: EmbedderConfiguration?
    ) async throws(MemoryError) {
        guard (1...16_000).contains(dimension) else {
            throw .invalidParameter(
                name: "dimension", value: Double(dimension), expected: "within 1...16000, what pgvector stores")
        }
        let location = location
        let configurationJSON = try configuration.map { (value) throws(MemoryError) in try encodeJSON(value) }
        try await inTransaction { connection in
            try await connection.query("LOCK TABLE store IN EXCLUSIVE MODE", logger: logger)
            guard try await Self.info(connection, logger: logger) == nil else {
                throw MemoryError.storeExists(path: location.url)
            }
            for statement in PostgresSchema.vectorColumns(dimension: dimension) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO store (schema_version, embedder, dimension, embedder_configuration)
                VALUES (\(PostgresSchema.version), \(embedderID), \(dimension), \(configurationJSON))
                """, logger: logger)
        }
    }

    package func fusionTuning() async throws(MemoryError) -> FusionTuning {
        let text = try await withConnection { connection in
            try await Self.fusionTuningText(connection, logger: self.logger, lock: false)
        }
        guard let text else { return FusionTuning() }
        return try decodeJSON(FusionTuning.self, text)
    }

    package func saveFusionTuning(_ tuning: FusionTuning, expectedEntries: Int) async throws(MemoryError) {
        let text = try encodeJSON(tuning)
        try await inTransaction { connection in
            let stored = try await Self.fusionTuningText(connection, logger: logger, lock: true)
            var actual = 0
            if let stored { actual = try decodeJSON(FusionTuning.self, stored).entries.count }
            guard actual == expectedEntries else {
                throw MemoryError.tuningConflict(expectedEntries: expectedEntries, actualEntries: actual)
            }
            try await connection.query("UPDATE store SET fusion_tuning = \(text)", logger: logger)
        }
    }

    /// The stored record of fusion choices, as JSON; with `lock`, holds the store row's lock until the transaction
    /// ends, so that the read and the write that follows are one step for every other writer.
    private static func fusionTuningText(
        _ connection: PostgresConnection, logger: Logger, lock: Bool
    ) async throws -> String? {
        let sql = "SELECT fusion_tuning FROM store" + (lock ? " FOR UPDATE" : "")
        for try await text in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            .decode(String?.self)
        {
            return text
        }
        throw MemoryError.database(reason: "the PostgreSQL store has no settings row; initialize it first")
    }

    /// Advances the generation inside the current transaction and returns the new one; holds the store row's lock
    /// until the transaction ends, which serializes writers.
    static func advanceGeneration(_ connection: PostgresConnection, logger: Logger) async throws -> UInt64 {
        let rows = try await connection.query(
            "UPDATE store SET generation = generation + 1 RETURNING generation", logger: logger)
        for try await generation in rows.decode(Int64.self) { return UInt64(generation) }
        throw MemoryError.database(reason: "the PostgreSQL store has no settings row; initialize it first")
    }

    /// The current generation; with `lock`, holds the store row's lock until the transaction ends.
    static func currentGeneration(
        _ connection: PostgresConnection, logger: Logger, lock: Bool = false
    ) async throws -> UInt64 {
        let sql = "SELECT generation FROM store" + (lock ? " FOR UPDATE" : "")
        for try await generation in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            .decode(Int64.self)
        {
            return UInt64(generation)
        }
        return 0
    }
}

// MARK: - JSON

func encodeJSON(_ value: some Encodable) throws(MemoryError) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .secondsSince1970
    do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
        throw .encodingFailed(what: "A value for PostgreSQL", reason: "\(error)")
    }
}

func decodeJSON<Value: Decodable>(_ type: Value.Type, _ text: String) throws(MemoryError) -> Value {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970
    do { return try decoder.decode(type, from: Data(text.utf8)) } catch {
        throw .database(reason: "PostgreSQL holds malformed JSON for \(Value.self): \(error)")
    }
}
