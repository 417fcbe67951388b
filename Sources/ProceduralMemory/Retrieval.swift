import HybridSearch
import RetrievalCore

/// Which memories a task gets (Memp's retrieve strategies, plus BM25 and hybrid).
public enum RetrievalPolicy: String, CaseIterable, Codable, Sendable {
    /// A seeded random sample: the paper's baseline.
    case random
    /// Cosine similarity between the embeddings of the new task and of each stored task.
    case query
    /// AveFact: keywords extracted from the new task, scored by their average embedding similarity to each
    /// memory's keywords.
    case keyword
    /// BM25 over each memory's task and keywords.
    case bm25
    /// Fusion of the `query` and `bm25` rankings; a memory found by either list can be returned.
    case hybrid
}

/// How to look memories up.
public struct RetrievalOptions: Sendable {
    /// The retrieval policy.
    public var policy: RetrievalPolicy
    /// The most memories returned.
    public var k: Int
    /// Drops hits below this similarity.
    ///
    /// The similarity is the cosine for `query`, the average keyword similarity for `keyword`, and the cosine
    /// between the task and the memory's task for `hybrid`: a memory that only BM25 found is scored by cosine
    /// too, and dropped below the minimum like any other.
    /// BM25 scores and random draws are not similarities, so `bm25` and `random` reject it.
    public var minimumSimilarity: Float?
    /// Which memories can be returned: by source, by labels, and whether deprecated ones count.
    public var filter: MemoryFilter
    /// The seed of the `random` policy: the same seed on the same store gives the same memories.
    public var seed: UInt64
    /// How `hybrid` fuses the dense and BM25 rankings; `nil` means the store's recorded choice
    /// (``MemoryStore/recordedFusion()``, made by Evaluation's `FusionTuner` or `memp tune`), else reciprocal rank
    /// fusion with rank constant 60 (docs/experiments.md, "Choosing the default fusion").
    public var fusion: FusionMethod?
    /// How many candidates each ranking gives `hybrid`; `nil` means `max(50, 4 * k)`.
    public var candidateDepth: Int?
    /// How many keywords the `keyword` policy extracts from the task: 5, as many as a ``MemoryBuilder`` gives a
    /// memory by default.
    package var keywordLimit = 5
    /// `hybrid`: how strongly a memory's record of failure lowers its fused score, from 0 (off) to 1; default 0.1.
    ///
    /// The memory's success rate is Beta-smoothed, `p = (successes + 2·o) / (hits + 2)`, where `o` is 1 when its
    /// source trajectories succeeded, 0 when they failed and ½ when they recorded no outcome; a fused score `s`
    /// becomes `s · (1 − outcomePrior · (1 − p))` (docs/experiments.md).
    public var outcomePrior: Double
    /// `hybrid`: the weight of a third ranking, BM25 over each memory's procedure text; 0 (the default) leaves it out.
    ///
    /// The procedure text is the script and step actions (``IndexEntry/procedureText(script:steps:)``); the weight
    /// is relative to the dense and task BM25 rankings. For tasks that describe the procedure rather than the goal.
    public var procedureWeight: Double

    /// The fusion `hybrid` uses unless told otherwise (chosen in docs/experiments.md, "Choosing the default
    /// fusion").
    package static let defaultFusion = FusionMethod.reciprocalRank(rankConstant: 60)
    /// The outcome prior `hybrid` uses unless told otherwise (docs/experiments.md, "The outcome prior").
    @usableFromInline package static let defaultOutcomePrior = 0.1
    /// The procedure weight `hybrid` uses unless told otherwise: off, because weighting the procedure field did
    /// not win on every development source (docs/experiments.md, "What is indexed").
    @usableFromInline package static let defaultProcedureWeight = 0.0

    /// Creates options; the defaults are the hybrid policy, 5 memories, the store's fusion (``fusion``), an outcome
    /// prior of 0.1, no procedure ranking and every active memory (`sources`, `labels` and `includeDeprecated` make
    /// the ``filter``).
    public init(
        policy: RetrievalPolicy = .hybrid, k: Int = 5, minimumSimilarity: Float? = nil,
        sources: Set<String>? = nil,
        labels: [String: String] = [:], includeDeprecated: Bool = false, seed: UInt64 = 0,
        fusion: FusionMethod? = nil, candidateDepth: Int? = nil,
        outcomePrior: Double = RetrievalOptions.defaultOutcomePrior,
        procedureWeight: Double = RetrievalOptions.defaultProcedureWeight
    ) {
        self.procedureWeight = procedureWeight
        self.policy = policy
        self.k = k
        self.minimumSimilarity = minimumSimilarity
        self.filter = MemoryFilter(sources: sources, labels: labels, includeDeprecated: includeDeprecated)
        self.seed = seed
        self.fusion = fusion
        self.candidateDepth = candidateDepth
        self.outcomePrior = outcomePrior
    }

