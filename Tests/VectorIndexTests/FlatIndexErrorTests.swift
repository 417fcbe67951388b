import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct FlatIndexErrorTests {
    @Test func rejectsUnsupportedDimensions() {
        #expect(throws: IndexError.unsupportedDimension(0, supported: 1...4096)) { try FlatIndex(dimension: 0) }
        #expect(throws: IndexError.unsupportedDimension(4097, supported: 1...4096)) { try FlatIndex(dimension: 4097) }
    }

    @Test func badInsertsChangeNothing() throws {
        var index = try makeIndex([[1, 2, 3]], metric: .cosine)
        let before = try index.search([1, 2, 3], k: 5)
        #expect(throws: IndexError.dimensionMismatch(expected: 3, actual: 2)) { try index.add([1, 2], id: 5) }
        #expect(throws: IndexError.duplicateID(0)) { try index.add([1, 1, 1], id: 0) }
        #expect(throws: IndexError.nonFiniteComponent(id: 6, position: 1)) { try index.add([1, .nan, 1], id: 6) }
        #expect(throws: IndexError.nonFiniteComponent(id: 7, position: 2)) {
            try index.upsert([1, 1, .infinity], id: 7)
        }
        #expect(throws: IndexError.zeroVector(id: 8)) { try index.add([0, 0, 0], id: 8) }
        #expect(throws: IndexError.unknownID(9)) { try index.remove(9) }
        #expect(index.count == 1 && index.rowCount == 1)
        #expect(try index.search([1, 2, 3], k: 5) == before)
    }

    @Test func rejectsBadQueries() throws {
        let index = try makeIndex([[1, 0, 0, 0]], metric: .cosine)
        #expect(throws: IndexError.dimensionMismatch(expected: 4, actual: 3)) { try index.search([1, 0, 0], k: 1) }
        #expect(throws: IndexError.nonFiniteComponent(id: nil, position: 0)) {
            try index.search([.nan, 0, 0, 0], k: 1)
        }
        #expect(throws: IndexError.zeroVector(id: nil)) { try index.search([0, 0, 0, 0], k: 1) }
        #expect(throws: IndexError.dimensionMismatch(expected: 4, actual: 2)) {
            try index.search(batch: [[1, 0], [0, 1]], k: 1)
        }
        #expect(throws: IndexError.nonFiniteQuery(index: 1, position: 3)) {
            try index.search(batch: [[1, 0, 0, 0], [0, 0, 0, .infinity]], k: 1)
        }
        #expect(throws: IndexError.zeroQuery(index: 0)) {
            try index.search(batch: [[0, 0, 0, 0], [1, 0, 0, 0]], k: 1)
        }
    }

    /// Inner-product and L2 vectors whose scores could overflow a Float are refused, in the index and as queries.
    ///
    /// Hostile run 12: vectors of norm 2e19–1e20 were indexed and searched; their scores were infinite, so they
    /// tied and came back in ID order (`[1e20, 0]` against `[2e19, 0]`, `[5e19, 0]`: 0 before 1, though 1 is
    /// nearer and has the larger inner product).
    @Test(arguments: [Metric.innerProduct, .l2])
    func vectorsWhoseScoresCouldOverflowAreRefused(metric: Metric) throws {
        let limit = try #require(metric.maximumNorm)
        var index = try makeIndex([[1, 0], [0, 1]], metric: metric)
        #expect(throws: IndexError.vectorTooLarge(id: 5, norm: Double(Float(2e19)), limit: limit)) {
            try index.add([2e19, 0], id: 5)
        }
        #expect(throws: IndexError.vectorTooLarge(id: 6, norm: Double(Float(5e19)), limit: limit)) {
            try index.add(contentsOf: VectorSet([[1, 1], [0, -5e19]]), ids: [7, 6])
        }
        #expect(index.count == 2)
        #expect(throws: IndexError.vectorTooLarge(id: nil, norm: Double(Float(1e20)), limit: limit)) {
            try index.search([1e20, 0], k: 1)
        }
        #expect(throws: IndexError.queryTooLarge(index: 1, norm: Double(Float(1e20)), limit: limit)) {
            try index.search(batch: [[1, 0], [0, 1e20]], k: 1)
        }
        // At the limit every score is finite and the ranking exact.
        let edge = Float(limit * 0.99)
        try index.add([edge, 0], id: 2)
        try index.add([edge / 2, 0], id: 3)
        let hits = try index.search([-edge, 0], k: 4)
        #expect(hits.allSatisfy { $0.score.isFinite })
        #expect(hits.map(\.id).suffix(2) == [3, 2])  // 2.25 and 4 times edge², or -edge²/2 and -edge²
        // Cosine normalizes, so any finite vector is fine.
        var cosine = try makeIndex([[1, 0]], metric: .cosine)
        try cosine.add([1e20, 1e20], id: 9)
        #expect(try cosine.search([3e38, 0], k: 2).map(\.id) == [0, 9])
    }

    @Test func vectorSetsRejectPartialAndEmptyInput() {
        #expect(throws: IndexError.incompleteVector(valueCount: 5, dimension: 2)) {
            try VectorSet(dimension: 2, values: [1, 2, 3, 4, 5])
        }
        #expect(
            IndexError.incompleteVector(valueCount: 5, dimension: 2).description
                == "5 values don't form whole vectors of dimension 2 (1 left over); check the dimension and the "
                + "source of the values.")
        #expect(throws: IndexError.invalidParameter(name: "dimension", value: 0, expected: "at least 1")) {
            try VectorSet(dimension: 0, values: [])
        }
        #expect(throws: IndexError.tooFewVectors(count: 0, minimum: 1)) { try VectorSet([]) }
        #expect(throws: IndexError.invalidParameter(name: "dimension", value: 0, expected: "at least 1")) {
            try VectorSet([[], []])
        }
    }

    @Test func zeroVectorsAreFineWithoutCosine() throws {
        var index = try FlatIndex(dimension: 2, metric: .l2)
        try index.add([0, 0], id: 1)
        #expect(try index.search([0, 0], k: 1) == [SearchHit(id: 1, score: 0)])
    }

    /// A `k` below 1 is refused by name on every search path (it was a precondition failure, hostile run 14).
    @Test(arguments: [0, -1, Int.min])
    func aKBelowOneIsRefused(k: Int) throws {
        var index = try FlatIndex(dimension: 2)
        try index.add([1, 0], id: 1)
        let refused = IndexError.invalidParameter(name: "k", value: Double(k), expected: "at least 1")
        #expect(throws: refused) { try index.search([1, 0], k: k) }
        #expect(throws: refused) { try index.search(batch: [[1, 0]], k: k) }
        #expect(throws: refused) { try index.timedSearch(VectorSet(dimension: 2, values: [1, 0]), k: k) }
        #expect(throws: IndexError.invalidParameter(name: "batchSize", value: 0, expected: "at least 1")) {
            try index.timedSearch(VectorSet(dimension: 2, values: [1, 0]), k: 1, batchSize: 0)
        }
    }
}

