#if PostgreSQL
    import Foundation
    import MemoryLocation
    import MempService
    import ProceduralMemory
    import TestSupport
    import Testing

    @testable import PostgresMemory

    /// The service's time limit on writes, on a PostgreSQL store whose database keeps a write waiting
    /// (docs/reliability.md, "PostgreSQL outages").
    @Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
    struct ServiceWriteTimeoutTests {
        /// A write that outlasts the limit is stopped and answered `writeTimeout`, which says it was rolled back,
        /// and nothing of it is stored; the next write, once the database answers, is stored.
        ///
        /// Another transaction locks the memories against writes (reads go on), so the write waits as on a database
        /// that stopped answering.
        @Test func aWriteOverTheLimitIsRolledBackAndSaysSo() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let location = try PostgresTestServer.freshLocation()
            let database = LocationTests.database(location)
            let (created, _, _) = try await MemoryStore.create(
                at: directory.file("store"), database: database, embedder: LocationTests.embedder,
                configuration: .hashing(dimension: 48))
            let trajectories = Fixtures.randomBatch(count: 3, dimension: 48, seed: 5).trajectories
            try await created.add(trajectories)
            let id = try #require(
                try await created.retrieve(trajectories[0].task, options: RetrievalOptions(policy: .bm25, k: 1))
                    .first?.memory.id)
            let service = MemoryService(
                registry: StoreRegistry(layout: .single(.database(database))),
                limits: ServiceLimits(writeTimeout: .seconds(1)))
            let feedback = Data(#"{"memory": "\#(id)", "success": true}"#.utf8)

            let holder = try await PostgresBackend.connect(to: location)
            defer { holder.close() }
            let (locked, signalLocked) = AsyncStream.makeStream(of: Void.self)
            let (released, release) = AsyncStream.makeStream(of: Void.self)
            let lock = Task {
                try await holder.withConnection { connection in
                    try await connection.query("BEGIN", logger: holder.logger)
                    try await connection.query("LOCK TABLE memory IN EXCLUSIVE MODE", logger: holder.logger)
                    signalLocked.yield()
                    for await _ in released { break }
                    try await connection.query("ROLLBACK", logger: holder.logger)
                }
            }
            for await _ in locked { break }
            await #expect(
                throws: ServiceError.writeTimeout(seconds: 1, mayHaveCommitted: false, committedTrajectories: 0)
            ) {
                try await service.feedback(feedback, store: nil)
            }
            release.yield()
            try await lock.value
            #expect(try await service.memory(id: id, store: nil).memory.hitCount == 0)
            _ = try await service.feedback(feedback, store: nil)
            #expect(try await service.memory(id: id, store: nil).memory.hitCount == 1)
            try await holder.dropSchema()
        }
    }
#endif
