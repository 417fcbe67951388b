import Foundation
import MemoryLocation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

@Suite struct FeedbackTests {
    static let mug = "alf-heat-mug-1"

    /// Two stores on one file (as two processes would open it) record outcomes from eight tasks at once: the
    /// counters end at exactly the sum of the increments, and the memory is deprecated once.
    @Test func concurrentOutcomesOnOneFileLoseNoIncrement() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let second = try await MemoryStore.open(at: directory.file("store"), embedder: WordHashEmbedder())
        let other = try #require(Samples.all.map(\.id).first { $0 != Self.mug })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let store = task % 2 == 0 ? first : second
                    for round in 0..<10 {
                        try await store.recordOutcome(
                            task: "t", usedMemories: round % 2 == 0 ? [Self.mug, other] : [other, Self.mug],
                            outcome: Outcome(success: task < 2))
                    }
                }
            }
            try await group.waitForAll()
        }
        let mug = try #require(try await second.memory(id: Self.mug))
        #expect(mug.hitCount == 80 && mug.successCount == 20 && mug.status == .deprecated)
        let history = try await first.history(memoryID: Self.mug)
        #expect(history.filter { $0.action == .feedback }.count == 80)
        #expect(history.filter { $0.action == .deprecate }.count == 1)
        #expect(try await first.memory(id: other)?.hitCount == 80)
    }

    /// Update batches from two stores on one file, each counting a use of the same memory, run at once: the
    /// counters are incremented in place, so no batch conflicts and no use is lost.
    @Test func concurrentUpdateBatchesLoseNoIncrement() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let second = try await MemoryStore.open(at: directory.file("store"), embedder: WordHashEmbedder())
        let options = UpdateOptions(
            policy: .vanilla, settings: UpdateSettings(minimumHits: 1000, mergeDuplicates: false))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for round in 0..<5 {
                        var trajectory = Samples.cookMeal
                        trajectory.id = "attempt-\(task)-\(round)"
                        trajectory.outcome = Outcome(success: round % 2 == 0)
                        let report = try await (task % 2 == 0 ? first : second).update(
                            [FinishedTask(trajectory: trajectory, usedMemories: [Self.mug])], options: options)
                        #expect(report.added == [trajectory.id] && report.feedback.count == 1)
                    }
                }
            }
            try await group.waitForAll()
        }
        let mug = try #require(try await first.memory(id: Self.mug))
        #expect(mug.hitCount == 20 && mug.successCount == 12 && mug.revision == 21)
        #expect(try await first.history(memoryID: Self.mug).filter { $0.action == .feedback }.count == 20)
        #expect(try await second.statistics().memories == Samples.all.count + 20)
    }

    @Test(arguments: TestStoreKind.allCases)
    func countersDeprecateExactlyAtTheThresholds(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let task = Samples.heatMug.task

        let first = try await store.recordOutcome(
            task: task, usedMemories: [Self.mug, Self.mug], outcome: Outcome(success: true))
        #expect(first == [FeedbackChange(memoryID: Self.mug, hitCount: 1, successCount: 1, deprecated: false)])
        try await store.recordOutcome(task: task, usedMemories: [Self.mug], outcome: Outcome(success: false))
        var memory = try #require(try await store.memory(id: Self.mug))
        #expect(memory.hitCount == 2 && memory.successCount == 1 && memory.status == .active && memory.revision == 3)

        // A reward without a flag counts by the success reward: 0.4 < 1 is a failure.
        let third = try await store.recordOutcome(task: task, usedMemories: [Self.mug], outcome: Outcome(reward: 0.4))
        #expect(third == [FeedbackChange(memoryID: Self.mug, hitCount: 3, successCount: 1, deprecated: true)])
        memory = try #require(try await store.memory(id: Self.mug))
        #expect(memory.status == .deprecated && memory.revision == 5)
        #expect(
            try await store.retrieve(task, options: RetrievalOptions(policy: .query, k: 4)).map(\.memory.id).contains(
                Self.mug) == false)
        #expect(
            try await store.retrieve(task, options: RetrievalOptions(policy: .query, k: 1, includeDeprecated: true))
                .first?.memory.id == Self.mug)

        let history = try await store.history(memoryID: Self.mug)
        #expect(history.map(\.action) == [.add, .feedback, .feedback, .feedback, .deprecate])
        #expect(history[3].before?.hitCount == 2 && history[3].after?.hitCount == 3)
        #expect(history[4].before?.status == .active && history[4].after?.status == .deprecated)
        #expect(history[1].reason == "task succeeded: 1 use, 1 succeeded" && history[1].policy == "feedback")
    }

    /// The SQLite backend refuses invalid increments and history numbers without writing, and a replaced history
    /// keeps its numbers, later rows continuing after the largest.
    @Test func backendRefusesBadIncrementsAndKeepsHistoryNumbers() async throws {
        let backend = try SQLiteBackend(path: nil)
        let store = try await MemoryStore.open(backend: backend, embedder: WordHashEmbedder(), cacheDirectory: nil)
        try await store.add(Samples.all)
        let twice = [
            CounterIncrement(memoryID: Self.mug, hits: 1, successes: 0),
            CounterIncrement(memoryID: Self.mug, hits: 1, successes: 1),
        ]
        await #expect(throws: MemoryError.repeatedInBatch(.memory, id: Self.mug)) {
            try await backend.recordFeedback(twice, settings: UpdateSettings(), reason: "r")
        }
        for (hits, successes) in [(1, 2), (-1, 0), (1, -1), (Memory.maximumCount + 1, 0)] {
            await #expect(throws: MemoryError.invalidFeedback(memoryID: Self.mug, hits: hits, successes: successes)) {
                try await backend.recordFeedback(
                    [CounterIncrement(memoryID: Self.mug, hits: hits, successes: successes)],
                    settings: UpdateSettings(), reason: "r")
            }
        }
        let history = try await backend.history(memoryID: nil)
        let first = try #require(history.first)
        await #expect(throws: MemoryError.repeatedInBatch(.historyEntry, id: "\(first.number)")) {
            try await backend.replaceHistory(with: [first, first])
        }
        var unnumbered = first
        unnumbered.number = 0
        await #expect(
            throws: MemoryError.invalidParameter(name: "history entry number", value: 0, expected: "at least 1")
        ) {
            try await backend.replaceHistory(with: [unnumbered])
        }
        #expect(try await backend.history(memoryID: nil) == history)
        var renumbered = history
        renumbered[renumbered.count - 1].number = 100
        try await backend.replaceHistory(with: renumbered)
        #expect(try await backend.history(memoryID: nil) == renumbered)
        try await store.recordOutcome(task: "t", usedMemories: [Self.mug], outcome: Outcome(success: true))
        #expect(try await backend.history(memoryID: nil).last?.number == 101)
        #expect(try await backend.memory(id: Self.mug)?.hitCount == 1)
    }

    @Test func thresholdsAreSettings() async throws {
        let store = try await TestStoreKind.inMemoryStore()
        try await store.add(Samples.all)
        // Success rate exactly at the minimum is kept; strictly below deprecates.
        let settings = UpdateSettings(minimumHits: 2, minimumSuccessRate: 0.5)
        try await store.recordOutcome(
            task: "t", usedMemories: [Self.mug], outcome: Outcome(success: true), settings: settings)
        let atRate = try await store.recordOutcome(
            task: "t", usedMemories: [Self.mug], outcome: Outcome(success: false), settings: settings)
        #expect(atRate.first?.deprecated == false)
        let below = try await store.recordOutcome(
            task: "t", usedMemories: [Self.mug], outcome: Outcome(success: false), settings: settings)
        #expect(below == [FeedbackChange(memoryID: Self.mug, hitCount: 3, successCount: 1, deprecated: true)])
        // One hit short of the minimum never deprecates, however bad.
        let strict = UpdateSettings(minimumHits: 2, minimumSuccessRate: 1)
        let once = try await store.recordOutcome(
            task: "t", usedMemories: ["tw-cook-0007"], outcome: Outcome(success: false), settings: strict)
        #expect(once.first?.deprecated == false)
        await #expect(throws: MemoryError.unknownID("nope")) {
            try await store.recordOutcome(task: "t", usedMemories: [Self.mug, "nope"], outcome: Outcome(success: true))
        }
        // The failed call changed nothing.
        #expect(try await store.memory(id: Self.mug)?.hitCount == 3)
        await #expect(throws: MemoryError.invalidParameter(name: "minimumHits", value: 0, expected: "at least 1")) {
            try await store.recordOutcome(
                task: "t", usedMemories: [Self.mug], outcome: Outcome(success: true),
                settings: UpdateSettings(minimumHits: 0))
        }
        await #expect(
            throws: MemoryError.invalidTrajectory(
                id: Samples.cookMeal.id, field: "task", rule: "must be the task the outcome is recorded for")
        ) {
            try await store.recordOutcome(
                task: "t", usedMemories: [Self.mug], trajectory: Samples.cookMeal, outcome: Outcome(success: true))
        }
        #expect(try await store.memory(id: Self.mug)?.hitCount == 3)
    }

    @Test(arguments: [
        (
            UpdateSettings(minimumHits: 0),
            MemoryError.invalidParameter(name: "minimumHits", value: 0, expected: "at least 1")
        ),
        (
            UpdateSettings(minimumSuccessRate: 1.5),
            MemoryError.invalidParameter(name: "minimumSuccessRate", value: 1.5, expected: "within 0…1")
        ),
        (
            UpdateSettings(batchSize: 0),
            MemoryError.invalidParameter(name: "batchSize", value: 0, expected: "at least 1")
        ),
        (
            UpdateSettings(duplicateTaskSimilarity: -2),
            MemoryError.invalidParameter(name: "duplicateTaskSimilarity", value: -2, expected: "a cosine within -1…1")
        ),
        (
            UpdateSettings(duplicateContentSimilarity: -0.5),
            MemoryError.invalidParameter(name: "duplicateContentSimilarity", value: -0.5, expected: "within 0…1")
        ),
        (
            UpdateSettings(successReward: .infinity),
            MemoryError.invalidParameter(name: "successReward", value: .infinity, expected: "a finite number")
        ),
    ])
    func settingsOutOfRangeNameTheSetting(settings: UpdateSettings, error: MemoryError) {
        #expect(throws: error) { try settings.validate() }
    }

    @Test(arguments: TestStoreKind.allCases)
    func revertRoundTrips(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let original = try #require(try await store.memory(id: Self.mug))
        let settings = UpdateSettings(minimumHits: 1)
        try await store.recordOutcome(
            task: "t", usedMemories: [Self.mug], outcome: Outcome(success: false), settings: settings)
        var history = try await store.history(memoryID: Self.mug)
        #expect(history.map(\.action) == [.add, .feedback, .deprecate])
        let feedback = history[1].number
        let deprecation = history[2].number

        // Only the latest change can be undone.
        await #expect(
            throws: MemoryError.cannotRevert(
                entry: feedback,
                reason: "memory \(Self.mug) changed after it (entry \(deprecation)); revert it first")
        ) {
            try await store.revert(feedback)
        }
        let undo = try await store.revert(deprecation)
        #expect(undo.action == .revert && undo.reverts == deprecation && undo.policy == "revert")
        var memory = try #require(try await store.memory(id: Self.mug))
        #expect(memory.status == .active && memory.hitCount == 1 && memory.revision == 4)
        #expect(
            try await store.retrieve(Samples.heatMug.task, options: RetrievalOptions(policy: .query, k: 1)).first?
                .memory.id == Self.mug)
        await #expect(
            throws: MemoryError.cannotRevert(entry: deprecation, reason: "entry \(undo.number) reverted it already")
        ) {
            try await store.revert(deprecation)
        }
        // A revert is a change like any other: undoing it deprecates again.
        try await store.revert(undo.number)
        #expect(try await store.memory(id: Self.mug)?.status == .deprecated)
        let redo = try await store.history(memoryID: Self.mug).last
        try await store.revert(try #require(redo).number)
        try await store.revert(feedback)
        memory = try #require(try await store.memory(id: Self.mug))
        #expect(memory.hitCount == 0 && memory.status == .active && memory.revision == 7)
        var expected = original
        expected.revision = memory.revision
        expected.updatedAt = memory.updatedAt
        #expect(memory == expected)

        // Reverting an add deletes the memory; reverting that brings it back, re-embedded and retrievable.
        history = try await store.history(memoryID: "tw-cook-0007")
        let removal = try await store.revert(history[0].number)
        #expect(try await store.memory(id: "tw-cook-0007") == nil && removal.after == nil)
        #expect(store.memoryCount == 3)
        try await store.revert(removal.number)
        #expect(store.memoryCount == 4)
        #expect(
            try await store.retrieve(Samples.cookMeal.task, options: RetrievalOptions(policy: .hybrid, k: 1)).first?
                .memory.id == "tw-cook-0007")

        // A deleted memory whose trajectory went with it can't come back until the trajectory does (the message and
        // the way back: BackendBehaviourTests.revertRestoresTheStateBeforeAnEntryOnce, on both backends).
        try await store.delete(.id("alf-clean-apple-1"))
        let deletion = try #require(try await store.history(memoryID: "alf-clean-apple-1").last)
        await #expect {
            try await store.revert(deletion.number)
        } throws: { error in
            guard case .cannotRevert(let entry, _) = error as? MemoryError else { return false }
            return entry == deletion.number
        }
        await #expect(throws: MemoryError.cannotRevert(entry: 9999, reason: "there is no such history entry")) {
            try await store.revert(9999)
        }
        if location == .disk {
            // The caches written after each change match the database.
            let reopened = try await MemoryStore.open(at: directory.file("store"), embedder: WordHashEmbedder())
            #expect(reopened.cacheState == .loaded && reopened.memoryCount == 3)
        }
    }
}
