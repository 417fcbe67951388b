#if PostgreSQL
    import Embeddings
    import Evaluation
    import Foundation
    import MemoryLocation
    import PostgresMemory
    import ProceduralMemory
    import TestSupport
    import Testing

    /// `EvaluationRun` opens a PostgreSQL store through MemoryLocation as it opens a SQLite one: the same
    /// trajectories in both backends give the same measurements.
    @Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
    struct EvaluationRunOnPostgresTests {
        @Test func evaluatesAPostgreSQLStoreLikeItsSQLiteTwin() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let location = try PostgresTestServer.freshLocation()
            let embedder = HashingEmbedder(dimension: 48)
            // Tasks of four distinct words, so that each query below has exactly one best memory.
            let trajectories = (0..<40).map { index in
                let words = (0..<4).map { Fixtures.words[(index * 4 + $0 * 7) % Fixtures.words.count] }
                return Fixtures.trajectory(
                    "t\(index)", task: words.joined(separator: " ") + " \(index)", source: "textworld", labels: [:])
            }
            let onPostgres = directory.file("on-postgres")
            let (postgres, _, _) = try await MemoryStore.create(
                at: onPostgres, database: LocationTests.database(location), embedder: embedder,
                configuration: .hashing(dimension: 48))
            try await postgres.add(trajectories)
            let onSQLite = directory.file("on-sqlite")
            try await MemoryStore.create(at: onSQLite, embedder: embedder, configuration: .hashing(dimension: 48))
                .add(trajectories)

            // Each query is a stored task, judged relevant to its own trajectory only.
            let queries = directory.file("queries.jsonl")
            let lines = try trajectories.prefix(12).map { trajectory in
                let object: [String: Any] = [
                    "qid": trajectory.id, "query": trajectory.task, "relevant": [trajectory.id],
                ]
                return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: queries, atomically: true, encoding: .utf8)

            let report = try await EvaluationRun(
                stores: .existing([onPostgres, onSQLite]), queries: queries,
                plan: try EvaluationPlan(modes: [.query, .hybrid], k: 5)
            ).run()
            #expect(report.stores.map(\.store.label) == ["on-postgres", "on-sqlite"])
            #expect(report.stores.map(\.store.memoryCount) == [40, 40])
            #expect(report.stores.map(\.store.embedderID) == [embedder.modelIdentifier, embedder.modelIdentifier])
            for store in report.stores {
                #expect(store.runs.map(\.setting.policy) == [.query, .hybrid])
                #expect(store.runs.map(\.judgedQueries) == [12, 12])
                // A query equal to a stored task has cosine 1 with it and ranks it first.
                #expect(store.runs[0].metrics.hitAt1 == 1)
                #expect(store.runs[1].metrics.hitAt5 == 1)
            }
            #expect(report.stores[0].runs[0].metrics == report.stores[1].runs[0].metrics)
            try await PostgresBackend.connect(to: location).dropSchema()
        }
    }
#endif
