import Foundation

/// One retrieved item as the ranking metrics see it: whether it is relevant, and its score.
public struct JudgedHit: Sendable, Equatable {
    /// Whether the item is relevant to the query.
    public var isRelevant: Bool
    /// The item's score; items with equal scores are tied, `nil` means the rank alone counts (a random draw).
    public var score: Double?

    /// Creates a judged hit.
    public init(isRelevant: Bool, score: Double?) {
        self.isRelevant = isRelevant
        self.score = score
    }
}

/// The ranking metrics of one query.
public struct QueryMetrics: Sendable, Equatable, Codable {
    /// Whether a relevant item is ranked first.
    public var hitAt1: Double
    /// Whether a relevant item is in the top 5.
    public var hitAt5: Double
    /// Whether a relevant item is in the top 10.
    public var hitAt10: Double
    /// The share of the relevant items found in the top `k`.
    public var recallAtK: Double
    /// The reciprocal rank of the first relevant item, 0 when it is not in the top 10.
    public var mrrAt10: Double
    /// Binary-gain normalized discounted cumulative gain over the top 10.
    public var ndcgAt10: Double

    /// Every metric 0: a query whose lookup found nothing relevant.
    static let zero = QueryMetrics(hitAt1: 0, hitAt5: 0, hitAt10: 0, recallAtK: 0, mrrAt10: 0, ndcgAt10: 0)

    /// The means of a list of metrics; all zero when the list is empty.
    public static func mean(_ metrics: [QueryMetrics]) -> QueryMetrics {
        guard !metrics.isEmpty else { return .zero }
        let count = Double(metrics.count)
        func average(_ value: KeyPath<QueryMetrics, Double>) -> Double {
            metrics.reduce(0) { $0 + $1[keyPath: value] } / count
        }
        return QueryMetrics(
            hitAt1: average(\.hitAt1), hitAt5: average(\.hitAt5), hitAt10: average(\.hitAt10),
            recallAtK: average(\.recallAtK), mrrAt10: average(\.mrrAt10), ndcgAt10: average(\.ndcgAt10))
    }
}

/// Hit@n, Recall@k, MRR@10 and nDCG@10 of a ranked list, with tied scores handled exactly.
///
/// A retrieval engine breaks ties in some fixed order (here: by document number), which would credit or blame a
/// policy for an order it never chose. So items with equal scores form a tie group, and every metric is its
/// expected value over all orders of each group (McSherry and Najork, "Computing Information Retrieval Performance
/// Measures Efficiently in the Presence of Tied Scores", ECIR 2008). Items without a score (a random draw) are
/// taken in the order given.
public enum RankingMetrics {
    /// The metrics of one ranked list.
    ///
    /// - Parameters:
    ///   - hits: The retrieved items, best first.
    ///   - relevantCount: How many relevant items exist in the searched collection.
    ///   - k: The cutoff of Recall@k.
    /// - Returns: The tie-aware metrics; an empty list scores 0 everywhere.
    /// - Precondition: `relevantCount >= 1`, `k >= 1`, and `hits` holds at most `relevantCount` relevant items.
    /// - Complexity: O(*n*) for *n* hits.
    public static func evaluate(_ hits: [JudgedHit], relevantCount: Int, k: Int) -> QueryMetrics {
        precondition(relevantCount >= 1, "RankingMetrics: relevantCount must be at least 1")
        precondition(k >= 1, "RankingMetrics: k must be at least 1")
        precondition(
            hits.count(where: \.isRelevant) <= relevantCount,
            "RankingMetrics: more relevant hits than relevant items")
        let groups = tieGroups(hits)
        var dcg = 0.0
        for group in groups where group.relevant > 0 && group.start < 10 {
            // Each position of a tie group holds a relevant item with probability relevant / size.
            let share = Double(group.relevant) / Double(group.size)
            for position in group.start..<min(group.start + group.size, 10) {
                dcg += share / discount(position)
            }
        }
        let idealDCG = (0..<min(relevantCount, 10)).reduce(0.0) { $0 + 1 / discount($1) }
        return QueryMetrics(
            hitAt1: hitRate(groups, cutoff: 1), hitAt5: hitRate(groups, cutoff: 5),
            hitAt10: hitRate(groups, cutoff: 10),
            recallAtK: expectedRelevant(groups, cutoff: k) / Double(relevantCount),
            mrrAt10: reciprocalRank(groups, cutoff: 10), ndcgAt10: dcg / idealDCG)
    }

