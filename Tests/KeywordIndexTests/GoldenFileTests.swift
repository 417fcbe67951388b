import Foundation
import RetrievalCore
import Testing

@testable import KeywordIndex

/// The format v1 file saved by the first release must keep opening with the same results.
@Suite struct GoldenFileTests {
    /// Written from six documents (IDs 10–15, `.english`, k1 1.2, b 0.75) with ID 11 removed.
    static func golden() throws -> String {
        try #require(Bundle.module.path(forResource: "keyword-index-v1", ofType: "mkix", inDirectory: "Fixtures"))
    }

    @Test func version1FileOpensWithTheSameResults() throws {
        let index = try KeywordIndex(contentsOf: try Self.golden())
        #expect(index.tokenizerConfiguration == .english && index.parameters == BM25Parameters(k1: 1.2, b: 0.75))
        #expect(index.count == 5 && index.tombstoneCount == 1)
        // Scores as Float bit patterns, recorded when the file was written.
        let expected: [String: [(DocumentID, UInt32)]] = [
            "files streams": [(15, 1_076_095_308), (10, 1_063_555_741)],
            "天気": [(12, 1_066_858_963)],
            "zurich café": [(13, 1_070_132_832)],
            "json numbers": [(14, 1_076_141_640)],
        ]
        for (query, hits) in expected {
            let found = try index.search(query, k: 5)
            #expect(found.map(\.id) == hits.map(\.0), "\(query)")
            #expect(found.map(\.score.bitPattern) == hits.map(\.1), "\(query)")
        }
    }
}
