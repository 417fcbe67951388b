import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

/// An index opened from a file keeps the vectors added to it beside its mapped rows: every search, save and
/// compaction answers as one index holding the same vectors would (for int8 storage, with data whose codes rank as
/// their f32 scores do; see ``int8PartsEachRescoreTheirOwnCandidates()``).
@Suite struct MappedAdditionsTests {
    static let dimension = 16
    /// Small integers, so that every score is exact whatever the kernel and the order of the sums.
    static let base = integerVectors(count: 200, dimension: dimension, seed: 11)
    static let added = integerVectors(count: 40, dimension: dimension, seed: 12)
    static let queries = integerVectors(count: 24, dimension: dimension, seed: 13)
    static let addedIDs = (0..<40).map { DocumentID(UInt64(1000 + $0)) }

    /// The base vectors saved to a file in `directory` and opened again, after ``change(_:)``.
    static func changedIndex(in directory: TemporaryDirectory, metric: Metric, storage: VectorStorage) throws
        -> FlatIndex
    {
        var index = try FlatIndex(contentsOf: savedBase(in: directory, metric: metric, storage: storage))
        try change(&index)
        return index
    }

    /// Adds 40 vectors, replaces a vector of ``base`` and an added one, removes one of each.
    static func change(_ index: inout FlatIndex) throws {
        for (vector, id) in zip(added, addedIDs) { try index.add(vector, id: id) }
        try index.upsert(added[0].map { -$0 }, id: 5)
        try index.upsert(base[9], id: 1003)
        try index.remove(7)
        try index.remove(1010)
    }

    /// One owned index holding what ``changedIndex(in:metric:storage:)`` holds.
    static func reference(metric: Metric, storage: VectorStorage) throws -> FlatIndex {
        var index = try makeIndex(base, metric: metric, storage: storage)
        try change(&index)
        return index
    }

    /// Saves the base vectors to a file in `directory` and returns its path.
    static func savedBase(in directory: TemporaryDirectory, metric: Metric, storage: VectorStorage) throws -> String {
        let path = directory.file("base.mvi")
        try makeIndex(base, metric: metric, storage: storage).save(to: path)
        return path
    }

