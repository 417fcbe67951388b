import KeywordIndex
import RetrievalCore
import TestSupport
import Testing

@testable import HybridSearch

@Suite struct HybridIndexTests {
    /// IDs 0…3 with 3-dimensional vectors: 0 is near [1, 0, 0] and shares no word with "parse json"; 1 holds both
    /// words but points away; 2 holds both words and points near; 3 holds neither.
    static func sample() throws -> HybridIndex {
        var index = try HybridIndex(dimension: 3)
        try index.add(text: "reading structured data", vector: [1, 0, 0], id: 0)
        try index.add(text: "parse json lines", vector: [0, 0, 1], id: 1)
        try index.add(text: "json parsing guide", vector: [0.8, 0.6, 0], id: 2)
        try index.add(text: "cooking pasta", vector: [0, 1, 0], id: 3)
        return index
    }

    static let query = HybridIndex.Query(text: "parse json", vector: [1, 0, 0], k: 10, candidateDepth: 2)

    @Test func changesReachBothSidesOrNeither() throws {
        var index = try Self.sample()
        #expect(throws: IndexError.duplicateID(1)) { try index.add(text: "again", vector: [1, 1, 0], id: 1) }
        #expect(throws: IndexError.dimensionMismatch(expected: 3, actual: 2)) {
            try index.add(text: "short vector", vector: [1, 0], id: 9)
        }
        #expect(throws: IndexError.zeroVector(id: 9)) { try index.upsert(text: "zero", vector: [0, 0, 0], id: 9) }
        #expect(!index.contains(9) && !index.keywords.contains(9) && index.count == 4)

        try index.upsert(text: "pasta sauce", vector: [0, 0, 1], id: 0)
        #expect(index.keywords.matchedTerms("pasta", in: 0) == ["pasta"])
        #expect(index.vectors.vector(for: 0) == [0, 0, 1])
        #expect(index.reclaimableRowCount == 0)  // a vector is replaced in place

