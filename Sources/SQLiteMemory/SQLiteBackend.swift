import Foundation
import GRDB
import ProceduralMemory
import RetrievalCore

/// The embedded ``ProceduralMemory/MemoryBackend``: one SQLite database through GRDB, in WAL mode, with foreign
/// keys and the named, append-only migrations of `SQLiteSchema.swift`.
///
/// Tables: `meta` (settings, generation), `trajectory` and `trajectory_label`, `memory`, `memory_label`,
/// `memory_source` (memory → trajectory), `memory_vector` (little-endian Float32 blobs), `history` and
/// `applied_task` (an update's record of each task it applied).
/// Several processes may open the same file; writes are serialized by SQLite.
public final class SQLiteBackend: MemoryBackend {
    /// The schema version this build writes (the number of migrations in `SQLiteSchema.swift`).
    public static let schemaVersion = 4

    let database: any DatabaseWriter
    private let location: String
    /// Held by each access of the writer connection (and, in memory, of the only connection), so that a transaction
    /// spanning several accesses runs alone.
    let access = AsyncLock()

    /// Opens (creating if needed) the database at `path`, or an in-memory database when `path` is `nil`.
    ///
    /// - Parameters:
    ///   - readOnly: Opens an existing file without writing to it (no migration is run).
    ///   - existingStore: Whether the file must hold a store already; one without a store's settings is then
    ///     refused before anything is written to it.
    /// - Throws: ``MemoryError/database(reason:)`` when the file can't be opened or migrated;
    ///   ``MemoryError/notSQLiteDatabase(path:)`` when it is not a SQLite database;
    ///   ``MemoryError/databaseWithoutStoreSettings(path:)`` when `existingStore` and it holds no store.
    public init(path: String?, readOnly: Bool = false, existingStore: Bool = false) throws(MemoryError) {
        let location = path ?? ":memory:"
        self.location = location
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(30)
        configuration.label = "memp"
        // A transaction spans several accesses of the writer connection (`transaction(commit:_:)`).
        configuration.allowsUnsafeTransactions = true
        configuration.prepareDatabase { db in db.add(function: Self.canonicalText) }
        let existed = path.map { FileManager.default.fileExists(atPath: $0) } ?? false
        do {
            if let path {
                database = try DatabasePool(path: path, configuration: configuration)
            } else {
                database = try DatabaseQueue(configuration: configuration)
            }
            // A file that should hold a store but holds no settings is refused before a migration adds tables to it.
            // Only a database that was there may hold a store; a create's new file is left alone (a read there kept
            // the write-ahead log from being folded into the database at close).
            let info = existingStore || existed ? try database.read(Self.info) : nil
            if existingStore, info == nil {
                throw MemoryError.databaseWithoutStoreSettings(path: location)
            }
            // Hostile run 22 (finding 225): a build opened a store a later build had upgraded, and failed part-way
            // on what it could not read (a history action it did not know).
            if let version = info?.schemaVersion, version > Self.schemaVersion {
                throw MemoryError.laterSchema(store: location, version: version, known: Self.schemaVersion)
            }
            if !readOnly { try Self.migrator.migrate(database) }
        } catch {
            throw Self.mapped(error, at: location)
        }
    }

