import Embeddings
import Foundation
import PostgresMemory
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// Several clients writing to one PostgreSQL store at once lose nothing and duplicate nothing.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct ConcurrencyTests {
    /// Runs `body` in `clients` tasks at once, each with a backend of its own on `location` (a pool of
    /// `maximumConnections`), and returns what they return, in the order they finish.
    static func concurrently<Result: Sendable>(
        _ clients: Int, on location: PostgresLocation, maximumConnections: Int,
        _ body: @escaping @Sendable (_ client: Int, _ backend: PostgresBackend) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: Result.self) { group in
            for client in 0..<clients {
                group.addTask {
                    let backend = try await PostgresBackend.connect(
                        to: location, maximumConnections: maximumConnections)
                    defer { backend.close() }
                    return try await body(client, backend)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Four clients, each with its own connection pool, write 20 batches each at once; every batch also replaces
    /// the same two shared trajectories, so writers contend on the same rows.
    @Test func concurrentWritersLoseAndDuplicateNothing() async throws {
        let location = try PostgresTestServer.freshLocation()
        let setup = try await PostgresBackend.connect(to: location)
        try await setup.initialize(embedderID: Fixtures.embedderID, dimension: 4, configuration: nil)
        let clients = 4
        let batches = 20
        let perBatch = 5
        _ = try await Self.concurrently(clients, on: location, maximumConnections: 2) { client, backend in
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

    /// Four clients add to the same two memories' counters 25 times each at once, in one call per round naming
    /// both memories (in opposite orders, which must not deadlock): the counters end at the sum of all increments,
    /// with one history row per increment.
    @Test func concurrentFeedbackLosesNoIncrement() async throws {
        let location = try PostgresTestServer.freshLocation()
        let setup = try await PostgresBackend.connect(to: location)
        let trajectories = ["x", "y"].map { Fixtures.trajectory($0, task: "task \($0)", source: "s", labels: [:]) }
        try await Fixtures.seed(setup, with: trajectories, vector: [1, 0])
        _ = try await Self.concurrently(4, on: location, maximumConnections: 2) { client, backend in
            for round in 0..<25 {
                let ids = client % 2 == 0 ? ["x", "y"] : ["y", "x"]
                let result = try await backend.recordFeedback(
                    ids.map { CounterIncrement(memoryID: $0, hits: 1, successes: round % 4 == 0 ? 0 : 1) },
                    settings: UpdateSettings(minimumHits: 1000), reason: "client \(client) round \(round)")
                #expect(result.changes.map(\.memoryID) == ids && result.deprecated.isEmpty)
            }
        }
        for id in ["x", "y"] {
            let memory = try #require(try await setup.memory(id: id))
            #expect(memory.hitCount == 100 && memory.successCount == 4 * 18)
            #expect(memory.revision == 101 && memory.status == .active)
            let history = try await setup.history(memoryID: id)
            #expect(history.filter { $0.action == .feedback }.count == 100)
            // Each row's before and after differ by exactly one hit: no two increments saw the same state.
            #expect(history.dropFirst().allSatisfy { ($0.after?.hitCount ?? 0) - ($0.before?.hitCount ?? 0) == 1 })
        }
        // Counters don't advance the generation: only the initial write did.
        #expect(try await setup.storeInfo()?.generation == 1)
        try await setup.dropSchema()
        setup.close()
    }

    /// An adjustment update batch gives the same memories and history on PostgreSQL as on SQLite; then update
    /// batches from four clients, each counting a use of the same memory, run at once without conflicts or lost
    /// increments.
    @Test func updateBatchesMatchSQLiteAndLoseNoIncrement() async throws {
        let location = try PostgresTestServer.freshLocation()
        let embedder = HashingEmbedder(dimension: 32)
        let trajectories = [
            Fixtures.trajectory("heat", task: "heat some mug", source: "alfworld", labels: [:]),
            Fixtures.trajectory("clean", task: "put a clean apple in fridge", source: "alfworld", labels: [:]),
        ]
        var failed = Fixtures.trajectory("failed", task: "heat some cup", source: "alfworld", labels: [:])
        failed.outcome = Outcome(success: false)
        let batch = [
            FinishedTask(trajectory: failed, usedMemories: ["heat", "clean"]),
            FinishedTask(
                trajectory: Fixtures.trajectory("won", task: "cool a bowl", source: "alfworld", labels: [:]),
                usedMemories: ["clean"]),
        ]
        let setup = try await PostgresBackend.connect(to: location)
        let remote = try await MemoryStore.open(backend: setup, embedder: embedder, cacheDirectory: nil)
        let local = try await MemoryStore.open(
            backend: try SQLiteBackend(path: nil), embedder: embedder, cacheDirectory: nil)
        var outcomes: [[String]] = []
        for store in [local, remote] {
            try await store.add(trajectories)
            let report = try await store.update(
                batch, options: UpdateOptions(policy: .adjustment, settings: UpdateSettings(minimumHits: 1)))
            var facts = [report.rewritten.joined(separator: ","), report.deprecated.joined(separator: ",")]
            for id in ["heat", "clean"] {
                let memory = try #require(try await store.memory(id: id))
                facts.append("\(id) \(memory.hitCount)/\(memory.successCount) \(memory.status) r\(memory.revision)")
                facts.append(memory.script ?? "")
                facts += try await store.history(memoryID: id).map { "\($0.action) \($0.reason)" }
            }
            outcomes.append(facts)
        }
        #expect(outcomes[0] == outcomes[1])
        // Each task's use counts in turn, as reported outcomes do: clean's first use, by the failed task, crosses the
        // threshold (0 of 1) before the won task's use follows.
        #expect(outcomes[1].prefix(3) == ["heat,clean", "heat,clean", "heat 1/0 deprecated r4"])

        let options = UpdateOptions(
            policy: .vanilla, settings: UpdateSettings(minimumHits: 1000, mergeDuplicates: false))
        _ = try await Self.concurrently(4, on: location, maximumConnections: 2) { client, backend in
            let store = try await MemoryStore.open(backend: backend, embedder: embedder, cacheDirectory: nil)
            for round in 0..<5 {
                var trajectory = Fixtures.trajectory(
                    "c\(client)-r\(round)", task: "wash plate \(client) \(round)", source: "s", labels: [:])
                trajectory.outcome = Outcome(success: round % 2 == 0)
                let report = try await store.update(
                    [FinishedTask(trajectory: trajectory, usedMemories: ["clean"])], options: options)
                #expect(report.added == [trajectory.id])
            }
        }
        let clean = try #require(try await setup.memory(id: "clean"))
        #expect(clean.hitCount == 2 + 20 && clean.successCount == 1 + 12)
        // One feedback row per task that used it: two in the first batch, then one per client round.
        #expect(try await setup.history(memoryID: "clean").filter { $0.action == .feedback }.count == 2 + 20)
        #expect(try await setup.statistics().memories == 3 + 20)
        try await setup.dropSchema()
        setup.close()
    }

    /// Four clients report 5 failures each of the same memory at once: it is deprecated exactly once, when its
    /// counters first cross the thresholds, and the generation advances once for it.
    @Test func concurrentFailuresDeprecateOnce() async throws {
        let location = try PostgresTestServer.freshLocation()
        let setup = try await PostgresBackend.connect(to: location)
        let trajectory = Fixtures.trajectory("z", task: "task z", source: "s", labels: [:])
        try await Fixtures.seed(setup, with: [trajectory], vector: [0, 1])
        let deprecations = try await Self.concurrently(4, on: location, maximumConnections: 1) { client, backend in
            var deprecated = 0
            for round in 0..<5 {
                let result = try await backend.recordFeedback(
                    [CounterIncrement(memoryID: "z", hits: 1, successes: 0)], settings: UpdateSettings(),
                    reason: "client \(client) round \(round)")
                deprecated += result.deprecated.count
                #expect(result.deprecated.map(\.catalogEntry.status).allSatisfy { $0 == .deprecated })
            }
            return deprecated
        }
        #expect(deprecations.reduce(0, +) == 1)
        let memory = try #require(try await setup.memory(id: "z"))
        #expect(memory.status == .deprecated && memory.hitCount == 20 && memory.successCount == 0)
        #expect(memory.revision == 22)
        let history = try await setup.history(memoryID: "z")
        #expect(
            history.map(\.action) == [.add, .feedback, .feedback, .feedback, .deprecate]
                + Array(repeating: .feedback, count: 17))
        #expect(try await setup.storeInfo()?.generation == 2)
        try await setup.dropSchema()
        setup.close()
    }

    @Test func failingFeedbackDeprecatesAtTheThreshold() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let trajectory = Fixtures.trajectory("z", task: "task z", source: "s", labels: [:])
            try await Fixtures.seed(postgres, with: [trajectory], vector: [0, 1])
            for _ in 0..<3 {
                _ = try await postgres.recordFeedback(
                    [CounterIncrement(memoryID: "z", hits: 1, successes: 0)], settings: UpdateSettings(),
                    reason: "failed")
            }
            let memory = try #require(try await postgres.memory(id: "z"))
            #expect(memory.status == .deprecated && memory.hitCount == 3 && memory.revision == 5)
            #expect(
                try await postgres.history(memoryID: "z").map(\.action) == [
                    .add, .feedback, .feedback, .feedback, .deprecate,
                ])
            #expect(try await postgres.catalog().entries.values.first?.status == .deprecated)
            // An unknown ID writes nothing, also for the memories named with it.
            await #expect(throws: MemoryError.unknownID("nope")) {
                try await postgres.recordFeedback(
                    [
                        CounterIncrement(memoryID: "z", hits: 1, successes: 1),
                        CounterIncrement(memoryID: "nope", hits: 1, successes: 1),
                    ],
                    settings: UpdateSettings(), reason: "r")
            }
            #expect(try await postgres.memory(id: "z")?.hitCount == 3)
            await #expect(throws: MemoryError.self) {
                try await postgres.recordFeedback(
                    [CounterIncrement(memoryID: "z", hits: 1, successes: 2)], settings: UpdateSettings(), reason: "r")
            }
        }
    }
}
