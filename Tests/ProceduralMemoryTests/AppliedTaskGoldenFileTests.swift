import Foundation
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

/// Golden SQLite stores of the records of applied tasks (see `Fixtures/README.md`).
///
/// Every later version reads the records of the tasks the update of the store of schema v3 (`Fixtures/store-v3`)
/// applied, and a resumed update of the same tasks skips them. A store of schema 2 (`Fixtures/store-v2-feedback`)
/// reads and upgrades to records of what it took for applied.
@Suite struct AppliedTaskGoldenFileTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/store-v3"
    static let schema2 =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/store-v2-feedback"
    static let schema4 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/store-v4"

    @Test func aResumedUpdateSkipsTheTasksTheGoldenStoreRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.copy(of: Self.fixtures, in: directory)
        let store = try await MemoryStore.open(at: path)
        #expect(try await MemoryStore.info(at: path).schemaVersion == 4)
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

        try await Self.rerunIsRefusedAndResumeSkipsBoth(
            Self.fixtures + "/tasks.jsonl", in: store,
            refusal: .alreadyApplied(id: "heat-cup-2", path: "tasks.jsonl", line: 1))
        #expect(try await store.memory(id: "heat-mug")?.hitCount == 2)
        // Schema 3's records hold no policy (schema 4 added it): they admit a resume with any.
        #expect(try await store.backend.appliedTasks(among: nil).allSatisfy { $0.method == nil })
        let other = UpdateOptions(policy: .adjustment, builder: MemoryBuilder(policy: .trajectory), resume: true)
        let report = try await store.update(
            try FinishedTask.read(from: Self.fixtures + "/tasks.jsonl"), options: other, source: "tasks.jsonl")
        #expect(report.alreadyApplied == 2 && report.tasks == 0)
    }

    /// Every later version reads the policy and build of the records of schema 4 (`Fixtures/store-v4`), and a resume
    /// with another policy or build is refused.
    @Test func aResumeOfTheGoldenStoreOfSchema4MustRepeatItsPolicyAndBuild() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.copy(of: Self.schema4, in: directory)
        let store = try await MemoryStore.open(at: path)
        let records = try await store.backend.appliedTasks(among: nil)
        #expect(records.map(\.trajectoryID) == ["heat-cup-2", "heat-bowl-3"])
        #expect(records.allSatisfy { $0.method == UpdateMethod(policy: .adjustment, build: .script) })
        let tasks = try FinishedTask.read(from: Self.schema4 + "/tasks.jsonl")
        let other = UpdateOptions(policy: .validation, builder: MemoryBuilder(policy: .script), resume: true)
        await #expect(
            throws: MemoryError.resumedWithOtherMethod(
                id: "heat-cup-2", path: "tasks.jsonl", line: 1, appliedPolicy: .adjustment, appliedBuild: .script,
                policy: .validation, build: .script)
        ) {
            try await store.update(tasks, options: other, source: "tasks.jsonl")
        }
        let same = UpdateOptions(policy: .adjustment, builder: MemoryBuilder(policy: .script), resume: true)
        let report = try await store.update(tasks, options: same, source: "tasks.jsonl")
        #expect(report.alreadyApplied == 2 && report.tasks == 0)
    }

    /// A store of schema 2 took as applied every stored trajectory (its import's too) and every failure a feedback
    /// row names: the update's, whose ID holds " succeeded: " (hostile run 20), and one an agent reported live.
    ///
    /// Read-only, as `memp migrate` reads its source, it reads as upgraded (the copy failed for want of the
    /// records' table); opened for writing, it is upgraded to the same records, and a resumed update of its tasks
    /// skips them.
    @Test func aStoreOfSchema2ReadsAndUpgradesToRecordsOfWhatItTookForApplied() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try Self.copy(of: Self.schema2, in: directory)
        try await MemoryStore.copy(from: .directory(path), to: .directory(directory.file("copy")))
        #expect(try await MemoryStore.info(at: path).schemaVersion == 2)
        let copied = try await MemoryStore.open(at: directory.file("copy")).backend.appliedTasks(among: nil)
        #expect(
            copied.map(\.trajectoryID) == [
                "heat-mug", "clean-apple", "find-keys", "cook-egg", "heat-cup-2", "job succeeded: 7", "live-fail-9",
            ])
        #expect(copied.allSatisfy { $0.source == AppliedTask.legacySource && $0.line == nil })
        #expect(
            copied.suffix(3).map(\.outcome) == [
                Outcome(success: true, reward: 1), Outcome(success: false), Outcome(success: false),
            ])

        let store = try await MemoryStore.open(at: path)
        #expect(try await MemoryStore.info(at: path).schemaVersion == 4)
        #expect(try await store.backend.appliedTasks(among: nil) == copied)
        // The upgrade can't tell an update's trajectory from an import's: refused as stored, as before the records.
        try await Self.rerunIsRefusedAndResumeSkipsBoth(
            Self.schema2 + "/tasks.jsonl", in: store,
            refusal: .duplicateTrajectory(id: "heat-cup-2", path: "tasks.jsonl", line: 1))
        let resuming = UpdateOptions(
            policy: .validation, settings: UpdateSettings(mergeDuplicates: false), resume: true)
        // A failure recorded from a feedback row admits any failure, not a success.
        var succeeded = try FinishedTask.read(from: Self.schema2 + "/live.jsonl")
        succeeded[0].trajectory.outcome = Outcome(success: true)
        await #expect(throws: MemoryError.appliedWithOtherOutcome(id: "live-fail-9", path: "live.jsonl", line: 1)) {
            try await store.update(succeeded, options: resuming, source: "live.jsonl")
        }
        for failure in [Outcome(success: false, reward: 0.5), Outcome(reward: 0.2)] {
            succeeded[0].trajectory.outcome = failure
            #expect(try await store.update(succeeded, options: resuming, source: "live.jsonl").alreadyApplied == 1)
        }
        // A record of a stored trajectory admits its outcome only.
        var stored = try FinishedTask.read(from: Self.schema2 + "/tasks.jsonl")
        stored[0].trajectory.outcome = Outcome(success: true, reward: 0.5)
        await #expect(throws: MemoryError.appliedWithOtherOutcome(id: "heat-cup-2", path: "tasks.jsonl", line: 1)) {
            try await store.update(stored, options: resuming, source: "tasks.jsonl")
        }
    }

    /// A migration into a store of schema 2 that holds data is refused before the store is opened for writing, which
    /// would upgrade it (finding 210: the refused destination was upgraded to schema 3).
    @Test func aMigrationRefusedByAStoreOfSchema2LeavesItAtSchema2() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let destination = try Self.copy(of: Self.schema2, in: directory)
        let before = try Data(contentsOf: URL(fileURLWithPath: destination + "/memp.sqlite"))
        let source = directory.file("source")
        try await MemoryStore.create(at: source, embedder: WordHashEmbedder()).add([Samples.heatMug])
        await #expect(throws: MemoryError.storeExists(path: destination)) {
            try await MemoryStore.copy(from: .directory(source), to: .directory(destination))
        }
        #expect(try await MemoryStore.info(at: destination).schemaVersion == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: destination + "/memp.sqlite")) == before)
    }

    /// A copy of the golden store of `fixture` in `directory`, for a test to change.
    static func copy(of fixture: String, in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("store")
        try FileManager.default.copyItem(atPath: fixture + "/store", toPath: path)
        return path
    }

    /// Checks that the two tasks of `file` given again to `store` are refused with `refusal`, and that a resumed
    /// update of them skips both.
    static func rerunIsRefusedAndResumeSkipsBoth(
        _ file: String, in store: MemoryStore, refusal: MemoryError
    ) async throws {
        let tasks = try FinishedTask.read(from: file)
        let options = UpdateOptions(policy: .validation, settings: UpdateSettings(mergeDuplicates: false))
        await #expect(throws: refusal) { try await store.update(tasks, options: options, source: "tasks.jsonl") }
        var resuming = options
        resuming.resume = true
        let report = try await store.update(tasks, options: resuming, source: "tasks.jsonl")
        #expect(report.alreadyApplied == 2 && report.tasks == 0)
    }
}
