import Foundation
import TestSupport
import Testing

@testable import HybridSearch

/// A collection directory written by the first release (format 1) opens in every later build as it is.
///
/// `Fixtures/collection-v1/collection/` was written once by `memp collection build`, `add` and `remove`; see
/// `Fixtures/README.md`. Never regenerate it: a format change gets a new version and a new folder beside it.
@Suite struct CollectionGoldenFileTests {
    static func fixture() throws -> String {
        try #require(Bundle.module.path(forResource: "collection-v1", ofType: nil, inDirectory: "Fixtures"))
            + "/collection"
    }

    static let query = HybridQuery(text: "parse json", vector: [1, 0, 0], k: 10)

    @Test func version1CollectionOpensAndAnswersAsWhenWritten() throws {
        let collection = try DocumentCollection(contentsOf: try Self.fixture())
        #expect(collection.documentIDs == ["both", "dense", "extra", "lexical"])
        #expect(collection.document("both")?.metadata == ["lang": "de", "kind": "guide"])
        // The scores `memp collection search` printed when the fixture was written.
        let hybrid = try collection.search(Self.query)
        #expect(hybrid.map(\.id) == ["lexical", "both", "extra", "dense"])
        #expect(
            hybrid.map(\.score) == [
                0.032266458495966696, 0.03225806451612903, 0.03149801587301587, 0.01639344262295082,
            ])
        var keyword = Self.query
        keyword.mode = .bm25
        let bm25 = try collection.search(keyword)
        #expect(bm25.map(\.id) == ["lexical", "both", "extra"])
        #expect(bm25.map(\.score) == [1.0085628032684326, 1.0085628032684326, 0.40657246112823486])
    }

    @Test func version1CollectionSavesAndReopensUnchanged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let collection = try DocumentCollection(contentsOf: try Self.fixture())
        try collection.save(to: directory.path)
        let reopened = try DocumentCollection(contentsOf: directory.path)
        #expect(reopened.documentIDs == collection.documentIDs)
        #expect(try reopened.search(Self.query) == (try collection.search(Self.query)))
    }
}
