import Foundation
import HybridSearch
import ProceduralMemory
import RetrievalCore

/// One retrieval configuration to evaluate: a policy, `k`, and for `hybrid` its fusion.
public struct RetrievalSetting: Sendable, Codable, Equatable {
    /// The retrieval policy.
    public var policy: RetrievalPolicy
    /// The memories retrieved per query for Recall@k; at least 10 are always retrieved so that the @10
    /// metrics are defined.
    public var k: Int
    /// `hybrid`: the weight of the dense scores in a min-max normalized convex fusion; `nil` means reciprocal
    /// rank fusion.
    public var alpha: Double?
    /// `hybrid` with reciprocal rank fusion: its rank constant; `nil` (and no `alpha` or `fusion`) means the
    /// default fusion of ``RetrievalOptions``.
    public var rankConstant: Double?
    /// `hybrid`: the fusion, overriding `alpha` and `rankConstant`.
    public var fusion: FusionMethod?
    /// `random`: the seed of the first query; query *i* uses `seed + i`, so queries get different draws.
    public var seed: UInt64
    /// `hybrid`: the weight of the procedure BM25 ranking (``ProceduralMemory/RetrievalOptions/procedureWeight``);
    /// `nil` means the default.
    public var procedureWeight: Double?
    /// `hybrid`: the candidates each ranking gives (``ProceduralMemory/RetrievalOptions/candidateDepth``); `nil`
    /// means the default.
    public var candidateDepth: Int?

    /// Creates a setting.
    public init(
        policy: RetrievalPolicy, k: Int, alpha: Double? = nil, rankConstant: Double? = nil,
        fusion: FusionMethod? = nil, seed: UInt64 = 0, procedureWeight: Double? = nil, candidateDepth: Int? = nil
    ) {
        self.candidateDepth = candidateDepth
        self.policy = policy
        self.k = k
        self.alpha = alpha
        self.rankConstant = rankConstant
        self.fusion = fusion
        self.seed = seed
        self.procedureWeight = procedureWeight
    }

    /// A short name: the policy, and for `hybrid` its fusion (`hybrid` for the default, `hybrid rrf:60`,
    /// `hybrid a=0.3`), procedure weight (`hybrid proc=0.5`) and candidate depth (`hybrid depth=100`).
    public var name: String {
        guard policy == .hybrid else { return policy.rawValue }
        let procedure =
            (procedureWeight.map { " proc=\(formatNumber($0))" } ?? "") + (candidateDepth.map { " depth=\($0)" } ?? "")
        if let fusion { return "hybrid \(fusion)" + procedure }
        if let alpha { return "hybrid a=\(formatNumber(alpha))" + procedure }
        return (rankConstant.map { "hybrid rrf:\(formatNumber($0))" } ?? "hybrid") + procedure
    }

    /// The fusion `hybrid` runs with.
    public var effectiveFusion: FusionMethod {
        fusion ?? alpha.map { .convex(alpha: $0, normalization: .minMax) }
            ?? rankConstant.map { .reciprocalRank(rankConstant: $0) } ?? RetrievalOptions.defaultFusion
    }

    /// The retrieval options of the query at `index`.
    func options(queryIndex index: Int) -> RetrievalOptions {
        RetrievalOptions(
            policy: policy, k: max(k, 10), seed: seed &+ UInt64(index), fusion: effectiveFusion,
            candidateDepth: candidateDepth, procedureWeight: procedureWeight ?? RetrievalOptions.defaultProcedureWeight)
    }
}

/// The result of one ``RetrievalSetting`` over a query set.
public struct RunResult: Sendable, Codable, Equatable {
    /// What was run.
    public var setting: RetrievalSetting
    /// The mean metrics over the judged queries (those with at least one relevant memory in the store).
    public var metrics: QueryMetrics
    /// Queries with at least one relevant memory in the store: the metrics average over these.
    public var judgedQueries: Int
    /// Queries with no relevant memory in the store; left out of the metrics, reported here.
    public var queriesWithoutRelevant: Int
    /// Queries for which the policy returned nothing (they score 0).
    public var emptyResults: Int
    /// The latency percentiles of the lookups.
    public var latency: LatencySummary
    /// The latency of every lookup, in milliseconds, in query order.
    public var latenciesMilliseconds: [Double]
    /// Every query's result, in query order, for reading failures (the plan's policy runs only; `nil` for sweeps).
    public var queries: [QueryOutcome]?
}

