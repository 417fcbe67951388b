import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

extension PostgresBackend {
    public func apply(_ set: ChangeSet) async throws(MemoryError) -> ChangeResult {
        try set.settings.validate()
        try CounterIncrement.validate(set.increments)
        let rows = try WriteRows(set.batch)
        let encoded = try set.changes.map { (change) throws(MemoryError) -> String? in
            guard let after = change.after else { return nil }
            return try encodeJSON([
                try MemoryRow(
                    MemoryRecord(
                        memory: after, taskVector: change.vectors?.task ?? [], keywordVector: change.vectors?.keywords))
            ])
        }
        return try await transaction { connection in
            let hasBatch = !set.batch.trajectories.isEmpty || !set.batch.memories.isEmpty
            let write =
                hasBatch
                ? try await Self.write(set.batch, rows, connection, logger: logger)
                : WriteResult(
                    numbers: [:], removed: [], replacedTrajectories: 0,
                    generation: try await Self.advanceGeneration(connection, logger: logger))
            // Every memory the set touches is locked at once, in number order (the order feedback locks in), so
            // that a change set and concurrent feedback can't deadlock on each other's rows.
            let touched = Array(Set(set.increments.map(\.memoryID) + set.changes.map(\.memoryID))).sorted()
            if !touched.isEmpty {
                try await connection.query(
                    "SELECT number FROM memory WHERE id = ANY(\(touched)) ORDER BY number FOR UPDATE", logger: logger)
            }
            // The transaction holds the store row (the generation above), so deprecations need no other lock.
            let feedback = try await Self.addCounters(
                set.increments, settings: set.settings, reason: set.feedbackReason, connection, logger: logger,
                deprecationGeneration: { _ in write.generation })
            var changed = feedback?.deprecated ?? []
            var deleted: [DocumentID] = []
            var historyNumbers: [Int64] = []
            for (change, row) in zip(set.changes, encoded) {
                let current = try await Self.fetchMemories(
                    connection, logger: logger, where: "m.id = $1", [change.memoryID], lock: true
                ).first
                guard current?.1.revision == change.expectedRevision else {
                    throw MemoryError.revisionConflict(
                        id: change.memoryID, expected: change.expectedRevision, actual: current?.1.revision)
                }
                switch (current, change.after, row) {
                case (nil, nil, _):
                    throw MemoryError.unknownID(change.memoryID)
                case (let (number, _)?, nil, _):
                    try await connection.query("DELETE FROM memory WHERE number = \(number)", logger: logger)
                    deleted.append(DocumentID(UInt64(number)))
                    changed.removeAll { $0 == number }
                case (nil, let after?, let row?):
                    guard change.vectors != nil else {
                        throw MemoryError.invalidArgument("Memory \(change.memoryID) is not stored; give its vectors.")
                    }
                    try await Self.checkSources(of: [after], connection, logger: logger)
                    for (_, number) in try await Self.insertMemories(row, connection, logger: logger) {
                        changed.append(number)
                    }
                case (let (number, _)?, let after?, let row?):
                    try await Self.checkSources(of: [after], connection, logger: logger)
                    try await connection.query(
                        """
                        UPDATE memory m SET task = x.task, kind = x.kind, build_policy = x.build_policy,
                            steps = x.steps, script = x.script, keywords = x.keywords, sources = x.sources,
                            source = x.source, labels = x.labels, hit_count = x.hit_count,
                            success_count = x.success_count, status = x.status, embedder = x.embedder,
                            provenance = x.provenance, revision = x.revision, created_at = x.created_at,
                            updated_at = x.updated_at, search_text = x.search_text
                        FROM jsonb_to_recordset(\(row)::jsonb) AS x(\(unescaped: Self.memoryRecordColumns))
                        WHERE m.number = \(number)
                        """, logger: logger)
                    if change.vectors != nil {
                        try await connection.query(
                            """
                            UPDATE memory m SET task_vector = x.task_vector::vector,
                                keyword_vector = x.keyword_vector::vector
                            FROM jsonb_to_recordset(\(row)::jsonb) AS x(\(unescaped: Self.memoryRecordColumns))
                            WHERE m.number = \(number)
                            """, logger: logger)
                    }
                    if !changed.contains(number) { changed.append(number) }
                case (_, _?, nil):
                    throw MemoryError.database(reason: "a change's memory was not encoded")
                }
                historyNumbers += try await Self.recordHistory(
                    [
                        try HistoryRow(
                            memoryID: change.memoryID, action: change.action, policy: change.policy,
                            reason: change.reason, before: current?.1, after: change.after,
                            generation: write.generation, reverts: change.reverts)
                    ], connection, logger: logger)
            }
            return ChangeResult(
                write: write, changed: try await Self.indexEntries(numbers: changed, connection, logger: logger),
                deleted: deleted, historyNumbers: historyNumbers, feedback: feedback?.changes ?? [],
                generation: write.generation)
        }
    }

