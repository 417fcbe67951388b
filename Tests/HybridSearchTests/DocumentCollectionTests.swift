import Embeddings
import Foundation
import KeywordIndex
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

@testable import HybridSearch

/// A deterministic stand-in for a model: each word adds 1 to the component its first letter picks.
struct FirstLetterEmbedder: Embedder {
    var modelIdentifier: String { "test:first-letter:\(dimension)" }
    let dimension: Int

    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        texts.map { text in
            var vector = [Float](repeating: 0, count: dimension)
            vector[0] = 0.01
            for word in text.lowercased().split(separator: " ") {
                vector[Int(word.unicodeScalars.first?.value ?? 0) % dimension] += 1
            }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return vector.map { $0 / norm }
        }
    }
}

@Suite struct CollectionTests {
    /// Four documents with explicit 3-dimensional vectors: "dense" is near [1, 0, 0] and shares no word with the
    /// query "parse json"; "lexical" contains both words but points away.
    static func sample() throws -> DocumentCollection {
        var collection = try DocumentCollection(
            configuration: CollectionConfiguration(dimension: 3, tokenizer: .english))
        try collection.add([
            Document(
                id: "dense", text: "reading structured data", vector: [1, 0, 0],
                metadata: ["lang": "en", "kind": "guide"]),
            Document(
                id: "lexical", text: "parse json lines", vector: [0, 0, 1], metadata: ["lang": "en", "kind": "faq"]),
            Document(
                id: "both", text: "json parsing guide", vector: [0.8, 0.6, 0],
                metadata: ["lang": "de", "kind": "guide"]),
            Document(id: "neither", text: "cooking pasta", vector: [0, 1, 0], metadata: ["lang": "en"]),
        ])
        return collection
    }

    static let query = HybridQuery(text: "parse json", vector: [1, 0, 0], k: 10)

    /// IDs the file reader refuses are refused by `add` and `upsert` too, and nothing of the batch is added: an
    /// empty ID, a line break, a NUL or a bidirectional override was saved and printed as given (hostile run 14).
    @Test func documentIDsThatCantBePrintedOnOneLineAreRefused() throws {
        var collection = try Self.sample()
        let refused: [(String, String)] = [
            ("", "must not be empty"),
            ("a\nb", "contains the control character U+000A, which an ID can't hold"),
            ("x\u{202E}y", "contains the bidirectional formatting character U+202E, which an ID can't hold"),
            ("\u{0}", "contains the control character U+0000, which an ID can't hold"),
            // The recheck of hostile run 22: "run-1 " was another ID than "run-1", printed alike.
            (
                "run-1 ",
                "starts or ends with white space (U+0020), which makes another ID than the one without it; remove it"
            ),
            (
                "\u{A0}run-1",
                "starts or ends with white space (U+00A0), which makes another ID than the one without it; remove it"
            ),
        ]
        for (id, reason) in refused {
            let batch = [
                Document(id: "fine", text: "fine text", vector: [1, 1, 0]),
                Document(id: id, text: "x", vector: [1, 0, 0]),
            ]
            #expect(throws: CollectionError.invalidDocumentID(id, reason: reason)) { try collection.add(batch) }
            #expect(throws: CollectionError.invalidDocumentID(id, reason: reason)) { try collection.upsert(batch) }
        }
        #expect(collection.documentIDs == ["both", "dense", "lexical", "neither"])
        #expect(
            CollectionError.invalidDocumentID("x\u{202E}y", reason: "r").description
                == #"Document ID "x\u{202E}y" r; give the document an ID of printable text."#)
    }