@Suite struct BulkAddTests {
    @Test(arguments: Metric.allCases, VectorStorage.allCases)
    func bulkAddEqualsOneByOne(metric: Metric, storage: VectorStorage) throws {
        let vectors = gaussianVectors(count: 300, dimension: 20, normalized: false, seed: 91)
        let ids = (0..<300).map { DocumentID(UInt64(1000 + $0)) }
        let single = try makeIndex(vectors, ids: ids, metric: metric, storage: storage)
        var bulk = try FlatIndex(dimension: 20, metric: metric, storage: storage)
        try bulk.add(contentsOf: VectorSet(vectors), ids: ids)
        #expect(bulk.count == 300 && bulk.ids == single.ids)
        for id in [ids[0], ids[150], ids[299]] { #expect(bulk.vector(for: id) == single.vector(for: id)) }
        for query in gaussianVectors(count: 3, dimension: 20, seed: 92) {
            #expect(try bulk.search(query, k: 10) == single.search(query, k: 10))
        }
    }

    @Test func bulkAddIsAllOrNothing() throws {
        var index = try makeIndex([[1, 0]], metric: .cosine)
        #expect(throws: IndexError.duplicateID(0)) {
            try index.add(contentsOf: VectorSet([[1, 1], [2, 2]]), ids: [5, 0])
        }
        #expect(throws: IndexError.duplicateID(5)) {
            try index.add(contentsOf: VectorSet([[1, 1], [2, 2]]), ids: [5, 5])
        }
        #expect(throws: IndexError.nonFiniteComponent(id: 6, position: 1)) {
            try index.add(contentsOf: VectorSet([[1, 1], [2, .nan]]), ids: [5, 6])
        }
        #expect(throws: IndexError.zeroVector(id: 5)) { try index.add(contentsOf: VectorSet([[0, 0]]), ids: [5]) }
        #expect(throws: IndexError.dimensionMismatch(expected: 2, actual: 3)) {
            try index.add(contentsOf: VectorSet([[1, 1, 1]]), ids: [5])
        }
        // Hostile run 14's list: not one ID per vector was a precondition failure, which ended the process.
        #expect(throws: IndexError.invalidParameter(name: "ids", value: 1, expected: "one ID per vector, 2 in all")) {
            try index.add(contentsOf: VectorSet([[1, 1], [2, 2]]), ids: [5])
        }
        #expect(index.count == 1 && index.ids == [0])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: IndexError.invalidParameter(name: "width", value: 0, expected: "at least 1")) {
            try VectorFile.writeResults([[]], width: 0, to: directory.file("r.ivecs"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // A thread count below 1 was a precondition failure; it is a setting not taken, and nothing changes.
        #expect(!BLASThreads.set(0) && !BLASThreads.set(-3))
    }
}