    public func replaceHistory(with entries: [HistoryEntry]) async throws(MemoryError) {
        try HistoryEntry.checkNumbers(entries)
        try await transaction { connection in
            let generation = try await Self.currentGeneration(connection, logger: logger)
            try await connection.query("DELETE FROM history", logger: logger)
            for start in stride(from: 0, to: entries.count, by: 1000) {
                let rows = try entries[start..<min(start + 1000, entries.count)].map {
                    (entry) throws(MemoryError) in try HistoryRow(entry, generation: generation)
                }
                try await connection.query(
                    """
                    INSERT INTO history (number, memory_id, action, policy, reason, before, after, revision,
                        generation, date, reverts)
                    OVERRIDING SYSTEM VALUE
                    SELECT number, memory_id, action, policy, reason, before, after, revision, generation, date, reverts
                    FROM jsonb_to_recordset(\(try encodeJSON(rows))::jsonb) AS x(number bigint, memory_id text,
                        action text, policy text, reason text, before text, after text, revision bigint,
                        generation bigint, date double precision, reverts bigint)
                    """, logger: logger)
            }
            // Rows written later continue after the largest number (from 1 when the history is empty).
            try await connection.query(
                """
                SELECT setval(pg_get_serial_sequence('history', 'number'), coalesce(max(number), 0) + 1, false)
                FROM history
                """, logger: logger)
        }
    }

    public func historyEntry(number: Int64) async throws(MemoryError) -> HistoryEntry? {
        try await history(where: "number = $1", [number]).first
    }

    public func revertingEntry(of number: Int64) async throws(MemoryError) -> Int64? {
        try await withConnection { connection in
            for try await reverting in try await connection.query(
                "SELECT number FROM history WHERE reverts = \(number) ORDER BY number LIMIT 1", logger: logger
            ).decode(Int64.self) {
                return reverting
            }
            return nil
        }
    }

    /// Adds to the counters in place: every memory named is locked (`SELECT … FOR UPDATE`, in number order, so
    /// concurrent calls never deadlock on each other) and incremented with
    /// `UPDATE … SET hit_count = hit_count + …  RETURNING`, with its history rows, in one transaction.
    ///
    /// A deprecation advances the store's generation, which locks the store row; every writer takes that lock
    /// before any memory's, so when a memory is to be deprecated the transaction ends without writing and runs
    /// again with the store row locked first. Feedback that deprecates nothing never touches the store row, so agents
    /// reporting outcomes on different memories don't wait for each other.
    public func recordFeedback(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String
    ) async throws(MemoryError) -> FeedbackResult {
        try settings.validate()
        try CounterIncrement.validate(increments)
        if let result = try await recordFeedback(increments, settings: settings, reason: reason, lockingStore: false) {
            return result
        }
        guard
            let result = try await recordFeedback(increments, settings: settings, reason: reason, lockingStore: true)
        else { throw .database(reason: "feedback holding the store's lock did not complete") }
        return result
    }

