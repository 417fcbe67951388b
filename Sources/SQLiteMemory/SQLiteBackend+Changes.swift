import Foundation
import GRDB
import ProceduralMemory
import RetrievalCore

extension SQLiteBackend {
    public func apply(_ changes: ChangeSet) async throws(MemoryError) -> ChangeResult {
        try changes.settings.validate()
        try CounterIncrement.validate(changes.increments)
        return try writing { db in try Self.apply(changes, db) }
    }

    private static func apply(_ set: ChangeSet, _ db: Database) throws -> ChangeResult {
        let hasBatch = !set.batch.trajectories.isEmpty || !set.batch.memories.isEmpty
        let write =
            hasBatch
            ? try write(set.batch, db)
            : WriteResult(numbers: [:], removed: [], replacedTrajectories: 0, generation: try advanceGeneration(db))
        let feedback = try addCounters(
            set.increments, settings: set.settings, reason: set.feedbackReason, generationAdvanced: true, db)
        var changedNumbers = feedback.deprecated.map { Int64($0.number.rawValue) }
        var deleted: [DocumentID] = []
        var historyNumbers: [Int64] = []
        for change in set.changes {
            let current = try Int64.fetchOne(
                db, sql: "SELECT number FROM memory WHERE id = ?", arguments: [change.memoryID]
            ).flatMap { number in try fetchMemories(db, numbers: [number]).first }
            guard current?.1.revision == change.expectedRevision else {
                throw MemoryError.revisionConflict(
                    id: change.memoryID, expected: change.expectedRevision, actual: current?.1.revision)
            }
            switch (current, change.after) {
            case (nil, nil):
                throw MemoryError.unknownID(change.memoryID)
            case (let (number, _)?, nil):
                try db.execute(sql: "DELETE FROM memory WHERE number = ?", arguments: [number])
                deleted.append(DocumentID(UInt64(number)))
                changedNumbers.removeAll { $0 == number }
            case (nil, let after?):
                guard let vectors = change.vectors else {
                    throw MemoryError.invalidArgument("Memory \(change.memoryID) is not stored; give its vectors.")
                }
                let written = try Self.write(
                    WriteBatch(
                        trajectories: [],
                        memories: [
                            MemoryRecord(memory: after, taskVector: vectors.task, keywordVector: vectors.keywords)
                        ],
                        replacing: false, policy: change.policy, reason: change.reason), db)
                // `write` recorded an add and advanced the generation again; the change is what happened.
                try db.execute(
                    sql: "DELETE FROM history WHERE number = (SELECT max(number) FROM history WHERE memoryID = ?)",
                    arguments: [after.id])
                if let number = written.numbers[after.id] { changedNumbers.append(Int64(number.rawValue)) }
            case (let (number, _)?, let after?):
                try update(number: number, to: after, vectors: change.vectors, db)
                if !changedNumbers.contains(number) { changedNumbers.append(number) }
            }
            let generation = try info(db)?.generation ?? write.generation
            try recordHistory(
                db, memoryID: change.memoryID, action: change.action, policy: change.policy, reason: change.reason,
                before: current?.1, after: change.after, generation: generation)
            let historyNumber = db.lastInsertedRowID
            if let reverts = change.reverts {
                try db.execute(
                    sql: "UPDATE history SET reverts = ? WHERE number = ?", arguments: [reverts, historyNumber])
            }
            historyNumbers.append(historyNumber)
        }
        let changed = try changedNumbers.compactMap { number in try indexEntry(number: number, db) }
        return ChangeResult(
            write: write, changed: changed, deleted: deleted, historyNumbers: historyNumbers,
            feedback: feedback.changes, generation: try info(db)?.generation ?? write.generation)
    }

    public func recordFeedback(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String
    ) async throws(MemoryError) -> FeedbackResult {
        try settings.validate()
        try CounterIncrement.validate(increments)
        // One IMMEDIATE transaction (GRDB's default for writes): SQLite serializes it against every other writer,
        // in this process or another, so the increments can't interleave.
        return try writing { db in
            try Self.addCounters(increments, settings: settings, reason: reason, generationAdvanced: false, db)
        }
    }

