import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct FlatIndexSearchTests {
    static let dimensions = [1, 3, 17, 384, 385, 1536]

    @Test(arguments: SIMDLevel.available, dimensions)
    func exactOnIntegersForInnerProductAndL2(level: SIMDLevel, dimension: Int) throws {
        let vectors = integerVectors(count: 150, dimension: dimension, seed: UInt64(dimension))
        let queries = integerVectors(count: 4, dimension: dimension, seed: 999)
        for metric in [Metric.innerProduct, .l2] {
            let index = try makeIndex(vectors, metric: metric, level: level)
            let ids = (0..<150).map { DocumentID(UInt64($0)) }
            for query in queries {
                let reference = referenceRanking(vectors, ids: ids, query: query, metric: metric)
                for k in [1, 10, 150] {
                    expectMatches(try index.search(query, k: k), reference, k: k)
                }
            }
        }
    }

    @Test(arguments: SIMDLevel.available, dimensions)
    func cosineMatchesDoubleReference(level: SIMDLevel, dimension: Int) throws {
        let vectors = gaussianVectors(count: 150, dimension: dimension, normalized: false, seed: UInt64(dimension))
        let index = try makeIndex(vectors, metric: .cosine, level: level)
        let ids = (0..<150).map { DocumentID(UInt64($0)) }
        for query in gaussianVectors(count: 3, dimension: dimension, normalized: false, seed: 7) {
            let reference = referenceRanking(vectors, ids: ids, query: query, metric: .cosine)
            expectMatches(try index.search(query, k: 10), reference, k: 10, tolerance: 1e-5)
        }
    }

    /// 1000 x 384 is above the parallel threshold, so one query is split over row ranges per thread.
    @Test(arguments: SIMDLevel.available, [1, 2, 3])
    func parallelScanMatchesReference(level: SIMDLevel, threads: Int) throws {
        let vectors = integerVectors(count: 1000, dimension: 384, seed: 5)
        for metric in [Metric.innerProduct, .l2] {
            var index = try makeIndex(vectors, metric: metric, level: level)
            index.parallelism = threads
            let ids = (0..<1000).map { DocumentID(UInt64($0)) }
            let queries = integerVectors(count: 19, dimension: 384, seed: 6)
            for query in queries.prefix(3) {
                let reference = referenceRanking(vectors, ids: ids, query: query, metric: metric)
                expectMatches(try index.search(query, k: 10), reference, k: 10)
                // Past the heap limit the search scores every row and selects.
                expectMatches(try index.search(query, k: 700), reference, k: 700)
            }
            // Grouped scans: 19 queries make a full group and a partial one, each split over row ranges.
            for (query, hits) in zip(queries, try index.search(batch: queries, k: 10, method: .scan)) {
                expectMatches(hits, referenceRanking(vectors, ids: ids, query: query, metric: metric), k: 10)
            }
        }
    }

    /// Tuning values past any use are clamped, and a NaN score floor is refused: `rescoreFactor = .max` and
    /// `parallelism = .max` trapped on integer overflow in every search path, and `minimumScore: .nan` answered no
    /// hit without an error (hostile run 14).
    @Test func extremeTuningValuesAreClampedAndANaNScoreFloorRefused() throws {
        let vectors = integerVectors(count: 1100, dimension: 256, seed: 11)
        let ids = (0..<1100).map { DocumentID(UInt64($0)) }
        let query = integerVectors(count: 1, dimension: 256, seed: 12)[0]
        let reference = referenceRanking(vectors, ids: ids, query: query, metric: .innerProduct)
        var index = try makeIndex(vectors, metric: .innerProduct)
        index.parallelism = .max
        #expect(index.parallelism == FlatIndex.maximumParallelism)
        index.parallelism = .min
        #expect(index.parallelism == 1)
        index.parallelism = .max
        expectMatches(try index.search(query, k: 10), reference, k: 10)
        expectMatches(try index.search(batch: [query], k: 10, method: .scan)[0], reference, k: 10)
        expectMatches(
            try index.search(batch: Array(repeating: query, count: 70), k: 2, method: .blas)[69], reference, k: 2)
        var int8 = try makeIndex(vectors, metric: .innerProduct, storage: .int8)
        int8.rescoreFactor = .max
        #expect(int8.rescoreFactor == FlatIndex.maximumRescoreFactor)
        // Every row is rescored in f32, so the int8 index answers as the exact one does.
        expectMatches(try int8.search(query, k: 10), reference, k: 10)
        expectMatches(try int8.search(query, k: .max), reference, k: 1100)
        // NaN is no value an error can equal, so the case is matched and the value checked.
        func refusesNaNFloor(_ error: any Error) -> Bool {
            guard case .invalidParameter("minimumScore", let value, "a number") = error as? IndexError else {
                return false
            }
            return value.isNaN
        }
        #expect { try index.search(query, k: 1, minimumScore: .nan) } throws: { refusesNaNFloor($0) }
        #expect { try index.search(batch: [query], k: 1, minimumScore: .nan) } throws: { refusesNaNFloor($0) }
    }

    /// 3000 x 384 floats (4.6 MB) takes the huge-page allocation path, grown row by row and then in bulk.
    @Test func largeOwnedBuffersGrowAndSearchCorrectly() throws {
        let vectors = integerVectors(count: 3000, dimension: 384, seed: 13)
        var index = try makeIndex(Array(vectors.prefix(1500)), metric: .innerProduct)
        try index.add(
            contentsOf: VectorSet(Array(vectors.suffix(1500))), ids: (1500..<3000).map { DocumentID(UInt64($0)) })
        #expect(index.storage.vectors.allocatedBytes >= 3000 * 384 * 4)
        let ids = (0..<3000).map { DocumentID(UInt64($0)) }
        let query = integerVectors(count: 1, dimension: 384, seed: 14)[0]
        expectMatches(
            try index.search(query, k: 10), referenceRanking(vectors, ids: ids, query: query, metric: .innerProduct),
            k: 10)
    }

    @Test func emptyIndexReturnsNothing() throws {
        let index = try FlatIndex(dimension: 4)
        #expect(try index.search([1, 0, 0, 0], k: 5).isEmpty)
        #expect(index.count == 0)
        for method in BatchMethod.allCases {
            #expect(try index.search(batch: [[1, 0, 0, 0], [0, 1, 0, 0]], k: 3, method: method) == [[], []])
            let filled = try makeIndex([[1, 0, 0, 0]], metric: .cosine)
            #expect(try filled.search(batch: VectorSet(dimension: 4, values: []), k: 3, method: method).isEmpty)
        }
    }

    @Test func kLargerThanCountReturnsAll() throws {
        let index = try makeIndex([[1, 0], [0, 1], [1, 1]], metric: .innerProduct)
        let hits = try index.search([1, 0], k: 50)
        #expect(hits.map(\.id) == [0, 2, 1])
        #expect(hits.map(\.score) == [1, 1, 0])
    }

    @Test(arguments: SIMDLevel.available)
    func tiesGoToTheLowerID(level: SIMDLevel) throws {
        // Identical vectors added in descending ID order.
        let ids: [DocumentID] = (0..<200).map { DocumentID(UInt64(1000 - $0)) }
        let vectors = [[Float]](repeating: [1, 2, 3], count: 200)
        for metric in Metric.allCases {
            let index = try makeIndex(vectors, ids: ids, metric: metric, level: level)
            let hits = try index.search([1, 2, 3], k: 5)
            #expect(hits.map(\.id) == [801, 802, 803, 804, 805])
            #expect(Set(hits.map(\.score)).count == 1)
        }
    }

    @Test(arguments: SIMDLevel.available)
    func filtersApplyBeforeTopK(level: SIMDLevel) throws {
        let vectors = integerVectors(count: 1000, dimension: 384, seed: 11)
        let index = try makeIndex(vectors, metric: .innerProduct, level: level)
        let ids = (0..<1000).map { DocumentID(UInt64($0)) }
        let query = integerVectors(count: 1, dimension: 384, seed: 12)[0]
        // A sparse allow-list (most 64-row blocks skipped) and a predicate.
        let allowed: Set<DocumentID> = [3, 70, 71, 500, 999, 5000]
        let reference = referenceRanking(vectors, ids: ids, query: query, metric: .innerProduct) {
            allowed.contains($0)
        }
        expectMatches(try index.search(query, k: 3, filter: .allowing(allowed)), reference, k: 3)
        expectMatches(try index.search(query, k: 10, filter: .allowing(allowed)), reference, k: 10)
        let odd = referenceRanking(vectors, ids: ids, query: query, metric: .innerProduct) { $0.rawValue % 2 == 1 }
        expectMatches(try index.search(query, k: 10, filter: .matching { $0.rawValue % 2 == 1 }), odd, k: 10)
        #expect(try index.search(query, k: 10, filter: .allowing([])).isEmpty)
    }

    @Test func minimumScoreDropsWeakHits() throws {
        let index = try makeIndex([[1, 0], [0.5, 0.5], [0, 1], [-1, 0]], metric: .innerProduct)
        #expect(try index.search([1, 0], k: 10, minimumScore: 0.5).map(\.id) == [0, 1])
        #expect(try index.search([1, 0], k: 10, minimumScore: 2).isEmpty)
    }

    @Test(arguments: SIMDLevel.available)
    func tombstonesAndCompaction(level: SIMDLevel) throws {
        let vectors = integerVectors(count: 300, dimension: 17, seed: 21)
        var index = try makeIndex(vectors, metric: .l2, level: level)
        for id in stride(from: 0, to: 300, by: 3) { try index.remove(DocumentID(UInt64(id))) }
        #expect(index.count == 200)
        #expect(index.rowCount == 300)
        #expect(!index.contains(0) && index.contains(1))
        let ids = (0..<300).map { DocumentID(UInt64($0)) }
        let query = integerVectors(count: 1, dimension: 17, seed: 22)[0]
        let reference = referenceRanking(vectors, ids: ids, query: query, metric: .l2) { $0.rawValue % 3 != 0 }
        expectMatches(try index.search(query, k: 20), reference, k: 20)
        let before = try index.search(query, k: 200)
        index.compact()
        #expect(index.rowCount == 200 && index.count == 200)
        #expect(try index.search(query, k: 200) == before)
        // Removed IDs can be added again after removal.
        try index.add(vectors[0], id: 0)
        #expect(index.contains(0) && index.count == 201)
    }

    @Test func upsertReplacesInPlace() throws {
        var index = try makeIndex([[1, 0], [0, 1]], metric: .innerProduct)
        try index.upsert([0, 2], id: 0)
        try index.upsert([3, 0], id: 9)
        #expect(index.count == 3)
        #expect(try index.search([1, 0], k: 1) == [SearchHit(id: 9, score: 3)])
        #expect(try index.search([0, 1], k: 1) == [SearchHit(id: 0, score: 2)])
        #expect(index.vector(for: 0) == [0, 2])
    }

    @Test func cosineNormalizesOnInsertAndQuery() throws {
        let index = try makeIndex([[3, 4], [10, 0]], metric: .cosine)
        #expect(index.vector(for: 0) == [0.6, 0.8])
        let hits = try index.search([5, 0], k: 2)
        #expect(hits.map(\.id) == [1, 0])
        #expect(abs(hits[0].score - 1) < 1e-6 && abs(hits[1].score - 0.6) < 1e-6)
    }

    @Test func copiesAreIndependent() throws {
        let original = try makeIndex([[1, 0], [0, 1]], metric: .innerProduct)
        var copy = original
        try copy.add([5, 5], id: 7)
        try copy.remove(0)
        #expect(original.count == 2 && original.contains(0) && !original.contains(7))
        #expect(copy.count == 2 && !copy.contains(0) && copy.contains(7))
    }

    @Test(arguments: SIMDLevel.available, [Metric.innerProduct, .l2])
    func blasBatchAgreesWithScan(level: SIMDLevel, metric: Metric) throws {
        // 5000 rows spans two row tiles; small integers keep sgemm exact as well.
        let vectors = integerVectors(count: 5000, dimension: 33, seed: 31)
        var index = try makeIndex(vectors, metric: metric, level: level)
        for id in stride(from: 0, to: 5000, by: 7) { try index.remove(DocumentID(UInt64(id))) }
        let queries = integerVectors(count: 20, dimension: 33, seed: 32)
        let ids = (0..<5000).map { DocumentID(UInt64($0)) }
        let filter = SearchFilter.matching { $0.rawValue % 5 != 0 }
        let blas = try index.search(batch: queries, k: 10, filter: filter, method: .blas)
        let scan = try index.search(batch: queries, k: 10, filter: filter, method: .scan)
        for (query, (viaBLAS, viaScan)) in zip(queries, zip(blas, scan)) {
            let reference = referenceRanking(vectors, ids: ids, query: query, metric: metric) {
                $0.rawValue % 7 != 0 && $0.rawValue % 5 != 0
            }
            expectMatches(viaBLAS, reference, k: 10)
            expectMatches(viaScan, reference, k: 10)
        }
    }

    @Test func batchOfCosineQueriesMatchesSingleSearches() throws {
        let vectors = gaussianVectors(count: 3000, dimension: 64, seed: 41)
        let index = try makeIndex(vectors, metric: .cosine)
        let queries = gaussianVectors(count: 16, dimension: 64, normalized: false, seed: 42)
        let batch = try index.search(batch: queries, k: 5, method: .blas)
        let ids = (0..<3000).map { DocumentID(UInt64($0)) }
        for (query, hits) in zip(queries, batch) {
            expectMatches(
                hits, referenceRanking(vectors, ids: ids, query: query, metric: .cosine), k: 5, tolerance: 1e-5)
        }
    }
}
