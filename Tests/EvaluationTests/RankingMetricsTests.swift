import Foundation
import Testing

@testable import Evaluation

@Suite struct RankingMetricsTests {
    static let relevant = JudgedHit(isRelevant: true, score: nil)
    static let irrelevant = JudgedHit(isRelevant: false, score: nil)

    static func hits(_ pattern: String, scores: [Double]? = nil) -> [JudgedHit] {
        pattern.enumerated().map { index, mark in JudgedHit(isRelevant: mark == "R", score: scores?[index]) }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func perfectRankingScoresOne() {
        let metrics = RankingMetrics.evaluate(Self.hits("RNN"), relevantCount: 1, k: 10)
        #expect(metrics == QueryMetrics(hitAt1: 1, hitAt5: 1, hitAt10: 1, recallAtK: 1, mrrAt10: 1, ndcgAt10: 1))
    }

    @Test func relevantAtRankThreeOfTwo() {
        let metrics = RankingMetrics.evaluate(Self.hits("NNRNN"), relevantCount: 2, k: 10)
        #expect(metrics.hitAt1 == 0)
        #expect(metrics.hitAt5 == 1)
        #expect(metrics.hitAt10 == 1)
        #expect(metrics.recallAtK == 0.5)
        #expect(Self.close(metrics.mrrAt10, 1.0 / 3))
        // DCG = 1/log2(4); the ideal puts both relevant memories first: 1 + 1/log2(3).
        #expect(Self.close(metrics.ndcgAt10, 0.5 / (1 + 1 / log2(3.0))))
        #expect(RankingMetrics.evaluate(Self.hits("NNRNN"), relevantCount: 2, k: 2).recallAtK == 0)
    }

    @Test func emptyResultScoresZero() {
        let metrics = RankingMetrics.evaluate([], relevantCount: 3, k: 10)
        #expect(metrics == QueryMetrics(hitAt1: 0, hitAt5: 0, hitAt10: 0, recallAtK: 0, mrrAt10: 0, ndcgAt10: 0))
    }

    @Test func relevantBeyondTheCutoffsDoesNotCount() {
        // Relevant at rank 11: outside Hit@10, MRR@10 and nDCG@10, inside Recall@12.
        let metrics = RankingMetrics.evaluate(Self.hits("NNNNNNNNNNR"), relevantCount: 1, k: 12)
        #expect(metrics.hitAt10 == 0)
        #expect(metrics.mrrAt10 == 0)
        #expect(metrics.ndcgAt10 == 0)
        #expect(metrics.recallAtK == 1)
        // The same beyond rank 11, with distinct scores and with a tie.
        let scored = RankingMetrics.evaluate(
            Self.hits("NNNNNNNNNNNNR", scores: (0..<13).map { Double(20 - $0) }), relevantCount: 1, k: 20)
        #expect(scored.ndcgAt10 == 0)
        #expect(scored.recallAtK == 1)
        let tied = RankingMetrics.evaluate(
            Self.hits("NNNNNNNNNNNRN", scores: (0..<11).map { Double(20 - $0) } + [1, 1]), relevantCount: 2, k: 20)
        #expect(tied.ndcgAt10 == 0)
        #expect(tied.recallAtK == 0.5)
    }

    @Test func tieGroupAveragesOverItsOrders() {
        // One relevant memory among three tied at ranks 2–4: each order is equally likely.
        let metrics = RankingMetrics.evaluate(
            Self.hits("NRNNN", scores: [0.9, 0.5, 0.5, 0.5, 0.1]), relevantCount: 1, k: 10)
        #expect(metrics.hitAt1 == 0)
        #expect(metrics.hitAt5 == 1)
        let mrr: Double = (1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 3
        let gains: [Double] = [1 / log2(3.0), 1 / log2(4.0), 1 / log2(5.0)]
        #expect(Self.close(metrics.mrrAt10, mrr))
        #expect(Self.close(metrics.ndcgAt10, gains.reduce(0, +) / 3))
    }

    @Test func tieGroupAtTheTopWithTwoRelevant() {
        let metrics = RankingMetrics.evaluate(
            Self.hits("NRNR", scores: [0.5, 0.5, 0.5, 0.5]), relevantCount: 2, k: 10)
        #expect(metrics.hitAt1 == 0.5)
        // P(first relevant at rank 1, 2, 3) = 1/2, 1/3, 1/6.
        let mrr: Double = 1.0 / 2 + 1.0 / 3 / 2 + 1.0 / 6 / 3
        #expect(Self.close(metrics.mrrAt10, mrr))
        let gains: [Double] = [1, 1 / log2(3.0), 1 / log2(4.0), 1 / log2(5.0)]
        let ideal: Double = 1 + 1 / log2(3.0)
        #expect(Self.close(metrics.ndcgAt10, 0.5 * gains.reduce(0, +) / ideal))
    }

    @Test func tieGroupStraddlingTheCutoff() {
        // Ranks 5–8 tie with one relevant memory: it is in the top 5 with probability 1/4.
        let metrics = RankingMetrics.evaluate(
            Self.hits("NNNNNRNN", scores: [8, 7, 6, 5, 1, 1, 1, 1]), relevantCount: 1, k: 5)
        #expect(metrics.hitAt5 == 0.25)
        #expect(metrics.hitAt10 == 1)
        #expect(metrics.recallAtK == 0.25)
    }

    @Test func orderWithinATieDoesNotMatter() {
        let scores = [3.0, 2, 2, 2, 2, 1, 1]
        let first = RankingMetrics.evaluate(Self.hits("NRNNRNR", scores: scores), relevantCount: 4, k: 3)
        let second = RankingMetrics.evaluate(Self.hits("NNRRNRN", scores: scores), relevantCount: 4, k: 3)
        #expect(Self.close(first.hitAt1, second.hitAt1))
        #expect(Self.close(first.mrrAt10, second.mrrAt10))
        #expect(Self.close(first.ndcgAt10, second.ndcgAt10))
        #expect(Self.close(first.recallAtK, second.recallAtK))
    }

    @Test func unscoredHitsKeepTheirOrder() {
        // A random draw has no scores: its order is the ranking.
        let metrics = RankingMetrics.evaluate([Self.irrelevant, Self.relevant], relevantCount: 1, k: 10)
        #expect(metrics.mrrAt10 == 0.5)
        #expect(metrics.hitAt1 == 0)
    }

    @Test func meanAveragesEachMetric() {
        let one = QueryMetrics(hitAt1: 1, hitAt5: 1, hitAt10: 1, recallAtK: 1, mrrAt10: 1, ndcgAt10: 1)
        let zero = QueryMetrics(hitAt1: 0, hitAt5: 0, hitAt10: 0, recallAtK: 0, mrrAt10: 0, ndcgAt10: 0)
        #expect(
            QueryMetrics.mean([one, zero, zero, one])
                == QueryMetrics(hitAt1: 0.5, hitAt5: 0.5, hitAt10: 0.5, recallAtK: 0.5, mrrAt10: 0.5, ndcgAt10: 0.5))
        #expect(QueryMetrics.mean([]) == zero)
    }

    @Test func latencyPercentilesUseNearestRank() {
        let summary = LatencySummary(milliseconds: [5, 1, 3, 2, 4])
        #expect(summary.p50 == 3)
        #expect(summary.p95 == 5)
        #expect(summary.mean == 3)
        #expect(summary.maximum == 5)
        let twenty = LatencySummary(milliseconds: (1...20).map(Double.init))
        #expect(twenty.p50 == 10)
        #expect(twenty.p95 == 19)
        #expect(LatencySummary(milliseconds: []) == LatencySummary(milliseconds: [0]))
    }
}
