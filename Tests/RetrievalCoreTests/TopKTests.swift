import RetrievalCore
import TestSupport
import Testing

@testable import RetrievalCore

@Suite struct TopKTests {
    @Test func keepsTheBestHitsBestFirst() {
        var best = TopK(k: 3)
        for (id, score) in [(1, 0.5), (2, 0.9), (3, 0.1), (4, 0.7), (5, 0.8)] as [(UInt64, Float)] {
            best.insert(SearchHit(id: DocumentID(id), score: score))
        }
        #expect(best.sorted().map(\.id) == [2, 5, 4])
        #expect(best.worst == SearchHit(id: 4, score: 0.7))
    }

    @Test func breaksTiesByLowerID() {
        var best = TopK(k: 2)
        for id: UInt64 in [9, 3, 7, 1] { best.insert(SearchHit(id: DocumentID(id), score: 1)) }
        #expect(best.sorted().map(\.id) == [1, 3])
    }

    @Test func keepsEverythingWhenKExceedsCount() {
        var best = TopK(k: 10)
        best.insert(SearchHit(id: 2, score: 0))
        best.insert(SearchHit(id: 1, score: -1))
        #expect(best.sorted() == [SearchHit(id: 2, score: 0), SearchHit(id: 1, score: -1)])
        #expect(!best.isFull)
    }

    @Test func zeroKeepsNothing() {
        var best = TopK(k: 0)
        best.insert(SearchHit(id: 1, score: 1))
        #expect(best.sorted().isEmpty)
    }

    @Test func mergeEqualsOneSelectionOverEverything() {
        var rng = SplitMix64(seed: 7)
        let hits = (0..<500).map {
            SearchHit(id: DocumentID(UInt64($0)), score: Float(Int.random(in: 0..<50, using: &rng)))
        }
        var left = TopK(k: 10)
        var right = TopK(k: 10)
        var whole = TopK(k: 10)
        for (index, hit) in hits.enumerated() {
            if index % 2 == 0 { left.insert(hit) } else { right.insert(hit) }
            whole.insert(hit)
        }
        left.merge(right)
        let expected = Array(hits.sorted { $0.ranks(before: $1) }.prefix(10))
        #expect(left.sorted() == expected)
        #expect(whole.sorted() == expected)
    }
}
