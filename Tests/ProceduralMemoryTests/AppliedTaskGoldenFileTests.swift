import Foundation
import ProceduralMemory
import TestSupport
import Testing

/// The golden SQLite store of schema v3 (`Fixtures/store-v3`, see its README): every later version reads the
/// records of the tasks its update applied, and a resumed update of the same tasks skips them.
@Suite struct AppliedTaskGoldenFileTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/store-v3"

    @Test func aResumedUpdateSkipsTheTasksTheGoldenStoreRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/store", toPath: path)
        let store = try await MemoryStore.open(at: path)
        #expect(try await MemoryStore.info(at: path).schemaVersion == 3)
        let records = try await store.backend.appliedTasks(among: nil)
        #expect(records.map(\.trajectoryID) == ["heat-cup-2", "heat-bowl-3"])
        #expect(records.map(\.line) == [1, 2] && records.allSatisfy { $0.source == "tasks.jsonl" })
        #expect(records.map(\.outcome) == [Outcome(success: true, reward: 1), Outcome(success: false, reward: 0)])
        // The import's trajectories are stored, and not applied tasks.
        #expect(try await store.statistics().trajectories == 5)
        let counters = try await [
            store.memory(id: "heat-mug").map { "\($0.hitCount)/\($0.successCount)" },
            store.memory(id: "clean-apple").map { "\($0.hitCount)/\($0.successCount)" },
        ]
        #expect(counters == ["2/1", "1/0"])

        let tasks = try FinishedTask.read(from: Self.fixtures + "/tasks.jsonl")
        let options = UpdateOptions(policy: .validation, settings: UpdateSettings(mergeDuplicates: false))
        await #expect(throws: MemoryError.alreadyApplied(id: "heat-cup-2", path: "tasks.jsonl", line: 1)) {
            try await store.update(tasks, options: options, source: "tasks.jsonl")
        }
        var resuming = options
        resuming.resume = true
        let report = try await store.update(tasks, options: resuming, source: "tasks.jsonl")
        #expect(report.alreadyApplied == 2 && report.tasks == 0)
        #expect(try await store.memory(id: "heat-mug")?.hitCount == 2)
    }
}