    /// Checks the options alone, before any task is read or embedded: the first check of
    /// ``MemoryStore/retrieve(_:options:)``, for front ends that refuse a request before doing anything with it.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` naming the property: `k` or
    ///   `candidateDepth` below 1, `minimumSimilarity` NaN or outside -1…1, the fusion's `alpha` outside 0…1 or
    ///   `rankConstant` not a positive number, `outcomePrior` outside 0…1, `procedureWeight` negative or not a
    ///   number; ``MemoryError/optionNotApplicable(option:policy:)`` for a minimum similarity with `bm25` or
    ///   `random`.
    package func validate() throws(MemoryError) {
        guard k >= 1 else { throw .invalidParameter(name: "k", value: Double(k), expected: "at least 1") }
        if let minimumSimilarity {
            // Cosine similarities, and the average keyword similarity, lie within -1…1: any other bound keeps all
            // or nothing.
            guard (-1...1).contains(minimumSimilarity) else {
                throw .invalidParameter(
                    name: "minimumSimilarity", value: Double(minimumSimilarity),
                    expected: "a cosine similarity within -1…1")
            }
            // BM25 scores and random draws are not similarities.
            guard policy != .bm25, policy != .random else {
                throw .optionNotApplicable(option: "minimumSimilarity", policy: policy)
            }
        }
        if let candidateDepth, candidateDepth < 1 {
            throw .invalidParameter(name: "candidateDepth", value: Double(candidateDepth), expected: "at least 1")
        }
        do throws(IndexError) { try fusion?.validate() } catch {
            guard case .invalidParameter(let name, let value, let expected) = error else { throw .index(error) }
            throw .invalidParameter(name: name, value: value, expected: expected)
        }
        guard (0...1).contains(outcomePrior) else {
            throw .invalidParameter(name: "outcomePrior", value: outcomePrior, expected: "within 0…1")
        }
        guard procedureWeight >= 0, procedureWeight.isFinite else {
            throw .invalidParameter(name: "procedureWeight", value: procedureWeight, expected: "a number of at least 0")
        }
    }
}

/// Which memories a lookup (``RetrievalOptions/filter``) or an export considers.
public struct MemoryFilter: Sendable, Equatable {
    /// Only memories from one of these sources, when given.
    public var sources: Set<String>?
    /// Only memories carrying every one of these labels.
    public var labels: [String: String]
    /// Whether deprecated memories count too.
    public var includeDeprecated: Bool

    /// Creates a filter; the default passes every active memory.
    public init(sources: Set<String>? = nil, labels: [String: String] = [:], includeDeprecated: Bool = false) {
        self.sources = sources
        self.labels = labels
        self.includeDeprecated = includeDeprecated
    }

    /// Whether the memory with this catalog entry passes.
    package func allows(_ entry: CatalogEntry) -> Bool {
        (includeDeprecated || entry.status == .active) && (sources.map { $0.contains(entry.source) } ?? true)
            && labels.allSatisfy { entry.labels[$0.key] == $0.value }
    }
}

/// One memory found for a task, with its score and why it got it.
public struct MemoryHit: Sendable {
    /// The memory.
    public var memory: Memory
    /// The score under the policy; higher is better, comparable only within one lookup.
    public var score: Double
    /// How the score came about.
    public var explanation: ScoreExplanation
    /// How the memory's source trajectories ended: a success when any of them succeeded, a failure when all that
    /// record success or failure failed, with the best reward; `nil` when none recorded an outcome.
    ///
    /// The memory's own record of use is ``Memory/hitCount`` and ``Memory/successCount``.
    public var sourceOutcome: Outcome?
}

