import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

extension PostgresBackend {
    /// The columns ``memory(from:)`` decodes, for `FROM memory m`.
    static let memoryColumns = """
        m.number, m.id, m.task, m.kind, m.build_policy, m.steps, m.script, m.keywords, m.sources, m.source,
        m.labels::text AS labels, m.hit_count, m.success_count, m.status, m.embedder, m.provenance, m.revision,
        m.created_at, m.updated_at
        """

    /// Memories matching `condition` (over `memory m`, with `$1`… bound to `bindings`), in number order.
    ///
    /// - Parameter lock: Locks the rows (`FOR UPDATE`) until the transaction ends.
    static func fetchMemories(
        _ connection: WatchedConnection, logger: Logger, where condition: String,
        _ bindings: PostgresBindings, lock: Bool = false
    ) async throws -> [(Int64, Memory)] {
        let sql =
            "SELECT \(memoryColumns) FROM memory m WHERE \(condition) ORDER BY m.number" + (lock ? " FOR UPDATE" : "")
        var result: [(Int64, Memory)] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        {
            result.append(try memory(from: row.makeRandomAccess()))
        }
        return result
    }

    /// Decodes a row of ``memoryColumns``.
    static func memory(from row: PostgresRandomAccessRow) throws -> (Int64, Memory) {
        func choice<Choice: RawRepresentable<String>>(_ column: String, _ type: Choice.Type) throws -> Choice {
            let raw = try row[column].decode(String.self)
            guard let value = Choice(rawValue: raw) else {
                throw MemoryError.database(
                    reason: "memory \(try row["id"].decode(String.self)): unknown \(column) \(raw)")
            }
            return value
        }
        let number = try row["number"].decode(Int64.self)
        let memory = Memory(
            id: try row["id"].decode(String.self), task: try row["task"].decode(String.self),
            kind: try choice("kind", MemoryKind.self), buildPolicy: try choice("build_policy", BuildPolicy.self),
            steps: try row["steps"].decode(String?.self).map { (text) throws(MemoryError) in
                try decodeJSON([Step].self, text)
            },
            script: try row["script"].decode(String?.self),
            keywords: try decodeJSON([String].self, try row["keywords"].decode(String.self)),
            sourceTrajectoryIDs: try row["sources"].decode([String].self),
            source: try row["source"].decode(String.self),
            labels: try decodeJSON([String: String].self, try row["labels"].decode(String.self)),
            hitCount: Int(try row["hit_count"].decode(Int64.self)),
            successCount: Int(try row["success_count"].decode(Int64.self)),
            status: try choice("status", MemoryStatus.self), embedderID: try row["embedder"].decode(String.self),
            provenance: try decodeJSON(Provenance.self, try row["provenance"].decode(String.self)),
            revision: Int(try row["revision"].decode(Int64.self)),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try row["updated_at"].decode(Double.self)))
        return (number, memory)
    }

    package func memories(numbered numbers: [DocumentID]) async throws(MemoryError) -> [DocumentID: Memory] {
        guard !numbers.isEmpty else { return [:] }
        let values = numbers.map { Int64($0.rawValue) }
        var bindings = PostgresBindings()
        bindings.append(values)
        return try await withConnection { connection in
            var result: [DocumentID: Memory] = [:]
            for (number, memory) in try await Self.fetchMemories(
                connection, logger: logger, where: "m.number = ANY($1)", bindings)
            {
                result[DocumentID(UInt64(number))] = memory
            }
            return result
        }
    }

    package func memory(id: String) async throws(MemoryError) -> Memory? {
        var bindings = PostgresBindings()
        bindings.append(id)
        return try await withConnection { connection in
            try await Self.fetchMemories(connection, logger: logger, where: "m.id = $1", bindings).first?.1
        }
    }

    package func trajectory(id: String) async throws(MemoryError) -> Trajectory? {
        try await withConnection { connection in
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.trajectoryColumns) FROM trajectory WHERE id = \(id)", logger: logger
            ).decode(TrajectoryColumns.self) {
                return try Self.trajectory(from: row)
            }
            return nil
        }
    }

    package func trajectoryOutcomes(among ids: [String]) async throws(MemoryError) -> [String: Outcome] {
        guard !ids.isEmpty else { return [:] }
        return try await withConnection { connection in
            var outcomes: [String: Outcome] = [:]
            for try await (id, success, reward) in try await connection.query(
                """
                SELECT id, success, reward FROM trajectory
                WHERE id = ANY(\(ids)) AND (success IS NOT NULL OR reward IS NOT NULL)
                """, logger: logger
            ).decode((String, Bool?, Double?).self) {
                outcomes[id] = Outcome(success: success, reward: reward)
            }
            return outcomes
        }
    }

    package func forEachTrajectory(_ body: (Trajectory) throws(MemoryError) -> Void) async throws(MemoryError) {
        try await snapshot { connection in
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.trajectoryColumns) FROM trajectory ORDER BY number", logger: logger
            ).decode(TrajectoryColumns.self) {
                try body(try Self.trajectory(from: row))
            }
        }
    }

    typealias TrajectoryColumns = (String, String, String, Bool?, Double?, String, String, String?)
    static let trajectoryColumns = "id, task, steps, success, reward, source, labels::text, producer"

    static func trajectory(from row: TrajectoryColumns) throws(MemoryError) -> Trajectory {
        let (id, task, steps, success, reward, source, labels, producer) = row
        return Trajectory(
            id: id, task: task, steps: try decodeJSON([Step].self, steps),
            outcome: Outcome.ifAny(success: success, reward: reward),
            source: source, labels: try decodeJSON([String: String].self, labels), producer: producer)
    }

    package func catalog() async throws(MemoryError) -> (entries: [DocumentID: CatalogEntry], generation: UInt64) {
        try await snapshot { connection in
            var entries: [DocumentID: CatalogEntry] = [:]
            var labelSets = LabelDecoder { (text) throws(MemoryError) in try decodeJSON([String: String].self, text) }
            for try await (number, source, labels, status, anySucceeded, bestReward) in try await connection.query(
                "SELECT number, source, labels::text, status, \(unescaped: Self.sourceOutcomeColumns) FROM memory",
                logger: logger
            ).decode((Int64, String, String, String, Bool?, Double?).self) {
                entries[DocumentID(UInt64(number))] = Self.catalogEntry(
                    source: source, labels: try labelSets.labels(labels), status: status, anySucceeded: anySucceeded,
                    bestReward: bestReward)
            }
            return (entries, try await Self.currentGeneration(connection, logger: logger))
        }
    }

    package func forEachIndexEntry(
        _ body: (IndexEntry) throws(MemoryError) -> Void
    ) async throws(MemoryError) -> UInt64 {
        try await snapshot { connection in
            let generation = try await Self.currentGeneration(connection, logger: logger)
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.indexEntryColumns) FROM memory ORDER BY number", logger: logger)
            for try await row in rows.decode(IndexEntryColumns.self) { try body(try Self.indexEntry(from: row)) }
            return generation
        }
    }

    package func forEachKeywordVector(
        _ body: (DocumentID, [Float]) throws(MemoryError) -> Void
    ) async throws(MemoryError) -> UInt64 {
        try await snapshot { connection in
            let generation = try await Self.currentGeneration(connection, logger: logger)
            let rows = try await connection.query(
                "SELECT number, keyword_vector::real[] FROM memory WHERE keyword_vector IS NOT NULL ORDER BY number",
                logger: logger)
            for try await (number, vector) in rows.decode((Int64, [Float]).self) {
                try body(DocumentID(UInt64(number)), vector)
            }
            return generation
        }
    }

    typealias IndexEntryColumns = (
        Int64, String, String, String, String, String, [Float], [Float]?, Bool?, Double?, String?, String?
    )
    static let indexEntryColumns =
        "number, task, keywords, source, labels::text, status, task_vector::real[], keyword_vector::real[], "
        + sourceOutcomeColumns + ", steps, script"

    /// Columns of a query over `memory`: how the memory's source trajectories ended, as the aggregates
    /// ``ProceduralMemory/Outcome/combined(anySucceeded:bestReward:)`` reads (NULL over no values).
    static let sourceOutcomeColumns =
        "(SELECT bool_or(t.success) FROM trajectory t WHERE t.id = ANY(memory.sources)), "
        + "(SELECT max(t.reward) FROM trajectory t WHERE t.id = ANY(memory.sources))"

    static func indexEntry(from row: IndexEntryColumns) throws(MemoryError) -> IndexEntry {
        let (
            number, task, keywords, source, labels, status, taskVector, keywordVector, anySucceeded, bestReward, steps,
            script
        ) = row
        return IndexEntry(
            number: DocumentID(UInt64(number)), task: task, keywords: try decodeJSON([String].self, keywords),
            taskVector: taskVector, keywordVector: keywordVector,
            catalogEntry: catalogEntry(
                source: source, labels: try decodeJSON([String: String].self, labels), status: status,
                anySucceeded: anySucceeded, bestReward: bestReward),
            procedureText: IndexEntry.procedureText(
                script: script,
                steps: try steps.map { (steps) throws(MemoryError) in try decodeJSON([Step].self, steps) }))
    }

    static func catalogEntry(
        source: String, labels: [String: String], status: String, anySucceeded: Bool?, bestReward: Double?
    ) -> CatalogEntry {
        CatalogEntry(
            source: source, labels: labels,
            status: MemoryStatus(rawValue: status) ?? .active,
            sourceOutcome: Outcome.combined(anySucceeded: anySucceeded, bestReward: bestReward))
    }

    /// The index entries of the memories with these numbers that are stored, in number order.
    static func indexEntries(
        numbers: [Int64], _ connection: WatchedConnection, logger: Logger
    ) async throws -> [IndexEntry] {
        guard !numbers.isEmpty else { return [] }
        var entries: [IndexEntry] = []
        for try await row in try await connection.query(
            "SELECT \(unescaped: indexEntryColumns) FROM memory WHERE number = ANY(\(numbers)) ORDER BY number",
            logger: logger
        ).decode(IndexEntryColumns.self) {
            entries.append(try indexEntry(from: row))
        }
        return entries
    }

    /// Runs `body` in a read-only repeatable-read transaction: every statement sees the same snapshot.
    func snapshot<Result: Sendable>(
        _ body: (WatchedConnection) async throws -> Result
    ) async throws(MemoryError) -> Result {
        try await inTransaction(writes: false) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            return try await body(connection)
        }
    }

    package func history(memoryID: String?, last: Int?) async throws(MemoryError) -> [HistoryEntry] {
        let (condition, arguments): (String, [any PostgresThrowingDynamicTypeEncodable]) =
            memoryID.map { ("memory_id = $1", [$0]) } ?? ("true", [])
        guard let last else { return try await history(where: condition, arguments) }
        // The newest `last` rows by the primary key, read alone, then put oldest first.
        return try await history(
            where: "number IN (SELECT number FROM history WHERE \(condition) ORDER BY number DESC LIMIT "
                + "$\(arguments.count + 1))", arguments + [Int64(last)])
    }

    package func forEachHistoryEntry(_ body: (HistoryEntry) throws(MemoryError) -> Void) async throws(MemoryError) {
        try await forEachHistoryEntry(where: "true", [], body)
    }

    /// History rows matching `condition` (with `$1`… bound to `arguments`), oldest first.
    func history(
        where condition: String, _ arguments: [any PostgresThrowingDynamicTypeEncodable]
    ) async throws(MemoryError) -> [HistoryEntry] {
        var entries: [HistoryEntry] = []
        try await forEachHistoryEntry(where: condition, arguments) { entries.append($0) }
        return entries
    }

    /// Calls `body` for each history row matching `condition`, oldest first, as the rows arrive.
    func forEachHistoryEntry(
        where condition: String, _ arguments: [any PostgresThrowingDynamicTypeEncodable],
        _ body: (HistoryEntry) throws(MemoryError) -> Void
    ) async throws(MemoryError) {
        var bindings = PostgresBindings()
        do { for argument in arguments { try bindings.append(argument) } } catch { throw mapped(error) }
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.historyColumns) FROM history WHERE \(condition) ORDER BY number", binds: bindings)
        try await withConnection { connection in
            for try await columns in try await connection.query(query, logger: logger).decode(HistoryRow.self) {
                try body(try Self.historyEntry(columns))
            }
        }
    }

    /// The columns of a history row as ``historyEntry(_:)`` reads them.
    static let historyColumns = "number, memory_id, action, policy, reason, before, after, date, reverts"

    /// A history row's ``historyColumns``.
    typealias HistoryRow = (Int64, String, String, String, String, String?, String?, Double, Int64?)

    /// A history row as an entry.
    static func historyEntry(_ row: HistoryRow) throws(MemoryError) -> HistoryEntry {
        let (number, memoryID, actionName, policy, reason, before, after, date, reverts) = row
        guard let action = HistoryAction(rawValue: actionName) else {
            throw MemoryError.database(reason: "history row \(number) has unknown action \(actionName)")
        }
        return HistoryEntry(
            number: number, memoryID: memoryID, action: action, policy: policy, reason: reason,
            before: try HistoryEntry.snapshot(before, row: number, column: "before"),
            after: try HistoryEntry.snapshot(after, row: number, column: "after"),
            date: Date(timeIntervalSince1970: date), reverts: reverts)
    }

    package func appliedTasks(among ids: [String]?) async throws(MemoryError) -> [AppliedTask] {
        if ids?.isEmpty == true { return [] }
        let columns = "trajectory_id, success, reward, source, line, applied_at, policy, build"
        let query: PostgresQuery =
            if let ids {
                "SELECT \(unescaped: columns) FROM applied_task WHERE trajectory_id = ANY(\(ids)) ORDER BY number"
            } else {
                "SELECT \(unescaped: columns) FROM applied_task ORDER BY number"
            }
        return try await withConnection { connection in
            var records: [AppliedTask] = []
            for try await (id, success, reward, source, line, date, policy, build) in try await connection.query(
                query, logger: logger
            ).decode((String, Bool?, Double?, String, Int?, Double, String?, String?).self) {
                records.append(
                    AppliedTask(
                        trajectoryID: id,
                        outcome: Outcome.ifAny(success: success, reward: reward),
                        source: source, line: line, date: Date(timeIntervalSince1970: date),
                        method: try UpdateMethod.stored(policy: policy, build: build, trajectoryID: id)))
            }
            return records
        }
    }

    package func statistics() async throws(MemoryError) -> StoreStatistics {
        try await snapshot { connection in
            func counts(_ sql: String) async throws -> [String: Int] {
                var result: [String: Int] = [:]
                for try await (key, count) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    .decode((String, Int64).self)
                {
                    // Summed, as the SQLite backend does: the database groups by bytes, Swift keys by canonical
                    // equivalence.
                    result[key, default: 0] += Int(count)
                }
                return result
            }
            func count(_ table: String) async throws -> Int {
                for try await value in try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: logger
                ).decode(Int64.self) {
                    return Int(value)
                }
                return 0
            }
            let status = try await counts("SELECT status, count(*) FROM memory GROUP BY status")
            return StoreStatistics(
                trajectories: try await count("trajectory"),
                memories: status.values.reduce(0, +),
                activeMemories: status[MemoryStatus.active.rawValue] ?? 0,
                deprecatedMemories: status[MemoryStatus.deprecated.rawValue] ?? 0,
                memoriesByBuildPolicy: try await counts(
                    "SELECT build_policy, count(*) FROM memory GROUP BY build_policy"),
                trajectoriesBySource: try await counts("SELECT source, count(*) FROM trajectory GROUP BY source"),
                historyEntries: try await count("history"),
                generation: try await Self.currentGeneration(connection, logger: logger))
        }
    }
}
