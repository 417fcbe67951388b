import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct SharedFlatIndexTests {
    /// Readers search while one writer adds and removes. Every reader must see a consistent index: each hit a
    /// vector that was added, ordered correctly, with the score its vector gives, never a half-applied write.
    @Test func readersSeeConsistentStateUnderAWriter() async throws {
        let dimension = 64
        let vectors = gaussianVectors(count: 3000, dimension: dimension, seed: 81)
        let initial = try makeIndex(Array(vectors.prefix(1000)), metric: .innerProduct)
        let shared = SharedFlatIndex(initial)
        let queries = gaussianVectors(count: 8, dimension: dimension, seed: 82)
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for row in 1000..<3000 {
                    try shared.add(vectors[row], id: DocumentID(UInt64(row)))
                    if row % 4 == 0 { try shared.remove(DocumentID(UInt64(row - 1000))) }
                    if row % 500 == 0 { shared.compact() }
                }
                return 0
            }
            for reader in 0..<3 {
                group.addTask {
                    var searches = 0
                    for round in 0..<150 {
                        let query = queries[(reader + round) % queries.count]
                        let hits = try shared.search(query, k: 10)
                        #expect(hits.count == 10)
                        for pair in zip(hits, hits.dropFirst()) { #expect(pair.0.ranks(before: pair.1)) }
                        for hit in hits {
                            let vector = vectors[Int(hit.id.rawValue)]
                            #expect(hit.score == dot(query, vector))
                        }
                        let snapshot = shared.snapshot()
                        #expect(snapshot.ids.count == snapshot.count)
                        searches += 1
                    }
                    return searches
                }
            }
            var total = 0
            for try await searches in group { total += searches }
            #expect(total == 450)
        }
        let final = shared.snapshot()
        #expect(final.count == 3000 - 500)
        #expect(!final.contains(0) && final.contains(1) && final.contains(2999))
    }

    @Test func snapshotsAreUnaffectedByLaterWrites() throws {
        let shared = SharedFlatIndex(try makeIndex([[1, 0]], metric: .innerProduct))
        let before = shared.snapshot()
        try shared.add([0, 1], id: 5)
        try shared.remove(0)
        #expect(before.count == 1 && before.contains(0) && !before.contains(5))
        #expect(shared.count == 1)
        #expect(try shared.search([0, 1], k: 1).map(\.id) == [5])
    }
}