    /// The SQL function `memp_nfc(text)`: the text in Unicode Normalization Form C.
    ///
    /// SQL selects by a source or label through it as Swift's `String` compares them, by canonical equivalence
    /// (`"cafe\u{301}"` is `"café"`), where SQLite's `=` compares bytes. The rows keep the bytes they were written
    /// with.
    static let canonicalText = DatabaseFunction("memp_nfc", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0])?.precomposedStringWithCanonicalMapping
    }

    /// The SQL condition that `column` is canonically equivalent to `text`, and its argument, `text` in
    /// Normalization Form C: `column = ?` when no other text is equivalent
    /// (``RetrievalCore/hasNoCanonicalVariants(_:)``), which an index serves, and `memp_nfc(column) = ?`, a scan,
    /// otherwise.
    static func matching(_ column: String, _ text: String) -> (sql: String, arguments: StatementArguments) {
        (
            hasNoCanonicalVariants(text) ? "\(column) = ?" : "memp_nfc(\(column)) = ?",
            [text.precomposedStringWithCanonicalMapping]
        )
    }

    /// Closes the database's connections; as the last one closes, SQLite folds the write-ahead log into the
    /// database file and removes it.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/database(reason:)`` (or the storage's error) when SQLite can't.
    func close() throws(MemoryError) {
        do { try database.close() } catch { throw Self.mapped(error, at: location) }
        let log = location + "-wal"
        if let bytes = try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int, bytes > 0 {
            throw .io(path: log, reason: "the write-ahead log was not folded into the database as it closed")
        }
    }

    // MARK: - Access

    /// Runs `body` on the writer connection, outside any transaction, as the only holder of ``access``.
    ///
    /// A transaction spans several accesses of the writer connection (``transaction(commit:_:)``), so every other
    /// access waits for it to end rather than run inside it.
    func writing<T>(_ body: (Database) throws -> T) async throws(MemoryError) -> T {
        try await access.withLock { () throws(MemoryError) -> T in
            do { return try database.write(body) } catch { throw Self.mapped(error, at: location) }
        }
    }

    /// Runs `body` on a reader connection; an in-memory database has only the writer connection, so there it waits
    /// for ``access`` like a write.
    func reading<T>(_ body: (Database) throws -> T) async throws(MemoryError) -> T {
        guard database is DatabaseQueue else { return try readingNow(body) }
        return try await access.withLock { () throws(MemoryError) -> T in try readingNow(body) }
    }

    /// Runs `body` on a reader connection, without waiting for ``access``.
    private func readingNow<T>(_ body: (Database) throws -> T) throws(MemoryError) -> T {
        do { return try database.read(body) } catch { throw Self.mapped(error, at: location) }
    }

    /// One access of the writer connection inside ``transaction(commit:_:)``, whose caller holds ``access``.
    func step<T>(_ body: (Database) throws -> T) throws(MemoryError) -> T {
        do { return try database.writeWithoutTransaction(body) } catch { throw Self.mapped(error, at: location) }
    }

    /// Runs `body` in one `IMMEDIATE` transaction: SQLite serializes it against every other writer, in this process
    /// or another, from its first statement; see ``ProceduralMemory/MemoryBackend/transaction(commit:_:)``.
    package func transaction<Result: Sendable>(
        commit: Bool, _ body: (any MemoryTransaction) async throws(MemoryError) -> Result
    ) async throws(MemoryError) -> Result {
        try await access.withLock { () throws(MemoryError) -> Result in
            try step { db in try db.execute(sql: "BEGIN IMMEDIATE TRANSACTION") }
            do throws(MemoryError) {
                let result = try await body(SQLiteTransaction(backend: self))
                try step { db in try db.execute(sql: commit ? "COMMIT TRANSACTION" : "ROLLBACK TRANSACTION") }
                return result
            } catch {
                // What failed, `body` or the commit, may have left the transaction open.
                _ = try? step { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK TRANSACTION") } }
                throw error
            }
        }
    }

    /// `error` as a ``MemoryError``; SQLite's own errors name the database file, so that "file is not a database"
    /// says which file, and a full disk or storage this process can't write says so.
    private static func mapped(_ error: any Error, at location: String) -> MemoryError {
        if let error = error as? MemoryError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB: return .notSQLiteDatabase(path: location)
            case .SQLITE_FULL: return .storageFull(path: location)
            case .SQLITE_READONLY, .SQLITE_CANTOPEN:
                if let problem = unwritableStorage(location) ?? fullStorage(location) ?? exhaustedDescriptors(location)
                {
                    return problem
                }
            case .SQLITE_IOERR:
                // On a full disk, SQLite's -shm file can't grow and it says "disk I/O error", even to read.
                if let problem = fullStorage(location) ?? fileSizeLimitReached(location) { return problem }
            default: break
            }
            return .database(
                reason: "\(location): \(error.message ?? "error") (SQLite code \(error.resultCode.rawValue))")
        }
        return .database(reason: "\(error)")
    }

    // MARK: - Settings

    package func storeInfo() async throws(MemoryError) -> StoreInfo? {
        try await reading { db in try Self.info(db) }
    }

    static func info(_ db: Database) throws -> StoreInfo? {
        guard try db.tableExists("meta") else { return nil }
        var values: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            values[row["key"]] = row["value"]
        }
        guard let embedderID = values["embedder"],
            let dimension = values["dimension"].flatMap({ Int($0) })
        else {
            return nil
        }
        return StoreInfo(
            schemaVersion: values["schemaVersion"].flatMap { Int($0) } ?? schemaVersion,
            embedderID: embedderID,
            dimension: dimension,
            embedderConfiguration: try values["embedderConfiguration"].map {
                try decode(EmbedderConfiguration.self, $0)
            },
            generation: values["generation"].flatMap { UInt64($0) } ?? 0,
            incompleteCopyOf: values[incompleteCopyKey])
    }

    package func initialize(
        embedderID: String, dimension: Int, configuration: EmbedderConfiguration?
    ) async throws(MemoryError) {
        let location = location
        try await writing { db in
            guard try Self.info(db) == nil else { throw MemoryError.storeExists(path: location) }
            var settings = [
                ("schemaVersion", String(Self.schemaVersion)), ("embedder", embedderID),
                ("dimension", String(dimension)), ("generation", "0"),
            ]
            if let configuration { settings.append(("embedderConfiguration", try json(configuration))) }
            for (key, value) in settings {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            }
        }
    }

    /// The `meta` key of the record of fusion choices (JSON).
    static let fusionTuningKey = "fusionTuning"

    /// The `meta` key that marks the destination of a copy under way: the source's location.
    static let incompleteCopyKey = "incompleteCopyOf"

    package func beginCopy(from source: String) async throws(MemoryError) {
        let location = location
        try await transaction(commit: true) { (_) throws(MemoryError) in
            try step { db in
                if let other = try String.fetchOne(
                    db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.incompleteCopyKey])
                {
                    throw MemoryError.incompleteCopy(source: other)
                }
                let held = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT (SELECT COUNT(*) FROM trajectory) + (SELECT COUNT(*) FROM memory)
                            + (SELECT COUNT(*) FROM history) + (SELECT COUNT(*) FROM applied_task)
                            + (SELECT COUNT(*) FROM meta WHERE key = ?)
                        """, arguments: [Self.fusionTuningKey])
                guard held == 0 else { throw MemoryError.storeExists(path: location) }
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [Self.incompleteCopyKey, source])
            }
        }
    }

    package func endCopy() async throws(MemoryError) {
        try await writing { db in
            try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [Self.incompleteCopyKey])
        }
    }

    package func fusionTuning() async throws(MemoryError) -> FusionTuning {
        try await reading { db in
            let text = try String.fetchOne(
                db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.fusionTuningKey])
            guard let text else { return FusionTuning() }
            return try decode(FusionTuning.self, text)
        }
    }

    package func saveFusionTuning(_ tuning: FusionTuning, expectedEntries: Int) async throws(MemoryError) {
        try await writing { db in
            let stored = try String.fetchOne(
                db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.fusionTuningKey])
            let actual = try stored.map { try decode(FusionTuning.self, $0).entries.count } ?? 0
            guard actual == expectedEntries else {
                throw MemoryError.tuningConflict(expectedEntries: expectedEntries, actualEntries: actual)
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                arguments: [Self.fusionTuningKey, try json(tuning)])
        }
    }

    // MARK: - Reads

    package func existingTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await reading { db in try Self.storedTrajectoryIDs(among: ids, db) }
    }

    package func appliedTasks(among ids: [String]?) async throws(MemoryError) -> [AppliedTask] {
        func record(_ row: Row) throws(MemoryError) -> AppliedTask {
            AppliedTask(
                trajectoryID: row["trajectoryID"], outcome: Self.outcome(of: row), source: row["source"],
                line: row["line"], date: Date(timeIntervalSince1970: row["appliedAt"]),
                method: try UpdateMethod.stored(
                    policy: row["policy"], build: row["build"], trajectoryID: row["trajectoryID"]))
        }
        if ids?.isEmpty == true { return [] }
        return try await reading { db in
            // A store of schema 2 opened read-only, as the source of a copy is, has no records yet: it has those
            // its migration would make.
            guard try db.tableExists("applied_task") else {
                let legacy = try Self.legacyAppliedTasks(db)
                guard let ids else { return legacy }
                let wanted = Set(ids)
                return legacy.filter { wanted.contains($0.trajectoryID) }
            }
            guard let ids else {
                return try Row.fetchAll(db, sql: "SELECT * FROM applied_task ORDER BY number").map(record)
            }
            var records: [(Int64, AppliedTask)] = []
            try Self.forEachChunk(of: ids) { chunk, marks in
                for row in try Row.fetchAll(
                    db, sql: "SELECT * FROM applied_task WHERE trajectoryID IN (\(marks))",
                    arguments: StatementArguments(chunk))
                {
                    records.append((row["number"], try record(row)))
                }
            }
            return records.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The IDs among `ids` of the tasks recorded as applied.
    static func appliedTaskIDs(among ids: [String], _ db: Database) throws -> Set<String> {
        try found(ids, by: "SELECT trajectoryID FROM applied_task WHERE trajectoryID IN", db)
    }

    /// The IDs among `ids` that belong to stored trajectories.
    static func storedTrajectoryIDs(among ids: [String], _ db: Database) throws -> Set<String> {
        try found(ids, by: "SELECT id FROM trajectory WHERE id IN", db)
    }

    /// The IDs among `ids` that `select`, a query ending in `IN`, returns for the list of them.
    private static func found(_ ids: [String], by select: String, _ db: Database) throws -> Set<String> {
        var found = Set<String>()
        try forEachChunk(of: ids) { chunk, marks in
            found.formUnion(try String.fetchAll(db, sql: "\(select) (\(marks))", arguments: StatementArguments(chunk)))
        }
        return found
    }

    /// Calls `body` with `ids` in chunks of at most 500 and the chunk's `?,?,…` placeholders: SQLite limits the
    /// number of bound parameters of one statement.
    static func forEachChunk(of ids: [String], _ body: ([String], String) throws -> Void) rethrows {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            try body(chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    package func history(memoryID: String?, last: Int?) async throws(MemoryError) -> [HistoryEntry] {
        let condition = memoryID == nil ? "" : "WHERE memoryID = ?"
        let arguments = StatementArguments(memoryID.map { [$0] } ?? []) + StatementArguments(last.map { [$0] } ?? [])
        // The newest `last` rows by the primary key, read alone, then put oldest first.
        let sql =
            last == nil
            ? "SELECT * FROM history \(condition) ORDER BY number"
            : "SELECT * FROM (SELECT * FROM history \(condition) ORDER BY number DESC LIMIT ?) ORDER BY number"
        return try await reading { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.historyEntry(from:))
        }
    }

    package func forEachHistoryEntry(_ body: (HistoryEntry) throws(MemoryError) -> Void) async throws(MemoryError) {
        try await reading { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM history ORDER BY number")
            while let row = try cursor.next() { try body(try Self.historyEntry(from: row)) }
        }
    }

    /// A `history` row as an entry.
    static func historyEntry(from row: Row) throws -> HistoryEntry {
        let actionName: String = row["action"]
        guard let action = HistoryAction(rawValue: actionName) else {
            throw MemoryError.database(reason: "history row \(row["number"] as Int64) has unknown action \(actionName)")
        }
        return HistoryEntry(
            number: row["number"], memoryID: row["memoryID"], action: action, policy: row["policy"],
            reason: row["reason"],
            before: try HistoryEntry.snapshot(row["before"], row: row["number"], column: "before"),
            after: try HistoryEntry.snapshot(row["after"], row: row["number"], column: "after"),
            date: Date(timeIntervalSince1970: row["date"]), reverts: row["reverts"])
    }

    package func memories(numbered numbers: [DocumentID]) async throws(MemoryError) -> [DocumentID:
        Memory]
    {
        try await reading { db in
            var result: [DocumentID: Memory] = [:]
            for (number, memory) in try Self.fetchMemories(
                db, numbers: numbers.map { Int64($0.rawValue) })
            {
                result[DocumentID(UInt64(number))] = memory
            }
            return result
        }
    }

    package func memory(id: String) async throws(MemoryError) -> Memory? {
        try await reading { db in
            guard
                let number = try Int64.fetchOne(
                    db, sql: "SELECT number FROM memory WHERE id = ?", arguments: [id])
            else {
                return nil
            }
            return try Self.fetchMemories(db, numbers: [number]).first?.1
        }
    }

    package func trajectory(id: String) async throws(MemoryError) -> Trajectory? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM trajectory WHERE id = ?", arguments: [id]).map(
                Self.trajectory(from:))
        }
    }

    package func trajectoryOutcomes(among ids: [String]) async throws(MemoryError) -> [String: Outcome] {
        guard !ids.isEmpty else { return [:] }
        return try await reading { db in
            var outcomes: [String: Outcome] = [:]
            try Self.forEachChunk(of: ids) { chunk, marks in
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT id, success, reward FROM trajectory WHERE id IN (\(marks)) "
                        + "AND (success IS NOT NULL OR reward IS NOT NULL)",
                    arguments: StatementArguments(chunk))
                for row in rows { outcomes[row["id"]] = Outcome(success: row["success"], reward: row["reward"]) }
            }
            return outcomes
        }
    }

    package func forEachTrajectory(_ body: (Trajectory) throws(MemoryError) -> Void) async throws(MemoryError) {
        try await reading { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM trajectory ORDER BY number")
            while let row = try cursor.next() { try body(try Self.trajectory(from: row)) }
        }
    }

    /// The outcome a row's `success` and `reward` columns hold, `nil` when both are NULL.
    static func outcome(of row: Row) -> Outcome? {
        let success: Bool? = row["success"]
        let reward: Double? = row["reward"]
        return Outcome.ifAny(success: success, reward: reward)
    }

    private static func trajectory(from row: Row) throws -> Trajectory {
        Trajectory(
            id: row["id"], task: row["task"], steps: try decode([Step].self, row["steps"]), outcome: outcome(of: row),
            source: row["source"], labels: try decode([String: String].self, row["labels"]),
            producer: row["producer"])
    }

    /// Fetches memories by number in one statement, in number order.
    static func fetchMemories(_ db: Database, numbers: [Int64]) throws -> [(Int64, Memory)] {
        var result: [(Int64, Memory)] = []
        result.reserveCapacity(numbers.count)
        for start in stride(from: 0, to: numbers.count, by: 500) {
            let chunk = Array(numbers[start..<min(start + 500, numbers.count)])
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.*, (SELECT json_group_array(id) FROM (SELECT t.id FROM memory_source s
                        JOIN trajectory t ON t.number = s.trajectory WHERE s.memory = m.number ORDER BY s.position))
                        AS sources
                    FROM memory m WHERE m.number IN (\(marks)) ORDER BY m.number
                    """, arguments: StatementArguments(chunk))
            for row in rows { result.append((row["number"], try memory(from: row))) }
        }
        return result
    }

    private static func memory(from row: Row) throws -> Memory {
        func choice<Choice: RawRepresentable<String>>(_ column: String, _ type: Choice.Type) throws
            -> Choice
        {
            let raw: String = row[column]
            guard let value = Choice(rawValue: raw) else {
                throw MemoryError.database(
                    reason: "memory \(row["id"] as String): unknown \(column) \(raw)")
            }
            return value
        }
        // A subscript that can't convert traps inside GRDB; a value out of range (a REAL left by an overflowing
        // addition, say) is a damaged row, reported as such.
        func count(_ column: String) throws -> Int {
            guard let value = Int.fromDatabaseValue(row[column] as DatabaseValue), value >= 0 else {
                throw MemoryError.database(
                    reason: "memory \(row["id"] as String? ?? "?"): \(column) is not a count (damaged row)")
            }
            return value
        }
        return Memory(
            id: row["id"], task: row["task"], kind: try choice("kind", MemoryKind.self),
            buildPolicy: try choice("buildPolicy", BuildPolicy.self),
            steps: try (row["steps"] as String?).map { try decode([Step].self, $0) },
            script: row["script"],
            keywords: try decode([String].self, row["keywords"]),
            sourceTrajectoryIDs: try decode([String].self, row["sources"]), source: row["source"],
            labels: try decode([String: String].self, row["labels"]), hitCount: try count("hitCount"),
            successCount: try count("successCount"), status: try choice("status", MemoryStatus.self),
            embedderID: row["embedder"], provenance: try decode(Provenance.self, row["provenance"]),
            revision: try count("revision"), createdAt: Date(timeIntervalSince1970: row["createdAt"]),
            updatedAt: Date(timeIntervalSince1970: row["updatedAt"]))
    }

    package func forEachIndexEntry(
        _ body: (IndexEntry) throws(MemoryError) -> Void
    ) async throws(MemoryError) -> UInt64 {
        try await reading { db in
            let cursor = try Row.fetchCursor(db, sql: Self.indexEntrySelection + " ORDER BY m.number")
            while let row = try cursor.next() { try body(try Self.indexEntry(from: row)) }
            return try Self.info(db)?.generation ?? 0
        }
    }

    package func forEachKeywordVector(
        _ body: (DocumentID, [Float]) throws(MemoryError) -> Void
    ) async throws(MemoryError) -> UInt64 {
        try await reading { db in
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT memory, keywords FROM memory_vector WHERE keywords IS NOT NULL ORDER BY memory")
            while let row = try cursor.next() {
                try body(DocumentID(UInt64(row[0] as Int64)), floats(row[1]))
            }
            return try Self.info(db)?.generation ?? 0
        }
    }

    /// The rows ``indexEntry(from:)`` reads: every memory joined with its vectors and its source outcome.
    static let indexEntrySelection = """
        SELECT m.number, m.task, m.keywords, m.steps, m.script, m.source, m.labels, m.status, v.task AS taskVector,
            v.keywords AS keywordVector, \(sourceOutcomeColumns)
        FROM memory m JOIN memory_vector v ON v.memory = m.number
        """

    /// A row of ``indexEntrySelection`` as an index entry.
    static func indexEntry(from row: Row) throws -> IndexEntry {
        IndexEntry(
            number: DocumentID(UInt64(row["number"] as Int64)), task: row["task"],
            keywords: try decode([String].self, row["keywords"]), taskVector: floats(row["taskVector"]),
            keywordVector: (row["keywordVector"] as Data?).map(floats),
            catalogEntry: catalogEntry(from: row, labels: try decode([String: String].self, row["labels"])),
            procedureText: IndexEntry.procedureText(
                script: row["script"], steps: try (row["steps"] as String?).map { try decode([Step].self, $0) }))
    }

    /// The source and status columns of a memory row and its ``sourceOutcomeColumns``, with its `labels` decoded.
    static func catalogEntry(from row: Row, labels: [String: String]) -> CatalogEntry {
        let status: String = row["status"]
        return CatalogEntry(
            source: row["source"], labels: labels,
            status: MemoryStatus(rawValue: status) ?? .active,
            sourceOutcome: Outcome.combined(
                anySucceeded: (row["anySucceeded"] as Int64?).map { $0 != 0 }, bestReward: row["bestReward"]))
    }

    package func catalog() async throws(MemoryError) -> (
        entries: [DocumentID: CatalogEntry], generation: UInt64
    ) {
        try await reading { db in
            var entries: [DocumentID: CatalogEntry] = [:]
            var labels = LabelDecoder { (text) throws in try decode([String: String].self, text) }
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT m.number, m.source, m.labels, m.status, \(Self.sourceOutcomeColumns) FROM memory m")
            while let row = try cursor.next() {
                entries[DocumentID(UInt64(row["number"] as Int64))] = Self.catalogEntry(
                    from: row, labels: try labels.labels(row["labels"]))
            }
            return (entries, try Self.info(db)?.generation ?? 0)
        }
    }

    /// Columns of a query over `memory m`: how the memory's source trajectories ended, as the aggregates
    /// ``Outcome/combined(anySucceeded:bestReward:)`` reads (`max` of the 0/1 success flags and of the rewards;
    /// NULL over no values).
    static let sourceOutcomeColumns = """
        (SELECT max(t.success) FROM memory_source s JOIN trajectory t ON t.number = s.trajectory
            WHERE s.memory = m.number) AS anySucceeded,
        (SELECT max(t.reward) FROM memory_source s JOIN trajectory t ON t.number = s.trajectory
            WHERE s.memory = m.number) AS bestReward
        """

    package func statistics() async throws(MemoryError) -> StoreStatistics {
        try await reading { db in
            func counts(_ sql: String) throws -> [String: Int] {
                var result: [String: Int] = [:]
                // Summed: SQLite groups by bytes, Swift keys by canonical equivalence, so an NFC and an NFD source
                // are two rows and one key (the last row's count was kept, hostile run 15).
                for row in try Row.fetchAll(db, sql: sql) { result[row[0], default: 0] += row[1] as Int }
                return result
            }
            let status = try counts("SELECT status, count(*) FROM memory GROUP BY status")
            return StoreStatistics(
                trajectories: try Int.fetchOne(db, sql: "SELECT count(*) FROM trajectory") ?? 0,
                memories: status.values.reduce(0, +),
                activeMemories: status[MemoryStatus.active.rawValue] ?? 0,
                deprecatedMemories: status[MemoryStatus.deprecated.rawValue] ?? 0,
                memoriesByBuildPolicy: try counts(
                    "SELECT buildPolicy, count(*) FROM memory GROUP BY buildPolicy"),
                trajectoriesBySource: try counts("SELECT source, count(*) FROM trajectory GROUP BY source"),
                historyEntries: try Int.fetchOne(db, sql: "SELECT count(*) FROM history") ?? 0,
                generation: try Self.info(db)?.generation ?? 0)
        }
    }

    /// SQLite's `PRAGMA data_version` on the writer connection: it changes when any other connection (of this
    /// process or another) commits, and not when this backend commits.
    package func foreignCommitMarker() async throws(MemoryError) -> UInt64? {
        try await access.withLock { () throws(MemoryError) -> UInt64? in
            try step { db in try Int64.fetchOne(db, sql: "PRAGMA data_version").map { UInt64(bitPattern: $0) } }
        }
    }

    /// Rows that break the store's own invariants, which SQLite's checks don't know.
    ///
    /// Counters out of range, unknown statuses, dates no export can write, memories without a source trajectory or a well-formed vector, rows
    /// that don't decode, history ahead of the generation. At most ``StoreVerification/maximumListed`` rows of
    /// each kind are named.
    package func consistencyProblems(dimension: Int) async throws(MemoryError) -> [String] {
        let limit = StoreVerification.maximumListed
        let statuses = MemoryStatus.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let dates = JSONDates.writableSeconds
        let checks: [(String, String)] = [
            (
                "impossible counters (0 ≤ successCount ≤ hitCount ≤ \(Memory.maximumCount), revision ≥ 1, integers)",
                """
                SELECT id FROM memory WHERE typeof(hitCount) != 'integer' OR typeof(successCount) != 'integer'
                    OR typeof(revision) != 'integer' OR hitCount < 0 OR successCount < 0 OR successCount > hitCount
                    OR hitCount > \(Memory.maximumCount) OR revision < 1
                """
            ),
            ("an unknown status", "SELECT id FROM memory WHERE status NOT IN (\(statuses))"),
            (
                "a date outside the years 1 through 9999, which no export can write",
                """
                SELECT id FROM memory WHERE NOT coalesce(
                    createdAt >= \(dates.lowerBound) AND createdAt < \(dates.upperBound)
                        AND updatedAt >= \(dates.lowerBound) AND updatedAt < \(dates.upperBound), 0)
                """
            ),
            (
                "no source trajectory (such memories are deleted with their last trajectory)",
                "SELECT id FROM memory m WHERE NOT EXISTS (SELECT 1 FROM memory_source s WHERE s.memory = m.number)"
            ),
            (
                "no vector, or one of another length than \(dimension) Float32 values",
                """
                SELECT m.id FROM memory m LEFT JOIN memory_vector v ON v.memory = m.number
                WHERE v.memory IS NULL OR length(v.task) != \(4 * dimension)
                    OR (v.keywords IS NOT NULL AND length(v.keywords) != \(4 * dimension))
                """
            ),
        ]
        return try await reading { db in
            var problems: [String] = []
            for (what, sql) in checks {
                let ids = try String.fetchAll(db, sql: sql + " LIMIT \(limit + 1)")
                guard !ids.isEmpty else { continue }
                let more = ids.count > limit ? " and more" : ""
                problems.append("memories with \(what): \(ids.prefix(limit).joined(separator: ", "))\(more)")
            }
            let generation = try Self.info(db)?.generation ?? 0
            if let newest = try Int64.fetchOne(db, sql: "SELECT max(generation) FROM history"),
                newest > Int64(clamping: generation)
            {
                problems.append("history rows record generation \(newest), beyond the store's \(generation)")
            }
            // Every row must decode as the store reads it.
            let numbers = try Int64.fetchAll(db, sql: "SELECT number FROM memory ORDER BY number")
            var undecodable: [String] = []
            for start in stride(from: 0, to: numbers.count, by: 500) {
                let chunk = Array(numbers[start..<min(start + 500, numbers.count)])
                do { _ = try Self.fetchMemories(db, numbers: chunk) } catch {
                    for number in chunk {  // the rows of the chunk at fault
                        do { _ = try Self.fetchMemories(db, numbers: [number]) } catch {
                            undecodable.append("memory number \(number) (\(error))")
                        }
                    }
                }
            }
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM trajectory ORDER BY number")
            while let row = try cursor.next() {
                do { _ = try Self.trajectory(from: row) } catch {
                    undecodable.append("trajectory number \(row["number"] as Int64? ?? -1) (\(error))")
                }
            }
            if !undecodable.isEmpty {
                problems.append(
                    "rows that don't decode: \(undecodable.prefix(limit).joined(separator: "; "))"
                        + (undecodable.count > limit ? " and \(undecodable.count - limit) more" : ""))
            }
            return problems
        }
    }

    /// Runs SQLite's integrity check and returns its findings; empty when the database is sound.
    public func integrityProblems() async throws(MemoryError) -> [String] {
        try await reading { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                + Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "foreign key: \($0)" }
        }
    }
}

