import Embeddings
import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing

/// The PostgreSQL backend does what the SQLite backend does: the same operations give the same memories,
/// trajectories, history, statistics and index entries.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct BackendTests {
    /// Observable state of a backend, with numbers replaced by memory IDs so that two backends compare.
    struct State: Equatable {
        var memories: [String: Memory]
        var trajectories: [String: Trajectory]
        var history: [String]
        var statistics: StoreStatistics
        var entries: [String: String]
    }

    static func state(_ backend: any MemoryBackend, ids: [String]) async throws -> State {
        var memories: [String: Memory] = [:]
        var trajectories: [String: Trajectory] = [:]
        for id in ids {
            memories[id] = try await backend.memory(id: id)
            trajectories[id] = try await backend.trajectory(id: id)
        }
        let history = try await backend.history(memoryID: nil).map { entry in
            "\(entry.memoryID) \(entry.action) \(entry.policy) \(entry.reason) "
                + "\(entry.before?.revision ?? 0)/\(entry.after?.revision ?? 0) \(entry.before == nil) \(entry.after == nil)"
        }
        var entries: [String: String] = [:]
        let catalog = try await backend.catalog()
        let numbered = try await backend.memories(numbered: Array(catalog.entries.keys))
        _ = try await backend.forEachIndexEntry { entry in
            let id = numbered[entry.number]?.id ?? "?"
            entries[id] =
                "\(entry.searchText)|\(entry.taskVector)|\(entry.keywordVector ?? [])|\(entry.catalogEntry.source)"
                + "|\(entry.catalogEntry.labels.sorted { $0.key < $1.key })|\(entry.catalogEntry.status)"
                + "|\(catalog.entries[entry.number] == entry.catalogEntry)"
        }
        return State(
            memories: memories, trajectories: trajectories, history: history,
            statistics: try await backend.statistics(), entries: entries)
    }

    @Test func writesReplacesAndDeletesLikeTheSQLiteBackend() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let local = try SQLiteBackend(path: nil)
            let backends: [any MemoryBackend] = [local, postgres]
            var generator = SplitMix64(seed: 7)
            let vectors = (0..<6).map { _ in Fixtures.unitVector(dimension: 8, using: &generator) }
            let trajectories = [
                Fixtures.trajectory("a", task: "heat some mug", source: "alfworld", labels: ["fold": "train"]),
                Fixtures.trajectory("b", task: "clean an apple", source: "alfworld", labels: ["fold": "test"]),
                Fixtures.trajectory("c", task: "cook a potato", source: "textworld", labels: ["fold": "train"]),
                Fixtures.trajectory("d", task: "slice bread", source: "textworld", labels: ["fold": "test", "x": "1"]),
            ]
            let records = zip(trajectories, vectors).map { trajectory, vector in
                Fixtures.record(
                    trajectory, vector: vector, keywords: ["w\(trajectory.id)"],
                    keywordVector: trajectory.id == "a" ? nil : vectors[5])
            }
            let ids = trajectories.map(\.id)
            for backend in backends {
                try await backend.initialize(
                    embedderID: Fixtures.embedderID, dimension: 8, configuration: .hashing(dimension: 8))
                #expect(try await backend.storeInfo()?.embedderConfiguration == .hashing(dimension: 8))
                let result = try await backend.write(
                    WriteBatch(
                        trajectories: trajectories, memories: records, replacing: false, policy: "p", reason: "first"))
                #expect(result.generation == 1)
                #expect(Set(result.numbers.keys) == Set(ids))
                #expect(try await backend.existingTrajectoryIDs(among: ["a", "z", "c"]) == ["a", "c"])
            }
            #expect(try await Self.state(local, ids: ids) == Self.state(postgres, ids: ids))

            // A stored ID is refused unless replacing; a replacement keeps one memory per ID and records it.
            for backend in backends {
                await #expect(throws: MemoryError.alreadyStored(.trajectory, id: "b")) {
                    try await backend.write(
                        WriteBatch(
                            trajectories: [trajectories[1]], memories: [records[1]], replacing: false, policy: "p",
                            reason: "again"))
                }
                var changed = records[1]
                changed.memory.task = "clean a red apple"
                changed.memory.revision = 2
                let result = try await backend.write(
                    WriteBatch(
                        trajectories: [trajectories[1]], memories: [changed], replacing: true, policy: "p",
                        reason: "replace"))
                #expect(result.replacedTrajectories == 1)
                #expect(result.removed.count == 1)
            }
            #expect(try await Self.state(local, ids: ids) == Self.state(postgres, ids: ids))

            // Scoped deletes remove exactly their scope, with history rows.
            for backend in backends {
                let byLabel = try await backend.delete(.label(key: "x", value: "1"))
                #expect(byLabel.trajectories == 1 && byLabel.memories.count == 1)
                let bySource = try await backend.delete(.source("alfworld"))
                #expect(bySource.trajectories == 2 && bySource.memories.count == 2)
                let none = try await backend.delete(.source("nowhere"))
                #expect(none.trajectories == 0 && none.memories.isEmpty)
                await #expect(throws: MemoryError.unknownID("zzz")) { try await backend.delete(.id("zzz")) }
            }
            let final = try await Self.state(postgres, ids: ids)
            #expect(final == (try await Self.state(local, ids: ids)))
            #expect(final.memories.keys.sorted() == ["c"])
            #expect(final.statistics.historyEntries == 4 + 1 + 3)
        }
    }

    /// Each catalog entry and index entry carries the memory's combined source outcome, by the library's rule
    /// (``Outcome/combining(_:)``), on both backends.
    @Test func catalogCarriesTheCombinedSourceOutcomeLikeSQLite() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let outcomes: [Outcome?] = [
                Outcome(success: true, reward: 1), Outcome(success: false), Outcome(reward: 0.25), nil,
                Outcome(success: false, reward: 0.75),
            ]
            let trajectories = outcomes.enumerated().map { index, outcome in
                var trajectory = Fixtures.trajectory("t\(index)", task: "task \(index)", source: "s", labels: [:])
                trajectory.outcome = outcome
                return trajectory
            }
            var merged = Fixtures.record(trajectories[1], vector: [0, 1])
            merged.memory.id = "merged"
            merged.memory.sourceTrajectoryIDs = ["t1", "t2", "t4"]
            var empty = Fixtures.record(trajectories[3], vector: [1, 1])
            empty.memory.id = "unknown-outcome"
            let records = trajectories.map { Fixtures.record($0, vector: [1, 0]) } + [merged, empty]
            let expected: [String: Outcome?] = [
                "t0": outcomes[0], "t1": outcomes[1], "t2": outcomes[2], "t3": nil, "t4": outcomes[4],
                "merged": Outcome(success: false, reward: 0.75), "unknown-outcome": nil,
            ]
            for backend in [try SQLiteBackend(path: nil), postgres] as [any MemoryBackend] {
                try await backend.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
                _ = try await backend.write(
                    WriteBatch(
                        trajectories: trajectories, memories: records, replacing: false, policy: "test",
                        reason: "test"))
                let catalog = try await backend.catalog().entries
                let memories = try await backend.memories(numbered: Array(catalog.keys))
                var found: [String: Outcome?] = [:]
                _ = try await backend.forEachIndexEntry { entry in
                    let id = memories[entry.number]?.id ?? "?"
                    found.updateValue(entry.catalogEntry.sourceOutcome, forKey: id)
                    #expect(catalog[entry.number] == entry.catalogEntry, "\(id)")
                }
                #expect(found == expected, "\(type(of: backend))")
            }
        }
    }

    /// A connection the server or the network refuses says why; each of these said only that the connection pool
    /// gave up (`connectionCreationCircuitBreakerTripped`).
    @Test func aRefusedConnectionSaysWhy() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let location = try PostgresTestServer.freshLocation()
        var tls = location
        tls.requireTLS = true
        var wrongPassword = location
        wrongPassword.password = .file(try directory.write("not the password\n", to: "password"))
        var noDatabase = location
        noDatabase.database = "memp_no_such_database"
        for (refused, reason) in [
            (
                tls,
                "the server does not accept TLS; on a network you trust, add sslmode=disable to the URL to connect without it"
            ),
            (wrongPassword, "password authentication failed for user \"\(location.user)\" (SQLSTATE 28P01)"),
            (noDatabase, "database \"memp_no_such_database\" does not exist (SQLSTATE 3D000)"),
        ] {
            await #expect(throws: MemoryError.database(reason: "PostgreSQL at \(refused): \(reason)")) {
                _ = try await PostgresBackend.connect(to: refused)
            }
        }
        // Nothing listens on port 1 of the loopback address; the operating system's words follow the address.
        var closed = location
        closed.port = 1
        do {
            _ = try await PostgresBackend.connect(to: closed)
            Issue.record("connected to port 1")
        } catch {
            guard case .databaseUnavailable(let reason) = error else { throw error }
            #expect(reason.hasPrefix("PostgreSQL at \(closed): can't connect to \(location.host):1: "), "\(reason)")
            #expect(reason.contains("Connection refused"), "\(reason)")
        }
    }

    @Test func initializingTwiceOrWithAnotherDimensionFails() async throws {
        try await PostgresTestServer.withBackend { postgres in
            try await postgres.initialize(embedderID: "e", dimension: 3, configuration: nil)
            await #expect(throws: MemoryError.storeExists(path: postgres.location.url)) {
                try await postgres.initialize(embedderID: "e", dimension: 3, configuration: nil)
            }
            // Hostile run 20: the message told to choose another directory.
            #expect(
                MemoryError.storeExists(path: postgres.location.url).description.hasSuffix(
                    "open it instead, or choose another database or schema."))
            let trajectory = Fixtures.trajectory("t", task: "x", source: "s", labels: [:])
            await #expect(throws: MemoryError.self) {
                try await postgres.write(Fixtures.batch(adding: [trajectory], vector: [1, 0]))
            }
        }
    }

    @Test func fusionChoicesAreRecordedRevertedAndUsedOnPostgreSQL() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let embedder = HashingEmbedder(dimension: 64)
            let store = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            try await store.add([
                Fixtures.trajectory("heat", task: "heat some mug", source: "s", labels: [:]),
                Fixtures.trajectory("clean", task: "clean an apple", source: "s", labels: [:]),
            ])
            #expect(try await store.fusionTuning() == FusionTuning())
            let evidence = FusionTuningEvidence(
                origin: "test", queries: 5, folds: 5, metric: "nDCG@10", chosenScore: 1, defaultScore: 0.5,
                crossValidatedScore: 0.75)
            try await store.recordFusion(.reciprocalRank(rankConstant: 10), evidence: evidence)
            let reopened = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            let hit = try #require(try await reopened.retrieve("heat some mug", options: RetrievalOptions(k: 1)).first)
            #expect(hit.explanation.ranking?.fusion == "reciprocal rank fusion (rank constant 10)")
            await #expect(throws: MemoryError.tuningConflict(expectedEntries: 0, actualEntries: 1)) {
                try await postgres.saveFusionTuning(FusionTuning(), expectedEntries: 0)
            }
            #expect(try await reopened.revertFusion() == nil)
            let stored = try await postgres.fusionTuning()
            #expect(stored.entries.map(\.action) == [.tune, .revert] && stored.entries.last?.reverts == 1)
            await #expect(throws: MemoryError.nothingToRevert) { try await store.revertFusion() }
        }
    }

    @Test func theMemoryStoreRunsUnchangedOnPostgreSQL() async throws {
        try await PostgresTestServer.withBackend { postgres in
            let embedder = HashingEmbedder(dimension: 64)
            let trajectories = [
                Fixtures.trajectory(
                    "heat", task: "heat some mug and put it in coffeemachine", source: "alfworld", labels: [:]),
                Fixtures.trajectory("clean", task: "put a clean apple in fridge", source: "alfworld", labels: [:]),
                Fixtures.trajectory(
                    "keys", task: "find two keychain and put them in safe", source: "alfworld", labels: [:]),
                Fixtures.trajectory("egg", task: "cook an egg in the microwave", source: "textworld", labels: [:]),
            ]
            let remote = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            let local = try await MemoryStore.open(
                backend: try SQLiteBackend(path: nil), embedder: embedder, cacheDirectory: nil)
            for store in [remote, local] { try await store.add(trajectories) }
            for policy in [RetrievalPolicy.query, .bm25, .hybrid, .keyword] {
                let options = RetrievalOptions(policy: policy, k: 3)
                let remoteHits = try await remote.retrieve("heat a mug in the microwave", options: options)
                let localHits = try await local.retrieve("heat a mug in the microwave", options: options)
                // The stores were filled at different instants, so compare what was found, not the dates.
                #expect(remoteHits.map(\.memory.id) == localHits.map(\.memory.id), "\(policy)")
                #expect(remoteHits.map(\.score) == localHits.map(\.score), "\(policy)")
            }
            // A reopened store rebuilds its indexes from PostgreSQL.
            let reopened = try await MemoryStore.open(backend: postgres, embedder: embedder, cacheDirectory: nil)
            #expect(reopened.memoryCount == 4)
            #expect(
                try await reopened.retrieve("clean apple", options: RetrievalOptions(policy: .query, k: 1)).first?
                    .memory.id == "clean")
        }
    }

    /// A store on a backend with a `databaseSearch` runs query, bm25 and hybrid in PostgreSQL without loading its
    /// index caches: exact query results equal the local engine's; random and keyword load the caches first.
    @Test func theStoreSearchesInTheDatabaseWithoutLoadingItsIndexes() async throws {
        try await PostgresTestServer.withBackend { setup in
            let embedder = HashingEmbedder(dimension: 64)
            var generator = SplitMix64(seed: 42)
            let trajectories = (0..<60).map { index in
                let words = (0..<4).map { _ in Fixtures.words.randomElement(using: &generator) ?? "mug" }
                return Fixtures.trajectory(
                    "m\(index)", task: words.joined(separator: " "), source: index % 3 == 0 ? "textworld" : "alfworld",
                    labels: [:])
            }
            let local = try await MemoryStore.open(
                backend: try SQLiteBackend(path: nil), embedder: embedder, cacheDirectory: nil)
            try await local.add(trajectories)
            try await MemoryStore.open(backend: setup, embedder: embedder, cacheDirectory: nil).add(trajectories)
            let exact = try await PostgresBackend.connect(to: setup.location, databaseSearch: .exact)
            let hnsw = try await PostgresBackend.connect(to: setup.location, databaseSearch: .hnsw(efSearch: 200))
            defer {
                exact.close()
                hnsw.close()
            }
            let remote = try await MemoryStore.open(backend: exact, embedder: embedder, cacheDirectory: nil)
            let approximate = try await MemoryStore.open(backend: hnsw, embedder: embedder, cacheDirectory: nil)
            #expect(remote.cacheState == .deferred && remote.memoryCount == 0)
            let task = try #require(trajectories.first?.task)
            for options in [
                RetrievalOptions(policy: .query, k: 10), RetrievalOptions(policy: .query, k: 5, sources: ["textworld"]),
                RetrievalOptions(policy: .query, k: 10, minimumSimilarity: 0.2),
            ] {
                let remoteHits = try await remote.retrieve(task, options: options)
                let localHits = try await local.retrieve(task, options: options)
                // Same memories with the same scores in the same order; memories whose cosines differ by float
                // rounding only (the hashing embedder gives reordered tasks nearly equal vectors) may swap.
                #expect(remoteHits.count == localHits.count)
                #expect(Set(remoteHits.map(\.memory.id)) == Set(localHits.map(\.memory.id)))
                for (remoteHit, localHit) in zip(remoteHits, localHits) {
                    #expect(abs(remoteHit.score - localHit.score) < 1e-5)
                }
                // Explained as the local engine explains its own: the dense side's score and rank.
                #expect(remoteHits.map { $0.explanation.ranking?.denseRank } == localHits.indices.map { $0 + 1 })
                #expect(
                    remoteHits.map { $0.explanation.ranking?.denseRank }
                        == localHits.map { $0.explanation.ranking?.denseRank })
                #expect(remoteHits.first?.explanation.database == "PostgreSQL (exact pgvector scan)")
                let approximateHits = try await approximate.retrieve(task, options: options)
                #expect(approximateHits.map(\.memory.id) == remoteHits.map(\.memory.id))
            }
            let keyword = try await remote.retrieve(task, options: RetrievalOptions(policy: .bm25, k: 5))
            // The keyword score is the database's text rank, and encodes as `textRank`, not `bm25`.
            #expect(
                keyword.count == 5
                    && keyword.allSatisfy {
                        $0.explanation.database != nil && $0.explanation.ranking?.keywordScore != nil
                    })
            #expect(keyword.map { $0.explanation.ranking?.keywordRank } == [1, 2, 3, 4, 5])
            let first = try #require(keyword.first)
            let encoded = String(decoding: try JSONEncoder().encode(first.explanation), as: UTF8.self)
            #expect(encoded.contains(#""textRank":"#) && !encoded.contains(#""bm25":"#))
            #expect(keyword.first?.explanation.description.hasPrefix("ts_rank_cd") == true)
            let hybrid = try await approximate.retrieve(task, options: RetrievalOptions(policy: .hybrid, k: 5))
            #expect(hybrid.first?.memory.id == "m0")
            #expect(hybrid.first?.explanation.database == "PostgreSQL (pgvector HNSW, ef_search 200; ts_rank_cd)")
            #expect(remote.cacheState == .deferred)
            // Feedback goes to the database without loading the caches; the deprecated memory leaves the lookups.
            for _ in 0..<3 {
                try await remote.recordOutcome(task: task, usedMemories: ["m0"], outcome: Outcome(success: false))
            }
            #expect(remote.cacheState == .deferred)
            let afterDeprecation = try await remote.retrieve(task, options: RetrievalOptions(policy: .query, k: 10))
            #expect(afterDeprecation.count == 10 && !afterDeprecation.contains { $0.memory.id == "m0" })
            #expect(try await remote.refresh() == false && remote.cacheState == .deferred)
            // Policies the database doesn't run load the caches, once.
            let randomOptions = RetrievalOptions(policy: .random, k: 3, includeDeprecated: true, seed: 7)
            let random = try await remote.retrieve(task, options: randomOptions)
            #expect(
                random.map(\.memory.id) == (try await local.retrieve(task, options: randomOptions)).map(\.memory.id))
            #expect(try await remote.retrieve(task, options: RetrievalOptions(policy: .random, k: 60)).count == 59)
            #expect(remote.cacheState == .notPersisted && remote.memoryCount == 60)
        }
    }
}