    /// One attempt of ``recordFeedback(_:settings:reason:)``; without `lockingStore`, returns `nil` (writing
    /// nothing) when a memory would be deprecated.
    private func recordFeedback(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String, lockingStore: Bool
    ) async throws(MemoryError) -> FeedbackResult? {
        try await transaction { (connection) -> FeedbackResult? in
            let current = try await Self.currentGeneration(connection, logger: logger, lock: lockingStore)
            guard
                let result = try await Self.addCounters(
                    increments, settings: settings, reason: reason, connection, logger: logger,
                    deprecationGeneration: { connection in
                        lockingStore ? try await Self.advanceGeneration(connection, logger: logger) : nil
                    })
            else { return nil }
            return FeedbackResult(
                changes: result.changes,
                deprecated: try await Self.indexEntries(numbers: result.deprecated, connection, logger: logger),
                generation: result.generation ?? current)
        }
    }

    /// Adds counter increments in place inside the current transaction, deprecating where the thresholds are
    /// crossed, with their history rows.
    ///
    /// - Parameter deprecationGeneration: Called once, with the memories locked, when a memory is to be deprecated:
    ///   the generation the deprecation is recorded under, or `nil` to write nothing and return `nil`.
    /// - Returns: The counters after the increments, the numbers of the memories deprecated, and the generation a
    ///   deprecation was recorded under (`nil` when there was none).
    static func addCounters(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String, _ connection: PostgresConnection,
        logger: Logger, deprecationGeneration: (PostgresConnection) async throws -> UInt64?
    ) async throws -> (changes: [FeedbackChange], deprecated: [Int64], generation: UInt64?)? {
        guard !increments.isEmpty else { return ([], [], nil) }
        let ids = increments.map(\.memoryID)
        var stored: [String: (number: Int64, memory: Memory)] = [:]
        for (number, memory) in try await fetchMemories(
            connection, logger: logger, where: "m.id = ANY($1)", [ids], lock: true)
        {
            stored[memory.id] = (number, memory)
        }
        if let missing = ids.first(where: { stored[$0] == nil }) { throw MemoryError.unknownID(missing) }
        let deprecating = increments.contains { increment in
            guard var memory = stored[increment.memoryID]?.memory else { return false }
            memory.hitCount += increment.hits
            memory.successCount += increment.successes
            return settings.deprecates(memory)
        }
        var generation: UInt64?
        if deprecating {
            guard let given = try await deprecationGeneration(connection) else { return nil }
            generation = given
        }
        var historyGeneration = generation ?? 0
        if generation == nil { historyGeneration = try await currentGeneration(connection, logger: logger) }
        var changes: [FeedbackChange] = []
        var deprecated: [Int64] = []
        var history: [HistoryRow] = []
        let date = Date().timeIntervalSince1970
        for increment in increments {
            guard let (number, before) = stored[increment.memoryID] else { continue }
            var after: Memory?
            for try await row in try await connection.query(
                """
                UPDATE memory m SET hit_count = hit_count + \(increment.hits),
                    success_count = success_count + \(increment.successes), revision = revision + 1,
                    updated_at = \(date)
                WHERE number = \(number)
                RETURNING \(unescaped: memoryColumns)
                """, logger: logger)
            {
                after = try memory(from: row.makeRandomAccess()).1
            }
            guard var after else { throw MemoryError.unknownID(increment.memoryID) }
            history.append(
                try HistoryRow(
                    memoryID: after.id, action: .feedback, policy: "feedback",
                    reason: increment.historyReason(reason), before: before, after: after,
                    generation: historyGeneration))
            let deprecate = settings.deprecates(after)
            if deprecate {
                let previous = after
                after.status = .deprecated
                after.revision += 1
                try await connection.query(
                    """
                    UPDATE memory SET status = \(after.status.rawValue), revision = \(after.revision)
                    WHERE number = \(number)
                    """, logger: logger)
                history.append(
                    try HistoryRow(
                        memoryID: after.id, action: .deprecate, policy: "feedback",
                        reason: settings.deprecationReason(hits: after.hitCount, successes: after.successCount),
                        before: previous, after: after, generation: historyGeneration))
                deprecated.append(number)
            }
            changes.append(
                FeedbackChange(
                    memoryID: after.id, hitCount: after.hitCount, successCount: after.successCount,
                    deprecated: deprecate))
        }
        try await recordHistory(history, connection, logger: logger)
        return (changes, deprecated, generation)
    }
}
