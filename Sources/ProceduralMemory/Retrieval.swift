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
    /// Only memories from one of these sources, when given.
    public var sources: Set<String>?
    /// Only memories carrying every one of these labels.
    public var labels: [String: String]
    /// Whether deprecated memories can be returned.
    public var includeDeprecated: Bool
    /// The seed of the `random` policy: the same seed on the same store gives the same memories.
    public var seed: UInt64
    /// How `hybrid` fuses the dense and BM25 rankings.
    public var fusion: FusionMethod
    /// How many candidates each ranking gives `hybrid`; `nil` means `max(50, 4 * k)`.
    public var candidateDepth: Int?
    /// How many keywords the `keyword` policy extracts from the task.
    public var keywordLimit: Int

    /// Creates options; the defaults are the hybrid policy, 5 memories, reciprocal rank fusion.
    public init(
        policy: RetrievalPolicy = .hybrid, k: Int = 5, minimumSimilarity: Float? = nil,
        sources: Set<String>? = nil,
        labels: [String: String] = [:], includeDeprecated: Bool = false, seed: UInt64 = 0,
        fusion: FusionMethod = .reciprocalRank(rankConstant: 60), candidateDepth: Int? = nil,
        keywordLimit: Int = 5
    ) {
        self.policy = policy
        self.k = k
        self.minimumSimilarity = minimumSimilarity
        self.sources = sources
        self.labels = labels
        self.includeDeprecated = includeDeprecated
        self.seed = seed
        self.fusion = fusion
        self.candidateDepth = candidateDepth
        self.keywordLimit = keywordLimit
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
}

/// Why a memory got its score.
public struct ScoreExplanation: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The policy that scored it.
    public var policy: RetrievalPolicy
    /// The memory's rank in the final list, from 1.
    public var rank: Int
    /// Cosine similarity of the task embeddings (`query`, `hybrid`).
    public var cosine: Float?
    /// Rank in the dense list, from 1 (`hybrid`).
    public var denseRank: Int?
    /// BM25 score (`bm25`, `hybrid`).
    public var bm25: Float?
    /// Rank in the BM25 list, from 1 (`hybrid`).
    public var keywordRank: Int?
    /// The task's terms found in the memory (`bm25`, `hybrid`).
    public var matchedTerms: [String]?
    /// The keywords extracted from the task (`keyword`).
    public var queryKeywords: [String]?
    /// The average similarity between the task's and the memory's keywords (`keyword`).
    public var averageKeywordSimilarity: Float?
    /// The fusion method (`hybrid`).
    public var fusion: String?
    /// The seed of the draw (`random`).
    public var seed: UInt64?
    /// The database's full-text rank (PostgreSQL `ts_rank_cd`) where a database ran the keyword side (`bm25`,
    /// `hybrid`); ``bm25`` is then `nil`.
    public var textRank: Float?
    /// Where and how the lookup ran, when a database ran it (see ``DatabaseSearching``); `nil` for the in-process
    /// indexes.
    public var database: String?

    init(policy: RetrievalPolicy, rank: Int) {
        self.policy = policy
        self.rank = rank
    }

    public var description: String {
        var parts: [String] = []
        switch policy {
        case .random:
            parts.append("random draw with seed \(seed ?? 0)")
        case .query:
            parts.append("cosine \(format(cosine)) between task embeddings")
        case .keyword:
            parts.append(
                "average keyword similarity \(format(averageKeywordSimilarity)) for keywords "
                    + (queryKeywords ?? []).joined(separator: ", "))
        case .bm25:
            parts.append(textRank.map { "ts_rank_cd \(format($0))" } ?? "BM25 \(format(bm25))")
        case .hybrid:
            parts.append(fusion ?? "fusion")
            parts.append(
                denseRank.map { "dense #\($0) (cosine \(format(cosine)))" } ?? "not in the dense candidates"
            )
            let keywordRanker = database == nil ? "BM25" : "ts_rank_cd"
            parts.append(
                keywordRank.map { "\(keywordRanker) #\($0) (\(format(textRank ?? bm25)))" }
                    ?? "not in the \(keywordRanker) candidates")
        }
        if let database { parts.append("in \(database)") }
        if let matchedTerms, !matchedTerms.isEmpty {
            parts.append("matched: " + matchedTerms.joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }

    private func format(_ value: Float?) -> String {
        guard let value else { return "-" }
        return String(Double(Int((Double(value) * 10_000).rounded())) / 10_000)
    }
}
