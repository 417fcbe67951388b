import Embeddings
import Foundation
import HybridSearch
import PostgresNIO
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing
import VectorIndex

@testable import PostgresMemory

/// Retrieval in PostgreSQL agrees with the local engine: exact vector search gives the same top-10, HNSW recalls
/// at least 95% of it, keyword search ranks by `ts_rank_cd`, hybrid fuses with the local engine's fusion.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct SearchTests {
    static let dimension = 32

    /// The fixture batch in PostgreSQL and in a local flat index keyed by the same numbers.
    static func load(_ postgres: PostgresBackend, count: Int) async throws -> (
        WriteBatch, FlatIndex, [String: DocumentID]
    ) {
        let batch = Fixtures.randomBatch(count: count, dimension: dimension, seed: 42)
        try await postgres.initialize(embedderID: Fixtures.embedderID, dimension: dimension, configuration: nil)
        let numbers = try await postgres.write(batch).numbers
        var index = try FlatIndex(dimension: dimension, metric: .cosine, storage: .f32)
        for record in batch.memories {
            try index.add(record.taskVector, id: try #require(numbers[record.memory.id]))
        }
        return (batch, index, numbers)
    }

    @Test func exactVectorSearchGivesTheLocalTopTenAndHNSWRecallsIt() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let (_, index, _) = try await Self.load(postgres, count: 3000)
            var generator = SplitMix64(seed: 9)
            var recalled = 0
            let queries = 30
            for _ in 0..<queries {
                let query = Fixtures.unitVector(dimension: Self.dimension, using: &generator)
                let local = try index.search(query, k: 10)
                let exact = try await postgres.searchVectors(query, k: 10, mode: .exact)
                #expect(exact.map(\.id) == local.map(\.id))
                for (remote, expected) in zip(exact, local) {
                    #expect(abs((remote.denseScore ?? 0) - expected.score) < 1e-5)
                }
                #expect(exact.map(\.denseRank) == Array(1...10))
                let approximate = try await postgres.searchVectors(query, k: 10, mode: .hnsw(efSearch: 64))
                recalled += Set(approximate.map(\.id)).intersection(local.map(\.id)).count
            }
            let recall = Double(recalled) / Double(10 * queries)
            print("HNSW (ef_search 64) recall@10 vs exact over 3000 memories, 32 dimensions: \(recall)")
            #expect(recall >= 0.95)
        }
    }

    @Test func filtersApplyInTheDatabase() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let (batch, _, numbers) = try await Self.load(postgres, count: 400)
            let query = batch.memories[0].taskVector
            let filter = PostgresSearchFilter(sources: ["textworld"], labels: ["fold": "train"])
            let allowed = Set(
                batch.memories.filter { $0.memory.source == "textworld" && $0.memory.labels["fold"] == "train" }
                    .compactMap { numbers[$0.memory.id] })
            for mode in [PostgresVectorSearch.exact, .hnsw(efSearch: 40)] {
                let hits = try await postgres.searchVectors(query, k: 20, mode: mode, filter: filter)
                #expect(hits.count == 20)
                #expect(hits.allSatisfy { allowed.contains($0.id) })
                #expect(hits.first?.id == numbers["m0"])
            }
        }
    }

    /// Filters in the database take a source or label as Swift compares them, by canonical equivalence, through
    /// their Normalization Form C, and by bytes (which the indexes serve) for texts no other text is equivalent to;
    /// several labels and sources bind in order (hostile run 15's list, and this session's review).
    @Test func filtersMatchEquivalentSourcesAndLabelsInTheDatabase() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let trajectories = [
                Fixtures.trajectory(
                    "composed", task: "brew coffee", source: "caf\u{E9}",
                    labels: ["fold": "\u{E9}t\u{E9}", "kind": "a"]),
                Fixtures.trajectory(
                    "decomposed", task: "brew tea", source: "cafe\u{301}",
                    labels: ["fold": "e\u{301}te\u{301}", "kind": "a"]),
                Fixtures.trajectory(
                    "otherKind", task: "brew cocoa", source: "caf\u{E9}",
                    labels: ["fold": "\u{E9}t\u{E9}", "kind": "b"]),
                Fixtures.trajectory(
                    "ascii", task: "brew water", source: "plain", labels: ["fold": "train", "kind": "a"]),
                Fixtures.trajectory(
                    "asciiOther", task: "brew milk", source: "plain", labels: ["fold": "test", "kind": "a"]),
            ]
            let numbers = try await Fixtures.seed(postgres, with: trajectories, vector: [1, 0])
            for (filter, expected) in [
                (
                    PostgresSearchFilter(sources: ["cafe\u{301}"], labels: ["fold": "\u{E9}t\u{E9}", "kind": "a"]),
                    ["composed", "decomposed"]
                ),
                (
                    PostgresSearchFilter(sources: ["plain", "caf\u{E9}"], labels: ["kind": "a", "fold": "train"]),
                    ["ascii"]
                ),
                (PostgresSearchFilter(labels: ["fold": "e\u{301}te\u{301}"]), ["composed", "decomposed", "otherKind"]),
            ] {
                let ids = Set(expected.compactMap { numbers[$0] })
                for mode in [PostgresVectorSearch.exact, .hnsw(efSearch: 40)] {
                    let hits = try await postgres.searchVectors([1, 0], k: 10, mode: mode, filter: filter)
                    #expect(Set(hits.map(\.id)) == ids, "\(mode) \(expected)")
                }
                let hits = try await postgres.searchKeywords("brew", k: 10, filter: filter)
                #expect(Set(hits.map(\.id)) == ids, "keywords \(expected)")
            }
        }
    }

    /// A database encoded in SQL_ASCII can't normalize text (`normalize` fails there): its sources and labels
    /// compare by their bytes as given, in filters and in deletes' selections, and every selection answers.
    @Test func aDatabaseThatCantNormalizeComparesSourcesAndLabelsByBytes() async throws {
        let database = "memp_ascii_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try await PostgresTestServer.withBackend { admin in
            try await Self.withDatabase(database, encoding: "SQL_ASCII", admin: admin) { location in
                let postgres = try await PostgresBackend.connect(to: location)
                defer { postgres.close() }
                #expect(postgres.canonicalSelection == CanonicalSelection(normalizes: false))
                let numbers = try await Fixtures.seed(
                    postgres,
                    with: [
                        Fixtures.trajectory(
                            "composed", task: "brew coffee", source: "caf\u{E9}", labels: ["fold": "\u{E9}t\u{E9}"]),
                        Fixtures.trajectory(
                            "decomposed", task: "brew tea", source: "cafe\u{301}",
                            labels: ["fold": "e\u{301}te\u{301}"]),
                    ], vector: [1, 0])
                for (filter, expected) in [
                    (PostgresSearchFilter(sources: ["cafe\u{301}"]), "decomposed"),
                    (PostgresSearchFilter(sources: ["caf\u{E9}"]), "composed"),
                    (PostgresSearchFilter(labels: ["fold": "e\u{301}te\u{301}"]), "decomposed"),
                    (PostgresSearchFilter(labels: ["fold": "\u{E9}t\u{E9}"]), "composed"),
                ] {
                    let hits = try await postgres.searchVectors([1, 0], k: 10, mode: .exact, filter: filter)
                    #expect(hits.map(\.id) == [numbers[expected]].compactMap { $0 }, "\(filter)")
                }
                let selected = try await postgres.transaction(commit: false) {
                    (transaction) async throws(MemoryError) -> [[String]] in
                    [
                        try await transaction.trajectoryIDs(in: .source("cafe\u{301}")),
                        try await transaction.trajectoryIDs(in: .label(key: "fold", value: "\u{E9}t\u{E9}")),
                    ]
                }
                #expect(selected == [["decomposed"], ["composed"]])
            }
        }
    }

    /// Runs `body` with a location in a new database of `encoding` on the test server, then drops the database.
    static func withDatabase(
        _ database: String, encoding: String, admin: PostgresBackend, _ body: (PostgresLocation) async throws -> Void
    ) async throws {
        try await admin.withConnection { connection in
            _ = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "CREATE DATABASE \(database) ENCODING '\(encoding)' LC_COLLATE 'C' LC_CTYPE 'C' "
                        + "TEMPLATE template0"), logger: admin.logger)
        }
        var location = try PostgresTestServer.server.get()
        location.database = database
        do {
            try await body(location)
        } catch {
            try? await Self.drop(database, with: admin)
            throw error
        }
        try await Self.drop(database, with: admin)
    }

    /// Drops `database`, ending the connections still open to it.
    static func drop(_ database: String, with admin: PostgresBackend) async throws {
        try await admin.withConnection { connection in
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"), logger: admin.logger)
        }
    }

    @Test func keywordSearchRanksByCoverDensityOverAnyQueryTerm() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let tasks = [
                "both": "heat the mug in the microwave", "mug": "wash a mug", "microwaves": "open the microwaves",
                "none": "slice some bread",
            ]
            let trajectories = tasks.sorted { $0.key < $1.key }.map {
                Fixtures.trajectory($0.key, task: $0.value, source: "s", labels: [:])
            }
            let numbers = try await Fixtures.seed(postgres, with: trajectories, vector: [1, 0])
            let hits = try await postgres.searchKeywords("Heating mugs with a microwave", k: 10)
            // Stemming matches heat/heating, mug/mugs, microwave/microwaves; the stop word "with" is ignored.
            #expect(hits.first?.id == numbers["both"])
            #expect(Set(hits.map(\.id)) == Set(["both", "mug", "microwaves"].compactMap { numbers[$0] }))
            #expect(hits.map(\.keywordRank) == [1, 2, 3])
            #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
            #expect(try await postgres.searchKeywords("the of and", k: 5).isEmpty)
        }
    }

    /// Tasks written in other Unicode forms of the same words, and the words each query finds (by memory ID).
    static let unicodeTasks = [
        "nfc": "order a caf\u{E9} au lait", "nfd": "visit the cafe\u{301} downtown",
        "wide": "open the \u{FF26}\u{FF32}\u{FF29}\u{FF24}\u{FF27}\u{FF25} door",
        "ligature": "\u{FB01}le the tax report",
        "turkish": "fly to \u{130}STANBUL", "street": "cross the Stra\u{DF}e",
        "tokyo": "\u{6771}\u{4EAC}\u{90FD}\u{306B}\u{4F4F}\u{3080}",
        "milk": "heat some milk",
    ]
    static let unicodeQueries: [(query: String, ids: Set<String>)] = [
        ("CAF\u{C9}", ["nfc", "nfd"]),  // NFC, upper case
        ("cafe\u{301}", ["nfc", "nfd"]),  // NFD
        ("fridges", ["wide"]),  // ASCII against full-width
        ("\u{FF46}\u{FF49}\u{FF4C}\u{FF45}\u{FF53}", ["ligature"]),  // full-width "files" against the ligature
        ("\u{FB01}les", ["ligature"]),  // the ligature in the query
        ("STRASSE", ["street"]),  // ß folds to ss
        ("\u{130}stanbul", ["turkish"]),  // İ folds to i + U+0307 on both sides
        // Full case folding makes İ "i" + U+0307, which is not "i": the local index finds nothing, and so must
        // PostgreSQL (whose english configuration lower-cased İ to a plain "i" and found the task).
        ("istanbul", []),
        ("\u{6771}\u{4EAC}", ["tokyo"]),  // a CJK bigram inside a run
    ]

    /// A bm25 lookup in PostgreSQL matches the memories a local store's matches, whatever the Unicode form or case
    /// of the words: both search the local keyword index's terms.
    ///
    /// Before, PostgreSQL parsed the raw text with its english configuration: an NFD query missed NFC tasks,
    /// full-width letters and ligatures were words of their own, a run of CJK characters was one word, and
    /// "istanbul" found "İSTANBUL", which the local index does not.
    @Test func unicodeFormsMatchTheMemoriesALocalStoreMatches() async throws {
        try await PostgresTestServer.withBackend { setup in
            let embedder = HashingEmbedder(dimension: 16)
            let trajectories = Self.unicodeTasks.sorted { $0.key < $1.key }.map {
                Fixtures.trajectory($0.key, task: $0.value, source: "s", labels: [:])
            }
            let local = try await MemoryStore.open(
                backend: try SQLiteBackend(path: nil), embedder: embedder, cacheDirectory: nil)
            try await local.add(trajectories)
            try await MemoryStore.open(backend: setup, embedder: embedder, cacheDirectory: nil).add(trajectories)
            let database = try await PostgresBackend.connect(to: setup.location, databaseSearch: .exact)
            defer { database.close() }
            let remote = try await MemoryStore.open(backend: database, embedder: embedder, cacheDirectory: nil)
            for (query, ids) in Self.unicodeQueries {
                let options = RetrievalOptions(policy: .bm25, k: 10)
                let localIDs = Set(try await local.retrieve(query, options: options).map(\.memory.id))
                let remoteHits = try await remote.retrieve(query, options: options)
                #expect(localIDs == ids, "local, \(query.debugDescription)")
                #expect(Set(remoteHits.map(\.memory.id)) == ids, "PostgreSQL, \(query.debugDescription)")
                #expect(remoteHits.allSatisfy { $0.explanation.database == "PostgreSQL (ts_rank_cd)" })
            }
            #expect(remote.cacheState == .deferred)
        }
    }

    /// A NUL in the task separates words, and a filter holding one matches nothing, as on SQLite.
    ///
    /// Hostile run 12: PostgreSQL can't hold a NUL, so a bm25 or hybrid lookup of `"open\u0000door"` and any lookup
    /// filtered by such a source or label failed ("invalid byte sequence for encoding UTF8: 0x00", HTTP 500).
    @Test func aNULInTheTaskOrAFilterIsNoDatabaseFailure() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let trajectories = [
                Fixtures.trajectory("door", task: "open the door", source: "s", labels: ["k": "v"]),
                Fixtures.trajectory("bread", task: "slice some bread", source: "s", labels: ["k": "v"]),
            ]
            let numbers = try await Fixtures.seed(postgres, with: trajectories, vector: [1, 0])
            let hits = try await postgres.searchKeywords("open\u{0}door", k: 5)
            #expect(hits.map(\.id) == [numbers["door"]].compactMap { $0 })
            let hybrid = try await postgres.searchHybrid(text: "door\u{0}", vector: [1, 0], k: 5, mode: .exact)
            #expect(hybrid.first?.id == numbers["door"])
            for filter in [
                PostgresSearchFilter(sources: ["s\u{0}"]), PostgresSearchFilter(labels: ["k": "v\u{0}"]),
                PostgresSearchFilter(labels: ["k\u{0}": "v"]),
            ] {
                #expect(try await postgres.searchKeywords("door", k: 5, filter: filter).isEmpty)
                #expect(try await postgres.searchVectors([1, 0], k: 5, mode: .exact, filter: filter).isEmpty)
            }
            let both = PostgresSearchFilter(sources: ["s", "s\u{0}"])
            #expect(try await postgres.searchKeywords("door", k: 5, filter: both).map(\.id) == [numbers["door"]])
        }
    }

    /// A NUL that a combining mark follows is a word separator too, not a database failure.
    ///
    /// The NUL was replaced by a `Character` search, which does not find one that begins a grapheme cluster with
    /// a mark: `"open\u{0}\u{301}door"` still went to PostgreSQL with its NUL ("invalid byte sequence for encoding
    /// UTF8: 0x00", HTTP 500), while the local tokenizer splits it into "open" and "door".
    @Test func aNULBeforeACombiningMarkIsNoDatabaseFailure() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let trajectories = [
                Fixtures.trajectory("door", task: "open the door", source: "s", labels: [:]),
                Fixtures.trajectory("bread", task: "slice some bread", source: "s", labels: [:]),
            ]
            let numbers = try await Fixtures.seed(postgres, with: trajectories, vector: [1, 0])
            let hits = try await postgres.searchKeywords("open\u{0}\u{301}door", k: 5)
            #expect(hits.map(\.id) == [numbers["door"]].compactMap { $0 })
            let hybrid = try await postgres.searchHybrid(
                text: "door\u{0}\u{301}", vector: [1, 0], k: 5, mode: .exact)
            #expect(hybrid.first?.id == numbers["door"])
        }
    }

    /// A task of more words than PostgreSQL's text search parses in one query is a lookup error saying so.
    ///
    /// Hostile run 12: 20,000 words (within the 1 MiB lookup limit) exceeded PostgreSQL's stack depth (SQLSTATE
    /// 54001), told as "The database can't hold a record of this write … shorten the record's ID, source or
    /// keywords".
    @Test func aTaskOfTooManyWordsForTheTextSearchIsALookupError() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let trajectories = [Fixtures.trajectory("door", task: "open the door", source: "s", labels: [:])]
            _ = try await Fixtures.seed(postgres, with: trajectories, vector: [1, 0])
            let task = String(repeating: "door ", count: 100_000)
            var errors: [MemoryError] = []
            do throws(MemoryError) { _ = try await postgres.searchKeywords(task, k: 5) } catch { errors.append(error) }
            do throws(MemoryError) {
                _ = try await postgres.searchHybrid(text: task, vector: [1, 0], k: 5, mode: .exact)
            } catch {
                errors.append(error)
            }
            #expect(errors.count == 2)
            for error in errors {
                guard case .lookupTaskTooLargeForDatabase(let reason) = error else {
                    Issue.record("expected lookupTaskTooLargeForDatabase, got \(error)")
                    continue
                }
                #expect(reason.contains("SQLSTATE 54001"))
            }
        }
    }

    @Test func hybridFusesBothListsWithTheLocalFusion() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let (batch, _, numbers) = try await Self.load(postgres, count: 500)
            let text = "heat mug microwave"
            let vector = batch.memories[7].taskVector
            let dense = try await postgres.searchVectors(vector, k: 50, mode: .exact)
            let keyword = try await postgres.searchKeywords(text, k: 50)
            for method in [FusionMethod.reciprocalRank(rankConstant: 60), .convex(alpha: 0.5, normalization: .minMax)] {
                let hybrid = try await postgres.searchHybrid(
                    text: text, vector: vector, k: 10, depth: 50, fusion: method, mode: .exact)
                let expected = fuse(
                    dense: dense.map { SearchHit(id: $0.id, score: $0.denseScore ?? 0) },
                    keyword: keyword.map { SearchHit(id: $0.id, score: $0.keywordScore ?? 0) },
                    method: method)
                #expect(hybrid == Array(expected.prefix(10)))
                #expect(hybrid.contains { $0.id == numbers["m7"] && $0.denseRank == 1 })
            }
        }
    }

    @Test func rejectsBadArguments() async throws {
        try await PostgresTestServer.withBackend { postgres in
            try await postgres.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            await #expect(throws: MemoryError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
                try await postgres.searchVectors([1, 0], k: 0)
            }
            await #expect(throws: MemoryError.invalidParameter(name: "k", value: 0, expected: "at least 1")) {
                try await postgres.searchKeywords("potato", k: 0)
            }
            await #expect(
                throws: MemoryError.invalidParameter(name: "efSearch", value: 0, expected: "within 1...1000")
            ) {
                try await postgres.searchVectors([1, 0], k: 1, mode: .hnsw(efSearch: 0))
            }
            await #expect(throws: MemoryError.nonFiniteVector(memoryID: nil, field: "query", position: 1)) {
                try await postgres.searchVectors([0, .infinity], k: 1)
            }
            await #expect(
                throws: MemoryError.invalidParameter(name: "candidateDepth", value: 2, expected: "at least k (3)")
            ) {
                try await postgres.searchHybrid(text: "potato", vector: [1, 0], k: 3, depth: 2)
            }
            await #expect(throws: MemoryError.policyNotInDatabase(.keyword)) {
                try await postgres.search("potato", vector: nil, options: RetrievalOptions(policy: .keyword))
            }
        }
    }
}