// MARK: - Encoding

func json(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .secondsSince1970
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

func decode<Value: Decodable>(_ type: Value.Type, _ text: String) throws -> Value {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970
    return try decoder.decode(type, from: Data(text.utf8))
}

/// The vector as little-endian Float32 bytes.
func blob(_ vector: [Float]) -> Data {
    vector.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
}

func floats(_ data: Data) -> [Float] {
    let count = data.count / MemoryLayout<UInt32>.size
    var bits = [UInt32](repeating: 0, count: count)
    bits.withUnsafeMutableBytes { target in _ = data.copyBytes(to: target) }
    return bits.map { Float(bitPattern: UInt32(littleEndian: $0)) }
}

/// The directory holding `path` ("." for a bare file name).
private func parentDirectory(of path: String) -> String {
    let parent = (path as NSString).deletingLastPathComponent
    return parent.isEmpty ? "." : parent
}

/// This process's soft limit on `resource` (`getrlimit(2)`), or `nil` when it has none or can't be read.
private func finiteLimit(_ resource: __rlimit_resource) -> rlim_t? {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
        return nil
    }
    return limit.rlim_cur
}

/// The most descriptors a store's database holds: the writer and GRDB's default of 5 readers, each with the
/// database and its -wal file open, and the -shm file.
private let storeDescriptors = (1 + 5) * 3

