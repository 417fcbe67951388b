import Foundation
import GRDB
import ProceduralMemory
import RetrievalCore

/// The row operations of one SQLite transaction (``SQLiteBackend/transaction(commit:_:)``), each one access of the
/// writer connection.
///
/// SQLite's `IMMEDIATE` transaction holds the database's write lock from the start, so reads here need no row
/// locks.
struct SQLiteTransaction: MemoryTransaction {
    let backend: SQLiteBackend

    private func step<T>(_ body: (Database) throws -> T) throws(MemoryError) -> T { try backend.step(body) }

    func generation(locking: Bool) async throws(MemoryError) -> UInt64 {
        try step { db in try SQLiteBackend.info(db)?.generation ?? 0 }
    }

    func advanceGeneration() async throws(MemoryError) -> UInt64 {
        try step { db in
            try db.execute(
                sql: "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")
            return try UInt64(String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'") ?? "0") ?? 0
        }
    }

    func storedTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        try step { db in try SQLiteBackend.storedTrajectoryIDs(among: ids, db) }
    }

    func appliedTaskIDs(among ids: [String]) async throws(MemoryError) -> Set<String> {
        try step { db in try SQLiteBackend.appliedTaskIDs(among: ids, db) }
    }

    func recordAppliedTasks(_ tasks: [AppliedTask]) async throws(MemoryError) {
        try step { db in try SQLiteBackend.insertAppliedTasks(tasks, db) }
    }

    func trajectoryIDs(in scope: DeleteScope) async throws(MemoryError) -> [String] {
        try step { db in
            switch scope {
            case .id(let id):
                return try String.fetchAll(db, sql: "SELECT id FROM trajectory WHERE id = ?", arguments: [id])
            case .source(let source):
                let condition = SQLiteBackend.matching("source", source)
                return try String.fetchAll(
                    db, sql: "SELECT id FROM trajectory WHERE \(condition.sql) ORDER BY number",
                    arguments: condition.arguments)
            case .label(let key, let value):
                let (key, value) = (SQLiteBackend.matching("l.key", key), SQLiteBackend.matching("l.value", value))
                return try String.fetchAll(
                    db,
                    sql: """
                        SELECT t.id FROM trajectory_label l JOIN trajectory t ON t.number = l.trajectory
                        WHERE \(key.sql) AND \(value.sql) ORDER BY t.number
                        """,
                    arguments: key.arguments + value.arguments)
            }
        }
    }

