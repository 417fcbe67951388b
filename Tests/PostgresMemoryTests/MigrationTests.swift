import Embeddings
import Foundation
import PostgresMemory
import ProceduralMemory
import TestSupport
import Testing

/// A local store copied into PostgreSQL and back is the same store: counts, checksums and lookups agree.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct MigrationTests {
    @Test func copiesALocalStoreToPostgreSQLAndBack() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let embedder = HashingEmbedder(dimension: 48)
        let local = try await MemoryStore.create(
            at: directory.file("local"), embedder: embedder, configuration: .hashing(dimension: 48))
        let batch = Fixtures.randomBatch(count: 120, dimension: 48, seed: 5)
        try await local.add(batch.trajectories, facts: ["m3": ["mug", "heat"]])
        _ = try await local.delete(.id("m10"))
        try await PostgresTestServer.withBackend { postgres in
            let toPostgres = try await StoreMigration.copy(
                from: local.backend, to: postgres, destinationName: "postgres", reason: "migrate test", batchSize: 50)
            #expect(toPostgres.trajectories == 119 && toPostgres.memories == 119)
            #expect(try await StoreDigest(of: local.backend) == toPostgres)
            #expect(try await postgres.storeInfo()?.embedderConfiguration == .hashing(dimension: 48))

            // A destination that holds memories is refused.
            await #expect(throws: MemoryError.storeExists(path: "postgres")) {
                try await StoreMigration.copy(from: local.backend, to: postgres, destinationName: "postgres", reason: "again")
            }

            let back = try SQLiteBackend(path: directory.file("back.sqlite"))
            let toLocal = try await StoreMigration.copy(
                from: postgres, to: back, destinationName: "back", reason: "migrate back", batchSize: 33)
            #expect(toLocal == toPostgres)

            let remote = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            let returned = try await MemoryStore.open(backend: back, embedder: embedder, cacheDirectory: nil)
            for policy in [RetrievalPolicy.query, .bm25, .hybrid, .keyword] {
                let options = RetrievalOptions(policy: policy, k: 5)
                let expected = try await local.retrieve("heat mug stove", options: options).map(\.memory.id)
                #expect(try await remote.retrieve("heat mug stove", options: options).map(\.memory.id) == expected)
                #expect(try await returned.retrieve("heat mug stove", options: options).map(\.memory.id) == expected)
            }
        }
    }
}
