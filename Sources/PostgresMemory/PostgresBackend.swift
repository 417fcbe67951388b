import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore
import Synchronization

/// A ``ProceduralMemory/MemoryBackend`` on PostgreSQL with pgvector, for procedural memories shared by many
/// agents on many machines, or larger than one machine's memory.
///
/// Every write runs in one transaction (``transaction(commit:_:)``); writers serialize on the store's row (the
/// generation) and hold the memories they read (`SELECT … FOR UPDATE`) until they end, so concurrent agents never
/// lose an increment. What the writes are is decided in ProceduralMemory, the same for every backend. Retrieval runs
/// in the database (a ``ProceduralMemory/MemoryStore`` on a backend connected with a ``databaseSearch`` runs its
/// `query`, `bm25` and `hybrid` policies there) or on in-process index caches rebuilt from it. The schema is
/// described in ``PostgresSchema``. Stores reach it through MemoryLocation:
///
///     let store = try await MemoryStore.open(at: StoreLocation("postgres://memp@db:5432/agents"))
public final class PostgresBackend: MemoryBackend {
    /// Where the store lives.
    public let location: PostgresLocation
    /// How a ``ProceduralMemory/MemoryStore`` on this backend searches vectors in the database; `nil` makes it
    /// search in-process index caches for every policy.
    public let databaseSearch: PostgresVectorSearch?
    let logger: Logger
    /// The backend's connections.
    let pool: PostgresPool
    /// Whether the database's pgvector scans HNSW iteratively (0.8 and later), once a filtered search has asked.
    let iterativeScan = Mutex<Bool?>(nil)
    /// How the backend's SQL selects rows by source and label, as the database's encoding allows.
    let canonicalSelection: CanonicalSelection
    /// How many times transactions of this object advanced the store's generation and committed: the generation
    /// less this is the ``foreignCommitMarker()``.
    let ownAdvances = Atomic<UInt64>(0)

    private init(
        location: PostgresLocation, password: String?, maximumConnections: Int, timing: PostgresPool.Timing,
        databaseSearch: PostgresVectorSearch?, canonicalSelection: CanonicalSelection
    ) {
        let logger = Self.quietLogger
        self.location = location
        self.databaseSearch = databaseSearch
        self.canonicalSelection = canonicalSelection
        self.logger = logger
        pool = PostgresPool(
            maximum: maximumConnections, timing: timing,
            closedError: .database(reason: "PostgreSQL at \(location): the store was closed"), logger: logger
        ) { () throws(MemoryError) in
            try await Self.directConnection(
                to: location, password: password, timeout: timing.connectTimeout, logger: logger)
        }
    }

    /// Connects to the server and brings the schema up to date (creating it when missing).
    ///
    /// - Parameters:
    ///   - maximumConnections: The most connections the backend's pool opens.
    ///   - databaseSearch: How a ``ProceduralMemory/MemoryStore`` on the backend searches vectors in the database
    ///     (its `query`, `bm25` and `hybrid` lookups then run there and it loads no index caches for them); `nil`
    ///     makes the store search in-process index caches for every policy.
    /// - Throws: ``ProceduralMemory/MemoryError/database(reason:)`` at once when the server can't be reached or
    ///   refuses the connection, with the server's or the network's reason (TLS, login, database; the message never
    ///   contains the password); errors of ``PostgresLocation`` password sources;
    ///   ``ProceduralMemory/MemoryError/invalidParameter(name:value:expected:)`` for an `efSearch` outside 1…1000 or
    ///   a `maximumConnections` below 1.
    public static func connect(
        to location: PostgresLocation, maximumConnections: Int = 8, databaseSearch: PostgresVectorSearch? = nil
    ) async throws(MemoryError) -> PostgresBackend {
        try await connect(
            to: location, maximumConnections: maximumConnections, timing: PostgresPool.Timing(),
            databaseSearch: databaseSearch)
    }

    /// ``connect(to:maximumConnections:databaseSearch:)`` with the pool's timing given (tests shorten it), and the
    /// migrations to apply (tests make a store of an earlier schema with the first few).
    static func connect(
        to location: PostgresLocation, maximumConnections: Int = 8, timing: PostgresPool.Timing,
        databaseSearch: PostgresVectorSearch? = nil,
        migrations: [PostgresSchema.Migration] = PostgresSchema.migrations
    ) async throws(MemoryError) -> PostgresBackend {
        try location.validate()
        guard maximumConnections >= 1 else {
            throw .invalidParameter(
                name: "maximumConnections", value: Double(maximumConnections), expected: "at least 1")
        }
        try databaseSearch?.validate()
        let password = try location.resolvePassword()
        let selection = try await migrate(
            location, migrations: migrations, password: password, timeout: timing.connectTimeout)
        return PostgresBackend(
            location: location, password: password, maximumConnections: maximumConnections, timing: timing,
            databaseSearch: databaseSearch, canonicalSelection: selection)
    }

