import Foundation
import GRDB
import ProceduralMemory
import RetrievalCore

/// The embedded ``ProceduralMemory/MemoryBackend``: one SQLite database through GRDB, in WAL mode, with foreign
/// keys and the named, append-only migrations of `SQLiteSchema.swift`.
///
/// Tables: `meta` (settings, generation), `trajectory` and `trajectory_label`, `memory`, `memory_label`,
/// `memory_source` (memory → trajectory), `memory_vector` (little-endian Float32 blobs) and `history`.
/// Several processes may open the same file; writes are serialized by SQLite.
public final class SQLiteBackend: MemoryBackend {
    /// The schema version this build writes (the number of migrations in `SQLiteSchema.swift`).
    public static let schemaVersion = 2

    let database: any DatabaseWriter
    private let location: String

    /// Opens (creating if needed) the database at `path`, or an in-memory database when `path` is `nil`.
    ///
    /// - Parameter readOnly: Opens an existing file without writing to it (no migration is run).
    /// - Throws: ``MemoryError/database(reason:)`` when the file can't be opened or migrated.
    public init(path: String?, readOnly: Bool = false) throws(MemoryError) {
        location = path ?? ":memory:"
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(30)
        configuration.label = "memp"
        do {
            if let path {
                database = try DatabasePool(path: path, configuration: configuration)
            } else {
                database = try DatabaseQueue(configuration: configuration)
            }
            if !readOnly { try Self.migrator.migrate(database) }
        } catch {
            throw Self.mapped(error)
        }
    }

    // MARK: - Access

    func writing<T>(_ body: (Database) throws -> T) throws(MemoryError) -> T {
        do { return try database.write(body) } catch { throw Self.mapped(error) }
    }

