import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing

/// The source outcomes kept in the indexes' catalog: lookups rank and report with them exactly as if every source
/// trajectory were read, through every way the catalog is filled (import, rebuild, cache load, feedback).
@Suite struct OutcomeCatalogTests {
    static let rooms = ["kitchen", "garden", "cellar", "attic", "office", "hall"]
    static let objects = ["mug", "apple", "coin", "key", "book", "lamp"]

    /// Trajectories with every kind of outcome: succeeded, failed, reward only, none.
    static func trajectories() -> [Trajectory] {
        var rng = SplitMix64(seed: 18)
        return (0..<24).map { index in
            let object = objects[index % objects.count]
            let room = rooms[Int.random(in: 0..<rooms.count, using: &rng)]
            let outcome: Outcome? =
                switch index % 4 {
                case 0: Outcome(success: true, reward: 1)
                case 1: Outcome(success: false)
                case 2: Outcome(reward: Double(index) / 24)
                default: nil
                }
            return Trajectory(
                id: "t\(index)", task: "find the \(object) in the \(room) and bring it back",
                steps: [Step(action: "go to \(room)"), Step(action: "take \(object)")], outcome: outcome,
                source: "test")
        }
    }

    /// Writes a memory merged from a failed and a successful trajectory straight to the backend, as an update
    /// policy's merge leaves it: its first source failed, so "first source" and "any source" rules disagree.
    static func writeMergedMemory(to store: MemoryStore) async throws {
        let failed = Trajectory(
            id: "merged-fail", task: "find the coin in the kitchen", steps: [Step(action: "look")],
            outcome: Outcome(success: false, reward: 0.1), source: "test")
        let succeeded = Trajectory(
            id: "merged-win", task: "find the coin in the kitchen", steps: [Step(action: "open drawer")],
            outcome: Outcome(success: true), source: "test")
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        let memory = Memory(
            id: "merged", task: "find the coin in the kitchen", kind: .merged, buildPolicy: .trajectory,
            steps: succeeded.steps, script: nil, keywords: [], sourceTrajectoryIDs: ["merged-fail", "merged-win"],
            source: "test", labels: [:], embedderID: store.embedder.modelIdentifier, provenance: Provenance(),
            createdAt: date, updatedAt: date)
        _ = try await store.backend.write(
            WriteBatch(
                trajectories: [failed, succeeded],
                memories: [
                    MemoryRecord(
                        memory: memory, taskVector: try await store.embedder.embed([memory.task])[0], keywordVector: nil
                    )
                ], replacing: false, policy: "test", reason: "test"))
    }

    /// Checks a lookup with the outcome prior against the prior computed the slow way: the fused scores without
    /// the prior, every source trajectory read (``MemoryStore/sourceOutcome(of:)``) and the counters of the hit.
    static func expectSameAsReadingEveryTrajectory(
        _ store: MemoryStore, task: String, strength: Double = 0.5, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let k = 4
        let plain = try await store.retrieve(
            task, options: RetrievalOptions(k: 30, candidateDepth: 60, outcomePrior: 0))
        var expected: [String: Double] = [:]
        for hit in plain {
            let outcome = try await store.sourceOutcome(of: hit.memory)
            let rate = OutcomePrior.successRate(
                sourceOutcome: outcome, hits: hit.memory.hitCount, successes: hit.memory.successCount)
            expected[hit.memory.id] = OutcomePrior.adjust(hit.score, successRate: rate, strength: strength)
        }
        let hits = try await store.retrieve(
            task, options: RetrievalOptions(k: k, candidateDepth: 60, outcomePrior: strength))
        #expect(hits.count == min(k, plain.count), sourceLocation: sourceLocation)
        for hit in hits {
            #expect(hit.score == expected[hit.memory.id], "\(hit.memory.id)", sourceLocation: sourceLocation)
            #expect(
                hit.sourceOutcome == (try await store.sourceOutcome(of: hit.memory)), "\(hit.memory.id)",
                sourceLocation: sourceLocation)
        }
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score }, sourceLocation: sourceLocation)
        // Nothing left out scores above the last hit kept.
        let kept = Set(hits.map(\.memory.id))
        let last = hits.last?.score ?? .infinity
        #expect(
            expected.filter { !kept.contains($0.key) }.allSatisfy { $0.value <= last }, sourceLocation: sourceLocation)
    }

    static let tasks = [
        "find the coin in the kitchen", "bring back the mug from the garden", "take the lamp", "the key in the hall",
    ]

    @Test(arguments: TestStoreKind.allCases)
    func priorAndHitsMatchReadingEveryTrajectory(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Self.trajectories())
        // Filled by the import.
        for task in Self.tasks { try await Self.expectSameAsReadingEveryTrajectory(store, task: task) }

        try await Self.writeMergedMemory(to: store)
        #expect(try await store.refresh())
        // Filled by a rebuild from the backend.
        for task in Self.tasks { try await Self.expectSameAsReadingEveryTrajectory(store, task: task) }
        let merged = try #require(
            try await store.retrieve("find the coin in the kitchen", options: RetrievalOptions(k: 30)).first {
                $0.memory.id == "merged"
            })
        #expect(merged.sourceOutcome == Outcome(success: true, reward: 0.1))

        // Counters change without touching the indexes; the prior must see them.
        for id in ["merged", "t2", "t6"] {
            try await store.recordOutcome(task: "x", usedMemories: [id], outcome: Outcome(success: false))
        }
        try await store.recordOutcome(task: "x", usedMemories: ["t1", "t5"], outcome: Outcome(success: true))
        for task in Self.tasks { try await Self.expectSameAsReadingEveryTrajectory(store, task: task) }
    }

    @Test func catalogFromTheCacheFilesCarriesTheOutcomes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        try await store.add(Self.trajectories())
        try await Self.writeMergedMemory(to: store)
        // The first open rebuilds (the direct write made the cache stale) and saves; the second loads the files
        // and reads the catalog alone.
        _ = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded)
        for task in Self.tasks { try await Self.expectSameAsReadingEveryTrajectory(reopened, task: task) }
        let (entries, _) = try await reopened.backend.catalog()
        var byID: [String: Outcome?] = [:]
        for (number, entry) in entries {
            let memory = try #require(try await reopened.backend.memories(numbered: [number])[number])
            byID.updateValue(entry.sourceOutcome, forKey: memory.id)
            #expect(entry.sourceOutcome == (try await reopened.sourceOutcome(of: memory)), "\(memory.id)")
        }
        #expect(byID["merged"] == Outcome(success: true, reward: 0.1))
        #expect(
            byID["t1"] == Outcome(success: false) && byID["t3"] == .some(nil) && byID["t2"] == Outcome(reward: 2.0 / 24)
        )
    }
}