    /// A query file's queries are searched in order; the first the collection refuses stops the batch naming its
    /// line and ID (it named neither).
    @Test func aQueryFilesRefusedQueryIsNamedByLineAndID() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let collection = try Self.sample()
        let good = try directory.write(
            #"{"qid": "q1", "query": "parse json", "vector": [1, 0, 0]}"# + "\n"
                + #"{"qid": 7, "query": "cooking", "vector": [0, 1, 0]}"# + "\n", to: "good.jsonl")
        let results = try collection.search(queriesAt: good) {
            HybridQuery(text: $0.text, vector: $0.vector, mode: .vector, k: 1)
        }
        #expect(results.map(\.id) == ["q1", "7"] && results.map { $0.hits.first?.id } == ["dense", "neither"])

        let bad = try directory.write(
            #"{"qid": "q1", "query": "parse json", "vector": [1, 0, 0]}"# + "\n\n"
                + #"{"qid": "short", "query": "cooking", "vector": [0, 1]}"# + "\n", to: "bad.jsonl")
        var refusal: CollectionError?
        do { _ = try collection.search(HybridQuery(text: "cooking", vector: [0, 1], k: 1)) } catch { refusal = error }
        let reason = try #require(refusal).description
        #expect(throws: CollectionError.queryRefused(path: bad, line: 3, queryID: "short", reason: reason)) {
            try collection.search(queriesAt: bad) { HybridQuery(text: $0.text, vector: $0.vector, k: 1) }
        }
    }

    @Test func queryReadsAndWritesTheIndexQuerysProperties() {
        var query = HybridQuery(text: "open the fridge", k: 5)
        #expect(query.effectiveCandidateDepth == 50 && query.k == 5)
        query.k = 20
        query.mode = .bm25
        #expect(query.search.k == 20 && query.search.mode == .bm25 && query.effectiveCandidateDepth == 80)
        query.candidateDepth = 30
        #expect(query.effectiveCandidateDepth == 30)
    }

    @Test func hybridKeepsKeywordOnlyAndVectorOnlyHits() throws {
        let collection = try Self.sample()
        for fusion in [
            FusionMethod.reciprocalRank(), .convex(alpha: 0.5, normalization: .minMax),
            .convex(alpha: 0.5, normalization: .zScore),
        ] {
            var query = Self.query
            query.fusion = fusion
            query.candidateDepth = 2  // each side contributes only its top 2
            let hits = try collection.search(query)
            let byID = Dictionary(uniqueKeysWithValues: hits.map { ($0.id, $0) })
            // Dense top 2: dense, both. Keyword top 2: lexical/both. The union has three documents.
            #expect(Set(hits.map(\.id)) == ["dense", "both", "lexical"], "\(fusion)")
            let keywordOnly = try #require(byID["lexical"])
            #expect(keywordOnly.explanation.denseRank == nil && keywordOnly.explanation.keywordRank != nil)
            let vectorOnly = try #require(byID["dense"])
            #expect(vectorOnly.explanation.keywordRank == nil && vectorOnly.explanation.denseRank == 1)
            if case .reciprocalRank = fusion { #expect(hits.first?.id == "both") }  // found by both sides
        }
    }

    @Test func explanationCarriesScoresRanksAndMatchedTerms() throws {
        let collection = try Self.sample()
        let hits = try collection.search(Self.query)
        let both = try #require(hits.first { $0.id == "both" })
        #expect(both.explanation.mode == .hybrid)
        #expect(both.explanation.fusion == "reciprocal rank fusion (rank constant 60)")
        #expect(both.explanation.denseRank == 2 && abs((both.explanation.denseScore ?? 0) - 0.8) < 1e-6)
        #expect(both.explanation.matchedTerms == ["parse", "json"])
        #expect(both.explanation.fusedScore == both.score)
        let keywordRank = try #require(both.explanation.keywordRank)
        #expect(both.score == 1.0 / 62 + 1.0 / (60 + Double(keywordRank)))
        #expect(both.metadata == ["lang": "de", "kind": "guide"])
        // "pasta" is in one document, "json" in two: the rarer word ranks first; "the" is a stop word.
        #expect(collection.keywords(of: "the json pasta", limit: 2) == ["pasta", "json"])
    }

    @Test func singleModesUseOneSide() throws {
        let collection = try Self.sample()
        var query = Self.query
        query.mode = .vector
        let vector = try collection.search(query)
        // Cosine with [1, 0, 0]: dense 1, both 0.8, then lexical and neither tie at 0 (lower internal ID first).
        #expect(vector.map(\.id) == ["dense", "both", "lexical", "neither"])
        #expect(vector.allSatisfy { $0.explanation.keywordRank == nil && $0.explanation.fusion == nil })
        query.mode = .bm25
        query.vector = nil  // keyword mode needs no vector
        let keyword = try collection.search(query)
        #expect(keyword.map(\.id) == ["lexical", "both"])  // equal BM25 scores: the earlier document first
        #expect(
            keyword.allSatisfy {
                $0.explanation.denseRank == nil && $0.score == Double($0.explanation.keywordScore ?? -1)
            })
    }

