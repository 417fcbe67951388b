import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore
import Synchronization

extension PostgresBackend {
    /// Runs `body` in one transaction on a pooled connection; see
    /// ``ProceduralMemory/MemoryBackend/transaction(commit:_:)``.
    ///
    /// Writers serialize on the store row (``PostgresTransaction/advanceGeneration()``) and hold the memories they
    /// read until they end (`SELECT … FOR UPDATE`, in number order, so that two transactions never wait for each
    /// other's rows in a cycle).
    package func transaction<Result: Sendable>(
        commit: Bool, _ body: (any MemoryTransaction) async throws(MemoryError) -> Result
    ) async throws(MemoryError) -> Result {
        let advances = GenerationAdvances()
        let result = try await inTransaction(commit: commit) { connection in
            try await body(PostgresTransaction(connection: connection, backend: self, advances: advances))
        }
        if commit { ownAdvances.add(advances.count.load(ordering: .relaxed), ordering: .relaxed) }
        return result
    }

    /// The store's generation less the advances this object committed: it changes when another connection or
    /// process advances the generation (a write that changes what the indexes hold), and not when this one does.
    ///
    /// Hostile run 22: without it a store trusted the generation alone, so that of two processes importing into one
    /// store, each saved index caches that lacked the other's memories under the latest generation, and `memp verify`
    /// reported them (finding 212). A commit whose answer was lost is not counted, which only makes the next check
    /// rebuild the indexes.
    package func foreignCommitMarker() async throws(MemoryError) -> UInt64? {
        let own = ownAdvances.load(ordering: .relaxed)
        let generation = try await withConnection { connection in
            try await Self.currentGeneration(connection, logger: self.logger)
        }
        return generation &- own
    }
}

/// How many times one transaction advanced the store's generation.
final class GenerationAdvances: Sendable {
    let count = Atomic<UInt64>(0)
}

/// The row operations of one PostgreSQL transaction, each a statement or a few, whatever the number of rows.
struct PostgresTransaction: MemoryTransaction {
    let connection: WatchedConnection
    let backend: PostgresBackend
    /// Counts the transaction's ``advanceGeneration()`` calls, for ``PostgresBackend/foreignCommitMarker()``.
    var advances = GenerationAdvances()
    var logger: Logger { backend.logger }

    /// Runs `body`, mapping what it throws (``PostgresBackend/mapped(_:)``).
    @discardableResult
    private func run<T>(_ body: () async throws -> T) async throws(MemoryError) -> T {
        do {
            return try await body()
        } catch {
            throw backend.mapped(error)
        }
    }

    func generation(locking: Bool) async throws(MemoryError) -> UInt64 {
        try await run { try await PostgresBackend.currentGeneration(connection, logger: logger, lock: locking) }
    }

    func advanceGeneration() async throws(MemoryError) -> UInt64 {
        let generation = try await run { try await PostgresBackend.advanceGeneration(connection, logger: logger) }
        advances.count.add(1, ordering: .relaxed)
        return generation
    }

