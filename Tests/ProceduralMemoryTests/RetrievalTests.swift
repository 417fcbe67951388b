import Foundation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

@Suite struct RetrievalTests {
    static func cosine(_ a: String, _ b: String) throws -> Float {
        let vectors = try WordHashEmbedder().embed([a, b])
        return zip(vectors[0], vectors[1]).reduce(0) { $0 + $1.0 * $1.1 }
    }

    @Test(arguments: TestStoreKind.allCases)
    func queryPolicyRanksByTaskCosine(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let task = "heat a mug and put it in the coffeemachine"
        let hits = try await store.retrieve(task, options: RetrievalOptions(policy: .query, k: 4))
        #expect(hits.count == 4 && hits[0].memory.id == "alf-heat-mug-1")
        for hit in hits {
            let expected = try Self.cosine(task, hit.memory.task)
            #expect(abs(hit.score - Double(expected)) < 1e-5)
            #expect(
                hit.explanation.policy == .query && hit.explanation.ranking?.denseScore.map(Double.init) == hit.score)
        }
        #expect(hits.map(\.explanation.rank) == [1, 2, 3, 4])
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })

        let threshold = Float(hits[1].score) + 1e-4
        let strict = try await store.retrieve(
            task, options: RetrievalOptions(policy: .query, k: 4, minimumSimilarity: threshold))
        #expect(strict.map(\.memory.id) == ["alf-heat-mug-1"])
    }

    @Test(arguments: TestStoreKind.allCases)
    func hitsCarryTheirSourceOutcomeAndCounters(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let hits = try await store.retrieve(
            "find two keychain and put them in safe", options: RetrievalOptions(policy: .bm25, k: 1))
        let hit = try #require(hits.first)
        #expect(hit.memory.id == "alf-look-keychain-1")
        #expect(hit.sourceOutcome == Outcome(success: false, reward: 0.5))
        #expect(hit.memory.hitCount == 0 && hit.memory.successCount == 0)
        let heat = try await store.retrieve("heat some mug", options: RetrievalOptions(policy: .bm25, k: 1))
        #expect(heat.first?.sourceOutcome == Outcome(success: true, reward: 1))
    }

    @Test func outcomePriorLowersAFailedMemoryInProportion() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        let task = "find two keychain and put them in safe"
        let id = "alf-look-keychain-1"
        let plain = try #require(
            try await store.retrieve(task, options: RetrievalOptions(k: 4, outcomePrior: 0)).first {
                $0.memory.id == id
            })
        let lowered = try #require(
            try await store.retrieve(task, options: RetrievalOptions(k: 4, outcomePrior: 0.5)).first {
                $0.memory.id == id
            })
        // The keychain trajectory failed and the memory is unused: p = (0 + 2·0) / (0 + 2) = 0.
        #expect(plain.explanation.rank == 1 && lowered.explanation.rank > 1)
        #expect(abs(lowered.score - plain.score * 0.5) < 1e-12)
        #expect(lowered.explanation.successPrior == 0 && plain.explanation.successPrior == nil)
        #expect(lowered.explanation.description.contains("success prior 0.0"))
    }

    @Test func successRateIsSmoothedByTheSourceOutcome() {
        #expect(OutcomePrior.successRate(sourceOutcome: Outcome(success: true), hits: 0, successes: 0) == 1)
        #expect(OutcomePrior.successRate(sourceOutcome: Outcome(success: false), hits: 2, successes: 2) == 0.5)
        #expect(OutcomePrior.successRate(sourceOutcome: nil, hits: 0, successes: 0) == 0.5)
        #expect(OutcomePrior.successRate(sourceOutcome: Outcome(reward: 0.25), hits: 2, successes: 0) == 0.125)
        #expect(abs(OutcomePrior.adjust(0.5, successRate: 0, strength: 0.2) - 0.4) < 1e-12)
        #expect(abs(OutcomePrior.adjust(-0.5, successRate: 0, strength: 0.2) + 0.6) < 1e-12)
        #expect(OutcomePrior.adjust(0.5, successRate: 1, strength: 0.2) == 0.5)
    }

    @Test func combinedOutcomeSucceedsWhenAnySourceSucceeded() {
        #expect(Outcome.combining([]) == nil)
        #expect(
            Outcome.combining([Outcome(success: false, reward: 0.2), Outcome(success: true)])
                == Outcome(success: true, reward: 0.2))
        #expect(
            Outcome.combining([Outcome(success: false), Outcome(reward: 0.7)]) == Outcome(success: false, reward: 0.7))
        #expect(Outcome.combining([Outcome(reward: 0.3)]) == Outcome(reward: 0.3))
    }

    @Test func bm25PolicyExplainsMatchedTerms() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        let hits = try await store.retrieve(
            "clean the apple", options: RetrievalOptions(policy: .bm25, k: 3))
        #expect(hits.first?.memory.id == "alf-clean-apple-1")
        let first = try #require(hits.first)
        #expect(
            first.explanation.policy == .bm25
                && first.explanation.ranking?.keywordScore.map(Double.init) == first.score)
        #expect(first.explanation.ranking?.matchedTerms.count == 2)
        #expect(first.explanation.description.contains("BM25"))
        // Only memories sharing a term with the task score at all.
        #expect(hits.count == 1)
    }

    @Test func keywordPolicyScoresByAverageKeywordSimilarity() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let task = "cook a meal with the recipe"
        let hits = try await store.retrieve(task, options: RetrievalOptions(policy: .keyword, k: 4))
        #expect(hits.first?.memory.id == "tw-cook-0007")
        let embedder = WordHashEmbedder()
        for hit in hits {
            let queryKeywords = try #require(hit.explanation.queryKeywords)
            #expect(!queryKeywords.isEmpty)
            // The average of all pairwise cosines between the two keyword sets.
            let left = try await embedder.embed(queryKeywords)
            let right = try await embedder.embed(hit.memory.keywords)
            var total: Float = 0
            for a in left { for b in right { total += zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } } }
            let average = total / Float(left.count * right.count)
            #expect(abs(hit.score - Double(average)) < 1e-5)
            #expect(hit.explanation.averageKeywordSimilarity.map(Double.init) == hit.score)
        }
    }

    @Test func hybridPolicyFusesAndKeepsKeywordOnlyHits() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        let hits = try await store.retrieve(
            "put a clean apple in the fridge", options: RetrievalOptions(k: 2))
        #expect(hits.first?.memory.id == "alf-clean-apple-1")
        let first = try #require(hits.first)
        #expect(
            first.explanation.policy == .hybrid && first.explanation.ranking?.denseRank == 1
                && first.explanation.ranking?.keywordRank == 1)
        #expect(abs(first.score - 2.0 / 61.0) < 1e-9)
        #expect(first.explanation.description.contains("reciprocal rank fusion"))

        // A threshold no memory's cosine meets: the BM25 candidates are dropped too.
        #expect(
            try await store.retrieve(
                "keychain safe", options: RetrievalOptions(policy: .hybrid, k: 3, minimumSimilarity: 0.999)
            ).isEmpty)
        // Just below the keychain memory's cosine: it stays, and every hit reaches the threshold.
        let cosines = Dictionary(
            uniqueKeysWithValues: try await store.retrieve(
                "keychain safe", options: RetrievalOptions(policy: .query, k: 4)
            ).map { ($0.memory.id, Float($0.score)) })
        let threshold = try #require(cosines["alf-look-keychain-1"]) - 1e-4
        let kept = try await store.retrieve(
            "keychain safe", options: RetrievalOptions(policy: .hybrid, k: 4, minimumSimilarity: threshold))
        #expect(kept.map(\.memory.id).contains("alf-look-keychain-1"))
        #expect(kept.allSatisfy { (cosines[$0.memory.id] ?? -1) >= threshold })
    }

    // `memp query --json --explain` prints the explanation as it encodes: each policy names its own fields.
    @Test func explanationEncodesEachPolicysFields() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        func first(_ task: String, _ options: RetrievalOptions) async throws -> (json: String, text: String) {
            let hit = try #require(try await store.retrieve(task, options: options).first)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (String(decoding: try encoder.encode(hit.explanation), as: UTF8.self), hit.explanation.description)
        }
        let task = "put a clean apple in the fridge"
        let explained = [
            try await first(task, RetrievalOptions(policy: .random, k: 1, seed: 4)),
            try await first(task, RetrievalOptions(policy: .query, k: 1)),
            try await first(task, RetrievalOptions(policy: .keyword, k: 1)),
            try await first(task, RetrievalOptions(policy: .bm25, k: 1)),
            try await first(task, RetrievalOptions(k: 1)),
            try await first("open the fridge", RetrievalOptions(k: 1, outcomePrior: 0, procedureWeight: 1)),
        ]
        #expect(
            explained.map(\.json) == [
                #"{"policy":"random","rank":1,"seed":4}"#,
                #"{"cosine":0.94280905,"policy":"query","rank":1}"#,
                #"{"averageKeywordSimilarity":0.25,"policy":"keyword","#
                    + #""queryKeywords":["clean","apple","fridge","put"],"rank":1}"#,
                #"{"bm25":5.8793974,"matchedTerms":["put","clean","apple","fridge"],"policy":"bm25","rank":1}"#,
                #"{"bm25":5.8793974,"cosine":0.94280905,"denseRank":1,"#
                    + #""fusion":"reciprocal rank fusion (rank constant 60)","keywordRank":1,"#
                    + #""matchedTerms":["put","clean","apple","fridge"],"policy":"hybrid","rank":1,"successPrior":1}"#,
                #"{"bm25":1.7836634,"cosine":0.20412414,"denseRank":2,"#
                    + #""fusion":"reciprocal rank fusion (rank constant 60)","keywordRank":1,"#
                    + #""matchedTerms":["fridge"],"policy":"hybrid","procedureBM25":1.6590718,"procedureRank":1,"#
                    + #""rank":1}"#,
            ])
        #expect(
            explained.map(\.text) == [
                "random draw with seed 4",
                "cosine 0.9428 between task embeddings",
                "average keyword similarity 0.25 for keywords clean, apple, fridge, put",
                "BM25 5.8794; matched: put, clean, apple, fridge",
                "reciprocal rank fusion (rank constant 60); dense #1 (cosine 0.9428); BM25 #1 (5.8794); "
                    + "success prior 1.0; matched: put, clean, apple, fridge",
                "reciprocal rank fusion (rank constant 60); dense #2 (cosine 0.2041); BM25 #1 (1.7837); "
                    + "procedure BM25 #1 (1.6591); matched: fridge",
            ])
    }

    @Test func randomPolicyIsSeeded() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        func draw(_ seed: UInt64, k: Int = 2) async throws -> [String] {
            try await store.retrieve(
                "anything", options: RetrievalOptions(policy: .random, k: k, seed: seed)
            ).map(\.memory.id)
        }
        #expect(try await draw(7) == draw(7))
        var draws = Set<[String]>()
        for seed in UInt64(0)..<8 { draws.insert(try await draw(seed)) }
        #expect(draws.count > 1)
        let everything = try await draw(3, k: 10)
        #expect(Set(everything) == Set(Samples.all.map(\.id)) && everything.count == 4)
        let hit = try #require(
            try await store.retrieve("x", options: RetrievalOptions(policy: .random, k: 1, seed: 9)).first
        )
        #expect(hit.explanation.seed == 9 && hit.explanation.policy == .random)
    }

    @Test(arguments: RetrievalPolicy.allCases)
    func everyPolicyByNameHonorsFilters(policy: RetrievalPolicy) async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        let named = try #require(RetrievalPolicy(rawValue: policy.rawValue))
        let task = "put the mug apple keychain and meal in place"
        let alfworld = try await store.retrieve(
            task, options: RetrievalOptions(policy: named, k: 10, sources: ["alfworld"]))
        #expect(!alfworld.isEmpty && alfworld.allSatisfy { $0.memory.source == "alfworld" })
        #expect(alfworld.allSatisfy { $0.explanation.policy == policy })
        let train = try await store.retrieve(
            task, options: RetrievalOptions(policy: named, k: 10, labels: ["fold": "train"]))
        #expect(!train.isEmpty && train.allSatisfy { $0.memory.labels["fold"] == "train" })
        let none = try await store.retrieve(
            task,
            options: RetrievalOptions(
                policy: named, k: 10, sources: ["textworld-express"], labels: ["fold": "train"]))
        #expect(none.isEmpty)
    }

    @Test func rejectsBadOptions() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        await #expect(throws: MemoryError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
            try await store.retrieve("mug", options: RetrievalOptions(k: 0))
        }
        #expect(
            MemoryError.invalidParameter(name: "k", value: 0, expected: "at least 1").description
                == "k must be at least 1 (got 0).")
        await #expect(throws: MemoryError.optionNotApplicable(option: "minimumSimilarity", policy: .bm25)) {
            try await store.retrieve(
                "mug", options: RetrievalOptions(policy: .bm25, minimumSimilarity: 0.5))
        }
    }

    @Test func emptyStoreReturnsNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        for policy in RetrievalPolicy.allCases {
            #expect(
                try await store.retrieve("heat a mug", options: RetrievalOptions(policy: policy)).isEmpty)
        }
    }
}

