import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

extension PostgresBackend {
    public func existingTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await withConnection { connection in
            var found = Set<String>()
            let rows = try await connection.query("SELECT id FROM trajectory WHERE id = ANY(\(ids))", logger: logger)
            for try await id in rows.decode(String.self) { found.insert(id) }
            return found
        }
    }

    public func write(_ batch: WriteBatch) async throws(MemoryError) -> WriteResult {
        let rows = try WriteRows(batch)
        return try await transaction { connection in try await Self.write(batch, rows, connection, logger: logger) }
    }

    /// Writes a batch inside the current transaction with a handful of set-based statements, whatever its size.
    static func write(
        _ batch: WriteBatch, _ rows: WriteRows, _ connection: PostgresConnection, logger: Logger
    ) async throws -> WriteResult {
        let generation = try await advanceGeneration(connection, logger: logger)
        // Trajectories stored already: refused, or replaced (their memories are checked for orphans at the end).
        let trajectoryIDs = batch.trajectories.map(\.id)
        var replacedTrajectories = 0
        var touched = Set<Int64>()
        if !trajectoryIDs.isEmpty {
            var stored: [String] = []
            for try await id in try await connection.query(
                "DELETE FROM trajectory WHERE id = ANY(\(trajectoryIDs)) RETURNING id", logger: logger
            ).decode(String.self) {
                stored.append(id)
            }
            if let first = stored.min(), !batch.replacing {
                throw MemoryError.invalidArgument("Trajectory \(first) is already stored.")
            }
            replacedTrajectories = stored.count
            if !stored.isEmpty {
                for try await number in try await connection.query(
                    "SELECT number FROM memory WHERE sources && \(stored)", logger: logger
                ).decode(Int64.self) {
                    touched.insert(number)
                }
            }
            try await connection.query(
                """
                INSERT INTO trajectory (id, task, steps, success, reward, source, labels, producer, created_at)
                SELECT id, task, steps, success, reward, source, labels, producer, created_at
                FROM jsonb_array_elements(\(rows.trajectories)::jsonb) WITH ORDINALITY AS e(value, ordinality)
                CROSS JOIN LATERAL jsonb_to_record(e.value) AS x(id text, task text, steps text,
                    success boolean, reward double precision, source text, labels jsonb, producer text,
                    created_at double precision)
                ORDER BY e.ordinality
                """, logger: logger)
        }
        // Memories stored already: refused, or replaced with a history row holding the memory before.
        let memoryIDs = batch.memories.map(\.memory.id)
        var before: [String: Memory] = [:]
        var removed: [DocumentID] = []
        if !memoryIDs.isEmpty {
            for (number, memory) in try await fetchMemories(
                connection, logger: logger, where: "id = ANY($1)", [memoryIDs], lock: true)
            {
                guard batch.replacing else {
                    throw MemoryError.invalidArgument("Memory \(memory.id) is already stored.")
                }
                before[memory.id] = memory
                removed.append(DocumentID(UInt64(number)))
                touched.remove(number)
            }
            if !before.isEmpty {
                try await connection.query(
                    "DELETE FROM memory WHERE id = ANY(\(Array(before.keys)))", logger: logger)
            }
            try await checkSources(of: batch.memories.map(\.memory), connection, logger: logger)
        }
        var numbers: [String: DocumentID] = [:]
        if !memoryIDs.isEmpty {
            for (id, number) in try await insertMemories(rows.memories, connection, logger: logger) {
                numbers[id] = DocumentID(UInt64(number))
            }
            let history = try batch.memories.map { (record) throws(MemoryError) in
                try HistoryRow(
                    memoryID: record.memory.id, action: before[record.memory.id] == nil ? .add : .replace,
                    policy: batch.policy, reason: batch.reason, before: before[record.memory.id],
                    after: record.memory, generation: generation)
            }
            try await recordHistory(history, connection, logger: logger)
        }
        removed += try await deleteOrphans(
            among: touched, policy: batch.policy, reason: batch.reason + " (its source trajectories were replaced)",
            generation: generation, connection, logger: logger)
        return WriteResult(
            numbers: numbers, removed: removed, replacedTrajectories: replacedTrajectories, generation: generation)
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
        _ json: String, _ connection: PostgresConnection, logger: Logger
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

    /// Throws when a memory names a source trajectory that is not stored.
    static func checkSources(of memories: [Memory], _ connection: PostgresConnection, logger: Logger) async throws {
        let sources = Array(Set(memories.flatMap(\.sourceTrajectoryIDs)))
        var stored = Set<String>()
        for try await id in try await connection.query(
            "SELECT id FROM trajectory WHERE id = ANY(\(sources))", logger: logger
        ).decode(String.self) {
            stored.insert(id)
        }
        for memory in memories {
            if let missing = memory.sourceTrajectoryIDs.first(where: { !stored.contains($0) }) {
                throw MemoryError.invalidArgument(
                    "Memory \(memory.id) names source trajectory \(missing), which is not stored.")
            }
        }
    }

    public func delete(_ scope: DeleteScope, dryRun: Bool) async throws(MemoryError) -> DeleteResult {
        try await transaction(commit: !dryRun) { connection in
            let condition: String
            let arguments: [any PostgresThrowingDynamicTypeEncodable]
            switch scope {
            case .id(let id): (condition, arguments) = ("id = $1", [id])
            case .source(let source): (condition, arguments) = ("source = $1", [source])
            case .label(let key, let value):
                (condition, arguments) = ("labels @> jsonb_build_object($1::text, $2::text)", [key, value])
            }
            var bindings = PostgresBindings()
            for argument in arguments { try bindings.append(argument) }
            // Lock the store row first, so that the selection below sees every committed write.
            let current = try await Self.currentGeneration(connection, logger: logger, lock: true)
            var trajectories: [String] = []
            for try await id in try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM trajectory WHERE \(condition) RETURNING id", binds: bindings),
                logger: logger
            ).decode(String.self) {
                trajectories.append(id)
            }
            let memories = try await Self.fetchMemories(
                connection, logger: logger, where: condition, arguments, lock: true)
            guard !trajectories.isEmpty || !memories.isEmpty else {
                if case .id(let id) = scope { throw MemoryError.unknownID(id) }
                return DeleteResult(trajectories: 0, memories: [], generation: current)
            }
            let generation = try await Self.advanceGeneration(connection, logger: logger)
            var touched = Set<Int64>()
            if !trajectories.isEmpty {
                for try await number in try await connection.query(
                    "SELECT number FROM memory WHERE sources && \(trajectories)", logger: logger
                ).decode(Int64.self) {
                    touched.insert(number)
                }
            }
            let reason = "delete \(scope)"
            var deleted = try await Self.deleteMemories(
                memories, policy: "delete", reason: reason, generation: generation, connection, logger: logger)
            deleted += try await Self.deleteOrphans(
                among: touched.subtracting(memories.map(\.0)), policy: "delete",
                reason: reason + " (its source trajectories were deleted)", generation: generation, connection,
                logger: logger)
            return DeleteResult(trajectories: trajectories.count, memories: deleted, generation: generation)
        }
    }

    /// Deletes the memories among `numbers` none of whose source trajectories is stored.
    static func deleteOrphans(
        among numbers: Set<Int64>, policy: String, reason: String, generation: UInt64,
        _ connection: PostgresConnection, logger: Logger
    ) async throws -> [DocumentID] {
        guard !numbers.isEmpty else { return [] }
        let orphans = try await fetchMemories(
            connection, logger: logger,
            where: "number = ANY($1) AND NOT EXISTS (SELECT 1 FROM trajectory t WHERE t.id = ANY(m.sources))",
            [numbers.sorted()])
        return try await deleteMemories(
            orphans, policy: policy, reason: reason, generation: generation, connection, logger: logger)
    }

    /// Deletes memories, recording a history row for each.
    static func deleteMemories(
        _ memories: [(Int64, Memory)], policy: String, reason: String, generation: UInt64,
        _ connection: PostgresConnection, logger: Logger
    ) async throws -> [DocumentID] {
        guard !memories.isEmpty else { return [] }
        let numbers = memories.map(\.0)
        try await connection.query("DELETE FROM memory WHERE number = ANY(\(numbers))", logger: logger)
        try await recordHistory(
            memories.map { (_, memory) throws(MemoryError) in
                try HistoryRow(
                    memoryID: memory.id, action: .delete, policy: policy, reason: reason, before: memory, after: nil,
                    generation: generation)
            },
            connection, logger: logger)
        return numbers.map { DocumentID(UInt64($0)) }
    }

    /// Appends history rows; returns their numbers, in order.
    @discardableResult
    static func recordHistory(
        _ rows: [HistoryRow], _ connection: PostgresConnection, logger: Logger
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
struct HistoryRow: Encodable {
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

    init(
        memoryID: String, action: HistoryAction, policy: String, reason: String, before: Memory?, after: Memory?,
        generation: UInt64, reverts: Int64? = nil
    ) throws(MemoryError) {
        memory_id = memoryID
        self.action = action.rawValue
        self.policy = policy
        self.reason = reason
        self.before = try before.map { (memory) throws(MemoryError) in try encodeJSON(memory) }
        self.after = try after.map { (memory) throws(MemoryError) in try encodeJSON(memory) }
        revision = (after ?? before)?.revision
        self.generation = generation
        date = Date().timeIntervalSince1970
        self.reverts = reverts
    }

    /// The row of an existing entry, keeping its number and date.
    init(_ entry: HistoryEntry, generation: UInt64) throws(MemoryError) {
        try self.init(
            memoryID: entry.memoryID, action: entry.action, policy: entry.policy, reason: entry.reason,
            before: entry.before, after: entry.after, generation: generation, reverts: entry.reverts)
        number = entry.number
        date = entry.date.timeIntervalSince1970
    }
}

/// A batch's rows as JSON documents, expanded by `jsonb_to_record` in one statement per table.
struct WriteRows {
    var trajectories: String
    var memories: String

    init(_ batch: WriteBatch) throws(MemoryError) {
        let now = Date().timeIntervalSince1970
        trajectories = try encodeJSON(
            try batch.trajectories.map { (trajectory) throws(MemoryError) in
                TrajectoryRow(
                    id: trajectory.id, task: trajectory.task, steps: try encodeJSON(trajectory.steps),
                    success: trajectory.outcome?.success, reward: trajectory.outcome?.reward,
                    source: trajectory.source, labels: trajectory.labels, producer: trajectory.producer,
                    created_at: now)
            })
        memories = try encodeJSON(try batch.memories.map { (record) throws(MemoryError) in try MemoryRow(record) })
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
        guard record.taskVector.allSatisfy(\.isFinite), record.keywordVector?.allSatisfy(\.isFinite) ?? true else {
            throw .invalidArgument("Memory \(memory.id) has a vector with a non-finite component.")
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
        search_text =
            IndexEntry(
                number: DocumentID(0), task: memory.task, keywords: memory.keywords, taskVector: [],
                keywordVector: nil, catalogEntry: CatalogEntry(source: "", labels: [:], status: .active),
                procedureText: ""
            ).searchText
        task_vector = record.taskVector
        keyword_vector = record.keywordVector
    }
}