/// Why SQLite can't open the database at `path` when this process is out of file descriptors: fewer than a store's
/// connections need are left below its limit (`RLIMIT_NOFILE`); `nil` otherwise.
///
/// SQLite says "unable to open database file" (`SQLITE_CANTOPEN`) whatever the cause; under `ulimit -n 12`, or a
/// `memp serve` with more stores than its limit holds, the store seemed damaged (hostile run 13).
private func exhaustedDescriptors(_ path: String) -> MemoryError? {
    guard let limit = finiteLimit(RLIMIT_NOFILE) else { return nil }
    let maximum = Int(clamping: limit)
    // Listing the open descriptors takes one more: at the limit the listing itself is refused.
    let openCount: Int
    if let listing = opendir("/proc/self/fd") {
        var entries = 0
        while readdir(listing) != nil { entries += 1 }
        closedir(listing)
        openCount = entries - 3  // ".", ".." and the listing's own descriptor
    } else if errno == EMFILE {
        openCount = maximum
    } else {
        return nil
    }
    guard maximum - openCount < storeDescriptors else { return nil }
    return .io(
        path: path,
        reason: "this process has \(openCount) of the \(maximum) files open that its limit of open "
            + "files allows, and a store's database holds up to \(storeDescriptors). Raise the limit, or use fewer "
            + "stores at once")
}