    /// Adds counter increments in place inside the current transaction, deprecating where the thresholds are
    /// crossed, with their history rows; see ``recordFeedback(_:settings:reason:)``.
    ///
    /// - Parameter generationAdvanced: Whether the transaction advanced the generation already (a change set);
    ///   otherwise the first deprecation advances it.
    private static func addCounters(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String, generationAdvanced: Bool,
        _ db: Database
    ) throws -> FeedbackResult {
        var changes: [FeedbackChange] = []
        var deprecated: [IndexEntry] = []
        var generation = try Self.info(db)?.generation ?? 0
        var advanced = generationAdvanced
        let date = Date().timeIntervalSince1970
        for increment in increments {
            guard
                let number = try Int64.fetchOne(
                    db, sql: "SELECT number FROM memory WHERE id = ?", arguments: [increment.memoryID]),
                let (_, before) = try Self.fetchMemories(db, numbers: [number]).first
            else { throw MemoryError.unknownID(increment.memoryID) }
            for (counter, current, added) in [
                ("hitCount", before.hitCount, increment.hits),
                ("successCount", before.successCount, increment.successes),
            ] where current > Memory.maximumCount - added {
                throw MemoryError.counterLimit(
                    id: before.id, counter: counter, current: current, limit: Memory.maximumCount)
            }
            try db.execute(
                sql: """
                    UPDATE memory SET hitCount = hitCount + ?, successCount = successCount + ?,
                        revision = revision + 1, updatedAt = ?
                    WHERE number = ?
                    """, arguments: [increment.hits, increment.successes, date, number])
            guard var after = try Self.fetchMemories(db, numbers: [number]).first?.1 else {
                throw MemoryError.unknownID(increment.memoryID)
            }
            try Self.recordHistory(
                db, memoryID: after.id, action: .feedback, policy: "feedback",
                reason: increment.historyReason(reason), before: before, after: after, generation: generation)
            let deprecate = settings.deprecates(after)
            if deprecate {
                // One generation per transaction, as for every other write.
                if !advanced {
                    generation = try Self.advanceGeneration(db)
                    advanced = true
                }
                let previous = after
                after.status = .deprecated
                after.revision += 1
                try db.execute(
                    sql: "UPDATE memory SET status = ?, revision = ? WHERE number = ?",
                    arguments: [after.status.rawValue, after.revision, number])
                try Self.recordHistory(
                    db, memoryID: after.id, action: .deprecate, policy: "feedback",
                    reason: settings.deprecationReason(hits: after.hitCount, successes: after.successCount),
                    before: previous, after: after, generation: generation)
                if let entry = try Self.indexEntry(number: number, db) { deprecated.append(entry) }
            }
            changes.append(
                FeedbackChange(
                    memoryID: after.id, hitCount: after.hitCount, successCount: after.successCount,
                    deprecated: deprecate))
        }
        return FeedbackResult(changes: changes, deprecated: deprecated, generation: generation)
    }

    public func replaceHistory(with entries: [HistoryEntry]) async throws(MemoryError) {
        try HistoryEntry.checkNumbers(entries)
        try writing { db in
            let generation = try Self.info(db)?.generation ?? 0
            try db.execute(sql: "DELETE FROM history")
            for entry in entries {
                try db.execute(
                    sql: """
                        INSERT INTO history (number, memoryID, action, policy, reason, before, after, revision,
                            generation, date, reverts)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        entry.number, entry.memoryID, entry.action.rawValue, entry.policy, entry.reason,
                        try entry.before.map(json), try entry.after.map(json), (entry.after ?? entry.before)?.revision,
                        generation, entry.date.timeIntervalSince1970, entry.reverts,
                    ])
            }
        }
    }

    /// Overwrites a stored memory in place, keeping its number (its ``DocumentID`` in the indexes).
    private static func update(number: Int64, to memory: Memory, vectors: MemoryVectors?, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE memory SET task = ?, kind = ?, buildPolicy = ?, steps = ?, script = ?, keywords = ?, source = ?,
                    labels = ?, hitCount = ?, successCount = ?, status = ?, embedder = ?, provenance = ?, revision = ?,
                    createdAt = ?, updatedAt = ?
                WHERE number = ?
                """,
            arguments: [
                memory.task, memory.kind.rawValue, memory.buildPolicy.rawValue, try memory.steps.map(json),
                memory.script, try json(memory.keywords), memory.source, try json(memory.labels), memory.hitCount,
                memory.successCount, memory.status.rawValue, memory.embedderID, try json(memory.provenance),
                memory.revision, memory.createdAt.timeIntervalSince1970, memory.updatedAt.timeIntervalSince1970,
                number,
            ])
        try db.execute(sql: "DELETE FROM memory_source WHERE memory = ?", arguments: [number])
        try db.execute(sql: "DELETE FROM memory_label WHERE memory = ?", arguments: [number])
        try insertSourcesAndLabels(of: memory, number: number, db)
        if let vectors {
            try db.execute(
                sql: "UPDATE memory_vector SET embedder = ?, task = ?, keywords = ? WHERE memory = ?",
                arguments: [memory.embedderID, blob(vectors.task), vectors.keywords.map(blob), number])
        }
    }

    /// The index entry of one stored memory.
    private static func indexEntry(number: Int64, _ db: Database) throws -> IndexEntry? {
        try Row.fetchOne(db, sql: indexEntrySelection + " WHERE m.number = ?", arguments: [number]).map(
            indexEntry(from:))
    }

    public func historyEntry(number: Int64) async throws(MemoryError) -> HistoryEntry? {
        let memoryID = try reading { db in
            try String.fetchOne(db, sql: "SELECT memoryID FROM history WHERE number = ?", arguments: [number])
        }
        guard let memoryID else { return nil }
        return try await history(memoryID: memoryID).first { $0.number == number }
    }

    public func revertingEntry(of number: Int64) async throws(MemoryError) -> Int64? {
        try reading { db in
            try Int64.fetchOne(
                db, sql: "SELECT number FROM history WHERE reverts = ? ORDER BY number LIMIT 1", arguments: [number])
        }
    }
}
