import Foundation
import PostgresMemory
import ProceduralMemory
import TestSupport
import Testing

/// Several clients writing to one PostgreSQL store at once lose nothing and duplicate nothing.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct ConcurrencyTests {
    /// Four clients, each with its own connection pool, write 20 batches each at once; every batch also replaces
    /// the same two shared trajectories, so writers contend on the same rows.
    @Test func concurrentWritersLoseAndDuplicateNothing() async throws {
        let location = try PostgresTestServer.freshLocation()
        let setup = try await PostgresBackend.connect(to: location)
        try await setup.initialize(embedderID: Fixtures.embedderID, dimension: 4, configuration: nil)
        let clients = 4
        let batches = 20
        let perBatch = 5
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    let backend = try await PostgresBackend.connect(to: location, maximumConnections: 2)
                    defer { backend.close() }
                    for batch in 0..<batches {
                        let ids = (0..<perBatch).map { "c\(client)-b\(batch)-\($0)" } + ["shared-1", "shared-2"]
                        let trajectories = ids.map {
                            Fixtures.trajectory($0, task: "task \($0)", source: "client\(client)", labels: [:])
                        }
                        _ = try await backend.write(
                            WriteBatch(
                                trajectories: trajectories,
                                memories: trajectories.map { Fixtures.record($0, vector: [1, 0, 0, 0]) },
                                replacing: true, policy: "p", reason: "client \(client) batch \(batch)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let statistics = try await setup.statistics()
        let unique = clients * batches * perBatch + 2
        #expect(statistics.trajectories == unique)
        #expect(statistics.memories == unique)
        #expect(statistics.generation == UInt64(clients * batches + 0))
        // One add per memory, plus a replace per later write of each shared memory.
        let writes = clients * batches * (perBatch + 2)
        #expect(statistics.historyEntries == writes)
        let shared = try await setup.history(memoryID: "shared-1")
        #expect(shared.map(\.action) == [.add] + Array(repeating: .replace, count: clients * batches - 1))
        #expect(Set(shared.map(\.reason)).count == clients * batches)
        try await setup.dropSchema()
        setup.close()
    }
}
