import Foundation
import PostgresNIO
import ProceduralMemory
import RetrievalCore

extension PostgresBackend {
    public func storeHistory(_ entries: [HistoryEntry]) async throws(MemoryError) {
        try await inTransaction { connection in
            let generation = try await Self.currentGeneration(connection, logger: logger)
            try await connection.query("DELETE FROM history", logger: logger)
            for start in stride(from: 0, to: entries.count, by: 1000) {
                let rows = try entries[start..<min(start + 1000, entries.count)].map {
                    (entry) throws(MemoryError) in
                    try HistoryColumns(entry, number: entry.number, generation: generation)
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

    public func historyCount(memoryID: String) async throws(MemoryError) -> Int {
        try await withConnection { connection in
            for try await count in try await connection.query(
                "SELECT count(*) FROM history WHERE memory_id = \(memoryID)", logger: logger
            ).decode(Int.self) {
                return count
            }
            return 0
        }
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
}