/// Why SQLite can't open or read the database at `path` when its file system is full (less than 1 MiB left for
/// this user); `nil` otherwise.
///
/// In WAL mode SQLite needs room beside the database (its -wal file, and 32 KiB of -shm) even to read it, and on a
/// full disk it reports "disk I/O error" (`SQLITE_IOERR`), which names neither the disk nor the space.
private func fullStorage(_ path: String) -> MemoryError? {
    let directory = parentDirectory(of: path)
    var facts = statvfs()
    guard statvfs(directory, &facts) == 0 else { return nil }
    let free = UInt64(facts.f_bavail) * UInt64(facts.f_frsize)
    guard free < 1 << 20 else { return nil }
    return .io(
        path: directory,
        reason: "is on a file system with no space left (\(free) bytes free), and SQLite needs room beside a store's "
            + "database even to read it (its -wal and -shm files). Free some space, or copy the store to a disk "
            + "with room, then retry")
}

/// Why SQLite can't write the database at `path` when its file or write-ahead log reached this process's limit on
/// the size of a file it writes (`RLIMIT_FSIZE`, `ulimit -f`); `nil` otherwise.
///
/// Past the limit a write fails with EFBIG where SIGXFSZ is ignored (as a parent process may leave it; otherwise the
/// signal ends the process), and SQLite says "disk I/O error" (`SQLITE_IOERR`), which names neither the file nor
/// the limit (hostile run 13).
private func fileSizeLimitReached(_ path: String) -> MemoryError? {
    guard let limit = finiteLimit(RLIMIT_FSIZE) else { return nil }
    let maximum = UInt64(limit)
    // SQLite writes a page (at most 64 KiB) and, to the log, a 24-byte frame header at a time.
    let largestWrite: UInt64 = 65_536 + 24
    for file in [path, path + "-wal", path + "-journal"] {
        var facts = stat()
        guard stat(file, &facts) == 0, UInt64(facts.st_size) + largestWrite > maximum else { continue }
        return .io(
            path: file,
            reason: "can't grow past this process's limit on the size of a file it writes (\(maximum) bytes, "
                + "RLIMIT_FSIZE; it holds \(facts.st_size)), so the write stopped and its transaction stored "
                + "nothing. Raise the limit (`ulimit -f`), then retry")
    }
    return nil
}

/// Why SQLite can't write the database at `path` when the storage is the cause: the file or its directory is
/// on a read-only file system, or this user may not write it; `nil` otherwise.
///
/// SQLite "unable to open database file" and "attempt to write a readonly database" say neither; and in WAL
/// mode it writes beside the database (`-wal`, `-shm`) even to read it, so a store there can't be opened at all.
private func unwritableStorage(_ path: String) -> MemoryError? {
    for candidate in [parentDirectory(of: path), path] where access(candidate, W_OK) != 0 {
        guard errno != ENOENT else { continue }
        return .io(
            path: candidate,
            reason: "can't be written (\(String(cString: strerror(errno)))), and SQLite writes beside a store's "
                + "database even to read it (its -wal and -shm files). Make it writable for this user, or copy "
                + "the store to a writable directory")
    }
    return nil
}