    func storeTrajectories(_ trajectories: [Trajectory]) async throws(MemoryError) {
        let now = Date().timeIntervalSince1970
        try step { db in
            for trajectory in trajectories {
                let columns: StatementArguments = [
                    trajectory.task, try json(trajectory.steps), trajectory.outcome?.success,
                    trajectory.outcome?.reward,
                    trajectory.source, try json(trajectory.labels), trajectory.producer, now, trajectory.id,
                ]
                let number: Int64
                if let stored = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT number FROM trajectory WHERE id = ?"), arguments: [trajectory.id])
                {
                    // In place: the memories built from it keep their links (`memory_source`).
                    try db.cachedStatement(
                        sql: """
                            UPDATE trajectory SET task = ?, steps = ?, success = ?, reward = ?, source = ?, labels = ?,
                                producer = ?, createdAt = ?
                            WHERE id = ?
                            """
                    ).execute(arguments: columns)
                    try db.cachedStatement(sql: "DELETE FROM trajectory_label WHERE trajectory = ?").execute(
                        arguments: [stored])
                    number = stored
                } else {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO trajectory (task, steps, success, reward, source, labels, producer, createdAt, id)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """
                    ).execute(arguments: columns)
                    number = db.lastInsertedRowID
                }
                for (key, value) in trajectory.labels {
                    try db.cachedStatement(
                        sql: "INSERT INTO trajectory_label (trajectory, key, value) VALUES (?, ?, ?)"
                    )
                    .execute(arguments: [number, key, value])
                }
            }
        }
    }

    func deleteTrajectories(ids: [String]) async throws(MemoryError) {
        try step { db in
            for id in ids {
                try db.cachedStatement(sql: "DELETE FROM trajectory WHERE id = ?").execute(arguments: [id])
            }
        }
    }

    func memories(_ selection: MemorySelection) async throws(MemoryError) -> [(number: DocumentID, memory: Memory)] {
        try step { db in
            let numbers: [Int64]
            switch selection {
            case .ids(let ids):
                numbers = try ids.compactMap { id in
                    try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT number FROM memory WHERE id = ?"), arguments: [id])
                }
            case .scope(.id(let id)):
                numbers = try Int64.fetchAll(db, sql: "SELECT number FROM memory WHERE id = ?", arguments: [id])
            case .scope(.source(let source)):
                let condition = SQLiteBackend.matching("source", source)
                numbers = try Int64.fetchAll(
                    db, sql: "SELECT number FROM memory WHERE \(condition.sql)", arguments: condition.arguments)
            case .scope(.label(let key, let value)):
                let (key, value) = (SQLiteBackend.matching("key", key), SQLiteBackend.matching("value", value))
                numbers = try Int64.fetchAll(
                    db, sql: "SELECT memory FROM memory_label WHERE \(key.sql) AND \(value.sql)",
                    arguments: key.arguments + value.arguments)
            case .sourcedFrom(let trajectoryIDs):
                var found = Set<Int64>()
                for id in trajectoryIDs {
                    found.formUnion(
                        try Int64.fetchAll(
                            db.cachedStatement(
                                sql: """
                                    SELECT s.memory FROM memory_source s JOIN trajectory t ON t.number = s.trajectory
                                    WHERE t.id = ?
                                    """), arguments: [id]))
                }
                numbers = Array(found)
            }
            return try SQLiteBackend.fetchMemories(db, numbers: numbers.sorted()).map { number, memory in
                (DocumentID(UInt64(number)), memory)
            }
        }
    }

    func insertMemories(_ records: [MemoryRecord]) async throws(MemoryError) -> [DocumentID] {
        try step { db in
            try records.map { record in
                let memory = record.memory
                try db.cachedStatement(
                    sql: """
                        INSERT INTO memory (task, kind, buildPolicy, steps, script, keywords, source, labels, hitCount,
                            successCount, status, embedder, provenance, revision, createdAt, updatedAt, id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: try Self.columns(of: memory))
                let number = db.lastInsertedRowID
                try Self.insertSourcesAndLabels(of: memory, number: number, db)
                try db.cachedStatement(
                    sql: "INSERT INTO memory_vector (memory, embedder, task, keywords) VALUES (?, ?, ?, ?)"
                ).execute(arguments: [
                    number, memory.embedderID, blob(record.taskVector), record.keywordVector.map(blob),
                ])
                return DocumentID(UInt64(number))
            }
        }
    }

    func updateMemory(_ number: DocumentID, to memory: Memory, vectors: MemoryVectors?) async throws(MemoryError) {
        let number = Int64(number.rawValue)
        try step { db in
            var arguments = try Self.columns(of: memory)
            arguments += [number]
            try db.execute(
                sql: """
                    UPDATE memory SET task = ?, kind = ?, buildPolicy = ?, steps = ?, script = ?, keywords = ?,
                        source = ?, labels = ?, hitCount = ?, successCount = ?, status = ?, embedder = ?,
                        provenance = ?, revision = ?, createdAt = ?, updatedAt = ?, id = ?
                    WHERE number = ?
                    """, arguments: arguments)
            try db.execute(sql: "DELETE FROM memory_source WHERE memory = ?", arguments: [number])
            try db.execute(sql: "DELETE FROM memory_label WHERE memory = ?", arguments: [number])
            try Self.insertSourcesAndLabels(of: memory, number: number, db)
            if let vectors {
                try db.execute(
                    sql: "UPDATE memory_vector SET embedder = ?, task = ?, keywords = ? WHERE memory = ?",
                    arguments: [memory.embedderID, blob(vectors.task), vectors.keywords.map(blob), number])
            }
        }
    }

    func updateCounters(_ number: DocumentID, to memory: Memory) async throws(MemoryError) {
        try step { db in
            try db.cachedStatement(
                sql: """
                    UPDATE memory SET hitCount = ?, successCount = ?, status = ?, revision = ?, updatedAt = ?
                    WHERE number = ?
                    """
            ).execute(arguments: [
                memory.hitCount, memory.successCount, memory.status.rawValue, memory.revision,
                memory.updatedAt.timeIntervalSince1970, Int64(number.rawValue),
            ])
        }
    }

    func deleteMemories(_ numbers: [DocumentID]) async throws(MemoryError) {
        try step { db in
            for number in numbers {
                try db.cachedStatement(sql: "DELETE FROM memory WHERE number = ?").execute(arguments: [
                    Int64(number.rawValue)
                ])
            }
        }
    }

    func appendHistory(_ entries: [HistoryEntry], generation: UInt64) async throws(MemoryError) -> [Int64] {
        try step { db in
            try entries.map { entry in
                try SQLiteBackend.insertHistory(entry, number: nil, generation: generation, db)
                return db.lastInsertedRowID
            }
        }
    }

    func indexEntries(numbers: [DocumentID]) async throws(MemoryError) -> [IndexEntry] {
        try step { db in
            try numbers.sorted().compactMap { number in
                try Row.fetchOne(
                    db, sql: SQLiteBackend.indexEntrySelection + " WHERE m.number = ?",
                    arguments: [Int64(number.rawValue)]
                ).map(SQLiteBackend.indexEntry(from:))
            }
        }
    }

    /// The values of a memory's columns, in the order the statements above name them (the ID last).
    private static func columns(of memory: Memory) throws -> StatementArguments {
        [
            memory.task, memory.kind.rawValue, memory.buildPolicy.rawValue, try memory.steps.map(json), memory.script,
            try json(memory.keywords), memory.source, try json(memory.labels), memory.hitCount, memory.successCount,
            memory.status.rawValue, memory.embedderID, try json(memory.provenance), memory.revision,
            memory.createdAt.timeIntervalSince1970, memory.updatedAt.timeIntervalSince1970, memory.id,
        ]
    }

    /// Links memory `number` to its source trajectories, in order, and stores its labels.
    private static func insertSourcesAndLabels(of memory: Memory, number: Int64, _ db: Database) throws {
        for (position, trajectoryID) in memory.sourceTrajectoryIDs.enumerated() {
            guard
                let trajectory = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT number FROM trajectory WHERE id = ?"), arguments: [trajectoryID])
            else {
                throw MemoryError.database(
                    reason: "memory \(memory.id): source trajectory \(trajectoryID) is not stored")
            }
            try db.cachedStatement(sql: "INSERT INTO memory_source (memory, trajectory, position) VALUES (?, ?, ?)")
                .execute(arguments: [number, trajectory, position])
        }
        for (key, value) in memory.labels {
            try db.cachedStatement(sql: "INSERT INTO memory_label (memory, key, value) VALUES (?, ?, ?)").execute(
                arguments: [number, key, value])
        }
    }
}

extension SQLiteBackend {
    package func storeHistory(_ entries: [HistoryEntry]) async throws(MemoryError) {
        try await writing { db in
            let generation = try Self.info(db)?.generation ?? 0
            try db.execute(sql: "DELETE FROM history")
            for entry in entries { try Self.insertHistory(entry, number: entry.number, generation: generation, db) }
        }
    }

    /// Inserts a history row: numbered `number`, or after the last when `number` is `nil`.
    static func insertHistory(_ entry: HistoryEntry, number: Int64?, generation: UInt64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO history (number, memoryID, action, policy, reason, before, after, revision, generation,
                    date, reverts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            number, entry.memoryID, entry.action.rawValue, entry.policy, entry.reason, try entry.before.map(json),
            try entry.after.map(json), (entry.after ?? entry.before)?.revision, generation,
            entry.date.timeIntervalSince1970, entry.reverts,
        ])
    }

    package func historyEntry(number: Int64) async throws(MemoryError) -> HistoryEntry? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM history WHERE number = ?", arguments: [number]).map(
                Self.historyEntry(from:))
        }
    }

    package func historyCount(memoryID: String) async throws(MemoryError) -> Int {
        try await reading { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM history WHERE memoryID = ?", arguments: [memoryID]) ?? 0
        }
    }

    package func revertingEntry(of number: Int64) async throws(MemoryError) -> Int64? {
        try await reading { db in
            try Int64.fetchOne(
                db, sql: "SELECT number FROM history WHERE reverts = ? ORDER BY number LIMIT 1", arguments: [number])
        }
    }
}
