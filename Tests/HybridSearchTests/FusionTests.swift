import Foundation
import RetrievalCore
import Testing

@testable import HybridSearch

@Suite struct FusionTests {
    // Dense finds 1, 2, 3; keyword finds 3, 4 (4 is keyword-only; 1 and 2 are dense-only).
    let dense = [SearchHit(id: 1, score: 0.9), SearchHit(id: 2, score: 0.5), SearchHit(id: 3, score: 0.1)]
    let keyword = [SearchHit(id: 3, score: 8), SearchHit(id: 4, score: 2)]

    func hit(_ hits: [FusedHit], _ id: DocumentID) throws -> FusedHit {
        try #require(hits.first { $0.id == id })
    }

    @Test func reciprocalRankArithmetic() throws {
        let hits = fuse(dense: dense, keyword: keyword, method: .reciprocalRank())
        #expect(hits.map(\.id) == [3, 1, 2, 4])  // 2 and 4 tie at 1/62: lower ID first
        #expect(try hit(hits, 3).score == 1.0 / 63 + 1.0 / 61)
        #expect(try hit(hits, 1).score == 1.0 / 61)
        #expect(try hit(hits, 4).score == 1.0 / 62)
        #expect(try hit(hits, 2).score == 1.0 / 62)
        let three = try hit(hits, 3)
        #expect(three.denseRank == 3 && three.keywordRank == 1 && three.denseScore == 0.1 && three.keywordScore == 8)
        #expect(three.normalizedDense == nil)
        let custom = fuse(dense: dense, keyword: keyword, method: .reciprocalRank(rankConstant: 1))
        #expect(try hit(custom, 3).score == 1.0 / 4 + 1.0 / 2)
    }

