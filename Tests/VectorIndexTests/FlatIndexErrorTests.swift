import RetrievalCore
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
        #expect(throws: IndexError.nonFiniteComponent(id: 7, position: 2)) { try index.upsert([1, 1, .infinity], id: 7) }
        #expect(throws: IndexError.zeroVector(id: 8)) { try index.add([0, 0, 0], id: 8) }
        #expect(throws: IndexError.unknownID(9)) { try index.remove(9) }
        #expect(index.count == 1 && index.rowCount == 1)
        #expect(try index.search([1, 2, 3], k: 5) == before)
    }

    @Test func rejectsBadQueries() throws {
        let index = try makeIndex([[1, 0, 0, 0]], metric: .cosine)
        #expect(throws: IndexError.dimensionMismatch(expected: 4, actual: 3)) { try index.search([1, 0, 0], k: 1) }
        #expect(throws: IndexError.nonFiniteComponent(id: nil, position: 0)) { try index.search([.nan, 0, 0, 0], k: 1) }
        #expect(throws: IndexError.zeroVector(id: nil)) { try index.search([0, 0, 0, 0], k: 1) }
        #expect(throws: IndexError.dimensionMismatch(expected: 4, actual: 2)) {
            try index.search(batch: [[1, 0], [0, 1]], k: 1)
        }
        #expect(throws: IndexError.invalidArgument("Query 1 has a NaN or infinite component at position 3.")) {
            try index.search(batch: [[1, 0, 0, 0], [0, 0, 0, .infinity]], k: 1)
        }
    }

    @Test func zeroVectorsAreFineWithoutCosine() throws {
        var index = try FlatIndex(dimension: 2, metric: .l2)
        try index.add([0, 0], id: 1)
        #expect(try index.search([0, 0], k: 1) == [SearchHit(id: 1, score: 0)])
    }

    @Test func nonPositiveKIsAPreconditionFailure() async {
        await #expect(processExitsWith: .failure) {
            let index = try FlatIndex(dimension: 2)
            _ = try index.search([1, 0], k: 0)
        }
    }
}