/// A prior belief that a memory leads to success, from how its source trajectory ended and how it fared since.
///
/// The success rate is Beta-smoothed: `p = (successes + 2·o) / (hits + 2)`, where `o` is 1 when the memory's
/// source trajectories succeeded, 0 when they failed and ½ when no outcome was recorded, and `hits` and
/// `successes` are the memory's counters (``Memory/hitCount``, ``Memory/successCount``). A new memory starts at
/// its source outcome, worth two uses, so one unlucky use does not bury it. A fused score `s` becomes
/// `s · (1 − strength · (1 − p))` (for a negative `s`, `s · (1 + strength · (1 − p))`: always lowered).
package enum OutcomePrior {
    /// The smoothed success rate `p` in 0…1.
    package static func successRate(sourceOutcome: Outcome?, hits: Int, successes: Int) -> Double {
        let source: Double =
            switch sourceOutcome?.success {
            case true: 1
            case false: 0
            case nil: sourceOutcome?.reward.map { min(max($0, 0), 1) } ?? 0.5
            }
        return (Double(successes) + 2 * source) / (Double(max(hits, successes)) + 2)
    }

    /// The score lowered in proportion to `strength · (1 − successRate)`.
    package static func adjust(_ score: Double, successRate: Double, strength: Double) -> Double {
        let penalty = strength * (1 - successRate)
        return score >= 0 ? score * (1 - penalty) : score * (1 + penalty)
    }
}

extension Outcome {
    /// The outcome of a memory built from several trajectories: successful when any of them succeeded (failed
    /// when all that say succeeded-or-not failed), with the best reward; `nil` for no outcomes.
    ///
    ///     Outcome.combining([Outcome(success: false, reward: 0.2), Outcome(success: true)])
    ///     // success true, reward 0.2
    package static func combining(_ outcomes: [Outcome]) -> Outcome? {
        let flags = outcomes.compactMap(\.success)
        let rewards = outcomes.compactMap(\.reward)
        guard !flags.isEmpty || !rewards.isEmpty else { return nil }
        return combined(anySucceeded: flags.isEmpty ? nil : flags.contains(true), bestReward: rewards.max())
    }

    /// The combined outcome from the aggregates a database computes over a memory's source trajectories (SQL
    /// `max(success)` or `bool_or(success)`, and `max(reward)`, both NULL over no values): the same rule as
    /// ``combining(_:)``, so that every backend reports what the library reports.
    ///
    /// - Parameters:
    ///   - anySucceeded: Whether any source succeeded; `nil` when none recorded success or failure.
    ///   - bestReward: The largest reward of the sources; `nil` when none recorded one.
    /// - Returns: `nil` when both are `nil`.
    package static func combined(anySucceeded: Bool?, bestReward: Double?) -> Outcome? {
        guard anySucceeded != nil || bestReward != nil else { return nil }
        return Outcome(success: anySucceeded, reward: bestReward)
    }
}

/// Why a memory got its score: the policy, the rank, and what the ranking said, for people and logs.
///
/// Read it as text (``description``: `reciprocal rank fusion (rank constant 60); dense #1 (cosine 0.83); BM25 #2
/// (4.1); matched: mug`) or as JSON (`Encodable`, as `memp query --json --explain` and the service print it).
/// Each policy writes its own fields: `policy` and `rank`; `cosine` (`query`, `hybrid`); `bm25`, or `textRank`
/// when a database ranked the text, with `matchedTerms`; for `hybrid` the `denseRank`, `keywordRank`,
/// `procedureBM25`, `procedureRank`, `fusion` and `successPrior`; `queryKeywords` and `averageKeywordSimilarity`
/// (`keyword`); `seed` (`random`); `database` when a database ran the lookup. The score to compare is
/// ``MemoryHit/score``.
public struct ScoreExplanation: Sendable, Equatable, Encodable, CustomStringConvertible {
    /// The policy that scored it.
    package var policy: RetrievalPolicy
    /// The memory's rank in the final list, from 1.
    package var rank: Int
    /// What the index's sides said (`query`, `bm25`, `hybrid`): the cosine of the task embeddings
    /// (`denseScore`), the BM25 score (`keywordScore`; the database's full-text rank, PostgreSQL `ts_rank_cd`,
    /// when ``database`` is set), the procedure BM25 side of a weighted lookup (`extraScore`, `extraRank`), their
    /// ranks, the fusion and the matched terms; `nil` for `keyword` and `random`.
    package var ranking: HitExplanation?
    /// The keywords extracted from the task (`keyword`).
    package var queryKeywords: [String]?
    /// The average similarity between the task's and the memory's keywords (`keyword`).
    package var averageKeywordSimilarity: Float?
    /// The seed of the draw (`random`).
    package var seed: UInt64?
    /// The memory's smoothed success rate when an outcome prior rescored it (`hybrid`; see
    /// ``RetrievalOptions/outcomePrior``).
    package var successPrior: Double?
    /// Where and how the lookup ran, when a database ran it (see ``DatabaseSearching``); `nil` for the in-process
    /// indexes.
    package var database: String?