    /// One new connection to `location`.
    ///
    /// Fails at once with the server's or the network's reason (refused, not open within `timeout`, TLS, login),
    /// which PostgresNIO's connection pool would retry for a minute and then report only that it gave up.
    private static func directConnection(
        to location: PostgresLocation, password: String?, timeout: Duration, logger: Logger
    ) async throws(MemoryError) -> PostgresConnection {
        do {
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: password,
                database: location.database,
                tls: location.requireTLS
                    ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
            configuration.options.additionalStartupParameters = searchPath(location)
            configuration.options.connectTimeout = TimeAmount(timeout)
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch let error as PSQLError where error.serverInfo == nil {
            switch error.code {
            case .sslUnsupported:
                throw .database(
                    reason: "PostgreSQL at \(location): the server does not accept TLS; on a network you trust, add "
                        + "sslmode=disable to the URL to connect without it")
            case .authMechanismRequiresPassword:
                throw .database(
                    reason: "PostgreSQL at \(location): the server asks for a password, and the store's location "
                        + "gives none")
            default:
                if let reason = outOfDescriptors(error) { throw .io(path: "PostgreSQL at \(location)", reason: reason) }
                throw .databaseUnavailable(
                    reason: "PostgreSQL at \(location): can't connect to \(location.host):\(location.port): "
                        + (error.underlying.map { "\($0)" } ?? "\(error.code)"))
            }
        } catch {
            throw mapped(error, at: location)
        }
    }

    /// The backend's logger: PostgresNIO's own messages are not shown; errors reach callers as
    /// ``ProceduralMemory/MemoryError``s.
    private static var quietLogger: Logger {
        var logger = Logger(label: "memp.postgres")
        logger.logLevel = .critical
        return logger
    }

    /// The connection's settings that make the store's schema the one unqualified names are looked up in.
    private static func searchPath(_ location: PostgresLocation) -> [(String, String)] {
        [("search_path", "\(location.schema), public")]
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
    public func close() { pool.close() }

    // MARK: - Access

    /// Runs `body` on a pooled connection, mapping errors.
    ///
    /// When no idle connection is at hand a new one is opened, so an operation on a store whose server is down fails
    /// at once with ``ProceduralMemory/MemoryError/databaseUnavailable(reason:)`` saying why, and the first one
    /// after it is back succeeds; an idle connection that stopped answering is found by the pool's check and
    /// replaced before `body` sends anything (``PostgresPool``). Cancelling the calling task closes the connection:
    /// a query waiting for a server that stopped answering ends at once (PostgresNIO's queries ignore cancellation),
    /// and the server rolls back an open transaction.
    func withConnection<Result: Sendable>(
        _ body: (WatchedConnection) async throws -> Result
    ) async throws(MemoryError) -> Result {
        do {
            let connection = try await pool.lease()
            defer { pool.release(connection) }
            do {
                return try await withTaskCancellationHandler {
                    try await body(connection)
                } onCancel: {
                    _ = connection.close() as EventLoopFuture<Void>
                }
            } catch {
                guard Task.isCancelled else { throw error }
                // Back to the pool only once closed, so that the pool never lends it again.
                try? await connection.closeFuture.get()
                // A statement sent after the cancellation closed the connection finds it closed.
                throw error is ConnectionClosed ? OperationCancelled() : error
            }
        } catch {
            throw mapped(error)
        }
    }

    /// Runs `body` in one transaction, mapping errors; the transaction rolls back when `body` throws.
    ///
    /// - Parameter writes: Whether `body` may write. Only a transaction that wrote and was committing when its
    ///   connection failed is ``ProceduralMemory/MemoryError/commitUnconfirmed(reason:)``; a read ending that way
    ///   changed nothing either way, and fails as any of its statements would.
    func inTransaction<Result: Sendable>(
        commit: Bool = true, writes: Bool = true, _ body: (WatchedConnection) async throws -> Result
    ) async throws(MemoryError) -> Result {
        try await withConnection { connection in
            try await Self.transaction(on: connection, commit: commit, writes: writes, logger: self.logger, body)
        }
    }

    /// Runs `body` in one transaction on `connection`.
    ///
    /// The transaction rolls back when `body` throws, or when `commit` is false (a dry run rolls back what it did and
    /// reports it). See ``inTransaction(commit:writes:_:)`` for `writes`.
    private nonisolated(nonsending) static func transaction<Result: Sendable>(
        on connection: WatchedConnection, commit: Bool = true, writes: Bool = true, logger: Logger,
        _ body: (WatchedConnection) async throws -> Result
    ) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            // On a closed connection this fails at once; the server rolls back when the connection ends.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        do {
            try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: logger)
        } catch {
            // A dry run's ROLLBACK, or a read's COMMIT, leaves the store as it was whether or not it was answered.
            guard commit, writes else { throw error }
            throw UnconfirmedCommit(cause: error)
        }
        return result
    }

    /// The calling task was cancelled, which closed the connection its operation ran on.
    private struct OperationCancelled: Error {}

    /// The connection failed while a transaction was ending, so whether it committed is not known.
    private struct UnconfirmedCommit: Error {
        var cause: any Error
    }

    /// The error as a ``ProceduralMemory/MemoryError``, with the server's message and SQLSTATE (never the
    /// statement's arguments).
    func mapped(_ error: any Error) -> MemoryError { Self.mapped(error, at: location) }

    /// ``mapped(_:)`` for a store at `location`.
    ///
    /// Failures of the connection (refused, closed, timed out; the server shutting down, starting up, or out of
    /// connections) are ``ProceduralMemory/MemoryError/databaseUnavailable(reason:)``: the same operation can
    /// succeed once the server is back. A record beyond one of its limits (SQLSTATE class 54) is
    /// ``ProceduralMemory/MemoryError/recordTooLarge(reason:)``. What else the server refuses is
    /// ``ProceduralMemory/MemoryError/database(reason:)``.
    static func mapped(_ error: any Error, at location: PostgresLocation) -> MemoryError {
        if let error = error as? MemoryError { return error }
        if let error = error as? UnconfirmedCommit {
            switch mapped(error.cause, at: location) {
            case .databaseUnavailable(let reason), .cancelled(let reason): return .commitUnconfirmed(reason: reason)
            case let cause: return cause
            }
        }
        if error is OperationCancelled {
            return .cancelled(reason: "PostgreSQL at \(location): the operation's connection was closed")
        }
        if let reason = outOfDescriptors(error) {
            return .io(path: "PostgreSQL at \(location)", reason: reason)
        }
        if error is ConnectionClosed {
            return .databaseUnavailable(reason: "PostgreSQL at \(location): the connection was lost")
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                let state = info[.sqlState] ?? "?"
                let reason = "PostgreSQL at \(location): \(message) (SQLSTATE \(state))"
                // Class 54, program limit exceeded: a record too large for an index or a text search vector.
                if state.hasPrefix("54") { return .recordTooLarge(reason: reason) }
                return unavailableStates.contains(state) || state.hasPrefix("08")
                    ? .databaseUnavailable(reason: reason) : .database(reason: reason)
            }
            switch error.code {
            case .serverClosedConnection, .uncleanShutdown, .connectionError:
                return .databaseUnavailable(
                    reason: "PostgreSQL at \(location): the connection was lost"
                        + (error.underlying.map { " (\($0))" } ?? ""))
            case .clientClosedConnection, .queryCancelled:
                return mapped(OperationCancelled(), at: location)
            default:
                return .database(reason: "PostgreSQL at \(location): \(error.code)")
            }
        }
        if error is CancellationError {
            return .cancelled(reason: "PostgreSQL at \(location): it was waiting for a connection")
        }
        if let error = error as? PostgresDecodingError {
            return .database(reason: "PostgreSQL at \(location): can't decode column \(error.columnName)")
        }
        return .database(reason: "PostgreSQL at \(location): \(error)")
    }

    /// Why a connection could not be opened when `error`, or an error it wraps, is the system's refusal to open one
    /// more file (EMFILE for this process, ENFILE for the machine); `nil` for any other error.
    ///
    /// A process out of descriptors was told the database was unavailable and to retry when it is back, though
    /// the server was up (hostile run 17).
    private static func outOfDescriptors(_ error: any Error) -> String? {
        var errors = [error]
        while let error = errors.popLast() {
            switch error {
            case let error as IOError where error.errnoCode == EMFILE:
                return "can't open a connection: this process has as many files open as its limit allows (ulimit "
                    + "-n). Raise the limit, or use fewer stores at once"
            case let error as IOError where error.errnoCode == ENFILE:
                return "can't open a connection: the system has as many files open as it allows. Close other "
                    + "programs, or raise the system's limit"
            case let error as PSQLError: errors += error.underlying.map { [$0] } ?? []
            case let error as NIOConnectionError: errors += error.connectionErrors.map(\.error)
            default: break
            }
        }
        return nil
    }

    /// SQLSTATEs (besides class 08, connection exceptions) that say the server can't serve now, not that it
    /// refuses the statement: too many connections, shut down by an administrator, crashed, starting up or
    /// shutting down.
    private static let unavailableStates: Set<String> = ["53300", "57P01", "57P02", "57P03"]

    // MARK: - Migrations

    /// Applies the migrations not yet applied to the store at `location`, on a connection of its own, under an
    /// advisory lock so that concurrent openers don't race.
    ///
    /// All of them run in one transaction: each one's statements, then its rewrite of stored rows, then its record
    /// in `memp_migration`, so a store is never left half-way. A store that has applied a migration later than the
    /// last of `migrations` was written by a newer build, and is refused before anything is written.
    ///
    /// - Returns: How the store's SQL selects by source and label in the database's encoding.
    private static func migrate(
        _ location: PostgresLocation, migrations: [PostgresSchema.Migration], password: String?, timeout: Duration
    ) async throws(MemoryError) -> CanonicalSelection {
        let logger = quietLogger
        let connection = WatchedConnection(
            try await directConnection(to: location, password: password, timeout: timeout, logger: logger))
        do {
            try await transaction(on: connection, logger: logger) { connection in
                try await migrate(location, migrations: migrations, on: connection, logger: logger)
            }
            var normalizes = false
            for try await utf8 in try await connection.query(
                "SELECT current_setting('server_encoding') = 'UTF8'", logger: logger
            ).decode(Bool.self) {
                normalizes = utf8
            }
            try? await connection.close().get()
            return CanonicalSelection(normalizes: normalizes)
        } catch {
            try? await connection.close().get()
            throw mapped(error, at: location)
        }
    }

    /// ``migrate(_:migrations:password:timeout:)``'s statements, in the transaction it opened on `connection`.
    private static func migrate(
        _ location: PostgresLocation, migrations: [PostgresSchema.Migration], on connection: WatchedConnection,
        logger: Logger
    ) async throws {
        let schema = location.schema
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
        let known = migrations.last?.version ?? 0
        if let newest = applied.max(), newest > known {
            throw MemoryError.laterSchema(store: "PostgreSQL at \(location)", version: newest, known: known)
        }
        for migration in migrations where !applied.contains(migration.version) {
            for statement in migration.sql {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await migration.rewrite?(connection, logger)
            try await connection.query(
                "INSERT INTO memp_migration (version, name) VALUES (\(migration.version), \(migration.name))",
                logger: logger)
        }
    }

    // MARK: - Settings

    package func storeInfo() async throws(MemoryError) -> StoreInfo? {
        try await withConnection { connection in try await Self.info(connection, logger: self.logger) }
    }

    static func info(_ connection: WatchedConnection, logger: Logger) async throws -> StoreInfo? {
        let rows = try await connection.query(
            """
            SELECT schema_version, embedder, dimension, embedder_configuration, generation, incomplete_copy_of
            FROM store
            """,
            logger: logger)
        for try await (version, embedder, dimension, configuration, generation, copyOf) in rows.decode(
            (Int, String, Int, String?, Int64, String?).self)
        {
            return StoreInfo(
                schemaVersion: version, embedderID: embedder, dimension: dimension,
                embedderConfiguration: try configuration.map { try decodeJSON(EmbedderConfiguration.self, $0) },
                generation: UInt64(generation), incompleteCopyOf: copyOf)
        }
        return nil
    }

    package func beginCopy(from source: String) async throws(MemoryError) {
        let location = location
        try await inTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT incomplete_copy_of,
                    (SELECT count(*) FROM trajectory) + (SELECT count(*) FROM memory) + (SELECT count(*) FROM history)
                        + (SELECT count(*) FROM applied_task) + (CASE WHEN fusion_tuning IS NULL THEN 0 ELSE 1 END)
                FROM store FOR UPDATE
                """, logger: logger)
            for try await (other, held) in rows.decode((String?, Int64).self) {
                if let other { throw MemoryError.incompleteCopy(source: other) }
                guard held == 0 else { throw MemoryError.storeExists(path: location.url) }
            }
            try await connection.query("UPDATE store SET incomplete_copy_of = \(source)", logger: logger)
        }
    }

    package func endCopy() async throws(MemoryError) {
        try await inTransaction { connection in
            _ = try await connection.query("UPDATE store SET incomplete_copy_of = NULL", logger: logger)
        }
    }

    package func initialize(
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
        _ connection: WatchedConnection, logger: Logger, lock: Bool
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
    static func advanceGeneration(_ connection: WatchedConnection, logger: Logger) async throws -> UInt64 {
        let rows = try await connection.query(
            "UPDATE store SET generation = generation + 1 RETURNING generation", logger: logger)
        for try await generation in rows.decode(Int64.self) { return UInt64(generation) }
        throw MemoryError.database(reason: "the PostgreSQL store has no settings row; initialize it first")
    }

    /// The current generation; with `lock`, holds the store row's lock until the transaction ends.
    static func currentGeneration(
        _ connection: WatchedConnection, logger: Logger, lock: Bool = false
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
