import Embeddings
import Foundation
import MemoryLocation
import PostgresNIO
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

@testable import PostgresMemory

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
        // A history with feedback, a deprecation and a revert of it, whose numbers the copies keep.
        for success in [false, false, false] {
            try await local.recordOutcome(task: "t", usedMemories: ["m3", "m4"], outcome: Outcome(success: success))
        }
        let deprecation = try #require(try await local.history(memoryID: "m3").last)
        #expect(deprecation.action == .deprecate)
        try await local.revert(deprecation.number)
        let history = try await local.history()
        // 120 adds, a delete, 6 feedback rows, 2 deprecations and a revert.
        #expect(history.count == 130)
        // An update's records of the tasks it applied, one of a failure it kept no trajectory of: a copy keeps them,
        // in order, so that a resumed update skips the same tasks on either backend.
        let applied = (1...3).map {
            AppliedTask(
                trajectoryID: "task-\($0)", outcome: $0 == 2 ? Outcome(success: false, reward: 0.25) : nil,
                source: "tasks.jsonl", line: $0 == 3 ? nil : $0, date: Date(timeIntervalSince1970: 1_800_000_000.5))
        }
        try await local.backend.transaction(commit: true) { (transaction) throws(MemoryError) in
            try await transaction.recordAppliedTasks(applied)
        }
        try await PostgresTestServer.withBackend { postgres in
            let toPostgres = try await StoreMigration.copy(
                from: local.backend, sourceName: "local", to: postgres, destinationName: "postgres",
                reason: "migrate test", batchSize: 50)
            #expect(toPostgres.trajectories == 119 && toPostgres.memories == 119)
            #expect(toPostgres.historyEntries == history.count && toPostgres.appliedTasks == 3)
            #expect(try await StoreDigest(of: local.backend) == toPostgres)
            #expect(try await postgres.history(memoryID: nil) == history)
            #expect(try await postgres.appliedTasks(among: nil) == applied)
            // The copy's history continues after the source's numbers, and reverts see the copied entries.
            let remoteStore = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            let revertNumber = try #require(history.last?.number)
            let alreadyReverted = MemoryError.cannotRevert(
                entry: deprecation.number, reason: "entry \(revertNumber) reverted it already")
            await #expect(throws: alreadyReverted) { try await remoteStore.revert(deprecation.number) }
            let next = try await remoteStore.recordOutcome(
                task: "t", usedMemories: ["m5"], outcome: Outcome(success: true))
            #expect(next.first?.hitCount == 1)
            #expect(try await postgres.history(memoryID: "m5").last?.number == revertNumber + 1)
            let withFeedback = try await StoreDigest(of: postgres)
            #expect(withFeedback.historyEntries == history.count + 1 && withFeedback.checksum != toPostgres.checksum)
            #expect(try await postgres.storeInfo()?.embedderConfiguration == .hashing(dimension: 48))

            // A destination that holds memories is refused.
            await #expect(throws: MemoryError.storeExists(path: "postgres")) {
                try await StoreMigration.copy(
                    from: local.backend, sourceName: "local", to: postgres, destinationName: "postgres", reason: "again"
                )
            }

            let back = try SQLiteBackend(path: directory.file("back.sqlite"))
            let toLocal = try await StoreMigration.copy(
                from: postgres, sourceName: "postgres", to: back, destinationName: "back", reason: "migrate back",
                batchSize: 33)
            #expect(toLocal == withFeedback)
            #expect(try await back.history(memoryID: nil) == (try await postgres.history(memoryID: nil)))
            #expect(try await back.appliedTasks(among: nil) == applied)

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

    /// Hostile run 8: a migration into PostgreSQL killed half-way left a copy that verified and answered lookups.
    ///
    /// The mark of a copy under way is kept in the store row: every open refuses it, and so does a second copy.
    @Test func aCopyThatDidNotFinishIsRefusedOnPostgreSQL() async throws {
        let embedder = HashingEmbedder(dimension: 48)
        try await PostgresTestServer.withBackend { postgres in
            try await postgres.initialize(
                embedderID: embedder.modelIdentifier, dimension: 48, configuration: .hashing(dimension: 48))
            try await postgres.beginCopy(from: "/stores/source")
            #expect(try await postgres.storeInfo()?.incompleteCopyOf == "/stores/source")
            await #expect(throws: MemoryError.incompleteCopy(source: "/stores/source")) {
                try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            }
            await #expect(throws: MemoryError.incompleteCopy(source: "/stores/source")) {
                try await postgres.beginCopy(from: "/stores/other")
            }
            try await postgres.endCopy()
            #expect(try await postgres.storeInfo()?.incompleteCopyOf == nil)
            _ = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
        }
    }

    /// Hostile run 8: `memp verify` of a PostgreSQL store ran no row checks: a memory with an unknown status, a NaN
    /// date or no source, and a history row that doesn't decode, all passed.
    @Test func verifyReadsEveryRowOfAPostgreSQLStore() async throws {
        let embedder = HashingEmbedder(dimension: 48)
        try await PostgresTestServer.withBackend { postgres in
            let store = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            try await store.add(Fixtures.randomBatch(count: 4, dimension: 48, seed: 3).trajectories)
            #expect(await MemoryStore.verify(backend: postgres, cacheDirectory: nil).problems == [])
            try await postgres.withConnection { connection in
                for statement in [
                    "UPDATE memory SET status = 'weird' WHERE id = 'm0'",
                    "UPDATE memory SET created_at = 'NaN', sources = '{}' WHERE id = 'm1'",
                    "UPDATE history SET after = 'garbage{' WHERE number = 1",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: postgres.logger)
                }
            }
            let problems = await MemoryStore.verify(backend: postgres, cacheDirectory: nil).problems
            #expect(problems.count == 3, "\(problems)")
            #expect(
                problems.first?.hasPrefix(
                    "the history can't be read: Database: history row 1, column after, holds no memory: not JSON")
                    == true)
            #expect(problems.contains("memories in an impossible state: m1 (no source trajectory)"))
            #expect(problems.last?.hasPrefix("memories that don't decode: memory number ") == true)
            // A migration of it names the memory it can't copy, before it writes anything (the other rows mended).
            try await postgres.withConnection { connection in
                try await connection.query(
                    "UPDATE memory SET status = 'active' WHERE id = 'm0'", logger: postgres.logger)
                try await connection.query("UPDATE history SET after = NULL WHERE number = 1", logger: postgres.logger)
            }
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let back = try SQLiteBackend(path: directory.file("back.sqlite"))
            await #expect(
                throws: MemoryError.database(
                    reason: "postgres: memory m1 is in an impossible state (no source trajectory), so it can't be "
                        + "copied; run memp verify on the source")
            ) {
                try await StoreMigration.copy(
                    from: postgres, sourceName: "postgres", to: back, destinationName: "back", reason: "migrate")
            }
            #expect(try await back.storeInfo() == nil)
        }
    }
}