    /// Consecutive hits with one score; the first position, the size and how many are relevant.
    struct TieGroup: Equatable {
        var start: Int
        var size: Int
        var relevant: Int
    }

    static func tieGroups(_ hits: [JudgedHit]) -> [TieGroup] {
        var groups: [TieGroup] = []
        var previousScore: Double?
        for (position, hit) in hits.enumerated() {
            if let score = hit.score, score == previousScore, var last = groups.popLast() {
                last.size += 1
                last.relevant += hit.isRelevant ? 1 : 0
                groups.append(last)
            } else {
                groups.append(TieGroup(start: position, size: 1, relevant: hit.isRelevant ? 1 : 0))
            }
            previousScore = hit.score
        }
        return groups
    }

    /// log2(position + 2): the DCG discount of a 0-based position.
    private static func discount(_ position: Int) -> Double {
        log2(Double(position) + 2)
    }

    /// The probability that none of the first `drawn` positions of a group holds one of its relevant items:
    /// C(size − relevant, drawn) / C(size, drawn).
    private static func noneRelevant(in group: TieGroup, drawn: Int) -> Double {
        var probability = 1.0
        for index in 0..<drawn {
            let irrelevantLeft = group.size - group.relevant - index
            if irrelevantLeft <= 0 { return 0 }
            probability *= Double(irrelevantLeft) / Double(group.size - index)
        }
        return probability
    }

    private static func hitRate(_ groups: [TieGroup], cutoff: Int) -> Double {
        var missAll = 1.0
        for group in groups where group.start < cutoff && group.relevant > 0 {
            missAll *= noneRelevant(in: group, drawn: min(group.size, cutoff - group.start))
        }
        return 1 - missAll
    }

    private static func expectedRelevant(_ groups: [TieGroup], cutoff: Int) -> Double {
        groups.reduce(0.0) { total, group in
            let inside = max(0, min(group.size, cutoff - group.start))
            return total + Double(inside) * Double(group.relevant) / Double(group.size)
        }
    }

    /// The expected 1/rank of the first relevant item; it lies in the first group holding any.
    private static func reciprocalRank(_ groups: [TieGroup], cutoff: Int) -> Double {
        guard let group = groups.first(where: { $0.relevant > 0 }) else { return 0 }
        var expected = 0.0
        for offset in 0..<group.size where group.start + offset < cutoff {
            // P(first relevant at `offset`) = P(none in the first `offset`) · relevant / (size − offset).
            let probability =
                noneRelevant(in: group, drawn: offset) * Double(group.relevant) / Double(group.size - offset)
            expected += probability / Double(group.start + offset + 1)
        }
        return expected
    }
}

/// Latency percentiles of one run, in milliseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    /// The median.
    public var p50: Double
    /// The 95th percentile.
    public var p95: Double
    /// The mean.
    public var mean: Double
    /// The largest.
    public var maximum: Double

    /// Summarizes samples with nearest-rank percentiles; all zero when there are none.
    public init(milliseconds samples: [Double]) {
        let sorted = samples.sorted()
        p50 = Self.percentile(sorted, 0.50)
        p95 = Self.percentile(sorted, 0.95)
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        maximum = sorted.last ?? 0
    }

    /// The nearest-rank percentile of sorted samples: the smallest sample with at least `fraction` of all at or
    /// below it.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