/// One query's result under a run: how it scored and what ranked above its first relevant memory.
public struct QueryOutcome: Sendable, Codable, Equatable {
    /// The query's ID.
    public var id: String
    /// The query's text.
    public var text: String
    /// The query's labels, for per-label breakdowns.
    public var labels: [String: String]
    /// The query's metrics; `nil` when the store holds no relevant memory for it.
    public var metrics: QueryMetrics?
    /// The rank of the first relevant memory retrieved, from 1; `nil` when none was.
    public var firstRelevantRank: Int?
    /// The memories ranked above the first relevant one (the top ones when none was retrieved), at most
    /// ``maximumHitsAbove``, with why each scored as it did.
    public var hitsAbove: [RankedHit]

    /// How many hits above the first relevant one a report keeps per query.
    public static let maximumHitsAbove = 5
}

/// A retrieved memory as a report shows it.
public struct RankedHit: Sendable, Codable, Equatable {
    /// The memory's ID.
    public var memoryID: String
    /// Its score.
    public var score: Double
    /// Why it got it (``ProceduralMemory/ScoreExplanation``).
    public var explanation: String
}

/// What a store held when it was evaluated.
public struct StoreDescription: Sendable, Codable, Equatable {
    /// A short name for tables (`trajectory`, or the directory).
    public var label: String
    /// The store directory.
    public var path: String
    /// The build policy of its memories, when they all share one.
    public var buildPolicy: String?
    /// The embedder of its vectors.
    public var embedderID: String
    /// Active memories.
    public var memoryCount: Int
    /// The store's generation.
    public var generation: UInt64
}

/// Every run of an evaluation on one store.
public struct StoreEvaluation: Sendable, Codable, Equatable {
    /// The store.
    public var store: StoreDescription
    /// The time to embed one query with the store's embedder (see ``RetrievalEvaluator/queryEmbeddingLatency``).
    public var queryEmbedding: LatencySummary
    /// Whether the runs reused cached query embeddings, so that their latencies exclude embedding.
    public var cachedQueryEmbeddings: Bool
    /// One run per retrieval policy, at the plan's `k`.
    public var runs: [RunResult]
    /// `hybrid` with convex fusion, one run per alpha.
    public var alphaSweep: [RunResult]
    /// Every policy at each `k` of the sweep.
    public var kSweep: [RunResult]
    /// `hybrid` with each fusion of the plan's comparison.
    public var fusionRuns: [RunResult]
    /// Tuned against default fusion, when the plan asks for it (``EvaluationPlan/tuningFolds``).
    public var tuning: TuningComparison?
}

/// What an evaluation runs on each store.
public struct EvaluationPlan: Sendable, Codable, Equatable {
    /// The retrieval policies.
    public var modes: [RetrievalPolicy]
    /// The cutoff of Recall@k.
    public var k: Int
    /// The alphas of the hybrid sweep; empty for none.
    public var alphas: [Double]
    /// The cutoffs of the k sweep; empty for none.
    public var kSweep: [Int]
    /// The reciprocal rank fusion constant of `hybrid`; `nil` runs `hybrid` with the default fusion.
    public var rankConstant: Double?
    /// Fusions to compare, one `hybrid` run each.
    public var fusions: [FusionMethod]
    /// The seed of `random`.
    public var seed: UInt64
    /// When set, the folds of a tuned-vs-default comparison (``TuningComparison``); `nil` for none.
    public var tuningFolds: Int?
    /// Procedure weights to compare, one `hybrid` run each (with the plan's fusion), reported with the fusions.
    public var procedureWeights: [Double]
    /// Candidate depths to compare, one `hybrid` run each (with the plan's fusion), reported with the fusions.
    public var candidateDepths: [Int]

    /// Creates a plan.
    ///
    /// - Throws: What ``validate()`` throws.
    public init(
        modes: [RetrievalPolicy] = RetrievalPolicy.allCases, k: Int = 10, alphas: [Double] = [],
        kSweep: [Int] = [], rankConstant: Double? = nil, fusions: [FusionMethod] = [], seed: UInt64 = 0,
        tuningFolds: Int? = nil, procedureWeights: [Double] = [], candidateDepths: [Int] = []
    ) throws(EvaluationError) {
        self.tuningFolds = tuningFolds
        self.procedureWeights = procedureWeights
        self.candidateDepths = candidateDepths
        self.modes = modes
        self.k = k
        self.alphas = alphas
        self.kSweep = kSweep
        self.rankConstant = rankConstant
        self.fusions = fusions
        self.seed = seed
        try validate()
    }