    /// Runs `body` in a write transaction that is committed only when `commit` is true, else rolled back.
    func writing<T>(commit: Bool, _ body: (Database) throws -> T) throws(MemoryError) -> T {
        do {
            return try database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return commit ? .commit : .rollback
                }
                guard let result else { throw MemoryError.database(reason: "the transaction returned nothing") }
                return result
            }
        } catch { throw Self.mapped(error) }
    }

    func reading<T>(_ body: (Database) throws -> T) throws(MemoryError) -> T {
        do { return try database.read(body) } catch { throw Self.mapped(error) }
    }

    private static func mapped(_ error: any Error) -> MemoryError {
        if let error = error as? MemoryError { return error }
        if let error = error as? DatabaseError {
            return .database(
                reason: "\(error.message ?? "error") (SQLite code \(error.resultCode.rawValue))")
        }
        return .database(reason: "\(error)")
    }

    // MARK: - Settings

    public func storeInfo() async throws(MemoryError) -> StoreInfo? {
        try reading { db in try Self.info(db) }
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
            generation: values["generation"].flatMap { UInt64($0) } ?? 0)
    }

    public func initialize(
        embedderID: String, dimension: Int, configuration: EmbedderConfiguration?
    ) async throws(MemoryError) {
        let location = location
        try writing { db in
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

    public func fusionTuning() async throws(MemoryError) -> FusionTuning {
        try reading { db in
            let text = try String.fetchOne(
                db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.fusionTuningKey])
            guard let text else { return FusionTuning() }
            return try decode(FusionTuning.self, text)
        }
    }

    public func saveFusionTuning(_ tuning: FusionTuning, expectedEntries: Int) async throws(MemoryError) {
        try writing { db in
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

    /// Advances the generation inside the current transaction and returns the new one.
    static func advanceGeneration(_ db: Database) throws -> UInt64 {
        try db.execute(
            sql:
                "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")
        return try UInt64(
            String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'") ?? "0") ?? 0
    }

    // MARK: - Writes

    public func existingTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try reading { db in
            var found = Set<String>()
            // SQLite limits the number of bound parameters, so look the IDs up in chunks.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                found.formUnion(
                    try String.fetchAll(
                        db, sql: "SELECT id FROM trajectory WHERE id IN (\(marks))",
                        arguments: StatementArguments(chunk)))
            }
            return found
        }
    }

    public func write(_ batch: WriteBatch) async throws(MemoryError) -> WriteResult {
        try writing { db in try Self.write(batch, db) }
    }

    static func write(_ batch: WriteBatch, _ db: Database) throws -> WriteResult {
        let now = Date().timeIntervalSince1970
        let generation = try advanceGeneration(db)
        var replacedTrajectories = 0
        var removed: [DocumentID] = []
        // Memories that lose a source trajectory here, checked for orphans at the end.
        var touched = Set<Int64>()
        for trajectory in batch.trajectories {
            if let number = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT number FROM trajectory WHERE id = ?"), arguments: [trajectory.id])
            {
                guard batch.replacing else {
                    throw MemoryError.invalidArgument("Trajectory \(trajectory.id) is already stored.")
                }
                touched.formUnion(
                    try Int64.fetchAll(
                        db.cachedStatement(sql: "SELECT memory FROM memory_source WHERE trajectory = ?"),
                        arguments: [number]))
                try db.executeCached(sql: "DELETE FROM trajectory WHERE number = ?", arguments: [number])
                replacedTrajectories += 1
            }
            try db.executeCached(
                sql: """
                    INSERT INTO trajectory (id, task, steps, success, reward, source, labels, producer, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    trajectory.id, trajectory.task, try json(trajectory.steps), trajectory.outcome?.success,
                    trajectory.outcome?.reward, trajectory.source, try json(trajectory.labels),
                    trajectory.producer, now,
                ])
            let number = db.lastInsertedRowID
            for (key, value) in trajectory.labels {
                try db.executeCached(
                    sql: "INSERT INTO trajectory_label (trajectory, key, value) VALUES (?, ?, ?)",
                    arguments: [number, key, value])
            }
        }
        var numbers: [String: DocumentID] = [:]
        for record in batch.memories {
            let memory = record.memory
            var action = HistoryAction.add
            var before: Memory?
            if let number = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT number FROM memory WHERE id = ?"), arguments: [memory.id])
            {
                guard batch.replacing else {
                    throw MemoryError.invalidArgument("Memory \(memory.id) is already stored.")
                }
                before = try fetchMemories(db, numbers: [number]).first?.1
                try db.executeCached(sql: "DELETE FROM memory WHERE number = ?", arguments: [number])
                touched.remove(number)
                removed.append(DocumentID(UInt64(number)))
                action = .replace
            }
            try db.executeCached(
                sql: """
                    INSERT INTO memory (id, task, kind, buildPolicy, steps, script, keywords, source, labels, hitCount,
                        successCount, status, embedder, provenance, revision, createdAt, updatedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    memory.id, memory.task, memory.kind.rawValue, memory.buildPolicy.rawValue,
                    try memory.steps.map(json), memory.script, try json(memory.keywords), memory.source,
                    try json(memory.labels), memory.hitCount, memory.successCount, memory.status.rawValue,
                    memory.embedderID, try json(memory.provenance), memory.revision,
                    memory.createdAt.timeIntervalSince1970, memory.updatedAt.timeIntervalSince1970,
                ])
            let number = db.lastInsertedRowID
            numbers[memory.id] = DocumentID(UInt64(number))
            try insertSourcesAndLabels(of: memory, number: number, db)
            try db.executeCached(
                sql: "INSERT INTO memory_vector (memory, embedder, task, keywords) VALUES (?, ?, ?, ?)",
                arguments: [
                    number, memory.embedderID, blob(record.taskVector), record.keywordVector.map(blob),
                ])
            try recordHistory(
                db, memoryID: memory.id, action: action, policy: batch.policy, reason: batch.reason,
                before: before,
                after: memory, generation: generation)
        }
        removed += try deleteOrphans(
            db, among: touched, policy: batch.policy,
            reason: batch.reason + " (its source trajectories were replaced)",
            generation: generation)
        return WriteResult(
            numbers: numbers, removed: removed, replacedTrajectories: replacedTrajectories,
            generation: generation)
    }

    /// Links memory `number` to its source trajectories, in order, and stores its labels.
    static func insertSourcesAndLabels(of memory: Memory, number: Int64, _ db: Database) throws {
        for (position, trajectoryID) in memory.sourceTrajectoryIDs.enumerated() {
            guard
                let trajectory = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT number FROM trajectory WHERE id = ?"), arguments: [trajectoryID])
            else {
                throw MemoryError.invalidArgument(
                    "Memory \(memory.id) names source trajectory \(trajectoryID), which is not stored.")
            }
            try db.executeCached(
                sql: "INSERT INTO memory_source (memory, trajectory, position) VALUES (?, ?, ?)",
                arguments: [number, trajectory, position])
        }
        for (key, value) in memory.labels {
            try db.executeCached(
                sql: "INSERT INTO memory_label (memory, key, value) VALUES (?, ?, ?)", arguments: [number, key, value])
        }
    }

    // MARK: - Deletes

    public func delete(_ scope: DeleteScope, dryRun: Bool) async throws(MemoryError) -> DeleteResult {
        try writing(commit: !dryRun) { db in
            let trajectories: [Int64]
            let memories: [Int64]
            switch scope {
            case .id(let id):
                trajectories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT number FROM trajectory WHERE id = ?"), arguments: [id])
                memories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT number FROM memory WHERE id = ?"), arguments: [id])
                guard !trajectories.isEmpty || !memories.isEmpty else { throw MemoryError.unknownID(id) }
            case .source(let source):
                trajectories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT number FROM trajectory WHERE source = ?"), arguments: [source])
                memories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT number FROM memory WHERE source = ?"), arguments: [source])
            case .label(let key, let value):
                trajectories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT trajectory FROM trajectory_label WHERE key = ? AND value = ?"),
                    arguments: [key, value])
                memories = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT memory FROM memory_label WHERE key = ? AND value = ?"),
                    arguments: [key, value])
            }
            guard !trajectories.isEmpty || !memories.isEmpty else {
                return DeleteResult(
                    trajectories: 0, memories: [], generation: try Self.info(db)?.generation ?? 0)
            }
            let generation = try Self.advanceGeneration(db)
            var touched = Set<Int64>()
            for number in trajectories {
                touched.formUnion(
                    try Int64.fetchAll(
                        db.cachedStatement(sql: "SELECT memory FROM memory_source WHERE trajectory = ?"),
                        arguments: [number]))
                try db.executeCached(sql: "DELETE FROM trajectory WHERE number = ?", arguments: [number])
            }
            let reason = "delete \(scope)"
            var deleted = try Self.deleteMemories(
                db, memories, policy: "delete", reason: reason, generation: generation)
            deleted += try Self.deleteOrphans(
                db, among: touched.subtracting(memories), policy: "delete",
                reason: reason + " (its source trajectories were deleted)", generation: generation)
            return DeleteResult(
                trajectories: trajectories.count, memories: deleted, generation: generation)
        }
    }

    /// Deletes the memories among `numbers` that have no source trajectory left.
    private static func deleteOrphans(
        _ db: Database, among numbers: Set<Int64>, policy: String, reason: String, generation: UInt64
    ) throws -> [DocumentID] {
        let orphans = try numbers.sorted().filter { number in
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM memory_source WHERE memory = ?"), arguments: [number])
                == 0
        }
        return try deleteMemories(db, orphans, policy: policy, reason: reason, generation: generation)
    }

    private static func deleteMemories(
        _ db: Database, _ numbers: [Int64], policy: String, reason: String, generation: UInt64
    ) throws -> [DocumentID] {
        var deleted: [DocumentID] = []
        for (number, memory) in try fetchMemories(db, numbers: numbers) {
            try recordHistory(
                db, memoryID: memory.id, action: .delete, policy: policy, reason: reason, before: memory,
                after: nil,
                generation: generation)
            try db.executeCached(sql: "DELETE FROM memory WHERE number = ?", arguments: [number])
            deleted.append(DocumentID(UInt64(number)))
        }
        return deleted
    }

    // MARK: - History

    static func recordHistory(
        _ db: Database, memoryID: String, action: HistoryAction, policy: String, reason: String,
        before: Memory?,
        after: Memory?, generation: UInt64
    ) throws {
        try db.executeCached(
            sql: """
                INSERT INTO history (memoryID, action, policy, reason, before, after, revision, generation, date)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                memoryID, action.rawValue, policy, reason, try before.map(json), try after.map(json),
                (after ?? before)?.revision, generation, Date().timeIntervalSince1970,
            ])
    }

    public func history(memoryID: String?) async throws(MemoryError) -> [HistoryEntry] {
        try reading { db in
            let rows =
                if let memoryID {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM history WHERE memoryID = ? ORDER BY number",
                        arguments: [memoryID])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM history ORDER BY number")
                }
            return try rows.map { row in
                let actionName: String = row["action"]
                guard let action = HistoryAction(rawValue: actionName) else {
                    throw MemoryError.database(
                        reason: "history row \(row["number"] as Int64) has unknown action \(actionName)")
                }
                return HistoryEntry(
                    number: row["number"], memoryID: row["memoryID"], action: action, policy: row["policy"],
                    reason: row["reason"],
                    before: try (row["before"] as String?).map { try decode(Memory.self, $0) },
                    after: try (row["after"] as String?).map { try decode(Memory.self, $0) },
                    date: Date(timeIntervalSince1970: row["date"]), reverts: row["reverts"])
            }
        }
    }

    // MARK: - Reads

    public func memories(numbered numbers: [DocumentID]) async throws(MemoryError) -> [DocumentID:
        Memory]
    {
        try reading { db in
            var result: [DocumentID: Memory] = [:]
            for (number, memory) in try Self.fetchMemories(
                db, numbers: numbers.map { Int64($0.rawValue) })
            {
                result[DocumentID(UInt64(number))] = memory
            }
            return result
        }
    }

    public func memory(id: String) async throws(MemoryError) -> Memory? {
        try reading { db in
            guard
                let number = try Int64.fetchOne(
                    db, sql: "SELECT number FROM memory WHERE id = ?", arguments: [id])
            else {
                return nil
            }
            return try Self.fetchMemories(db, numbers: [number]).first?.1
        }
    }

    public func trajectory(id: String) async throws(MemoryError) -> Trajectory? {
        try reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM trajectory WHERE id = ?", arguments: [id]).map(
                Self.trajectory(from:))
        }
    }

    public func forEachTrajectory(_ body: (Trajectory) throws(MemoryError) -> Void) async throws(MemoryError) {
        try reading { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM trajectory ORDER BY number")
            while let row = try cursor.next() { try body(try Self.trajectory(from: row)) }
        }
    }

    private static func trajectory(from row: Row) throws -> Trajectory {
        let success: Bool? = row["success"]
        let reward: Double? = row["reward"]
        return Trajectory(
            id: row["id"], task: row["task"], steps: try decode([Step].self, row["steps"]),
            outcome: success == nil && reward == nil ? nil : Outcome(success: success, reward: reward),
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

    public func forEachIndexEntry(
        _ body: (IndexEntry) throws(MemoryError) -> Void
    ) async throws(MemoryError) -> UInt64 {
        try reading { db in
            let cursor = try Row.fetchCursor(db, sql: Self.indexEntrySelection + " ORDER BY m.number")
            while let row = try cursor.next() { try body(try Self.indexEntry(from: row)) }
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
            keywordVector: (row["keywordVector"] as Data?).map(floats), catalogEntry: try catalogEntry(from: row),
            procedureText: IndexEntry.procedureText(
                script: row["script"], steps: try (row["steps"] as String?).map { try decode([Step].self, $0) }))
    }

    /// The source, labels and status columns of a memory row, and its ``sourceOutcomeColumns``.
    static func catalogEntry(from row: Row) throws -> CatalogEntry {
        let status: String = row["status"]
        return CatalogEntry(
            source: row["source"], labels: try decode([String: String].self, row["labels"]),
            status: MemoryStatus(rawValue: status) ?? .active,
            sourceOutcome: Outcome.combined(
                anySucceeded: (row["anySucceeded"] as Int64?).map { $0 != 0 }, bestReward: row["bestReward"]))
    }

    public func catalog() async throws(MemoryError) -> (
        entries: [DocumentID: CatalogEntry], generation: UInt64
    ) {
        try reading { db in
            var entries: [DocumentID: CatalogEntry] = [:]
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT m.number, m.source, m.labels, m.status, \(Self.sourceOutcomeColumns) FROM memory m")
            while let row = try cursor.next() {
                entries[DocumentID(UInt64(row["number"] as Int64))] = try Self.catalogEntry(from: row)
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


    public func statistics() async throws(MemoryError) -> StoreStatistics {
        try reading { db in
            func counts(_ sql: String) throws -> [String: Int] {
                var result: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: sql) { result[row[0]] = row[1] }
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
    public func foreignCommitMarker() async throws(MemoryError) -> UInt64? {
        do {
            return try await database.writeWithoutTransaction { db in
                try Int64.fetchOne(db, sql: "PRAGMA data_version").map { UInt64(bitPattern: $0) }
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Rows that break the store's own invariants, which SQLite's checks don't know.
    ///
    /// Counters out of range, unknown statuses, memories without a source trajectory or a well-formed vector, rows
    /// that don't decode, history ahead of the generation. At most ``StoreVerification/maximumListed`` rows of
    /// each kind are named.
    package func consistencyProblems(dimension: Int) throws(MemoryError) -> [String] {
        let limit = StoreVerification.maximumListed
        let statuses = MemoryStatus.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
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
        return try reading { db in
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
    public func integrityProblems() throws(MemoryError) -> [String] {
        try reading { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                + Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "foreign key: \($0)" }
        }
    }
}

// MARK: - Encoding

extension Database {
    /// Runs a statement compiled once per connection: the write paths run the same few statements per row.
    fileprivate func executeCached(sql: String, arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

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