        #expect(throws: IndexError.unknownID(7)) { try index.remove(7) }
        try index.remove(3)
        #expect(!index.vectors.contains(3) && !index.keywords.contains(3) && index.count == 3)
        #expect(index.reclaimableRowCount == 1)
        index.compact()
        #expect(index.reclaimableRowCount == 0 && index.keywords.tombstoneCount == 0)
    }

    @Test func hybridFusesTheUnionOfBothSides() throws {
        let hits = try Self.sample().search(Self.query)
        // Dense top 2: 0, 2. BM25 top 2: 1 and 2 tie, lower ID first. Document 2 is found by both sides.
        #expect(hits.map(\.id) == [2, 0, 1])
        #expect(hits.map(\.score) == [1.0 / 62 + 1.0 / 62, 1.0 / 61, 1.0 / 61])
        let both = hits[0].explanation
        #expect(both.mode == .hybrid && both.fusion == "reciprocal rank fusion (rank constant 60)")
        #expect(both.denseRank == 2 && both.keywordRank == 2 && both.fusedScore == hits[0].score)
        #expect(both.matchedTerms == ["parse", "json"])
        #expect(hits[1].explanation.keywordRank == nil && hits[1].explanation.denseScore == 1)
        #expect(hits[2].explanation.denseRank == nil && hits[2].explanation.keywordRank == 1)
    }

    @Test func singleModesRankOneSide() throws {
        let index = try Self.sample()
        var query = Self.query
        query.mode = .vector
        let dense = try index.search(query)
        // Cosine with [1, 0, 0]: 1, 0.8, then 1 and 3 tie at 0 (lower ID first); k, not the depth, bounds it.
        #expect(dense.map(\.id) == [0, 2, 1, 3])
        #expect(
            dense.allSatisfy { $0.explanation.fusion == nil && $0.score == Double($0.explanation.denseScore ?? -9) })
        query.mode = .bm25
        query.vector = nil
        let keyword = try index.search(query)
        #expect(keyword.map(\.id) == [1, 2])
        #expect(keyword.allSatisfy { $0.explanation.denseRank == nil && $0.explanation.matchedTerms.count == 2 })
    }

    @Test func filterAppliesOnBothSidesBeforeTopK() throws {
        var query = Self.query
        query.filter = .allowing([0, 1, 3])
        // Dense top 2 among the allowed: 0, then 1 (ties 3, lower ID); BM25: 1. Document 2 can't enter.
        #expect(try Self.sample().search(query).map(\.id) == [1, 0])
        query.filter = .matching { $0 == 3 }
        #expect(try Self.sample().search(query).map(\.id) == [3])
    }

    @Test func minimumDenseScoreRescoresKeywordOnlyCandidatesExactly() throws {
        let index = try Self.sample()
        var query = Self.query
        query.minimumDenseScore = 0.5
        // Document 1 came from BM25 alone; its cosine with the query is 0, below the minimum.
        #expect(try index.search(query).map(\.id) == [2, 0])
        query.minimumDenseScore = -0.5
        #expect(try index.search(query).map(\.id) == [2, 0, 1])
    }

    @Test func weightedExtraSideAddsWeightedReciprocalRanks() throws {
        let index = try Self.sample()
        var extra = KeywordIndex()
        try extra.add("parse the json", id: 3)
        var query = Self.query
        query.extraSide = .init(index: extra, weight: 0)
        let without = try index.search(query)
        #expect(without == (try index.search(Self.query)))
        query.extraSide = .init(index: extra, weight: 0.5)
        let hits = try index.search(query)
        let third = try #require(hits.first { $0.id == 3 })
        #expect(third.score == 0.5 / 61 && third.explanation.extraRank == 1)
        #expect(third.explanation.denseRank == nil && third.explanation.keywordRank == nil)
        #expect(hits.map(\.id) == [2, 0, 1, 3])
    }

    /// The extra side finds only documents the index holds: one removed from the index but still in the caller's
    /// extra index, or never added, came back as a hit (hostile run 14).
    @Test func extraSideDocumentsTheIndexLacksAreNoHits() throws {
        var index = try Self.sample()
        var extra = KeywordIndex()
        try extra.add("parse the json", id: 3)
        try extra.add("parse json quickly", id: 1)
        try extra.add("parse json twice", id: 99)
        try index.remove(1)
        var query = Self.query
        query.extraSide = .init(index: extra, weight: 0.5)
        let hits = try index.search(query)
        #expect(hits.map(\.id) == [2, 0, 3])
        #expect(hits.allSatisfy { index.vectors.contains($0.id) })
    }

    @Test func searchRejectsOutOfRangeParametersByName() throws {
        let index = try Self.sample()
        var query = Self.query
        query.k = 0
        #expect(throws: IndexError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
            try index.search(query)
        }
        #expect(
            IndexError.invalidParameter(name: "k", value: 0, expected: "at least 1").description
                == "k must be at least 1 (got 0).")
        query = Self.query
        query.candidateDepth = 0
        #expect(throws: IndexError.invalidParameter(name: "candidateDepth", value: 0, expected: "at least 1")) {
            try index.search(query)
        }
        query = Self.query
        query.fusion = .reciprocalRank(rankConstant: 0)
        #expect(throws: IndexError.invalidParameter(name: "rankConstant", value: 0, expected: "a positive number")) {
            try index.search(query)
        }
        query.fusion = .convex(alpha: 1.5, normalization: .minMax)
        #expect(throws: IndexError.invalidParameter(name: "alpha", value: 1.5, expected: "within 0…1")) {
            try index.search(query)
        }
        query = Self.query
        query.extraSide = .init(index: KeywordIndex(), weight: -1)
        #expect(
            throws: IndexError.invalidParameter(name: "extraSide.weight", value: -1, expected: "finite and >= 0")
        ) { try index.search(query) }
        query = Self.query
        query.vector = nil
        #expect(throws: IndexError.missingQueryVector) { try index.search(query) }
        query.mode = .bm25
        #expect(try index.search(query).map(\.id) == [1, 2])
    }

    @Test func defaultCandidateDepthIsFourfoldWithAFloorOf50() {
        #expect(HybridIndex.defaultCandidateDepth(k: 1) == 50)
        #expect(HybridIndex.defaultCandidateDepth(k: 12) == 50)
        #expect(HybridIndex.defaultCandidateDepth(k: 13) == 52)
        #expect(HybridIndex.defaultCandidateDepth(k: .max) == .max)
        #expect(HybridIndex.Query(text: "x", k: 30).effectiveCandidateDepth == 120)
    }

    @Test func savedPairOpensUnderItsNamesAndRejectsMismatchedFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = try Self.sample()
        let names = HybridIndex.FileNames(vectors: "tasks.vectors", keywords: "text.bm25")
        try index.save(to: directory.path, names: names)
        let reopened = try HybridIndex(contentsOf: directory.path, names: names)
        #expect(try reopened.search(Self.query) == (try index.search(Self.query)))

        var fewer = index
        try fewer.remove(3)
        try fewer.keywords.save(to: directory.file("text.bm25"))
        #expect(
            throws: IndexError.corrupted(
                path: directory.path, section: "pair",
                reason: "the vector index holds 4 documents, the keyword index 3, not the same IDs")
        ) { try HybridIndex(contentsOf: directory.path, names: names) }
    }
}
