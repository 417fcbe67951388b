import Foundation
import RetrievalCore
import Testing

@testable import VectorIndex

/// Copies of an index share their rows: appending to a copy writes past every copy's rows instead of copying them,
/// and whatever else would change rows another copy reads gives the copy rows of its own first.
@Suite struct RowSharingTests {
    static let base = gaussianVectors(count: 300, dimension: 16, seed: 7)
    static let added = gaussianVectors(count: 8, dimension: 16, seed: 8)

    /// The address of the first row of the f32 vectors and, for int8 storage, of the codes.
    static func rowAddresses(_ index: FlatIndex) -> [Int?] {
        [index.storage.vectors, index.storage.codes].map { buffer in
            buffer?.withBytes { $0.map { Int(bitPattern: $0) } } ?? nil
        }
    }

    @Test(arguments: VectorStorage.allCases)
    func aCopyAppendsInPlaceAndTheOriginalDoesNotSeeIt(storage: VectorStorage) throws {
        var index = try makeIndex(Self.base, metric: .cosine, storage: storage)
        index.reserveCapacity(400)
        let before = try Self.added.map { try index.search($0, k: 5) }
        var copy = index
        try copy.add(Self.added[0], id: 1000)
        #expect(Self.rowAddresses(copy) == Self.rowAddresses(index))
        #expect(index.count == 300 && !index.contains(1000) && copy.count == 301)
        #expect(try Self.added.map { try index.search($0, k: 5) } == before)
        #expect(try copy.search(Self.added[0], k: 1).first?.id == 1000)
    }

    @Test(arguments: VectorStorage.allCases)
    func aCopyAppendingAfterAnotherGetsRowsOfItsOwn(storage: VectorStorage) throws {
        var index = try makeIndex(Self.base, metric: .cosine, storage: storage)
        index.reserveCapacity(400)
        var first = index
        var second = index
        try first.add(Self.added[0], id: 1000)
        try second.add(Self.added[1], id: 1001)
        #expect(Self.rowAddresses(first) == Self.rowAddresses(index))
        #expect(Self.rowAddresses(second) != Self.rowAddresses(index))
        #expect(first.vector(for: 1000) == index.prepared(Self.added[0]))
        #expect(second.vector(for: 1001) == index.prepared(Self.added[1]))
        #expect(!first.contains(1001) && !second.contains(1000))
        #expect(try first.search(Self.added[0], k: 1).first?.id == 1000)
        #expect(try second.search(Self.added[1], k: 1).first?.id == 1001)
        #expect(try second.search(Self.added[0], k: 1).first?.id != 1000)
    }

    @Test(arguments: VectorStorage.allCases)
    func replacingARowOfSharedRowsCopiesThemFirst(storage: VectorStorage) throws {
        var index = try makeIndex(Self.base, metric: .cosine, storage: storage)
        index.reserveCapacity(400)
        let original = index.vector(for: 5)
        var copy = index
        try copy.upsert(Self.added[2], id: 5)
        #expect(Self.rowAddresses(copy) != Self.rowAddresses(index))
        #expect(index.vector(for: 5) == original && copy.vector(for: 5) == index.prepared(Self.added[2]))
        let originalVector = try #require(original)
        #expect(try index.search(originalVector, k: 1).first?.id == 5)
        #expect(try copy.search(Self.added[2], k: 1).first?.id == 5)
    }

    @Test func anIndexHeldOnceTakesBackRowsACopyThatIsGoneHadAppended() throws {
        var index = try makeIndex(Self.base, metric: .innerProduct)
        index.reserveCapacity(400)
        let addresses = Self.rowAddresses(index)
        do {
            var copy = index
            try copy.add(Self.added[0], id: 1000)
            #expect(Self.rowAddresses(copy) == addresses)
        }
        try index.add(Self.added[1], id: 1001)
        #expect(Self.rowAddresses(index) == addresses)
        #expect(index.vector(for: 1001) == Self.added[1] && !index.contains(1000))
    }

    /// Copies appending at once from many threads: one of them appends in place, each ends with its own vector.
    @Test(arguments: VectorStorage.allCases)
    func copiesAppendingConcurrentlyEachKeepTheirOwnVector(storage: VectorStorage) async throws {
        var index = try makeIndex(Self.base, metric: .cosine, storage: storage)
        index.reserveCapacity(400)
        let shared = index
        let results = try await withThrowingTaskGroup(of: (Int, FlatIndex).self) { group in
            for number in Self.added.indices {
                group.addTask {
                    var copy = shared
                    try copy.add(Self.added[number], id: DocumentID(2000 + UInt64(number)))
                    return (number, copy)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        var inPlace = 0
        for (number, copy) in results {
            let id = DocumentID(2000 + UInt64(number))
            #expect(copy.count == 301 && copy.vector(for: id) == shared.prepared(Self.added[number]))
            #expect(try copy.search(Self.added[number], k: 1).first?.id == id)
            if Self.rowAddresses(copy) == Self.rowAddresses(shared) { inPlace += 1 }
        }
        #expect(results.count == Self.added.count && inPlace == 1 && shared.count == 300)
    }
}

extension FlatIndex {
    /// `vector` as the index stores it (normalized for cosine).
    fileprivate func prepared(_ vector: [Float]) -> [Float]? { try? prepare(vector, id: nil) }
}
