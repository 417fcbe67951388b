import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct TimedSearchTests {
    static let vectors = integerVectors(count: 40, dimension: 9, seed: 11)
    static let queries = integerVectors(count: 70, dimension: 9, seed: 12)

    // 70 queries: one by one, in uneven batches (7 + 7 + … and 64 + 6) and as one batch above the BLAS crossover.
    @Test(arguments: [1, 7, 64, nil] as [Int?])
    func answersEveryQueryAsTheBatchSearchDoes(batchSize: Int?) throws {
        let index = try makeIndex(Self.vectors, metric: .innerProduct)
        let queries = try VectorSet(Self.queries)
        let result = try index.timedSearch(queries, k: 5, batchSize: batchSize, method: .scan)
        #expect(result.batchSize == (batchSize ?? 70))
        #expect(result.hits == (try index.search(batch: queries, k: 5, method: .scan)))
        let ids = (0..<40).map { DocumentID(UInt64($0)) }
        for (query, hits) in zip(Self.queries, result.hits) {
            expectMatches(hits, referenceRanking(Self.vectors, ids: ids, query: query, metric: .innerProduct), k: 5)
        }
    }

    @Test func batchSizeIsCappedAtTheQueryCount() throws {
        let index = try makeIndex(Self.vectors, metric: .l2)
        let result = try index.timedSearch(try VectorSet(Array(Self.queries.prefix(3))), k: 2, batchSize: 500)
        #expect(result.batchSize == 3 && result.hits.count == 3 && result.hits.allSatisfy { $0.count == 2 })
    }

    @Test func emptyQuerySetGivesNoHitsAndBatchSizeOne() throws {
        let index = try makeIndex(Self.vectors, metric: .l2)
        let result = try index.timedSearch(try VectorSet(dimension: 9, values: []), k: 3)
        #expect(result.hits.isEmpty && result.batchSize == 1 && result.queriesPerSecond == 0)
    }

    @Test func queriesOfAnotherDimensionAreRejected() throws {
        let index = try makeIndex(Self.vectors, metric: .cosine)
        #expect(throws: IndexError.dimensionMismatch(expected: 9, actual: 2)) {
            try index.timedSearch(try VectorSet([[1, 2]]), k: 1)
        }
    }

    @Test func secondsAndRateComeFromTheDuration() {
        let result = TimedSearchResult(hits: [[], [], [], []], batchSize: 4, duration: .milliseconds(500))
        #expect(result.seconds == 0.5 && result.queriesPerSecond == 8)
    }

    @Test func resultRowsAreAsWideAsKOrTheIndex() throws {
        let index = try makeIndex(Self.vectors, metric: .l2)
        #expect(index.resultWidth(k: 10) == 10 && index.resultWidth(k: 1000) == 40)
        #expect(try FlatIndex(dimension: 3).resultWidth(k: 10) == 1)
    }

    @Test func rowsSliceWholeVectors() throws {
        let set = try VectorSet([[1, 2], [3, 4], [5, 6]])
        #expect(set[rows: 1..<3] == (try VectorSet([[3, 4], [5, 6]])))
        #expect(set[rows: 2..<2].count == 0 && set[rows: 2..<2].dimension == 2)
    }
}

@Suite struct NumberedBuildTests {
    @Test func vectorIGetsIDIAndProgressIsReportedOncePerChunk() throws {
        let vectors = integerVectors(count: 5, dimension: 3, range: 1...4, seed: 3)
        var reported: [Int] = []
        let index = try FlatIndex(numbering: try VectorSet(vectors), metric: .l2) { reported.append($0) }
        #expect(index.ids == (0..<5).map { DocumentID(UInt64($0)) })
        #expect(try (0..<5).map { try #require(index.vector(for: DocumentID(UInt64($0)))) } == vectors)
        #expect(reported == [5])
    }

    @Test func aZeroVectorIsNamedForCosine() throws {
        #expect(throws: IndexError.zeroVector(id: 1)) {
            try FlatIndex(numbering: try VectorSet([[1, 0], [0, 0]]), metric: .cosine)
        }
    }
}
