import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

extension PostgresBackend {
    public func apply(_ set: ChangeSet) async throws(MemoryError) -> ChangeResult {
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
            var changed: [Int64] = []
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
                deleted: deleted, historyNumbers: historyNumbers, generation: write.generation)
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

    /// Adds to a memory's counters atomically: the row is locked (`SELECT … FOR UPDATE`), incremented in place
    /// (`UPDATE … SET hit_count = hit_count + …  RETURNING`), and the change recorded as a
    /// ``ProceduralMemory/HistoryAction/feedback`` history row, in one transaction; a memory whose counters cross
    /// the thresholds is deprecated in the same transaction (a ``ProceduralMemory/HistoryAction/deprecate`` row).
    ///
    /// Concurrent calls from any number of agents serialize on the memory's row, so no increment is lost. Counter
    /// changes don't advance the store's generation (index caches don't hold counters); a deprecation does.
    ///
    /// - Returns: The memory after the change.
    /// - Throws: ``ProceduralMemory/MemoryError/unknownID(_:)`` when no memory has the ID;
    ///   ``ProceduralMemory/MemoryError/invalidArgument(_:)`` for negative counts or more successes than hits.
    @discardableResult
    public func recordFeedback(
        memoryID: String, hits: Int, successes: Int, settings: UpdateSettings = UpdateSettings(), reason: String
    ) async throws(MemoryError) -> Memory {
        guard hits >= 0, successes >= 0, successes <= hits else {
            throw .invalidArgument("Feedback needs 0 ≤ successes ≤ hits (got \(successes) of \(hits)).")
        }
        try settings.validate()
        return try await transaction { connection in
            guard
                let (number, before) = try await Self.fetchMemories(
                    connection, logger: logger, where: "m.id = $1", [memoryID], lock: true
                ).first
            else { throw MemoryError.unknownID(memoryID) }
            var after: Memory?
            for try await row in try await connection.query(
                """
                UPDATE memory m SET hit_count = hit_count + \(hits), success_count = success_count + \(successes),
                    revision = revision + 1, updated_at = \(Date().timeIntervalSince1970)
                WHERE number = \(number)
                RETURNING \(unescaped: Self.memoryColumns)
                """, logger: logger)
            {
                after = try Self.memory(from: row.makeRandomAccess()).1
            }
            guard var after else { throw MemoryError.unknownID(memoryID) }
            var history = [
                try HistoryRow(
                    memoryID: memoryID, action: .feedback, policy: "feedback",
                    reason: "\(reason): \(hits) use\(hits == 1 ? "" : "s"), \(successes) succeeded", before: before,
                    after: after, generation: try await Self.currentGeneration(connection, logger: logger))
            ]
            if after.status == .active, settings.shouldDeprecate(hits: after.hitCount, successes: after.successCount) {
                let generation = try await Self.advanceGeneration(connection, logger: logger)
                let previous = after
                after.status = .deprecated
                after.revision += 1
                try await connection.query(
                    """
                    UPDATE memory SET status = 'deprecated', revision = \(after.revision) WHERE number = \(number)
                    """, logger: logger)
                history.append(
                    try HistoryRow(
                        memoryID: memoryID, action: .deprecate, policy: "feedback",
                        reason: "success rate \(after.successCount)/\(after.hitCount) is below "
                            + "\(settings.minimumSuccessRate) after at least \(settings.minimumHits) hits",
                        before: previous, after: after, generation: generation))
            }
            try await Self.recordHistory(history, connection, logger: logger)
            return after
        }
    }
}
