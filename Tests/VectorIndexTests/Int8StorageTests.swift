import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct Int8StorageTests {
    @Test(arguments: [0, 1, 7, 63, 64, 65, 384, 385])
    func integerDotsAgreeAtEveryLevel(dimension: Int) {
        var rng = SplitMix64(seed: UInt64(dimension) + 1)
        let query = (0..<max(dimension, 1)).map { _ in Int8.random(in: -127...127, using: &rng) }
        let codes = (0..<max(dimension, 1) * 9).map { _ in UInt8.random(in: 1...255, using: &rng) }
        let reference = (0..<9).map { row in
            (0..<query.count).reduce(Int32(0)) { $0 + (Int32(codes[row * query.count + $1]) - 128) * Int32(query[$1]) }
        }
        for level in SIMDLevel.available {
            #expect(int8Dots(query, codes: codes, level: level) == reference, "\(level)")
        }
    }

    /// On Gaussian data like the benchmark's (normalized, 384 dimensions) the default rescoring keeps recall@10
    /// at 0.99 or better, and the returned scores are the exact f32 scores.
    @Test(arguments: [Metric.cosine, .innerProduct, .l2])
    func recallAtTenAgainstExactSearch(metric: Metric) throws {
        let vectors = gaussianVectors(count: 4000, dimension: 384, seed: 51)
        let exact = try makeIndex(vectors, metric: metric, storage: .f32)
        let quantized = try makeIndex(vectors, metric: metric, storage: .int8)
        var found = 0
        let queries = gaussianVectors(count: 50, dimension: 384, seed: 52)
        for query in queries {
            let truth = try exact.search(query, k: 10)
            let hits = try quantized.search(query, k: 10)
            found += Set(hits.map(\.id)).intersection(truth.map(\.id)).count
            let exactScores = Dictionary(
                uniqueKeysWithValues: try exact.search(query, k: 4000).map { ($0.id, $0.score) })
            for hit in hits { #expect(exactScores[hit.id] == hit.score) }
        }
        #expect(Double(found) / Double(10 * queries.count) >= 0.99)
    }

    @Test(arguments: SIMDLevel.available)
    func sameResultsAtEveryLevel(level: SIMDLevel) throws {
        let vectors = gaussianVectors(count: 1000, dimension: 100, seed: 61)
        var index = try makeIndex(vectors, metric: .cosine, storage: .int8)
        let baseline = try gaussianVectors(count: 5, dimension: 100, seed: 62).map { try index.search($0, k: 10) }
        index.simdLevel = level
        for (query, expected) in zip(gaussianVectors(count: 5, dimension: 100, seed: 62), baseline) {
            let hits = try index.search(query, k: 10)
            #expect(hits.map(\.id) == expected.map(\.id))
        }
    }

    @Test func filtersTombstonesAndUpsertsApply() throws {
        let vectors = gaussianVectors(count: 2000, dimension: 32, seed: 71)
        var index = try makeIndex(vectors, metric: .innerProduct, storage: .int8)
        try index.remove(5)
        try index.upsert(vectors[9].map { $0 * 10 }, id: 9)
        let hits = try index.search(vectors[9], k: 3, filter: .matching { $0 != 4 })
        #expect(hits.first?.id == 9)
        #expect(try index.search(vectors[5], k: 2000).contains { $0.id == 5 } == false)
        #expect(try index.search(vectors[4], k: 10, filter: .matching { $0 != 4 }).contains { $0.id == 4 } == false)
        index.compact()
        #expect(index.count == 1999)
        #expect(try index.search(vectors[9], k: 1).first?.id == 9)
    }
}