    func storedTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        try await found(ids, by: "SELECT id FROM trajectory WHERE id")
    }

    func appliedTaskIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        try await found(ids, by: "SELECT trajectory_id FROM applied_task WHERE trajectory_id")
    }

    /// The IDs among `ids` that `select`, a query ending in the column compared, returns for them.
    private func found(_ ids: [String], by select: String) async throws(MemoryError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await run {
            var found = Set<String>()
            for try await id in try await connection.query(
                "\(unescaped: select) = ANY(\(ids))", logger: logger
            ).decode(String.self) {
                found.insert(id)
            }
            return found
        }
    }

    func recordAppliedTasks(_ tasks: [AppliedTask]) async throws(MemoryError) {
        try await run {
            try await PostgresBackend.insertAppliedTasks(tasks, ignoringRecorded: false, connection, logger: logger)
        }
    }

    func trajectoryIDs(in scope: DeleteScope) async throws(MemoryError) -> [String] {
        try await run {
            var bindings = PostgresBindings()
            let condition = self.condition(of: scope, &bindings)
            var ids: [String] = []
            for try await id in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT id FROM trajectory WHERE \(condition) ORDER BY number", binds: bindings),
                logger: logger
            ).decode(String.self) {
                ids.append(id)
            }
            return ids
        }
    }

    func storeTrajectories(_ trajectories: [Trajectory]) async throws(MemoryError) {
        guard !trajectories.isEmpty else { return }
        let json = try TrajectoryRow.json(trajectories)
        try await run {
            // In place on a stored ID: the memories built from the trajectory keep naming it.
            try await connection.query(
                """
                INSERT INTO trajectory (id, task, steps, success, reward, source, labels, producer, created_at)
                SELECT id, task, steps, success, reward, source, labels, producer, created_at
                FROM jsonb_array_elements(\(json)::jsonb) WITH ORDINALITY AS e(value, ordinality)
                CROSS JOIN LATERAL jsonb_to_record(e.value) AS x(id text, task text, steps text,
                    success boolean, reward double precision, source text, labels jsonb, producer text,
                    created_at double precision)
                ORDER BY e.ordinality
                ON CONFLICT (id) DO UPDATE SET task = excluded.task, steps = excluded.steps,
                    success = excluded.success, reward = excluded.reward, source = excluded.source,
                    labels = excluded.labels, producer = excluded.producer, created_at = excluded.created_at
                """, logger: logger)
        }
    }

    func deleteTrajectories(ids: [String]) async throws(MemoryError) {
        guard !ids.isEmpty else { return }
        try await run {
            try await connection.query("DELETE FROM trajectory WHERE id = ANY(\(ids))", logger: logger)
            // As SQLite's `memory_source` rows go with their trajectory.
            try await connection.query(
                """
                UPDATE memory SET sources = ARRAY(
                    SELECT s.id FROM unnest(sources) WITH ORDINALITY AS s(id, position) WHERE s.id <> ALL(\(ids))
                    ORDER BY s.position)
                WHERE sources && \(ids)
                """, logger: logger)
        }
    }

    func memories(_ selection: MemorySelection) async throws(MemoryError) -> [(number: DocumentID, memory: Memory)] {
        try await run {
            var bindings = PostgresBindings()
            let condition: String
            switch selection {
            case .ids(let ids):
                bindings.append(ids)
                condition = "m.id = ANY($1)"
            case .sourcedFrom(let ids):
                bindings.append(ids)
                condition = "m.sources && $1"
            case .scope(let scope): condition = self.condition(of: scope, table: "m", &bindings)
            }
            return try await PostgresBackend.fetchMemories(
                connection, logger: logger, where: condition, bindings, lock: true
            ).map { number, memory in (DocumentID(UInt64(number)), memory) }
        }
    }

    func insertMemories(_ records: [MemoryRecord]) async throws(MemoryError) -> [DocumentID] {
        guard !records.isEmpty else { return [] }
        let json = try encodeJSON(try records.map { (record) throws(MemoryError) in try MemoryRow(record) })
        return try await run {
            try await PostgresBackend.insertMemories(json, connection, logger: logger).map { _, number in
                DocumentID(UInt64(number))
            }
        }
    }

    func updateMemory(_ number: DocumentID, to memory: Memory, vectors: MemoryVectors?) async throws(MemoryError) {
        let row = try encodeJSON([
            try MemoryRow(
                MemoryRecord(memory: memory, taskVector: vectors?.task ?? [], keywordVector: vectors?.keywords))
        ])
        let number = Int64(number.rawValue)
        try await run {
            try await connection.query(
                """
                UPDATE memory m SET id = x.id, task = x.task, kind = x.kind, build_policy = x.build_policy,
                    steps = x.steps, script = x.script, keywords = x.keywords, sources = x.sources,
                    source = x.source, labels = x.labels, hit_count = x.hit_count,
                    success_count = x.success_count, status = x.status, embedder = x.embedder,
                    provenance = x.provenance, revision = x.revision, created_at = x.created_at,
                    updated_at = x.updated_at, search_text = x.search_text
                FROM jsonb_to_recordset(\(row)::jsonb) AS x(\(unescaped: PostgresBackend.memoryRecordColumns))
                WHERE m.number = \(number)
                """, logger: logger)
            if vectors != nil {
                try await connection.query(
                    """
                    UPDATE memory m SET task_vector = x.task_vector::vector, keyword_vector = x.keyword_vector::vector
                    FROM jsonb_to_recordset(\(row)::jsonb) AS x(\(unescaped: PostgresBackend.memoryRecordColumns))
                    WHERE m.number = \(number)
                    """, logger: logger)
            }
        }
    }

    func updateCounters(_ number: DocumentID, to memory: Memory) async throws(MemoryError) {
        try await run {
            try await connection.query(
                """
                UPDATE memory SET hit_count = \(memory.hitCount), success_count = \(memory.successCount),
                    status = \(memory.status.rawValue), revision = \(memory.revision),
                    updated_at = \(memory.updatedAt.timeIntervalSince1970)
                WHERE number = \(Int64(number.rawValue))
                """, logger: logger)
        }
    }

    func deleteMemories(_ numbers: [DocumentID]) async throws(MemoryError) {
        guard !numbers.isEmpty else { return }
        let values = numbers.map { Int64($0.rawValue) }
        try await run { try await connection.query("DELETE FROM memory WHERE number = ANY(\(values))", logger: logger) }
    }

    func appendHistory(_ entries: [HistoryEntry], generation: UInt64) async throws(MemoryError) -> [Int64] {
        let columns = try entries.map { (entry) throws(MemoryError) in
            try HistoryColumns(entry, number: nil, generation: generation)
        }
        return try await run { try await PostgresBackend.recordHistory(columns, connection, logger: logger) }
    }

    func indexEntries(numbers: [DocumentID]) async throws(MemoryError) -> [IndexEntry] {
        try await run {
            try await PostgresBackend.indexEntries(
                numbers: numbers.map { Int64($0.rawValue) }, connection, logger: logger)
        }
    }

    /// The SQL condition that the rows of `table` (when given) are in a delete's scope, binding its values after what
    /// `bindings` holds; sources and labels compare as the backend's ``PostgresBackend/canonicalSelection`` says.
    private func condition(of scope: DeleteScope, table: String? = nil, _ bindings: inout PostgresBindings) -> String {
        switch scope {
        case .id(let id):
            bindings.append(id)
            return "\(CanonicalSelection.column("id", of: table)) = $\(bindings.count)"
        case .source(let source):
            return backend.canonicalSelection.source(of: table, in: [source], &bindings)
        case .label(let key, let value):
            return backend.canonicalSelection.label(of: table, key: key, value: value, &bindings)
        }
    }
}