@Suite struct DeprecatedMemoryTests {
    @Test(arguments: RetrievalPolicy.allCases)
    func deprecatedMemoriesAreExcludedUnlessAsked(policy: RetrievalPolicy) async throws {
        let backend = try SQLiteBackend(path: nil)
        let store = try await MemoryStore.open(backend: backend, embedder: WordHashEmbedder(), cacheDirectory: nil)
        try await store.add([Samples.heatMug, Samples.cleanApple])
        // Part 1 has no update policy yet, so write a deprecated memory through the backend, as one will.
        var deprecated = try #require(try await store.memory(id: "alf-heat-mug-1"))
        deprecated.id = "alf-heat-mug-old"
        deprecated.status = .deprecated
        deprecated.hitCount = 4
        deprecated.successCount = 1
        let vector = try await WordHashEmbedder().embed([deprecated.task])[0]
        _ = try await backend.write(
            WriteBatch(
                trajectories: [],
                memories: [MemoryRecord(memory: deprecated, taskVector: vector, keywordVector: vector)],
                replacing: false, policy: "test", reason: "deprecate"))
        let reopened = try await MemoryStore.open(backend: backend, embedder: WordHashEmbedder(), cacheDirectory: nil)
        let task = "heat some mug and put it in coffeemachine"
        let active = try await reopened.retrieve(task, options: RetrievalOptions(policy: policy, k: 10))
        #expect(Set(active.map(\.memory.id)).isSubset(of: ["alf-heat-mug-1", "alf-clean-apple-1"]) && !active.isEmpty)
        let all = try await reopened.retrieve(
            task, options: RetrievalOptions(policy: policy, k: 10, includeDeprecated: true))
        #expect(all.map(\.memory.id).contains("alf-heat-mug-old"))
        #expect(all.first { $0.memory.id == "alf-heat-mug-old" }?.memory.status == .deprecated)
        #expect(try await reopened.statistics().deprecatedMemories == 1)
    }
}