    /// Checks the plan; every run checks it first, so a plan decoded from JSON or changed field by field is held to
    /// the same rules as a new one.
    ///
    /// - Throws: ``EvaluationError/invalidParameter(name:value:expected:)`` naming the first field out of range:
    ///   no modes or a mode given twice, `k` or a sweep cutoff below 1, an alpha outside 0…1, a rank constant that
    ///   is not a positive number, fewer than 2 tuning folds, a procedure weight that is negative or not finite, a
    ///   candidate depth below 1, or a fusion a lookup refuses.
    public func validate() throws(EvaluationError) {
        guard !modes.isEmpty else {
            throw .invalidParameter(name: "modes", value: 0, expected: "at least one retrieval policy")
        }
        if let repeated = modes.first(where: { mode in modes.count { $0 == mode } > 1 }) {
            throw .invalidParameter(
                name: "modes", value: Double(modes.count),
                expected: "a list of distinct policies, without \(repeated.rawValue) twice")
        }
        let cutoffs = [("k", k)] + kSweep.map { ("kSweep", $0) } + candidateDepths.map { ("candidateDepths", $0) }
        if let (name, cutoff) = cutoffs.first(where: { $0.1 < 1 }) {
            throw .invalidParameter(name: name, value: Double(cutoff), expected: "at least 1")
        }
        if let alpha = alphas.first(where: { !(0...1).contains($0) }) {
            throw .invalidParameter(name: "alphas", value: alpha, expected: "within 0…1")
        }
        if let weight = procedureWeights.first(where: { !($0 >= 0 && $0.isFinite) }) {
            throw .invalidParameter(name: "procedureWeights", value: weight, expected: "a finite number of at least 0")
        }
        if let folds = tuningFolds, folds < 2 {
            throw .invalidParameter(name: "tuningFolds", value: Double(folds), expected: "at least 2")
        }
        for fusion in fusions + (rankConstant.map { [.reciprocalRank(rankConstant: $0)] } ?? []) {
            do throws(IndexError) { try fusion.validate() } catch {
                guard case .invalidParameter(let name, let value, let expected) = error else { continue }
                throw .invalidParameter(name: name, value: value, expected: expected)
            }
        }
    }

    /// The fusion of the plain `hybrid` run.
    public var hybridFusion: FusionMethod {
        RetrievalSetting(policy: .hybrid, k: k, rankConstant: rankConstant).effectiveFusion
    }

    /// Every setting the plan runs: the modes, then the alpha sweep, then the k sweep, then the fusions.
    var settings:
        (
            runs: [RetrievalSetting], alphaSweep: [RetrievalSetting], kSweep: [RetrievalSetting],
            fusions: [RetrievalSetting]
        )
    {
        func setting(_ policy: RetrievalPolicy, k: Int, alpha: Double? = nil) -> RetrievalSetting {
            RetrievalSetting(policy: policy, k: k, alpha: alpha, rankConstant: rankConstant, seed: seed)
        }
        return (
            modes.map { setting($0, k: k) },
            alphas.map { setting(.hybrid, k: k, alpha: $0) },
            kSweep.flatMap { cutoff in modes.map { setting($0, k: cutoff) } },
            fusions.map { RetrievalSetting(policy: .hybrid, k: k, fusion: $0, seed: seed) }
                + procedureWeights.map {
                    RetrievalSetting(policy: .hybrid, k: k, rankConstant: rankConstant, seed: seed, procedureWeight: $0)
                }
                + candidateDepths.map {
                    RetrievalSetting(policy: .hybrid, k: k, rankConstant: rankConstant, seed: seed, candidateDepth: $0)
                }
        )
    }
}

/// Runs retrieval settings over a query set on a memory store and scores them.
///
/// A retrieved memory is relevant to a query when any of its source trajectories is in the query's `relevant`
/// list; a query's relevant count is the number of active memories in the store that are. Metrics average over
/// the queries with a relevant count of at least one; the others are counted, not scored.
public struct RetrievalEvaluator: Sendable {
    /// The store under evaluation.
    public let store: MemoryStore
    /// The queries.
    public let queries: [EvaluationQuery]
    /// Per query, how many active memories of the store are relevant.
    public let relevantCounts: [Int]
    /// The time to embed each query once with the store's embedder, measured while preparing.
    ///
    /// With a ``CachingEmbedder`` the runs reuse these vectors, so their latencies measure retrieval alone and
    /// this is the embedding cost to add for an uncached lookup.
    public let queryEmbeddingLatency: LatencySummary

