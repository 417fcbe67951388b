import Embeddings
import Foundation
import HybridSearch
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

@testable import Evaluation

/// A small store of household tasks and queries with known relevant memories.
enum Fixture {
    static let trajectories: [Trajectory] = [
        ("heat-mug", "heat some mug and put it in the coffee machine", "heat"),
        ("heat-egg", "heat an egg in the microwave and put it on the plate", "heat"),
        ("cool-apple", "cool an apple in the fridge and put it on the table", "cool"),
        ("cool-wine", "cool a bottle of wine in the fridge", "cool"),
        ("slice-bread", "slice the bread with a knife on the counter", "slice"),
        ("clean-pan", "clean the pan in the sink basin", "clean"),
    ].map { id, task, type in
        Trajectory(
            id: id, task: task, steps: [Step(action: "go to \(type) place", observation: "You arrive.")],
            outcome: Outcome(success: true), source: "fixture", labels: ["taskType": type])
    }

    static let queries: [EvaluationQuery] = [
        EvaluationQuery(id: "q-heat", text: "heat a mug in the coffee machine", relevant: ["heat-mug", "heat-egg"]),
        EvaluationQuery(
            id: "q-cool", text: "cool the wine bottle in the fridge", relevant: ["cool-wine", "cool-apple"]),
        EvaluationQuery(id: "q-slice", text: "slice bread with the knife", relevant: ["slice-bread"]),
        // Its only relevant trajectory is not in the store: counted, not scored.
        EvaluationQuery(id: "q-missing", text: "water the plants", relevant: ["water-plants"]),
    ]

    static func store(in directory: TemporaryDirectory) async throws -> MemoryStore {
        let store = try await MemoryStore.create(
            at: directory.file("store"), embedder: HashingEmbedder(), configuration: .hashing(dimension: 384))
        try await store.add(trajectories)
        return store
    }

    /// An evaluator of ``queries`` over a new fixture store in `directory`.
    static func evaluator(in directory: TemporaryDirectory) async throws -> RetrievalEvaluator {
        try await RetrievalEvaluator(store: try await store(in: directory), queries: queries)
    }
}