    @Test func metadataFiltersApplyToBothSidesBeforeTopK() throws {
        let collection = try Self.sample()
        var query = Self.query
        query.k = 1
        var filter = MetadataFilter()
        filter.require("lang", equals: "en")
        query.filter = filter
        // Dense: dense 1, lexical 2 (ties with neither, lower ID first); keyword: lexical 1. RRF picks lexical.
        #expect(try collection.search(query).map(\.id) == ["lexical"])
        query.k = 10
        #expect(Set(try collection.search(query).map(\.id)) == ["dense", "lexical", "neither"])
        filter.require("kind", isOneOf: ["faq", "guide"])
        query.filter = filter
        #expect(Set(try collection.search(query).map(\.id)) == ["dense", "lexical"])
        var narrow = MetadataFilter()
        narrow.require("kind", equals: "faq")
        query.filter = narrow
        query.mode = .vector
        // Vector search alone would rank "dense" first; the filter leaves only "lexical".
        #expect(try collection.search(query).map(\.id) == ["lexical"])
        var none = MetadataFilter()
        none.require("lang", equals: "fr")
        query.filter = none
        #expect(try collection.search(query).isEmpty)
    }

    @Test func failedBatchChangesNothing() throws {
        var collection = try Self.sample()
        let before = try collection.search(Self.query)
        #expect(throws: CollectionError.dimensionMismatch(documentID: "bad", expected: 3, actual: 2)) {
            try collection.add([
                Document(id: "new", text: "json", vector: [1, 1, 1]), Document(id: "bad", text: "x", vector: [1, 2]),
            ])
        }
        #expect(
            throws: CollectionError.invalidVector(
                documentID: "zero", reason: "the vector is all zeros, which has no cosine direction")
        ) {
            try collection.add([Document(id: "zero", text: "json", vector: [0, 0, 0])])
        }
        #expect(throws: CollectionError.duplicateDocument("dense")) {
            try collection.add([Document(id: "dense", text: "json", vector: [1, 0, 0])])
        }
        #expect(throws: CollectionError.duplicateDocument("twice")) {
            try collection.upsert([
                Document(id: "twice", text: "a", vector: [1, 0, 0]),
                Document(id: "twice", text: "b", vector: [1, 0, 0]),
            ])
        }
        #expect(throws: CollectionError.missingVector(documentID: "novector")) {
            try collection.add([Document(id: "novector", text: "json")])
        }
        #expect(throws: CollectionError.unknownDocument("ghost")) { try collection.remove(["lexical", "ghost"]) }
        #expect(collection.count == 4 && !collection.contains("new") && collection.contains("lexical"))
        #expect(try collection.search(Self.query) == before)
        #expect(collection.index.vectors.count == 4 && collection.index.keywords.count == 4)
    }

    @Test func upsertAndRemoveReachBothIndexes() throws {
        var collection = try Self.sample()
        try collection.upsert([
            Document(id: "neither", text: "parse json quickly", vector: [1, 0, 0], metadata: ["lang": "fr"])
        ])
        var query = Self.query
        query.mode = .bm25
        #expect(try collection.search(query).contains { $0.id == "neither" })
        query.mode = .vector
        #expect(try collection.search(query).prefix(2).contains { $0.id == "neither" })
        var french = MetadataFilter()
        french.require("lang", equals: "fr")
        query.filter = french
        #expect(try collection.search(query).map(\.id) == ["neither"])
        var english = MetadataFilter()
        english.require("lang", equals: "en")
        query.filter = english
        #expect(!(try collection.search(query).contains { $0.id == "neither" }))  // old metadata is gone
        try collection.remove(["neither", "lexical"])
        #expect(collection.count == 2 && collection.index.vectors.count == 2 && collection.index.keywords.count == 2)
        query.filter = nil
        query.mode = .hybrid
        #expect(Set(try collection.search(query).map(\.id)) == ["dense", "both"])
        collection.compact()
        #expect(collection.index.keywords.tombstoneCount == 0)
        #expect(Set(try collection.search(query).map(\.id)) == ["dense", "both"])
        #expect(collection.document("both")?.text == "json parsing guide")
    }

    @Test func embedderFillsMissingVectorsAndQueries() throws {
        let embedder = FirstLetterEmbedder(dimension: 8)
        var collection = try DocumentCollection(
            configuration: CollectionConfiguration(dimension: 8), embedder: embedder)
        #expect(collection.configuration.embedder == "test:first-letter:8")
        try collection.add([
            Document(id: "a", text: "apple apricot avocado"), Document(id: "b", text: "banana blueberry"),
        ])
        let hits = try collection.search(HybridQuery(text: "apple", mode: .vector, k: 1))
        #expect(hits.map(\.id) == ["a"])
        #expect(
            throws: CollectionError.embedderMismatch(collection: "test:first-letter:8", given: "test:first-letter:4")
        ) {
            try DocumentCollection(configuration: collection.configuration, embedder: FirstLetterEmbedder(dimension: 4))
        }
        let plain = try Self.sample()
        #expect(throws: CollectionError.queryNeedsVector) { try plain.search(HybridQuery(text: "json")) }
        #expect(throws: CollectionError.dimensionMismatch(documentID: nil, expected: 3, actual: 2)) {
            try plain.search(HybridQuery(text: "json", vector: [1, 0]))
        }
    }

    /// A blank query text is refused where the text is searched, and a blank document text where it is embedded.
    ///
    /// Hostile run 12: a blank query (empty, spaces, a zero-width space) was searched: BM25 answered no hits as if
    /// nothing matched, a query file's vector-only line in bm25 mode too, and an embedder's vector of nothing ranked
    /// every document (MiniLM's; a hashing embedder's zeros were blamed on the words). A document without a vector
    /// and with a blank text was embedded the same way.
    @Test(arguments: ["", "  \n", "\u{200B}", "\u{FEFF}\u{00AD}\u{01}"])
    func aBlankTextIsNeverSearchedOrEmbedded(blank: String) throws {
        var collection = try DocumentCollection(
            configuration: CollectionConfiguration(dimension: 8), embedder: FirstLetterEmbedder(dimension: 8))
        try collection.add([Document(id: "a", text: "apple"), Document(id: "b", text: "banana")])
        for mode in SearchMode.allCases {
            #expect(throws: CollectionError.blankQuery(mode: mode)) {
                try collection.search(HybridQuery(text: blank, mode: mode))
            }
        }
        #expect(throws: CollectionError.blankQuery(mode: .bm25)) {
            try collection.search(HybridQuery(text: blank, vector: collection.embedder?.embed("apple"), mode: .bm25))
        }
        // A vector is a query of its own: vector mode ranks by it, hybrid mode by it alone.
        let vector = try #require(try collection.embedder?.embed("apple"))
        for mode in [SearchMode.vector, .hybrid] {
            #expect(
                try collection.search(HybridQuery(text: blank, vector: vector, mode: mode, k: 1)).map(\.id) == ["a"])
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write(
            #"{"qid": "words", "query": "apple"}"# + "\n"
                + #"{"qid": "vector only", "vector": [1, 0, 0, 0, 0, 0, 0, 0]}"#,
            to: "queries.jsonl")
        #expect(
            throws: CollectionError.queryRefused(
                path: file, line: 2, queryID: "vector only", reason: CollectionError.blankQuery(mode: .bm25).description
            )
        ) {
            try collection.search(queriesAt: file) { HybridQuery(text: $0.text, vector: $0.vector, mode: .bm25) }
        }
        #expect(throws: CollectionError.blankDocument(documentID: "empty")) {
            try collection.add([Document(id: "c", text: "cherry"), Document(id: "empty", text: blank)])
        }
        #expect(collection.count == 2)
        try collection.add([Document(id: "given", text: blank, vector: vector)])
        #expect(collection.count == 3)
    }

    /// Inner-product and L2 vectors whose scores could overflow a Float are refused, naming the document.
    ///
    /// Hostile run 12: they were indexed, scored infinite, and tied.
    @Test(arguments: [Metric.innerProduct, .l2])
    func aVectorWhoseScoresCouldOverflowIsRefused(metric: Metric) throws {
        var collection = try DocumentCollection(configuration: CollectionConfiguration(dimension: 2, metric: metric))
        try collection.add([Document(id: "small", text: "x", vector: [1, 0])])
        let limit = try #require(metric.maximumNorm)
        #expect(
            throws: CollectionError.invalidVector(
                documentID: "big",
                reason: "its L2 norm 2e+19 is over \(Float(limit)), past which inner products and distances overflow "
                    + "32-bit floats and rank as ties")
        ) { try collection.add([Document(id: "big", text: "x", vector: [2e19, 0])]) }
        #expect(throws: CollectionError.index(.vectorTooLarge(id: nil, norm: Double(Float(1e20)), limit: limit))) {
            try collection.search(HybridQuery(text: "x", vector: [1e20, 0], mode: .vector))
        }
        #expect(collection.count == 1)
    }

    /// A collection made of documents takes its dimension from the embedder, or else from the documents' vectors.
    @Test func aCollectionOfDocumentsTakesItsDimensionFromTheEmbedderOrTheVectors() throws {
        let texts = [Document(id: "a", text: "apple apricot"), Document(id: "b", text: "banana")]
        let embedded = try DocumentCollection(texts, embedder: FirstLetterEmbedder(dimension: 8))
        #expect(embedded.configuration.dimension == 8 && embedded.configuration.embedder == "test:first-letter:8")
        #expect(embedded.count == 2)
        #expect(try embedded.search(HybridQuery(text: "apple", mode: .vector, k: 1)).map(\.id) == ["a"])
        let vectors = [
            Document(id: "x", text: "no vector yet"), Document(id: "y", text: "json", vector: [0, 1, 0, 0]),
        ]
        // Without an embedder, the first vector says the dimension; the document without one is then refused.
        #expect(throws: CollectionError.missingVector(documentID: "x")) {
            try DocumentCollection(vectors, tokenizer: .english)
        }
        let given = try DocumentCollection(Array(vectors.dropFirst()), bm25: BM25Parameters(k1: 1.2, b: 0.5))
        #expect(given.configuration.dimension == 4 && given.configuration.embedder == nil)
        #expect(given.configuration.bm25 == BM25Parameters(k1: 1.2, b: 0.5))
        #expect(throws: CollectionError.dimensionUnknown) { try DocumentCollection(texts) }
        #expect(throws: CollectionError.dimensionUnknown) { try DocumentCollection([]) }
    }

    @Test func saveAndOpenRoundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var collection = try Self.sample()
        try collection.remove(["neither"])
        let path = directory.file("collection")
        try collection.save(to: path)
        let reopened = try DocumentCollection(contentsOf: path)
        #expect(reopened.count == 3 && reopened.configuration == collection.configuration)
        #expect(try reopened.search(Self.query) == collection.search(Self.query))
        // A second save replaces the generation; adding keeps IDs distinct from removed ones.
        var next = reopened
        try next.add([Document(id: "late", text: "json late", vector: [0, 1, 1])])
        try next.save(to: path)
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        #expect(names == ["CURRENT", "LOCK", "generation-000002"])
        let third = try DocumentCollection(contentsOf: path)
        #expect(third.count == 4 && third.document("late")?.text == "json late")
        #expect(Set(third.records.keys).count == 4)
    }

    /// Saves the sample collection to `path` as a new collection, whose first generation it becomes.
    static func saveSample(to path: String) throws {
        var sample = try Self.sample()
        try sample.save(to: path)
    }

    /// Saves the sample collection to `path`, edits its first generation's manifest with `edit` and writes it back
    /// with `suffix` after it; returns the manifest's path.
    static func saveSample(
        to path: String, appending suffix: String = "", _ edit: (inout [String: Any]) -> Void
    ) throws -> String {
        try Self.saveSample(to: path)
        let manifestPath = path + "/generation-000001/manifest.json"
        let url = URL(fileURLWithPath: manifestPath)
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&manifest)
        try (JSONSerialization.data(withJSONObject: manifest) + Data(suffix.utf8)).write(to: url)
        return manifestPath
    }

    // Hostile run 4: every fault of a generation's manifest was "the manifest can't be decoded".
    @Test(arguments: [
        ("missing", "field documents is missing"), ("string", "field nextID must be "),
        ("syntax", "not JSON, "),
    ])
    func aManifestFaultIsNamed(fault: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        let manifestPath = try Self.saveSample(to: path, appending: fault == "syntax" ? "," : "") { manifest in
            switch fault {
            case "missing": manifest["documents"] = nil
            case "string": manifest["nextID"] = "3"
            default: break
            }
        }
        #expect {
            try DocumentCollection(contentsOf: path)
        } throws: { error in
            guard case .corrupted(manifestPath, let message) = error as? CollectionError else { return false }
            return message.hasPrefix("the manifest can't be decoded: " + reason)
        }
    }

    @Test func damagedFilesAreReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        try Self.saveSample(to: path)
        let keywordFile = path + "/generation-000001/keywords.mkix"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: keywordFile))
        bytes[140] ^= 0xFF  // inside the section table
        try bytes.write(to: URL(fileURLWithPath: keywordFile))
        #expect(throws: CollectionError.self) { try DocumentCollection(contentsOf: path) }
        try "generation-000009\n".write(toFile: path + "/CURRENT", atomically: true, encoding: .utf8)
        #expect(throws: CollectionError.self) { try DocumentCollection(contentsOf: path) }
        try "garbage".write(toFile: path + "/CURRENT", atomically: true, encoding: .utf8)
        #expect(
            throws: CollectionError.corrupted(path: path + "/CURRENT", reason: "CURRENT does not name a generation")
        ) {
            try DocumentCollection(contentsOf: path)
        }
        #expect(
            throws: CollectionError.io(
                path: directory.file("none") + "/CURRENT", reason: "not a collection directory (no CURRENT file)")
        ) {
            try DocumentCollection(contentsOf: directory.file("none"))
        }
    }

    // Hostile run 9: two `memp collection add` on one collection both reported success and one's documents were
    // lost; each had read the live generation before the other saved, and the last save won.
    @Test func aSaveFromAReadThatAnotherWriterOvertookIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        try Self.saveSample(to: path)
        var first = try DocumentCollection(contentsOf: path)
        var second = try DocumentCollection(contentsOf: path)
        try first.add([Document(id: "first", text: "alpha", vector: [1, 1, 0])])
        try second.add([Document(id: "second", text: "beta", vector: [0, 1, 1])])
        try first.save(to: path)
        #expect(
            throws: CollectionError.generationChanged(
                path: path, opened: "generation-000001", current: "generation-000002")
        ) { try second.save(to: path) }
        // Another spelling of the same directory is the same directory.
        #expect(
            throws: CollectionError.generationChanged(
                path: path + "/.", opened: "generation-000001", current: "generation-000002")
        ) { try second.save(to: path + "/.") }
        #expect(try DocumentCollection(contentsOf: path).contains("first"))
        // A value saves again after its own save; an update starts from what the last writer saved.
        try first.add([Document(id: "third", text: "gamma", vector: [1, 0, 1])])
        try first.save(to: path)
        let updated = try DocumentCollection.update(at: path) { (collection) throws(CollectionError) in
            try collection.add([Document(id: "second", text: "beta", vector: [0, 1, 1])])
        }
        #expect(updated.documentIDs == ["both", "dense", "first", "lexical", "neither", "second", "third"])
        #expect(try DocumentCollection(contentsOf: path).documentIDs == updated.documentIDs)
        // A change that throws saves nothing.
        #expect(throws: CollectionError.unknownDocument("none")) {
            try DocumentCollection.update(at: path) { (collection) throws(CollectionError) in
                try collection.remove(["none"])
            }
        }
        #expect(try DocumentCollection.currentGeneration(in: path).name == "generation-000004")
    }

    // Hostile run 9: a search beside `memp collection add` failed 2% of the time with "generation-0000NN/keywords.mkix:
    // No such file or directory": the save had deleted the generation the reader had just read in CURRENT.
    @Test func aReaderWhoseGenerationASaveDeletedReadsTheOneThatReplacedIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        try Self.saveSample(to: path)
        let readInCurrent = try DocumentCollection.currentGeneration(in: path).name
        var writer = try DocumentCollection(contentsOf: path)
        try writer.add([Document(id: "late", text: "json late", vector: [0, 1, 1])])
        try writer.save(to: path)
        #expect(!FileManager.default.fileExists(atPath: path + "/" + readInCurrent))
        let reader = try DocumentCollection(
            contentsOf: path, generation: readInCurrent, embedder: nil, verifyChecksums: true)
        #expect(reader.count == 5 && reader.contains("late"))
        // A generation that fails while CURRENT still names it fails as it is.
        let documents = path + "/generation-000002/documents.mdoc"
        try FileManager.default.removeItem(atPath: documents)
        #expect(throws: CollectionError.io(path: documents, reason: "the documents.mdoc file is missing")) {
            try DocumentCollection(contentsOf: path, generation: readInCurrent, embedder: nil, verifyChecksums: true)
        }
    }

    // Hostile run 9: a manifest's nextID of 2^64 − 1 was accepted, and the next add trapped on overflow.
    @Test func internalIDsEndAtTheLimitWithAnErrorNotATrap() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        let manifestPath = try Self.saveSample(to: path) { $0["nextID"] = UInt64.max }
        #expect(
            throws: CollectionError.corrupted(
                path: manifestPath,
                reason: "field nextID is 18446744073709551615, above the 9007199254740992 IDs a collection allocates")
        ) { try DocumentCollection(contentsOf: path) }

        var collection = try Self.sample()
        collection.nextID = CollectionFormat.maximumNextID - 1
        let two = [
            Document(id: "x", text: "x", vector: [1, 0, 0]), Document(id: "y", text: "y", vector: [0, 1, 0]),
        ]
        #expect(
            throws: CollectionError.idsExhausted(
                nextID: CollectionFormat.maximumNextID - 1, requested: 2, limit: CollectionFormat.maximumNextID)
        ) { try collection.add(two) }
        #expect(collection.count == 4 && !collection.contains("x"))
        try collection.add([two[0]])
        // Replacing a document takes no new ID.
        try collection.upsert([Document(id: "x", text: "x again", vector: [1, 0, 0])])
        #expect(
            throws: CollectionError.idsExhausted(
                nextID: CollectionFormat.maximumNextID, requested: 1, limit: CollectionFormat.maximumNextID)
        ) {
            try collection.upsert([two[1]])
        }
        #expect(collection.nextID == CollectionFormat.maximumNextID && collection.count == 5)
    }

    // Hostile run 9: documents.mdoc taken from another collection's generation opened, and searches answered with
    // that collection's documents: the manifest recorded nothing of its files.
    @Test func aFileFromAnotherCollectionIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection"), other = directory.file("other")
        try Self.saveSample(to: path)
        // The same IDs and sizes, another text of the same length.
        var impostor = try Self.sample()
        try impostor.upsert([
            Document(
                id: "dense", text: "writing structured data", vector: [1, 0, 0],
                metadata: ["lang": "en", "kind": "guide"])
        ])
        try impostor.save(to: other)
        let generation = path + "/generation-000001"
        let documents = generation + "/documents.mdoc"
        let written = try FileDigest(ofFileAt: documents)
        try FileManager.default.removeItem(atPath: documents)
        try FileManager.default.copyItem(atPath: other + "/generation-000001/documents.mdoc", toPath: documents)
        let swapped = try FileDigest(ofFileAt: documents)
        #expect(swapped.bytes == written.bytes)
        #expect(
            throws: CollectionError.corrupted(
                path: documents,
                reason: "its CRC-32C is \(swapped.crc32c); the manifest records \(written.crc32c), so it is damaged or "
                    + "another collection's file")
        ) { try DocumentCollection(contentsOf: path) }
        // Without checksums, a file of another size is still refused.
        let vectors = generation + "/vectors.mvi"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: vectors))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let size = try FileDigest(ofFileAt: vectors).bytes
        #expect(
            throws: CollectionError.corrupted(
                path: vectors, reason: "the file is \(size) bytes; the manifest records \(size - 1)")
        ) { try DocumentCollection(contentsOf: path, verifyChecksums: false) }
    }

    // Hostile run 9: three upserts of every document tripled keywords.mkix, dead rows never reclaimed.
    @Test func upsertsCompactOnceDeadRowsPassAQuarter() throws {
        var collection = try DocumentCollection(configuration: CollectionConfiguration(dimension: 2))
        let documents = (0..<300).map { Document(id: "d\($0)", text: "word\($0) common", vector: [1, Float($0)]) }
        try collection.add(documents)
        try collection.upsert(Array(documents.prefix(100)))
        // 100 dead rows: no more than 300 / 4 + 64.
        #expect(collection.index.keywords.tombstoneCount == 100)
        try collection.upsert(Array(documents.suffix(200)))
        #expect(collection.index.keywords.tombstoneCount == 0 && collection.count == 300)
        let hits = try collection.search(HybridQuery(text: "word7", mode: .bm25, k: 1))
        #expect(hits.map(\.id) == ["d7"])
    }

    // Hostile run 9: a query file that gave one qid twice was answered twice, under one ID.
    @Test func aQueryFilesRepeatedIDIsRefusedNamingBothLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queries = try directory.write(
            #"{"qid": "q1", "query": "json"}"# + "\n" + #"{"qid": "q2", "query": "pasta"}"# + "\n"
                + #"{"qid": "q1", "query": "file"}"# + "\n", to: "queries.jsonl")
        #expect(throws: CollectionError.duplicateQuery(path: queries, queryID: "q1", firstLine: 1, line: 3)) {
            try Self.sample().search(queriesAt: queries) { HybridQuery(text: $0.text, mode: .bm25) }
        }
    }

    /// A process killed with SIGKILL while saving leaves the previous generation or the new one.
    @Test func killDuringSaveLeavesACompleteGeneration() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collection")
        await #expect(processExitsWith: .signal(SIGKILL)) { [path = path as String] in
            var collection = try DocumentCollection(configuration: CollectionConfiguration(dimension: 16))
            try collection.add([Document(id: "first", text: "alpha", vector: [Float](repeating: 1, count: 16))])
            try collection.save(to: path)
            var rng = SplitMix64(seed: 5)
            try collection.add(
                (0..<3000).map { index in
                    Document(
                        id: "d\(index)", text: "beta w\(index)",
                        vector: (0..<16).map { _ in Float.random(in: 0.1...1, using: &rng) })
                })
            let saving = Thread { [collection] in
                var saver = collection
                while true { try? saver.save(to: path) }
            }
            saving.start()
            while !((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains("generation-000002") {}
            kill(getpid(), SIGKILL)
        }
        let survivor = try DocumentCollection(contentsOf: path)
        #expect(survivor.count == 1 || survivor.count == 3001)
        #expect(survivor.contains("first"))
    }
}
