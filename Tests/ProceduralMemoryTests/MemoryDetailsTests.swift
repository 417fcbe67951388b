import Foundation
import ProceduralMemory
import TestSupport
import Testing

@Suite struct MemoryDetailsTests {
    @Test func detailsCarryTheSourceOutcomeTheCountersAndTheHistory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let id = Samples.heatMug.id

        let added = try await store.details(ofMemory: id)
        #expect(added.memory == (try await store.memory(id: id)))
        #expect(added.sourceOutcome == Outcome(success: true, reward: 1))
        #expect(added.memory.hitCount == 0 && added.memory.successCount == 0 && added.historyEntries == 1)

        try await store.recordOutcome(
            task: "heat a cup", usedMemories: [id], outcome: Outcome(success: false))
        let used = try await store.details(ofMemory: id)
        #expect(used.memory.hitCount == 1 && used.memory.successCount == 0 && used.historyEntries == 2)
        // The source trajectory's outcome is what it was; the use is in the counters.
        #expect(used.sourceOutcome == Outcome(success: true, reward: 1))

        let decoded = try JSONDecoder().decode(MemoryDetails.self, from: try JSONEncoder().encode(used))
        #expect(decoded == used)
    }

    @Test func aTrajectoryIDIsNamedAsATrajectoryWithTheMemoriesHoldingIt() async throws {
        let store = try await TestStoreKind.inMemoryStore(holding: [Samples.heatMug])
        func failed(_ id: String, used: [String]) -> FinishedTask {
            var attempt = Samples.heatMug
            attempt.id = id
            attempt.outcome = Outcome(success: false, reward: 0)
            return FinishedTask(trajectory: attempt, usedMemories: used)
        }
        // Adjustment stores a failed attempt as a source of the memory it used, and builds no memory from it.
        try await store.update(
            [failed("adjusting-run", used: [Samples.heatMug.id])], options: UpdateOptions(policy: .adjustment))
        await #expect(throws: MemoryError.notAMemory(trajectoryID: "adjusting-run", memoryIDs: [Samples.heatMug.id])) {
            try await store.details(ofMemory: "adjusting-run")
        }
        // Feedback and updates name it the same way when an agent reports it as a memory it used.
        let stored = MemoryError.notAMemory(trajectoryID: "adjusting-run", memoryIDs: [Samples.heatMug.id])
        await #expect(throws: stored) {
            try await store.recordOutcome(
                task: Samples.heatMug.task, usedMemories: ["adjusting-run"], outcome: Outcome(success: true))
        }
        await #expect(throws: stored) {
            try await store.update(
                [failed("next-run", used: ["adjusting-run"])], options: UpdateOptions(policy: .vanilla))
        }
        // Reverting the rewrite takes it out of the memory's sources; the trajectory stays stored.
        let rewrite = try #require(try await store.history(memoryID: Samples.heatMug.id).last)
        _ = try await store.revert(rewrite.number)
        await #expect(throws: MemoryError.notAMemory(trajectoryID: "adjusting-run", memoryIDs: [])) {
            try await store.details(ofMemory: "adjusting-run")
        }
        #expect(
            MemoryError.notAMemory(trajectoryID: "adjusting-run", memoryIDs: [Samples.heatMug.id]).description
                == "adjusting-run is a stored trajectory, not a memory; it is a source of memory \(Samples.heatMug.id). "
                + "Give a memory's ID.")
    }

    @Test func anUnknownIDIsNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        await #expect(throws: MemoryError.unknownID("no-such-memory")) {
            try await store.details(ofMemory: "no-such-memory")
        }
    }
}
