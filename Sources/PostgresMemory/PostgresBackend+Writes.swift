import Foundation
import PostgresNIO
import ProceduralMemory

extension PostgresBackend {
    /// Writes a batch in one transaction and returns what changed.
    ///
    /// The rules every backend shares apply (`MemoryBackend.write(_:)` in ProceduralMemory). Public for loading
    /// benchmark stores.
    package func write(_ batch: WriteBatch) async throws(MemoryError) -> WriteResult {
        try await (self as any MemoryBackend).write(batch)
    }

    package func existingTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        try await withConnection { connection in
            try await PostgresTransaction(connection: connection, backend: self).storedTrajectoryIDs(among: ids)
        }
    }

    /// Inserts records of applied tasks, in order, a thousand to a statement; with `ignoringRecorded`, a task
    /// recorded already keeps its record.
    ///
    /// - Parameter schemaVersion: The schema of the table written: before version 7 it has no columns of the
    ///   update's method (version 6's rewrite writes records that have none).
    static func insertAppliedTasks(
        _ tasks: [AppliedTask], ignoringRecorded: Bool, _ connection: WatchedConnection, logger: Logger,
        schemaVersion: Int = PostgresSchema.version
    ) async throws {
        struct Row: Encodable {
            var trajectory_id: String
            var success: Bool?
            var reward: Double?
            var source: String
            var line: Int?
            var applied_at: Double
            var policy: String?
            var build: String?
            var position: Int
        }
        let columns =
            "trajectory_id, success, reward, source, line, applied_at" + (schemaVersion >= 7 ? ", policy, build" : "")
        for start in stride(from: 0, to: tasks.count, by: 1000) {
            let rows = tasks[start..<min(start + 1000, tasks.count)].enumerated().map { position, task in
                Row(
                    trajectory_id: task.trajectoryID, success: task.outcome?.success, reward: task.outcome?.reward,
                    source: task.source, line: task.line, applied_at: task.date.timeIntervalSince1970,
                    policy: task.method?.policy.rawValue, build: task.method?.build.rawValue, position: position)
            }
            try await connection.query(
                """
                INSERT INTO applied_task (\(unescaped: columns))
                SELECT \(unescaped: columns)
                FROM jsonb_to_recordset(\(try encodeJSON(rows))::jsonb) AS x(trajectory_id text, success boolean,
                    reward double precision, source text, line bigint, applied_at double precision, policy text,
                    build text, position bigint)
                ORDER BY position
                \(unescaped: ignoringRecorded ? "ON CONFLICT (trajectory_id) DO NOTHING" : "")
                """, logger: logger)
        }
    }

    /// The columns of a JSON memory row (``MemoryRow``) for `jsonb_to_record`.
    static let memoryRecordColumns = """
        id text, task text, kind text, build_policy text, steps text, script text, keywords text, sources text[],
        source text, labels jsonb, hit_count bigint, success_count bigint, status text, embedder text,
        provenance text, revision bigint, created_at double precision, updated_at double precision,
        search_text text, task_vector real[], keyword_vector real[]
        """

    /// Inserts the memories of a JSON array of ``MemoryRow``s in order; returns their IDs and numbers.
    static func insertMemories(
        _ json: String, _ connection: WatchedConnection, logger: Logger
    ) async throws -> [(String, Int64)] {
        var inserted: [(String, Int64)] = []
        for try await row in try await connection.query(
            """
            INSERT INTO memory (id, task, kind, build_policy, steps, script, keywords, sources, source, labels,
                hit_count, success_count, status, embedder, provenance, revision, created_at, updated_at,
                search_text, task_vector, keyword_vector)
            SELECT id, task, kind, build_policy, steps, script, keywords, sources, source, labels, hit_count,
                success_count, status, embedder, provenance, revision, created_at, updated_at, search_text,
                task_vector::vector, keyword_vector::vector
            FROM jsonb_array_elements(\(json)::jsonb) WITH ORDINALITY AS e(value, ordinality)
            CROSS JOIN LATERAL jsonb_to_record(e.value) AS x(\(unescaped: memoryRecordColumns))
            ORDER BY e.ordinality
            RETURNING id, number
            """, logger: logger
        ).decode((String, Int64).self) {
            inserted.append(row)
        }
        return inserted
    }

    /// Appends history rows; returns their numbers, in order.
    @discardableResult
    static func recordHistory(
        _ rows: [HistoryColumns], _ connection: WatchedConnection, logger: Logger
    ) async throws -> [Int64] {
        guard !rows.isEmpty else { return [] }
        let json = try encodeJSON(rows)
        var numbers: [Int64] = []
        for try await number in try await connection.query(
            """
            INSERT INTO history (memory_id, action, policy, reason, before, after, revision, generation, date, reverts)
            SELECT memory_id, action, policy, reason, before, after, revision, generation, date, reverts
            FROM jsonb_array_elements(\(json)::jsonb) WITH ORDINALITY AS e(value, ordinality)
            CROSS JOIN LATERAL jsonb_to_record(e.value) AS x(memory_id text, action text, policy text, reason text,
                before text, after text, revision bigint, generation bigint, date double precision, reverts bigint)
            ORDER BY e.ordinality
            RETURNING number
            """, logger: logger
        ).decode(Int64.self) {
            numbers.append(number)
        }
        return numbers
    }
}

