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

    @Test func anUnknownIDIsNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        await #expect(throws: MemoryError.unknownID("no-such-memory")) {
            try await store.details(ofMemory: "no-such-memory")
        }
    }
}
