import Foundation
import GRDB
import HybridSearch
import MemoryLocation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// The record of fusion choices in a store's settings: lookups use it, every process reads it, reverts restore.
@Suite struct FusionTuningTests {
    static let evidence = FusionTuningEvidence(
        origin: "test", queries: 10, folds: 5, metric: "nDCG@10", chosenScore: 0.6, defaultScore: 0.5,
        crossValidatedScore: 0.55)

    /// The fusion a hybrid lookup of the store ran with, as its explanation names it.
    static func fusionUsed(by store: MemoryStore, options: RetrievalOptions = RetrievalOptions(k: 1)) async throws
        -> String?
    {
        try await store.retrieve("heat some mug", options: options).first?.explanation.ranking?.fusion
    }

    @Test func lookupsUseTheRecordedFusionUntilItIsReverted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        #expect(try await store.fusionTuning() == FusionTuning())
        #expect(try await Self.fusionUsed(by: store) == "reciprocal rank fusion (rank constant 60)")

        let tuned = FusionMethod.convex(alpha: 0.3, normalization: .theoretical)
        let record = try await store.recordFusion(tuned, evidence: Self.evidence)
        #expect(record.entries.map(\.action) == [.tune] && record.fusion == tuned)
        #expect(record.entries.first?.evidence == Self.evidence)
        #expect(try await Self.fusionUsed(by: store) == "convex fusion (alpha 0.3, theoretical normalization)")
        // A fusion named in the options wins over the recorded one.
        #expect(
            try await Self.fusionUsed(
                by: store, options: RetrievalOptions(k: 1, fusion: .reciprocalRank(rankConstant: 10)))
                == "reciprocal rank fusion (rank constant 10)")
        // Another process (a new store object) reads the choice from the settings.
        let reopened = try await MemoryStore.open(at: directory.file("store"), embedder: WordHashEmbedder())
        #expect(try await Self.fusionUsed(by: reopened) == "convex fusion (alpha 0.3, theoretical normalization)")

        try await store.recordFusion(.reciprocalRank(rankConstant: 100), evidence: Self.evidence)
        #expect(try await store.revertFusion() == tuned)
        let reverted = try await store.fusionTuning()
        #expect(reverted.entries.map(\.action) == [.tune, .tune, .revert])
        #expect(reverted.entries.last?.reverts == 2 && reverted.fusion == tuned)
        #expect(try await store.recordedFusion() == tuned)
        #expect(try await Self.fusionUsed(by: store) == "convex fusion (alpha 0.3, theoretical normalization)")
        #expect(try await store.revertFusion() == nil)
        let back = try await store.fusionTuning()
        #expect(back.fusion == nil && back.entries.last?.reverts == 1 && back.activeChoices.isEmpty)
        #expect(try await store.recordedFusion() == nil)
        #expect(try await Self.fusionUsed(by: store) == "reciprocal rank fusion (rank constant 60)")
        await #expect(throws: MemoryError.nothingToRevert) { try await store.revertFusion() }
        #expect(try await store.fusionTuning().entries.count == 4)
    }

    @Test func anotherProcesssChoiceIsSeenAfterRefresh() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        #expect(try await Self.fusionUsed(by: first) == "reciprocal rank fusion (rank constant 60)")
        let second = try await MemoryStore.open(at: directory.file("store"), embedder: WordHashEmbedder())
        try await second.recordFusion(.reciprocalRank(rankConstant: 30), evidence: Self.evidence)
        try await first.refresh()
        #expect(try await Self.fusionUsed(by: first) == "reciprocal rank fusion (rank constant 30)")
    }

    @Test func aChangedRecordIsNotOverwritten() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let record = FusionTuning().choosing(nil, evidence: Self.evidence, at: Date(timeIntervalSince1970: 0))
        try await store.backend.saveFusionTuning(record, expectedEntries: 0)
        await #expect(throws: MemoryError.tuningConflict(expectedEntries: 0, actualEntries: 1)) {
            try await store.backend.saveFusionTuning(record, expectedEntries: 0)
        }
        #expect(try await store.fusionTuning() == record)
    }

    /// `fusion-tuning-v1.json`: the record as the `meta` row holds it (dates in seconds since 1970).
    @Test func readsTheGoldenRecord() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        let golden = try String(
            contentsOfFile: try #require(
                Bundle.module.path(forResource: "fusion-tuning-v1.json", ofType: nil, inDirectory: "Fixtures")),
            encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let database = try DatabaseQueue(path: path + "/" + SQLiteStore.databaseFileName)
        try await database.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('fusionTuning', ?)", arguments: [golden])
        }
        try database.close()
        let tuning = try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).fusionTuning()
        let theoretical = FusionMethod.convex(alpha: 0.3, normalization: .theoretical)
        // The golden record: a choice, a second choice (the default) and the revert of the second.
        let expected = try FusionTuning()
            .choosing(
                theoretical,
                evidence: FusionTuningEvidence(
                    origin: "queries q.jsonl (sha256 ab12)", queries: 40, folds: 5, metric: "nDCG@10",
                    chosenScore: 0.625, defaultScore: 0.375, crossValidatedScore: 0.5),
                at: Date(timeIntervalSince1970: 1_796_400_000.5)
            )
            .choosing(
                nil,
                evidence: FusionTuningEvidence(
                    origin: "feedback (9 successful tasks)", queries: 9, folds: 3, metric: "nDCG@10",
                    chosenScore: 0.5, defaultScore: 0.5, crossValidatedScore: 0.25),
                at: Date(timeIntervalSince1970: 1_796_400_060)
            )
            .reverted(at: Date(timeIntervalSince1970: 1_796_400_120))
        #expect(tuning == expected)
        #expect(tuning.entries.map(\.number) == [1, 2, 3] && tuning.entries.map(\.action) == [.tune, .tune, .revert])
        #expect(tuning.entries.last?.reverts == 2 && tuning.entries.last?.evidence == nil)
        #expect(tuning.fusion == theoretical && tuning.activeChoices.map(\.number) == [1])
    }

    @Test func feedbackTasksNameTheMemoriesEachStoredTrajectoryUsed() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: Samples.all)
        let heat = Samples.heatMug
        let keys = Samples.findKeys
        try await store.recordOutcome(
            task: heat.task, usedMemories: [Samples.cleanApple.id, keys.id], trajectory: heat,
            outcome: Outcome(success: true))
        try await store.recordOutcome(
            task: keys.task, usedMemories: [heat.id], trajectory: keys, outcome: Outcome(success: false))
        // Without a trajectory, and with one the store doesn't hold: no task text, left out.
        try await store.recordOutcome(task: "x", usedMemories: [heat.id], outcome: Outcome(success: true))
        let unknown = Trajectory(id: "not-stored", task: "y", steps: [Step(action: "a")], source: "test")
        try await store.recordOutcome(
            task: "y", usedMemories: [heat.id], trajectory: unknown, outcome: Outcome(success: true))
        #expect(
            try await store.feedbackTasks() == [
                FeedbackTask(
                    trajectoryID: heat.id, task: heat.task, succeededWith: [Samples.cleanApple.id, keys.id],
                    failedWith: []),
                FeedbackTask(trajectoryID: keys.id, task: keys.task, succeededWith: [], failedWith: [heat.id]),
            ])
    }
}