/// A history row as written to PostgreSQL.
struct HistoryColumns: Encodable {
    var memory_id: String
    var action: String
    var policy: String
    var reason: String
    var before: String?
    var after: String?
    var revision: Int?
    var generation: UInt64
    var date: Double
    var reverts: Int64?
    /// The row's number when it is kept (a copied history); `nil` numbers the row after the last.
    var number: Int64?

    /// The row of an entry: numbered `number`, or after the last when `number` is `nil`.
    init(_ entry: HistoryEntry, number: Int64?, generation: UInt64) throws(MemoryError) {
        memory_id = entry.memoryID
        action = entry.action.rawValue
        policy = entry.policy
        reason = entry.reason
        before = try entry.before.map { (memory) throws(MemoryError) in try encodeJSON(memory) }
        after = try entry.after.map { (memory) throws(MemoryError) in try encodeJSON(memory) }
        revision = (entry.after ?? entry.before)?.revision
        self.generation = generation
        date = entry.date.timeIntervalSince1970
        reverts = entry.reverts
        self.number = number
    }
}

extension TrajectoryRow {
    /// The trajectories' rows as one JSON array, expanded by `jsonb_to_record` in one statement.
    static func json(_ trajectories: [Trajectory]) throws(MemoryError) -> String {
        let now = Date().timeIntervalSince1970
        return try encodeJSON(
            try trajectories.map { (trajectory) throws(MemoryError) in
                TrajectoryRow(
                    id: trajectory.id, task: trajectory.task, steps: try encodeJSON(trajectory.steps),
                    success: trajectory.outcome?.success, reward: trajectory.outcome?.reward,
                    source: trajectory.source, labels: trajectory.labels, producer: trajectory.producer,
                    created_at: now)
            })
    }
}

struct TrajectoryRow: Encodable {
    var id: String
    var task: String
    var steps: String
    var success: Bool?
    var reward: Double?
    var source: String
    var labels: [String: String]
    var producer: String?
    var created_at: Double
}

/// A memory and its vectors as written to PostgreSQL.
struct MemoryRow: Encodable {
    var id: String
    var task: String
    var kind: String
    var build_policy: String
    var steps: String?
    var script: String?
    var keywords: String
    var sources: [String]
    var source: String
    var labels: [String: String]
    var hit_count: Int
    var success_count: Int
    var status: String
    var embedder: String
    var provenance: String
    var revision: Int
    var created_at: Double
    var updated_at: Double
    var search_text: String
    var task_vector: [Float]
    var keyword_vector: [Float]?

    init(_ record: MemoryRecord) throws(MemoryError) {
        let memory = record.memory
        if let position = record.taskVector.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteVector(memoryID: memory.id, field: "taskVector", position: position)
        }
        if let position = record.keywordVector?.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteVector(memoryID: memory.id, field: "keywordVector", position: position)
        }
        id = memory.id
        task = memory.task
        kind = memory.kind.rawValue
        build_policy = memory.buildPolicy.rawValue
        steps = try memory.steps.map { (steps) throws(MemoryError) in try encodeJSON(steps) }
        script = memory.script
        keywords = try encodeJSON(memory.keywords)
        sources = memory.sourceTrajectoryIDs
        source = memory.source
        labels = memory.labels
        hit_count = memory.hitCount
        success_count = memory.successCount
        status = memory.status.rawValue
        embedder = memory.embedderID
        provenance = try encodeJSON(memory.provenance)
        revision = memory.revision
        created_at = memory.createdAt.timeIntervalSince1970
        updated_at = memory.updatedAt.timeIntervalSince1970
        search_text = PostgresSchema.searchText(task: memory.task, keywords: memory.keywords)
        task_vector = record.taskVector
        keyword_vector = record.keywordVector
    }
}