    /// Prepares an evaluation: reads which trajectories each active memory was built from, and embeds each query
    /// once, timed.
    ///
    /// - Throws: ``EvaluationError/memory(_:)`` when the store can't be read,
    ///   ``EvaluationError/queryFailed(queryID:cause:)`` when a query can't be embedded.
    public init(store: MemoryStore, queries: [EvaluationQuery]) async throws(EvaluationError) {
        self.store = store
        self.queries = queries
        var memoriesBySource: [String: Set<String>] = [:]
        do throws(MemoryError) {
            let active = try await store.backend.catalog().entries.filter { $0.value.status == .active }.keys
                .sorted()
            // Bounded batches keep each SQL statement well under SQLite's variable limit.
            for start in stride(from: 0, to: active.count, by: 500) {
                let batch = Array(active[start..<min(start + 500, active.count)])
                for memory in try await store.backend.memories(numbered: batch).values {
                    for source in memory.sourceTrajectoryIDs {
                        memoriesBySource[source, default: []].insert(memory.id)
                    }
                }
            }
        } catch {
            throw .memory(error)
        }
        relevantCounts = queries.map { query in
            let relevant = query.relevant.reduce(into: Set<String>()) { $0.formUnion(memoriesBySource[$1] ?? []) }
            let excluded = query.excluded.reduce(into: Set<String>()) { $0.formUnion(memoriesBySource[$1] ?? []) }
            return relevant.subtracting(excluded).count
        }
        // Timed on the uncached embedder, so a cache shared by several stores doesn't hide the cost.
        let cache = store.embedder as? CachingEmbedder
        let embedder = cache?.base ?? store.embedder
        var embeddingTimes: [Double] = []
        let clock = ContinuousClock()
        for query in queries {
            let start = clock.now
            let vectors: [[Float]]
            do { vectors = try await embedder.embed([query.text]) } catch {
                throw .queryFailed(queryID: query.id, cause: .embedding(reason: error.description))
            }
            embeddingTimes.append((clock.now - start).inMilliseconds)
            if let vector = vectors.first { cache?.remember(vector, for: query.text) }
        }
        queryEmbeddingLatency = LatencySummary(milliseconds: embeddingTimes)
    }

    /// Runs one setting over every query.
    ///
    /// Untimed lookups first warm caches (every query with a ``CachingEmbedder``, else the first), so the
    /// latencies measure steady-state lookups.
    ///
    /// - Throws: ``EvaluationError/queryFailed(queryID:cause:)`` when a lookup fails,
    ///   ``EvaluationError/invalidParameter(name:value:expected:)`` for a `k` below 1.
    /// - Parameter keepingQueries: Whether the result keeps every query's outcome (``RunResult/queries``).
    public func run(_ setting: RetrievalSetting, keepingQueries: Bool = false) async throws(EvaluationError)
        -> RunResult
    {
        let measured = try await lookUp(setting, keepingQueries: keepingQueries)
        let metrics = measured.metrics.compactMap { $0 }
        return RunResult(
            setting: setting, metrics: QueryMetrics.mean(metrics), judgedQueries: metrics.count,
            queriesWithoutRelevant: queries.count - metrics.count, emptyResults: measured.emptyResults,
            latency: LatencySummary(milliseconds: measured.latencies), latenciesMilliseconds: measured.latencies,
            queries: keepingQueries ? measured.outcomes : nil)
    }

    /// Each query's metrics under one setting, in query order.
    ///
    /// `nil` stands for a query with no relevant memory in the store. For paired comparisons of settings
    /// (``BootstrapInterval``, ``FusionTuner``).
    ///
    /// - Throws: ``EvaluationError/queryFailed(queryID:cause:)`` when a lookup fails,
    ///   ``EvaluationError/invalidParameter(name:value:expected:)`` for a `k` below 1.
    public func queryMetrics(_ setting: RetrievalSetting) async throws(EvaluationError) -> [QueryMetrics?] {
        try await lookUp(setting, keepingQueries: false).metrics
    }

