import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import HybridSearch

/// Collection directories written by earlier builds open in every later build as they are: format 1 (no file
/// digests in the manifest) and format 2 (each file's size and CRC-32C).
///
/// `Fixtures/collection-vN/collection/` was written once by `memp collection build`, `add` and `remove`; see
/// `Fixtures/README.md`. Never regenerate them: a format change gets a new version and a new folder beside them.
@Suite struct CollectionGoldenFileTests {
    static let versions = ["collection-v1", "collection-v2"]

    static func fixture(_ version: String) throws -> String {
        try #require(Bundle.module.path(forResource: version, ofType: nil, inDirectory: "Fixtures")) + "/collection"
    }

    static let query = HybridQuery(text: "parse json", vector: [1, 0, 0], k: 10)

    // Both were written from the same inputs by the same commands, so they answer alike.
    @Test(arguments: versions)
    func collectionOpensAndAnswersAsWhenWritten(version: String) throws {
        let collection = try DocumentCollection(contentsOf: try Self.fixture(version))
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

    @Test func theManifestsRecordTheirFormats() throws {
        let first = try DocumentCollection.readManifest(of: try Self.fixture("collection-v1") + "/generation-000003")
        #expect(first.format == 1 && first.files == nil)
        let second = try DocumentCollection.readManifest(of: try Self.fixture("collection-v2") + "/generation-000003")
        #expect(
            second.format == 2 && second.files?.keys.sorted() == ["documents.mdoc", "keywords.mkix", "vectors.mvi"])
        #expect(second.files?["vectors.mvi"] == FileDigest(bytes: 320, crc32c: 1_156_925_271))
    }

    @Test(arguments: versions)
    func collectionSavesAsTheCurrentFormatAndReopensUnchanged(version: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var collection = try DocumentCollection(contentsOf: try Self.fixture(version))
        try collection.save(to: directory.path)
        let reopened = try DocumentCollection(contentsOf: directory.path)
        let generation = directory.path + "/" + (try DocumentCollection.currentGeneration(in: directory.path)).name
        #expect(try DocumentCollection.readManifest(of: generation).format == CollectionFormat.version)
        #expect(reopened.documentIDs == collection.documentIDs)
        #expect(try reopened.search(Self.query) == (try collection.search(Self.query)))
    }
}