@Suite struct EvaluatorTests {
    @Test func countsRelevantMemoriesAndQueriesWithoutAny() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        #expect(evaluator.relevantCounts == [2, 2, 1, 0])
    }

    /// Hostile run 5: a query the store refused to look up failed the evaluation with the store's error alone
    /// ("gives the task to look up an all-zero vector …"), without saying which of the queries it was.
    @Test func aLookupThatFailsNamesItsQuery() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queries = [Fixture.queries[0], EvaluationQuery(id: "q-symbols", text: "!!!", relevant: [])]
        let evaluator = try await RetrievalEvaluator(store: try await Fixture.store(in: directory), queries: queries)
        await #expect(
            throws: EvaluationError.queryFailed(
                queryID: "q-symbols", cause: .taskWithoutDirection(embedder: HashingEmbedder().modelIdentifier))
        ) {
            try await evaluator.run(RetrievalSetting(policy: .query, k: 2))
        }
    }

    /// A `k` below 1 is refused by name, a `k` near Int.max with excluded trajectories is answered, and memories
    /// stored after the evaluator counted the relevant ones are scored; each was a trap (hostile run 15).
    @Test func extremeSettingsAndAStoreThatGrewAreEvaluated() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Fixture.store(in: directory)
        let queries = [
            EvaluationQuery(
                id: "q-heat", text: "heat a mug in the coffee machine", relevant: ["heat-mug", "heat-later"],
                excluded: ["heat-egg"])
        ]
        let evaluator = try await RetrievalEvaluator(store: store, queries: queries)
        #expect(evaluator.relevantCounts == [1])
        await #expect(throws: EvaluationError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
            try await evaluator.run(RetrievalSetting(policy: .bm25, k: 0))
        }
        let widest = try await evaluator.run(RetrievalSetting(policy: .bm25, k: .max))
        #expect(widest.metrics.hitAt1 == 1 && widest.judgedQueries == 1)
        var later = Fixture.trajectories[0]
        later.id = "heat-later"
        try await store.add([later])
        let grown = try await evaluator.run(RetrievalSetting(policy: .bm25, k: 10))
        #expect(grown.metrics.recallAtK == 1 && grown.judgedQueries == 1)
        // A plan's public fields bypass its initializer's checks: -1 folds trapped making the fold ranges.
        var plan = try EvaluationPlan(modes: [.bm25])
        plan.tuningFolds = -1
        await #expect(throws: EvaluationError.invalidParameter(name: "tuningFolds", value: -1, expected: "at least 2"))
        {
            try await evaluator.run(plan, label: "store", path: directory.file("store"))
        }
        // Decoded from JSON, past the initializer: a run checks the plan first.
        var object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(EvaluationPlan(modes: [.bm25])))
                as? [String: Any])
        object["k"] = 0
        let decoded = try JSONDecoder().decode(
            EvaluationPlan.self, from: JSONSerialization.data(withJSONObject: object))
        await #expect(throws: EvaluationError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
            try await evaluator.run(decoded, label: "store", path: directory.file("store"))
        }
    }

    /// Hostile run 15's list: the plan's initializer trapped on what it refused (preconditions), and took a policy
    /// twice, which ran and reported it twice.
    @Test func plansOutOfRangeAreRefusedNamingTheField() {
        let cases: [(() throws(EvaluationError) -> EvaluationPlan, String, Double, String)] = [
            (
                { () throws(EvaluationError) in try EvaluationPlan(modes: []) }, "modes", 0,
                "at least one retrieval policy"
            ),
            (
                { () throws(EvaluationError) in try EvaluationPlan(modes: [.bm25, .hybrid, .bm25]) }, "modes", 3,
                "a list of distinct policies, without bm25 twice"
            ),
            ({ () throws(EvaluationError) in try EvaluationPlan(k: 0) }, "k", 0, "at least 1"),
            ({ () throws(EvaluationError) in try EvaluationPlan(kSweep: [5, -1]) }, "kSweep", -1, "at least 1"),
            ({ () throws(EvaluationError) in try EvaluationPlan(alphas: [0.5, 1.5]) }, "alphas", 1.5, "within 0…1"),
            (
                { () throws(EvaluationError) in try EvaluationPlan(procedureWeights: [-0.5]) }, "procedureWeights",
                -0.5, "a finite number of at least 0"
            ),
            (
                { () throws(EvaluationError) in try EvaluationPlan(candidateDepths: [0]) }, "candidateDepths", 0,
                "at least 1"
            ),
            ({ () throws(EvaluationError) in try EvaluationPlan(tuningFolds: 1) }, "tuningFolds", 1, "at least 2"),
            (
                { () throws(EvaluationError) in try EvaluationPlan(rankConstant: 0) }, "rankConstant", 0,
                "a positive number"
            ),
        ]
        for (make, name, value, expected) in cases {
            #expect(throws: EvaluationError.invalidParameter(name: name, value: value, expected: expected)) {
                try make()
            }
        }
    }

    @Test func bm25FindsTheMatchingTasks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        let run = try await evaluator.run(RetrievalSetting(policy: .bm25, k: 2))
        #expect(run.judgedQueries == 3)
        #expect(run.queriesWithoutRelevant == 1)
        #expect(run.latenciesMilliseconds.count == 4)
        #expect(run.metrics.hitAt1 == 1)
        #expect(run.metrics.recallAtK == 1)
        #expect(run.metrics.ndcgAt10 == 1)
        #expect(run.latency.p50 >= 0 && run.latency.p95 >= run.latency.p50)
    }

    @Test func randomDrawsDifferPerQueryAndRepeatPerSeed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        let first = try await evaluator.run(RetrievalSetting(policy: .random, k: 3, seed: 7))
        let second = try await evaluator.run(RetrievalSetting(policy: .random, k: 3, seed: 7))
        #expect(first.metrics == second.metrics)
        // With 10 retrieved of 6 memories, every relevant memory is found whatever the draw.
        #expect(first.metrics.hitAt10 == 1)
        #expect(first.metrics.recallAtK <= 1)
    }

    @Test func planRunsModesAlphaAndKSweeps() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        let plan = try EvaluationPlan(
            modes: [.query, .bm25, .hybrid], k: 3, alphas: [0, 0.5, 1], kSweep: [1, 5],
            fusions: [.reciprocalRank(rankConstant: 10), .convex(alpha: 0.5, normalization: .theoretical)])
        let evaluation = try await evaluator.run(plan, label: "fixture", path: directory.file("store"))
        #expect(evaluation.runs.map(\.setting.name) == ["query", "bm25", "hybrid"])
        #expect(evaluation.runs[2].setting.effectiveFusion == RetrievalOptions.defaultFusion)
        #expect(evaluation.fusionRuns.map(\.setting.name) == ["hybrid rrf:10", "hybrid convex:theoretical:0.5"])
        #expect(evaluation.alphaSweep.map(\.setting.name) == ["hybrid a=0", "hybrid a=0.5", "hybrid a=1"])
        #expect(evaluation.kSweep.map(\.setting.k) == [1, 1, 1, 5, 5, 5])
        #expect(evaluation.store.memoryCount == 6)
        #expect(evaluation.store.buildPolicy == "proceduralization")
        #expect(evaluation.store.embedderID == "hashing:v1:384")
        #expect(!evaluation.cachedQueryEmbeddings)
    }

    @Test func excludedTrajectoriesLeaveTheRankingAndTheRelevantCount() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Fixture.store(in: directory)
        let text = "heat a mug in the coffee machine"
        let plain = try await RetrievalEvaluator(
            store: store, queries: [EvaluationQuery(id: "q", text: text, relevant: ["heat-mug", "heat-egg"])])
        let excluding = try await RetrievalEvaluator(
            store: store,
            queries: [
                EvaluationQuery(id: "q", text: text, relevant: ["heat-mug", "heat-egg"], excluded: ["heat-mug"])
            ])
        #expect(plain.relevantCounts == [2] && excluding.relevantCounts == [1])
        let hits = try await store.retrieve(text, options: RetrievalOptions(policy: .bm25, k: 10))
        #expect(hits.map(\.memory.id).prefix(2) == ["heat-mug", "heat-egg"])
        // Without heat-mug, heat-egg is first, and the one relevant memory left is found at rank 1.
        let run = try await excluding.run(RetrievalSetting(policy: .bm25, k: 10), keepingQueries: true)
        #expect(run.metrics.hitAt1 == 1 && run.metrics.ndcgAt10 == 1)
        #expect(run.queries?.first?.firstRelevantRank == 1)
    }

    /// Procedure weights and candidate depths each add one named hybrid run per value, with that value in its
    /// setting; the run at the value the plain hybrid run uses scores as it does.
    @Test(arguments: [
        // A weight of 0 is the plain hybrid run.
        (
            try EvaluationPlan(modes: [.hybrid], k: 3, procedureWeights: [0, 1]), ["hybrid proc=0", "hybrid proc=1"],
            [0, 1].map { RetrievalSetting(policy: .hybrid, k: 3, procedureWeight: $0) }, 0
        ),
        // 10 memories are retrieved per query, whose default depth is 50: the plain hybrid run.
        (
            try EvaluationPlan(modes: [.hybrid], k: 3, candidateDepths: [1, 50]),
            ["hybrid depth=1", "hybrid depth=50"],
            [1, 50].map { RetrievalSetting(policy: .hybrid, k: 3, candidateDepth: $0) }, 1
        ),
    ])
    func sweepsAddNamedHybridRuns(
        plan: EvaluationPlan, names: [String], settings: [RetrievalSetting], plainRun: Int
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        let evaluation = try await evaluator.run(plan, label: "fixture", path: directory.file("store"))
        #expect(evaluation.fusionRuns.map(\.setting.name) == names)
        #expect(evaluation.fusionRuns.map(\.setting) == settings)
        #expect(evaluation.fusionRuns[plainRun].metrics == evaluation.runs[0].metrics)
    }

    @Test func cachedEmbeddingsGiveTheSameMetrics() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plain = try await Fixture.store(in: directory)
        let cached = try await MemoryStore.open(
            at: directory.file("store"), embedder: CachingEmbedder(HashingEmbedder()))
        let plan = try EvaluationPlan(modes: [.query, .keyword, .hybrid], k: 3)
        let expected = try await RetrievalEvaluator(store: plain, queries: Fixture.queries).run(
            plan, label: "plain", path: "")
        let evaluation = try await RetrievalEvaluator(store: cached, queries: Fixture.queries).run(
            plan, label: "cached", path: "")
        #expect(evaluation.cachedQueryEmbeddings)
        #expect(evaluation.runs.map(\.metrics) == expected.runs.map(\.metrics))
    }

    @Test func builderBuildsOneStorePerPolicy() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let encoder = JSONEncoder()
        let lines = try Fixture.trajectories.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        let (store, report) = try await EvaluationStoreBuilder.build(
            from: file, policy: .script, embedder: HashingEmbedder(), configuration: .hashing(dimension: 384),
            at: directory.file("script"))
        #expect(report.imported == 6)
        #expect(try await store.statistics().memoriesByBuildPolicy == ["script": 6])
        await #expect(throws: EvaluationError.memory(.storeExists(path: directory.file("script")))) {
            try await EvaluationStoreBuilder.build(
                from: file, policy: .script, embedder: HashingEmbedder(), configuration: nil,
                at: directory.file("script"))
        }
    }
}
