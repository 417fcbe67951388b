import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import KeywordIndex

@Suite struct KeywordIndexTests {
    /// Four documents whose BM25 scores (k1 1.5, b 0.75, Lucene idf, N 4, avgdl 2.25) were computed by hand in
    /// double precision: for query "a", d2 = idf(a) · 2 · 2.5 / (2 + 1.5 · (0.25 + 0.75 · 3 / 2.25)) with
    /// idf(a) = ln(1 + 1.5 / 3.5).
    static func smallIndex() throws -> KeywordIndex {
        var index = KeywordIndex(tokenizer: .plain)
        try index.add("a b c", id: 1)
        try index.add("a a b", id: 2)
        try index.add("c d", id: 3)
        try index.add("a", id: 4)
        return index
    }

    static let reference: [String: [DocumentID: Double]] = [
        "a": [1: 0.3101521251641151, 2: 0.4602257341144934, 4: 0.47556659191830986],
        "a c": [1: 0.9128888039118936, 2: 0.4602257341144934, 3: 0.7296286111157319, 4: 0.47556659191830986],
        "d": [3: 1.2673397940273012],
    ]

    @Test(arguments: QueryEvaluation.allCases)
    func scoresMatchHandComputedReference(evaluation: QueryEvaluation) throws {
        let index = try Self.smallIndex()
        for (query, expected) in Self.reference {
            let hits = try index.search(query, k: 10, evaluation: evaluation)
            #expect(hits.map(\.id) == expected.sorted { $0.value > $1.value }.map(\.key), "\(query)")
            for hit in hits {
                let reference = try #require(expected[hit.id])
                #expect(abs(Double(hit.score) - reference) <= 1e-6 * reference, "\(query) \(hit.id)")
                let exact = try #require(index.score(query, for: hit.id))
                #expect(abs(exact - reference) <= 1e-12, "\(query) \(hit.id)")
            }
        }
    }

    /// A `k` below 1 is refused by name (it was a precondition failure, hostile run 14).
    @Test(arguments: [0, -1, Int.min])
    func aKBelowOneIsRefused(k: Int) throws {
        var index = KeywordIndex()
        try index.add("open the door", id: 1)
        let refused = IndexError.invalidParameter(name: "k", value: Double(k), expected: "at least 1")
        #expect(throws: refused) { try index.search("door", k: k) }
        #expect(throws: refused) { try index.search("door", k: k, evaluation: .maxScore) }
    }