    init(policy: RetrievalPolicy, rank: Int, ranking: HitExplanation? = nil) {
        self.policy = policy
        self.rank = rank
        self.ranking = ranking
    }

    private enum CodingKeys: String, CodingKey {
        case policy, rank, cosine, denseRank, bm25, keywordRank, matchedTerms, procedureBM25, procedureRank
        case queryKeywords, averageKeywordSimilarity, fusion, seed, successPrior, textRank, database
    }

    /// Encodes the fields of the policy, as `memp query --json --explain` prints them: the keyword side's score is
    /// `bm25`, or `textRank` when a database ran it; ranks, the procedure side and the fusion for `hybrid` only;
    /// matched terms for hits the in-process BM25 side found.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policy, forKey: .policy)
        try container.encode(rank, forKey: .rank)
        if let ranking {
            try container.encodeIfPresent(ranking.denseScore, forKey: .cosine)
            try container.encodeIfPresent(ranking.keywordScore, forKey: database == nil ? .bm25 : .textRank)
            if database == nil, ranking.keywordRank != nil {
                try container.encode(ranking.matchedTerms, forKey: .matchedTerms)
            }
            if policy == .hybrid {
                try container.encodeIfPresent(ranking.denseRank, forKey: .denseRank)
                try container.encodeIfPresent(ranking.keywordRank, forKey: .keywordRank)
                try container.encodeIfPresent(ranking.extraScore, forKey: .procedureBM25)
                try container.encodeIfPresent(ranking.extraRank, forKey: .procedureRank)
                try container.encodeIfPresent(ranking.fusion, forKey: .fusion)
            }
        }
        try container.encodeIfPresent(queryKeywords, forKey: .queryKeywords)
        try container.encodeIfPresent(averageKeywordSimilarity, forKey: .averageKeywordSimilarity)
        try container.encodeIfPresent(seed, forKey: .seed)
        try container.encodeIfPresent(successPrior, forKey: .successPrior)
        try container.encodeIfPresent(database, forKey: .database)
    }

    /// The explanation in one line: the policy's scores and ranks, the success prior, where the lookup ran and the
    /// matched terms.
    public var description: String {
        var parts: [String] = []
        let keywordRanker = database == nil ? "BM25" : "ts_rank_cd"
        switch policy {
        case .random:
            parts.append("random draw with seed \(seed ?? 0)")
        case .query:
            parts.append("cosine \(format(ranking?.denseScore)) between task embeddings")
        case .keyword:
            parts.append(
                "average keyword similarity \(format(averageKeywordSimilarity)) for keywords "
                    + (queryKeywords ?? []).joined(separator: ", "))
        case .bm25:
            parts.append("\(keywordRanker) \(format(ranking?.keywordScore))")
        case .hybrid:
            parts.append(ranking?.fusion ?? "fusion")
            parts.append(
                ranking?.denseRank.map { "dense #\($0) (cosine \(format(ranking?.denseScore)))" }
                    ?? "not in the dense candidates")
            parts.append(
                ranking?.keywordRank.map { "\(keywordRanker) #\($0) (\(format(ranking?.keywordScore)))" }
                    ?? "not in the \(keywordRanker) candidates")
            if let procedureRank = ranking?.extraRank {
                parts.append("procedure BM25 #\(procedureRank) (\(format(ranking?.extraScore)))")
            }
        }
        if let successPrior { parts.append("success prior \(format(Float(successPrior)))") }
        if let database { parts.append("in \(database)") }
        if let ranking, ranking.keywordRank != nil, !ranking.matchedTerms.isEmpty {
            parts.append("matched: " + ranking.matchedTerms.joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }

    private func format(_ value: Float?) -> String {
        guard let value else { return "-" }
        return String(Double(Int((Double(value) * 10_000).rounded())) / 10_000)
    }
}