    @Test func oneSidedHitsSurviveWithZeroFromTheOtherSide() throws {
        for method in [
            FusionMethod.reciprocalRank(), .convex(alpha: 0.5, normalization: .minMax),
            .convex(alpha: 0.5, normalization: .zScore),
        ] {
            let hits = fuse(dense: dense, keyword: keyword, method: method)
            #expect(Set(hits.map(\.id)) == [1, 2, 3, 4], "\(method)")
            let keywordOnly = try hit(hits, 4)
            #expect(keywordOnly.denseRank == nil && keywordOnly.denseScore == nil && keywordOnly.keywordRank == 2)
            let denseOnly = try hit(hits, 1)
            #expect(denseOnly.keywordRank == nil && denseOnly.keywordScore == nil && denseOnly.denseRank == 1)
        }
        // Either side alone: the other list empty.
        #expect(fuse(dense: [], keyword: keyword, method: .reciprocalRank()).map(\.id) == [3, 4])
        #expect(
            fuse(dense: dense, keyword: [], method: .convex(alpha: 0.3, normalization: .minMax)).map(\.id) == [1, 2, 3])
    }

    @Test func convexWithTheoreticalNormalization() throws {
        let hits = fuse(dense: dense, keyword: keyword, method: .convex(alpha: 0.5, normalization: .theoretical))
        // Dense (s + 1) / (0.9 + 1): 0.1 → 1.1 / 1.9; keyword s / 8: 8 → 1, 2 → 0.25.
        let three = try hit(hits, 3)
        #expect(abs(try #require(three.normalizedDense) - 1.1 / 1.9) < 1e-6)
        #expect(three.normalizedKeyword == 1)
        #expect(abs(three.score - (0.5 * 1.1 / 1.9 + 0.5)) < 1e-6)
        #expect(try hit(hits, 4).normalizedKeyword == 0.25)
        #expect(try hit(hits, 1).normalizedDense == 1)
    }

    @Test func textFormRoundTrips() throws {
        // The last four were written rounded to 6 decimals (hostile run 14): "rrf:inf" and "rrf:0", which no reader
        // took, "convex:minMax:0.123457" and "rrf:60", read back as other methods.
        let methods = [
            FusionMethod.reciprocalRank(rankConstant: 60), .reciprocalRank(rankConstant: 2.5),
            .convex(alpha: 0.35, normalization: .minMax), .convex(alpha: 1, normalization: .theoretical),
            .reciprocalRank(rankConstant: 1e303), .reciprocalRank(rankConstant: 4e-7),
            .convex(alpha: 0.1234567, normalization: .minMax), .reciprocalRank(rankConstant: 60.0000004),
        ]
        for method in methods {
            #expect(FusionMethod(method.description) == method, "\(method)")
        }
        #expect(try JSONDecoder().decode([FusionMethod].self, from: JSONEncoder().encode(methods)) == methods)
        #expect(
            methods.suffix(4).map(\.description) == [
                "rrf:1e+303", "rrf:4e-07", "convex:minMax:0.1234567", "rrf:60.0000004",
            ])
        #expect(FusionMethod.reciprocalRank(rankConstant: 60).description == "rrf:60")
        #expect(FusionMethod.convex(alpha: 0.5, normalization: .zScore).description == "convex:zScore:0.5")
        for bad in ["rrf", "rrf:0", "rrf:-1", "convex:minMax", "convex:minmax:0.5", "convex:zScore:1.5", "x:1"] {
            #expect(FusionMethod(bad) == nil, "\(bad)")
        }
        let decoded = try JSONDecoder().decode([FusionMethod].self, from: Data(#"["convex:minMax:0.3"]"#.utf8))
        #expect(decoded == [.convex(alpha: 0.3, normalization: .minMax)])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([FusionMethod].self, from: Data(#"["rrf"]"#.utf8))
        }
    }

    @Test func convexWithMinMaxNormalization() throws {
        let hits = fuse(dense: dense, keyword: keyword, method: .convex(alpha: 0.25, normalization: .minMax))
        // Dense 0.9 → 1, 0.5 → 0.5, 0.1 → 0; keyword 8 → 1, 2 → 0.
        let three = try hit(hits, 3)
        #expect(three.normalizedDense == 0 && three.normalizedKeyword == 1)
        #expect(three.score == 0.75)
        let (low, middle, high) = (Double(Float(0.1)), Double(Float(0.5)), Double(Float(0.9)))
        #expect(abs(try hit(hits, 2).score - 0.25 * (middle - low) / (high - low)) < 1e-15)
        #expect(try hit(hits, 1).score == 0.25)
        #expect(try hit(hits, 4).score == 0)
        #expect(hits.map(\.id) == [3, 1, 2, 4])
    }

    @Test func convexWithZScoreNormalization() throws {
        let hits = fuse(dense: dense, keyword: keyword, method: .convex(alpha: 0.5, normalization: .zScore))
        // Keyword: mean 5, population deviation 3 → 8 ↦ 1, 2 ↦ −1.
        #expect(try hit(hits, 3).normalizedKeyword == 1)
        #expect(try hit(hits, 4).normalizedKeyword == -1)
        // Dense: mean 0.5, deviation sqrt(((0.4)² + 0 + (0.4)²) / 3).
        let values = dense.map { Double($0.score) }
        let mean = values.reduce(0, +) / 3
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
        let one = try hit(hits, 1)
        #expect(abs(try #require(one.normalizedDense) - (0.9 - mean) / deviation) < 1e-6)
        #expect(abs(one.score - 0.5 * (Double(Float(0.9)) - mean) / deviation) < 1e-6)
        #expect(abs(try hit(hits, 4).score - -0.5) < 1e-12)
    }

    @Test func degenerateSidesNormalizeToConstants() throws {
        let single = [SearchHit(id: 7, score: 3)]
        let minMax = fuse(dense: single, keyword: single, method: .convex(alpha: 0.5, normalization: .minMax))
        #expect(
            minMax == [
                FusedHit(
                    id: 7, score: 1, denseScore: 3, denseRank: 1, keywordScore: 3, keywordRank: 1,
                    normalizedDense: 1, normalizedKeyword: 1)
            ])
        let zScore = fuse(dense: single, keyword: single, method: .convex(alpha: 0.5, normalization: .zScore))
        #expect(zScore.first?.score == 0)
    }

    @Test func tiesGoToTheLowerID() {
        let hits = fuse(
            dense: [SearchHit(id: 9, score: 1)], keyword: [SearchHit(id: 4, score: 1)], method: .reciprocalRank())
        #expect(hits.map(\.id) == [4, 9])
    }

    @Test func alphaExtremesKeepOneSidesOrder() {
        let denseOnly = fuse(dense: dense, keyword: keyword, method: .convex(alpha: 1, normalization: .minMax))
        #expect(denseOnly.prefix(3).map(\.id) == [1, 2, 3])
        let keywordOnly = fuse(dense: dense, keyword: keyword, method: .convex(alpha: 0, normalization: .minMax))
        #expect(keywordOnly.first?.id == 3)
    }

    // The extra side finds 4 and 5 (5 is found by it alone).
    let extra = [SearchHit(id: 4, score: 6), SearchHit(id: 5, score: 3)]

    @Test func weightedExtraSideAddsItsWeightedReciprocalRank() throws {
        let hits = fuse(dense: dense, keyword: keyword, extra: extra, extraWeight: 2, method: .reciprocalRank())
        #expect(hits.map(\.id) == [4, 3, 5, 1, 2])
        #expect(try hit(hits, 4).score == 0 + 1.0 / 62 + 2.0 / 61)
        #expect(try hit(hits, 5).score == 0 + 0 + 2.0 / 62)
        #expect(try hit(hits, 3).score == 1.0 / 63 + 1.0 / 61 + 0)
        let four = try hit(hits, 4)
        #expect(four.extraRank == 1 && four.extraScore == 6 && four.keywordRank == 2 && four.denseRank == nil)
        #expect(try hit(hits, 1).extraRank == nil)
    }

    @Test func weightedExtraSideAddsItsWeightedNormalizedScore() throws {
        let method = FusionMethod.convex(alpha: 0.5, normalization: .minMax)
        let hits = fuse(dense: dense, keyword: keyword, extra: extra, extraWeight: 0.5, method: method)
        // Min-max over the extra side: 4 → 1, 5 → 0.
        #expect(try hit(hits, 4).score == 0.5 * 0 + 0.5 * 0 + 0.5 * 1)
        #expect(try hit(hits, 5).score == 0 + 0.5 * 0)
        #expect(try hit(hits, 3).score == 0.5 * 0 + 0.5 * 1 + 0)
    }

    @Test func zeroWeightOrNoExtraHitsIsThePlainFusion() {
        for method in [FusionMethod.reciprocalRank(), .convex(alpha: 0.3, normalization: .zScore)] {
            let plain = fuse(dense: dense, keyword: keyword, method: method)
            #expect(fuse(dense: dense, keyword: keyword, extra: extra, extraWeight: 0, method: method) == plain)
            #expect(fuse(dense: dense, keyword: keyword, extra: [], extraWeight: 3, method: method) == plain)
        }
    }
}