    /// A keyword limit below 1 gives no keyword (a negative one was a precondition failure, hostile run 14).
    @Test func aKeywordLimitBelowOneGivesNoKeyword() throws {
        var index = KeywordIndex()
        try index.add("open the door", id: 1)
        #expect(index.keywords(of: "open the red door", limit: 1) == ["red"])
        for limit in [0, -1, Int.min] { #expect(index.keywords(of: "open the red door", limit: limit).isEmpty) }
    }

    /// Parameters out of range are refused when decoded, and can be set only through the checked initializers.
    ///
    /// Hostile run 14: the fields were public vars the initializers' checks didn't cover, so a collection configured
    /// with `minimumTokenLength = 0` or `k1 = 2e6` saved files no reader takes, in place of the one it replaced.
    @Test func parametersOutOfRangeAreRefusedWhenDecoded() throws {
        func decode<Value: Decodable>(_ type: Value.Type, _ json: String) throws -> Value {
            try JSONDecoder().decode(type, from: Data(json.utf8))
        }
        #expect(try decode(BM25Parameters.self, #"{"k1": 0.9, "b": 0.4}"#) == BM25Parameters(k1: 0.9, b: 0.4))
        for json in [#"{"k1": 2e6, "b": 0.4}"#, #"{"k1": -1, "b": 0.4}"#, #"{"k1": 1.2, "b": 1.5}"#] {
            #expect(throws: DecodingError.self, "\(json)") { try decode(BM25Parameters.self, json) }
        }
        let english = try JSONEncoder().encode(TokenizerConfiguration.english)
        #expect(try JSONDecoder().decode(TokenizerConfiguration.self, from: english) == .english)
        var fields = try #require(try JSONSerialization.jsonObject(with: english) as? [String: Any])
        for (minimum, maximum) in [(0, 255), (-5, 255), (8, 4)] {
            fields["minimumTokenLength"] = minimum
            fields["maximumTokenLength"] = maximum
            let json = try JSONSerialization.data(withJSONObject: fields)
            #expect(throws: DecodingError.self, "\(minimum) \(maximum)") {
                try JSONDecoder().decode(TokenizerConfiguration.self, from: json)
            }
        }
        #expect(throws: IndexError.invalidParameter(name: "minimumTokenLength", value: 0, expected: "at least 1")) {
            try TokenizerConfiguration.validate(minimumTokenLength: 0, maximumTokenLength: 255)
        }
        #expect(
            throws: IndexError.invalidParameter(
                name: "maximumTokenLength", value: 4, expected: "at least minimumTokenLength (8)")
        ) { try TokenizerConfiguration.validate(minimumTokenLength: 8, maximumTokenLength: 4) }
    }

    // Hostile run 9: `memp collection build --k1 1e39` was accepted; 1e39 is infinite as a Float, so every score
    // was NaN and JSON output failed.
    @Test func bm25ParametersTheScorerCantComputeAreRefused() async throws {
        #expect(throws: IndexError.invalidParameter(name: "k1", value: 1e39, expected: "within 0…1000000")) {
            try BM25Parameters.validate(k1: 1e39, b: 0.75)
        }
        #expect(throws: IndexError.invalidParameter(name: "k1", value: -1, expected: "within 0…1000000")) {
            try BM25Parameters.validate(k1: -1, b: 0.75)
        }
        #expect(throws: IndexError.invalidParameter(name: "b", value: .infinity, expected: "within 0…1")) {
            try BM25Parameters.validate(k1: 1.2, b: .infinity)
        }
        #expect {
            try BM25Parameters.validate(k1: .nan, b: 0.75)
        } throws: { error in
            guard case .invalidParameter("k1", let value, _) = error as? IndexError else { return false }
            return value.isNaN
        }
        await #expect(processExitsWith: .failure) { _ = BM25Parameters(k1: 1e39) }
        // At the largest k1, a term repeated in a long document still scores finite and ranks by frequency.
        var index = KeywordIndex(
            tokenizer: .plain, parameters: BM25Parameters(k1: BM25Parameters.maximumK1, b: 1))
        try index.add(Array(repeating: "a", count: 5000).joined(separator: " "), id: 1)
        try index.add("a b", id: 2)
        try index.add("b c", id: 3)
        let hits = try index.search("a", k: 3)
        #expect(hits.map(\.id) == [1, 2] && hits.allSatisfy { $0.score.isFinite && $0.score > 0 })
    }

    @Test func queryWithoutKnownTermsFindsNothing() throws {
        let index = try Self.smallIndex()
        #expect(try index.search("zzz", k: 5).isEmpty)
        #expect(try index.search("", k: 5).isEmpty)
        #expect(try KeywordIndex().search("anything", k: 5).isEmpty)
    }

    @Test func repeatedQueryTermCountsTwice() throws {
        let index = try Self.smallIndex()
        let single = try #require(try index.search("d", k: 1).first)
        let double = try #require(try index.search("d d", k: 1).first)
        #expect(abs(double.score - 2 * single.score) <= 1e-6 * single.score)
    }

    @Test func tiesGoToTheLowerID() throws {
        var index = KeywordIndex(tokenizer: .plain)
        for id: DocumentID in [9, 3, 7] { try index.add("same words here", id: id) }
        #expect(try index.search("words", k: 2).map(\.id) == [3, 7])
    }

    @Test func duplicateAndUnknownIDsThrow() throws {
        var index = try Self.smallIndex()
        #expect(throws: IndexError.duplicateID(2)) { try index.add("x", id: 2) }
        #expect(throws: IndexError.unknownID(99)) { try index.remove(99) }
    }

    @Test func removeAndUpsertMatchAFreshBuild() throws {
        var index = try Self.smallIndex()
        try index.remove(2)
        try index.upsert("c c d", id: 4)
        var fresh = KeywordIndex(tokenizer: .plain)
        try fresh.add("a b c", id: 1)
        try fresh.add("c d", id: 3)
        try fresh.add("c c d", id: 4)
        #expect(index.count == 3 && index.tombstoneCount == 2)
        #expect(!index.contains(2) && index.contains(4))
        for query in ["a", "c", "d", "a b c d"] {
            let expected = try fresh.search(query, k: 10)
            for evaluation in QueryEvaluation.allCases {
                let hits = try index.search(query, k: 10, evaluation: evaluation)
                #expect(hits.map(\.id) == expected.map(\.id), "\(query)")
                for (hit, reference) in zip(hits, expected) {
                    #expect(abs(hit.score - reference.score) <= 1e-6 * reference.score)
                }
            }
        }
        index.compact()
        #expect(index.tombstoneCount == 0 && index.count == 3 && index.vocabularySize == 4)
        for query in ["a", "c", "d", "a b c d"] {
            #expect(try index.search(query, k: 10).map(\.id) == fresh.search(query, k: 10).map(\.id))
        }
    }

    @Test func filterAppliesBeforeTopK() throws {
        let index = try Self.smallIndex()
        let filter = SearchFilter.allowing([1, 3])
        for evaluation in QueryEvaluation.allCases {
            #expect(try index.search("a c", k: 1, filter: filter, evaluation: evaluation).map(\.id) == [1])
        }
        #expect(try index.search("a", k: 3, filter: .matching { $0 != 4 }).map(\.id) == [2, 1])
    }

    /// Random documents over a Zipf-like vocabulary, so that lists have very different lengths.
    static func randomIndex(documents: Int, seed: UInt64) throws -> (KeywordIndex, [String]) {
        var rng = SplitMix64(seed: seed)
        let vocabulary = (0..<400).map { "w\($0)" }
        func word() -> String {
            let u = Double.random(in: 0..<1, using: &rng)
            return vocabulary[min(vocabulary.count - 1, Int(pow(u, 3) * Double(vocabulary.count)))]
        }
        var index = KeywordIndex(tokenizer: .plain)
        for id in 0..<documents {
            let length = Int.random(in: 0...40, using: &rng)
            try index.add((0..<length).map { _ in word() }.joined(separator: " "), id: DocumentID(UInt64(id)))
        }
        // Some removals and updates leave tombstones in the lists.
        for id in stride(from: 0, to: documents, by: 7) { try index.remove(DocumentID(UInt64(id))) }
        for id in stride(from: 3, to: documents, by: 11) {
            try index.upsert((0..<12).map { _ in word() }.joined(separator: " "), id: DocumentID(UInt64(id)))
        }
        let queries = (0..<60).map { _ in
            (0..<Int.random(in: 1...6, using: &rng)).map { _ in word() }.joined(separator: " ")
        }
        return (index, queries)
    }

    @Test(arguments: [1, 10, 100])
    func maxScoreEqualsAccumulation(k: Int) throws {
        let (index, queries) = try Self.randomIndex(documents: 3000, seed: 11)
        let filter = SearchFilter.matching { $0.rawValue % 3 != 1 }
        for query in queries {
            let accumulated = try index.search(query, k: k, evaluation: .accumulate)
            #expect(try index.search(query, k: k, evaluation: .maxScore) == accumulated, "\(query)")
            #expect(
                try index.search(query, k: k, filter: filter, evaluation: .maxScore)
                    == (try index.search(query, k: k, filter: filter, evaluation: .accumulate)), "\(query)")
            // Exhaustive double-precision reference for the ranking (scores within Float rounding).
            #expect(accumulated.count == min(k, index.matchingCount(query)))
            for hit in accumulated {
                let exact = try #require(index.score(query, for: hit.id))
                #expect(abs(Double(hit.score) - exact) <= 1e-5 * exact)
            }
        }
    }

    @Test func matchedTermsReportsQueryWordsInTheDocument() throws {
        var index = KeywordIndex()
        try index.add("Running the server with cached results", id: 1)
        #expect(index.matchedTerms("runs cache servers client", in: 1) == ["runs", "cache", "servers"])
        #expect(index.matchedTerms("runs", in: 2).isEmpty)
        #expect(
            index.matchedTerms("runs cache servers client runs", in: [1, 2, 999])
                == [["runs", "cache", "servers"], [], []])
    }

    @Test func keywordsRankRareWordsAndDropStopWords() throws {
        var index = KeywordIndex()
        for text in ["open the file", "open the door", "close the file", "open a socket"] {
            try index.add(text, id: DocumentID(UInt64(index.count + 1)))
        }
        // "socket" (df 1) beats "file" (df 2) beats "open" (df 3); "the" is a stop word; "parser" is unseen.
        #expect(index.keywords(of: "Open the file and the socket", limit: 3) == ["socket", "file", "open"])
        #expect(index.keywords(of: "the parser opens the file", limit: 1) == ["parser"])
        #expect(index.keywords(of: "the a an", limit: 5).isEmpty)
        var plain = KeywordIndex(tokenizer: .plain)
        try plain.add("the cat", id: 1)
        #expect(plain.keywords(of: "the cat", limit: 5) == ["cat"])
    }
}

extension KeywordIndex {
    /// How many live documents share at least one term with `query` (brute force).
    func matchingCount(_ query: String) -> Int {
        let queryTerms = Set(Tokenizer(tokenizerConfiguration).tokens(query).compactMap { termIDs[$0] })
        return rowForID.values.count { row in queryTerms.contains { self.row(Int(row), contains: $0) } }
    }
}