    /// Runs every query under `setting`, timed after a warm-up.
    private func lookUp(_ setting: RetrievalSetting, keepingQueries: Bool) async throws(EvaluationError) -> (
        metrics: [QueryMetrics?], latencies: [Double], emptyResults: Int, outcomes: [QueryOutcome]
    ) {
        // The metrics' cutoff; a `k` below 1 was a precondition failure there (hostile run 15).
        guard setting.k >= 1 else {
            throw .invalidParameter(name: "k", value: Double(setting.k), expected: "at least 1")
        }
        var outcomes: [QueryOutcome] = []
        var metrics: [QueryMetrics?] = []
        var latencies: [Double] = []
        var emptyResults = 0
        let clock = ContinuousClock()
        // The query being looked up, named when its lookup fails: one task of thousands can be refused (too
        // long, or without a word the embedder knows), and the store's error alone did not say which.
        var current = ""
        do throws(MemoryError) {
            // Warm-up: with a caching embedder, every query once (the keywords the `keyword` policy extracts
            // get cached too); otherwise the first query only, which loads what the first lookup loads.
            let warmUp = store.embedder is CachingEmbedder ? queries[...] : queries.prefix(1)
            for (index, query) in zip(warmUp.indices, warmUp) {
                current = query.id
                _ = try await store.retrieve(query.text, options: setting.options(queryIndex: index))
            }
            for (index, query) in queries.enumerated() {
                current = query.id
                var options = setting.options(queryIndex: index)
                let k = options.k
                // Each excluded trajectory is the source of at most one memory: asking for that many more keeps
                // `k` hits once they are dropped (saturating: a `k` near Int.max overflowed, hostile run 15).
                let widened = k.addingReportingOverflow(query.excluded.count)
                options.k = widened.overflow ? Int.max : widened.partialValue
                let start = clock.now
                var hits = try await store.retrieve(query.text, options: options)
                latencies.append((clock.now - start).inMilliseconds)
                if !query.excluded.isEmpty {
                    hits.removeAll { $0.memory.sourceTrajectoryIDs.contains(where: query.excluded.contains) }
                    hits = Array(hits.prefix(k))
                }
                if hits.isEmpty { emptyResults += 1 }
                let judged = hits.map { hit in
                    JudgedHit(
                        isRelevant: hit.memory.sourceTrajectoryIDs.contains(where: query.relevant.contains),
                        score: setting.policy == .random ? nil : hit.score)
                }
                // The counts were taken when the evaluator was made; a memory stored since can be relevant too
                // (that was a precondition failure, hostile run 15).
                let relevantCount = max(relevantCounts[index], judged.count(where: \.isRelevant))
                let queryMetrics =
                    relevantCounts[index] > 0
                    ? RankingMetrics.evaluate(judged, relevantCount: relevantCount, k: setting.k) : nil
                metrics.append(queryMetrics)
                guard keepingQueries else { continue }
                let firstRelevant = judged.firstIndex(where: \.isRelevant)
                outcomes.append(
                    QueryOutcome(
                        id: query.id, text: query.text, labels: query.labels, metrics: queryMetrics,
                        firstRelevantRank: firstRelevant.map { $0 + 1 },
                        hitsAbove: hits.prefix(min(firstRelevant ?? hits.count, QueryOutcome.maximumHitsAbove)).map {
                            RankedHit(memoryID: $0.memory.id, score: $0.score, explanation: $0.explanation.description)
                        }))
            }
        } catch {
            throw .queryFailed(queryID: current, cause: error)
        }
        return (metrics, latencies, emptyResults, outcomes)
    }

    /// Runs every setting of a plan.
    ///
    /// - Parameter label: The store's name in tables.
    /// - Throws: What ``EvaluationPlan/validate()`` throws; ``EvaluationError/memory(_:)`` when a lookup fails.
    public func run(_ plan: EvaluationPlan, label: String, path: String) async throws(EvaluationError)
        -> StoreEvaluation
    {
        try plan.validate()
        let settings = plan.settings
        var runs: [RunResult] = []
        for setting in settings.runs { runs.append(try await run(setting, keepingQueries: true)) }
        var alphaSweep: [RunResult] = []
        for setting in settings.alphaSweep { alphaSweep.append(try await run(setting)) }
        var kSweep: [RunResult] = []
        for setting in settings.kSweep { kSweep.append(try await run(setting)) }
        var fusionRuns: [RunResult] = []
        for setting in settings.fusions { fusionRuns.append(try await run(setting)) }
        var tuning: TuningComparison?
        if let folds = plan.tuningFolds { tuning = try await TuningComparison(self, folds: folds) }
        let statistics: StoreStatistics
        do { statistics = try await store.statistics() } catch { throw .memory(error) }
        let policies = statistics.memoriesByBuildPolicy.filter { $0.value > 0 }.keys
        return StoreEvaluation(
            store: StoreDescription(
                label: label, path: path, buildPolicy: policies.count == 1 ? policies.first : nil,
                embedderID: store.embedder.modelIdentifier, memoryCount: statistics.activeMemories,
                generation: statistics.generation),
            queryEmbedding: queryEmbeddingLatency, cachedQueryEmbeddings: store.embedder is CachingEmbedder,
            runs: runs, alphaSweep: alphaSweep, kSweep: kSweep, fusionRuns: fusionRuns, tuning: tuning)
    }

}

/// A number with at most three decimals and no trailing zeros (`0.3`, `1`, `0.125`).
func formatNumber(_ value: Double) -> String {
    var text = String(format: "%.3f", value)
    while text.contains("."), text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}