    /// Expects `index` to answer every kind of search as `reference` does.
    static func expectSameAnswers(_ index: FlatIndex, _ reference: FlatIndex) throws {
        #expect(index.count == reference.count && Set(index.ids) == Set(reference.ids))
        for id in [0, 5, 7, 9, 199, 1000, 1003, 1010, 1039] as [DocumentID] {
            #expect(index.contains(id) == reference.contains(id))
            #expect(index.vector(for: id) == reference.vector(for: id))
        }
        let mixed = SearchFilter.allowing([1, 5, 9, 40, 1001, 1003, 1020, 1039])
        let odd = SearchFilter.matching { $0.rawValue % 2 == 1 }
        for query in queries {
            for k in [1, 10, 300] {
                #expect(try index.search(query, k: k) == reference.search(query, k: k))
                #expect(try index.search(query, k: k, filter: mixed) == reference.search(query, k: k, filter: mixed))
                #expect(try index.search(query, k: k, filter: odd) == reference.search(query, k: k, filter: odd))
            }
            let threshold = try reference.search(query, k: 15)[14].score
            #expect(
                try index.search(query, k: 50, minimumScore: threshold)
                    == reference.search(query, k: 50, minimumScore: threshold))
        }
        for method in BatchMethod.allCases {
            try expectSameHits(
                index.search(batch: queries, k: 10, method: method),
                reference.search(batch: queries, k: 10, method: method), metric: index.metric)
            try expectSameHits(
                index.search(batch: queries, k: 7, filter: mixed, method: method),
                reference.search(batch: queries, k: 7, filter: mixed, method: method), metric: index.metric)
        }
    }

    /// Expects the same hits, to the bit for inner product and L2.
    ///
    /// Their integer scores every sum gets exactly. For cosine, whose unit vectors are no longer integers, BLAS sums over parts of different shapes in different
    /// orders (OpenBLAS's Zen kernels gave an added row's score one unit in the last place apart in the two-part
    /// index and in the single one), so scores are compared within 2⁻²⁰, and hits whose scores are that close (row
    /// 9 and row 1003 hold the same vector) may trade places.
    static func expectSameHits(
        _ hits: [[SearchHit]], _ expected: [[SearchHit]], metric: Metric,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard metric == .cosine else {
            #expect(hits == expected, sourceLocation: sourceLocation)
            return
        }
        let tolerance: Float = 0x1p-20
        #expect(hits.map(\.count) == expected.map(\.count), sourceLocation: sourceLocation)
        for (found, wanted) in zip(hits, expected) {
            #expect(
                zip(found, wanted).allSatisfy { abs($0.score - $1.score) <= tolerance }, "\(found) \(wanted)",
                sourceLocation: sourceLocation)
            // A hit not expected ties (within the tolerance) with an expected one it displaced.
            let displaced = Set(wanted.map(\.id)).subtracting(found.map(\.id))
            for hit in found where !wanted.contains(where: { $0.id == hit.id }) {
                #expect(
                    wanted.contains { displaced.contains($0.id) && abs($0.score - hit.score) <= tolerance },
                    "\(hit) \(wanted)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test(arguments: Metric.allCases, VectorStorage.allCases)
    func addingToAnOpenedFileKeepsItsRowsMapped(metric: Metric, storage: VectorStorage) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = try Self.changedIndex(in: directory, metric: metric, storage: storage)
        #expect(index.storage.vectors.isMapped && index.storage.codes?.isMapped ?? true)
        #expect(index.additions?.ids == Self.addedIDs.map(\.rawValue) + [5])
        #expect(index.rowCount == 241 && index.count == 238)
        try Self.expectSameAnswers(index, Self.reference(metric: metric, storage: storage))
    }

    @Test(arguments: Metric.allCases, VectorStorage.allCases)
    func savingWritesBothPartsAsOneFile(metric: Metric, storage: VectorStorage) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let saved = directory.file("changed.mvi")
        try Self.changedIndex(in: directory, metric: metric, storage: storage).save(to: saved)
        let reopened = try FlatIndex(contentsOf: saved)
        #expect(reopened.additions == nil && reopened.rowCount == 238)
        try reopened.verifyValues(path: saved)
        try Self.expectSameAnswers(reopened, Self.reference(metric: metric, storage: storage))
    }

    @Test(arguments: Metric.allCases, VectorStorage.allCases)
    func compactingJoinsThePartsInOwnedMemory(metric: Metric, storage: VectorStorage) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var index = try Self.changedIndex(in: directory, metric: metric, storage: storage)
        index.compact()
        #expect(!index.storage.vectors.isMapped && index.additions == nil && index.rowCount == 238)
        try Self.expectSameAnswers(index, Self.reference(metric: metric, storage: storage))
    }

    /// int8: each part rescores its own best candidates, so a vector added beside many whose codes tie with it is
    /// rescored and found exactly better, where one index's candidates (the lowest IDs of the tie) leave it out;
    /// saved and opened again, the parts are one and answer as one index.
    @Test func int8PartsEachRescoreTheirOwnCandidates() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let vector = (0..<Self.dimension).map { Float($0 % 5 + 1) }
        var nudged = vector
        nudged[0] += 1e-3
        let path = directory.file("ties.mvi")
        try makeIndex([[Float]](repeating: vector, count: 100), metric: .innerProduct, storage: .int8).save(to: path)
        var index = try FlatIndex(contentsOf: path)
        try index.add(nudged, id: 1000)
        var single = try makeIndex([[Float]](repeating: vector, count: 100), metric: .innerProduct, storage: .int8)
        try single.add(nudged, id: 1000)
        let query = [Float](repeating: 1, count: Self.dimension)
        let exact = nudged.reduce(0, +)
        #expect(try index.search(query, k: 1) == [SearchHit(id: 1000, score: exact)])
        #expect(try single.search(query, k: 1).map(\.id) == [0])
        let joined = directory.file("joined.mvi")
        try index.save(to: joined)
        #expect(try FlatIndex(contentsOf: joined).search(query, k: 1) == single.search(query, k: 1))
    }

    @Test func copiesOfAnIndexWithAdditionsAreIndependent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = try Self.changedIndex(in: directory, metric: .innerProduct, storage: .f32)
        var copy = index
        try copy.add(Self.queries[0], id: 5000)
        try copy.upsert(Self.queries[1], id: 1001)
        try copy.remove(1002)
        #expect(!index.contains(5000) && index.contains(1002) && index.vector(for: 1001) == Self.added[1])
        #expect(copy.contains(5000) && !copy.contains(1002) && copy.vector(for: 1001) == Self.queries[1])
        #expect(try index.search(Self.queries[0], k: 1).first?.id != 5000)
        #expect(try copy.search(Self.queries[0], k: 1).first?.id == 5000)
    }

    @Test func reservingRoomInAnOpenedFileDoesNotCopyIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.savedBase(in: directory, metric: .l2, storage: .int8)
        var index = try FlatIndex(contentsOf: path)
        index.reserveCapacity(500)
        try index.add(contentsOf: VectorSet(Self.added), ids: Self.addedIDs)
        #expect(index.storage.vectors.isMapped && index.additions?.vectors.allocatedBytes == 300 * 16 * 4)
        #expect(index.count == 240)
    }
}
