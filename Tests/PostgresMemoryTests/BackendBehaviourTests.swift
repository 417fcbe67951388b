import Embeddings
import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import Synchronization
import TestSupport
import Testing

/// A backend a behaviour case runs on.
enum BackendKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// A SQLite store on disk.
    case sqlite
    /// A PostgreSQL store in a fresh schema of the test server.
    case postgreSQL

    var testDescription: String { rawValue }

    /// The kinds this run can test: PostgreSQL only when a server is available (see ``PostgresTestServer``, which
    /// says on stderr why not).
    static var available: [BackendKind] { PostgresTestServer.isAvailable ? allCases : [.sqlite] }

    /// Runs `body` with a store on a fresh backend of this kind holding `trajectories` (added with `options`),
    /// then deletes the backend's data.
    func withStore(
        holding trajectories: [Trajectory] = BackendBehaviourTests.trajectories,
        options: ImportOptions = ImportOptions(), _ body: (MemoryStore) async throws -> Void
    ) async throws {
        try await withStores(holding: trajectories, options: options) { store, _ in try await body(store) }
    }

    /// Runs `body` as ``withStore(holding:options:_:)`` does, with a function that opens another store on the same
    /// backend, as another process would (its own connections, its own write lock).
    func withStores(
        holding trajectories: [Trajectory] = BackendBehaviourTests.trajectories,
        options: ImportOptions = ImportOptions(),
        _ body: (MemoryStore, _ openAnother: () async throws -> MemoryStore) async throws -> Void
    ) async throws {
        let embedder = HashingEmbedder(dimension: 16)
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.file(SQLiteStore.databaseFileName)
            let store = try await MemoryStore.open(
                backend: try SQLiteBackend(path: path), embedder: embedder, cacheDirectory: directory.file("index"))
            try await store.add(trajectories, options: options)
            try await body(store) {
                try await MemoryStore.open(
                    backend: try SQLiteBackend(path: path), embedder: embedder, cacheDirectory: nil)
            }
        case .postgreSQL:
            try await PostgresTestServer.withBackend { backend in
                var others: [PostgresBackend] = []
                defer { for other in others { other.close() } }
                let store = try await MemoryStore.open(backend: backend, embedder: embedder, cacheDirectory: nil)
                try await store.add(trajectories, options: options)
                try await body(store) {
                    let other = try await PostgresBackend.connect(to: backend.location)
                    others.append(other)
                    return try await MemoryStore.open(backend: other, embedder: embedder, cacheDirectory: nil)
                }
            }
        }
    }
}

/// A script writer that runs `interleaved` once, when it writes its first script: what another process does while
/// an update builds its batch, after it read which tasks were applied.
final class InterleavingScriptWriter: ScriptWriter {
    let name = "interleaving"
    private let interleaved: @Sendable () async throws -> UpdateReport
    /// What `interleaved` returned, or the error it threw, once it ran.
    let outcome = Mutex<Result<UpdateReport, any Error>?>(nil)

    init(_ interleaved: @escaping @Sendable () async throws -> UpdateReport) {
        self.interleaved = interleaved
    }

    func script(for trajectory: Trajectory) async throws(MemoryError) -> String {
        if outcome.withLock({ $0 == nil }) {
            let result: Result<UpdateReport, any Error>
            do { result = .success(try await interleaved()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
        }
        return trajectory.steps.map(\.action).joined(separator: "\n")
    }
}

/// What every backend does the same, because the rules live once in ProceduralMemory: the same cases, run against
/// SQLite on disk and a real PostgreSQL.
@Suite struct BackendBehaviourTests {
    static func trajectory(_ id: String, task: String, source: String = "alfworld", success: Bool = true) -> Trajectory
    {
        Trajectory(
            id: id, task: task, steps: [Step(action: "go to the \(task)", observation: "You arrive.")],
            outcome: Outcome(success: success), source: source, labels: ["fold": source == "alfworld" ? "a" : "b"])
    }

    static let trajectories = [
        trajectory("heat", task: "heat some milk"), trajectory("clean", task: "clean an apple"),
        trajectory("cook", task: "cook a potato", source: "textworld"),
    ]

    /// One line per history row: what a store's history shows, without numbers and dates.
    static func summary(_ history: [HistoryEntry]) -> [String] {
        history.map { entry in
            "\(entry.memoryID) \(entry.action.rawValue) \(entry.policy) r\(entry.before?.revision ?? 0)"
                + "→r\(entry.after?.revision ?? 0)"
        }
    }

    @Test(arguments: BackendKind.available)
    func trajectoryOutcomesAreReadInOneBatchAndReachTheHits(kind: BackendKind) async throws {
        var failed = Self.trajectory("fail", task: "light the lamp")
        failed.outcome = Outcome(success: false, reward: 0.25)
        var rewarded = Self.trajectory("reward", task: "water the plant")
        rewarded.outcome = Outcome(success: nil, reward: 0.75)
        var unknown = Self.trajectory("unknown", task: "feed the cat")
        unknown.outcome = nil
        try await kind.withStore(holding: Self.trajectories + [failed, rewarded, unknown]) { store in
            // More IDs than one SQLite statement binds, the stored ones last; missing IDs and a trajectory without
            // an outcome get no entry.
            let ids = (0..<1_200).map { "missing-\($0)" } + ["heat", "fail", "reward", "unknown"]
            #expect(
                try await store.backend.trajectoryOutcomes(among: ids) == [
                    "heat": Outcome(success: true), "fail": Outcome(success: false, reward: 0.25),
                    "reward": Outcome(success: nil, reward: 0.75),
                ])
            #expect(try await store.backend.trajectoryOutcomes(among: []).isEmpty)
            for (task, outcome) in [
                ("light the lamp", Outcome(success: false, reward: 0.25)), ("feed the cat", nil),
                ("water the plant", Outcome(success: nil, reward: 0.75)),
            ] {
                let hits = try await store.retrieve(task, options: RetrievalOptions(policy: .bm25, k: 1))
                #expect(hits.map(\.memory.task) == [task])
                #expect(hits.first?.sourceOutcome == outcome)
                #expect(try await store.details(ofMemory: hits[0].memory.id).sourceOutcome == outcome)
            }
        }
    }

    /// A source or label written composed (`"café"`) and one written decomposed (`"cafe\u{301}"`) are one to
    /// deletes and lookup filters, as they are to the in-process indexes and to Swift: the deletes and PostgreSQL's
    /// filters compared bytes, so `delete(.source("café"))` left the other trajectory (hostile run 15's list).
    @Test(arguments: BackendKind.available)
    func equivalentSourcesAndLabelsAreOneToDeletesAndFilters(kind: BackendKind) async throws {
        var composed = Self.trajectory("composed", task: "brew the coffee", source: "caf\u{E9}")
        composed.labels = ["fold": "\u{E9}t\u{E9}"]
        var decomposed = Self.trajectory("decomposed", task: "brew the tea", source: "cafe\u{301}")
        decomposed.labels = ["fold": "e\u{301}te\u{301}"]
        try await kind.withStore(holding: Self.trajectories + [composed, decomposed]) { store in
            for policy in [RetrievalPolicy.query, .bm25, .hybrid] {
                for options in [
                    RetrievalOptions(policy: policy, k: 10, sources: ["cafe\u{301}"]),
                    RetrievalOptions(policy: policy, k: 10, labels: ["fold": "\u{E9}t\u{E9}"]),
                ] {
                    let hits = try await store.retrieve("brew the coffee", options: options)
                    #expect(Set(hits.map(\.memory.id)) == ["composed", "decomposed"], "\(policy)")
                }
            }
            let byLabel = try await store.delete(.label(key: "fold", value: "e\u{301}te\u{301}"), dryRun: true)
            #expect(byLabel.trajectories == 2 && Set(byLabel.memories) == ["composed", "decomposed"])
            let bySource = try await store.delete(.source("caf\u{E9}"))
            #expect(bySource.trajectories == 2 && Set(bySource.memories) == ["composed", "decomposed"])
            #expect(try await store.statistics().trajectories == Self.trajectories.count)
        }
    }

    /// The foreign-commit marker stays the same across a store's own commits and changes with another writer's, so
    /// that a store rebuilds, rather than saves, indexes that missed that commit.
    ///
    /// Hostile run 22: PostgreSQL had none, so two processes importing into one store each saved index caches that
    /// lacked the other's memories under the latest generation, and `memp verify` reported them (finding 212).
    @Test(arguments: BackendKind.available)
    func theForeignCommitMarkerChangesWithAnotherWritersCommitOnly(kind: BackendKind) async throws {
        try await kind.withStores { store, openAnother in
            let other = try await openAnother()
            let marker = try #require(try await store.backend.foreignCommitMarker())
            try await store.add([Self.trajectory("own", task: "open the door")])
            try await store.delete(.id("own"))
            #expect(try await store.backend.foreignCommitMarker() == marker)
            try await other.add([Self.trajectory("theirs", task: "close the door")])
            let changed = try #require(try await store.backend.foreignCommitMarker())
            #expect(changed != marker)
            try await store.add([Self.trajectory("own-2", task: "lock the door")])
            #expect(try await store.backend.foreignCommitMarker() == changed)
        }
    }

    /// A delete changes a memory that loses some of its source trajectories with a new revision and a `detach` row,
    /// and takes with a deleted memory the trajectories merged into it that no memory holds.
    ///
    /// Hostile run 22: the memory changed with neither (finding 211), so that its merge could never be reverted
    /// ("changed after it (entries )"); and the merged trajectories stayed, reached by nothing, and refused their
    /// IDs to imports (finding 214).
    @Test(arguments: BackendKind.available)
    func aDeleteRecordsTheSourcesItTakesAndLeavesNoTrajectoryBehind(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let again = Self.trajectory("heat-2", task: "heat some milk")
            let options = UpdateOptions(policy: .validation)
            let report = try await store.update([FinishedTask(trajectory: again, usedMemories: [])], options: options)
            #expect(report.merged == ["heat-2": "heat"])
            let merged = try #require(try await store.memory(id: "heat"))
            #expect(merged.sourceTrajectoryIDs.sorted() == ["heat", "heat-2"])
            let mergeEntry = try #require(try await store.history(memoryID: "heat").last)
            #expect(mergeEntry.action == .merge)

            let dropped = try await store.delete(.id("heat-2"))
            #expect(dropped.trajectories == 1 && dropped.memories.isEmpty && dropped.detached == ["heat"])
            let kept = try #require(try await store.memory(id: "heat"))
            #expect(kept.sourceTrajectoryIDs == ["heat"] && kept.revision == merged.revision + 1)
            let detach = try #require(try await store.history(memoryID: "heat").last)
            #expect(detach.action == .detach && detach.before == merged && detach.after == kept)
            await #expect(
                throws: MemoryError.cannotRevert(
                    entry: mergeEntry.number,
                    reason: "memory heat changed after it (entry \(detach.number)); revert it first")
            ) {
                try await store.revert(mergeEntry.number)
            }

            let third = Self.trajectory("heat-3", task: "heat some milk")
            try await store.update([FinishedTask(trajectory: third, usedMemories: [])], options: options)
            let before = try await store.statistics().trajectories
            let deleted = try await store.delete(.id("heat"))
            #expect(deleted.trajectories == 2 && deleted.memories == ["heat"] && deleted.detached.isEmpty)
            #expect(try await store.statistics().trajectories == before - 2)
            #expect(try await store.trajectory(id: "heat-3") == nil)
            try await store.add([third])
            #expect(try await store.memory(id: "heat-3")?.sourceTrajectoryIDs == ["heat-3"])
        }
    }

    @Test(arguments: BackendKind.available)
    func everyWriteRecordsItsHistoryRows(kind: BackendKind) async throws {
        try await kind.withStore(options: ImportOptions(builder: MemoryBuilder(policy: .trajectory))) { store in
            var replacement = Self.trajectories[0]
            replacement.task = "heat some milk in the microwave"
            try await store.add([replacement], options: ImportOptions(duplicates: .replace))
            try await store.delete(.id("clean"))
            #expect(
                Self.summary(try await store.history()) == [
                    "heat add trajectory r0→r1", "clean add trajectory r0→r1", "cook add trajectory r0→r1",
                    "heat replace proceduralization r1→r1", "clean delete delete r1→r0",
                ])
            let heat = try await store.history(memoryID: "heat")
            #expect(heat.map(\.action) == [.add, .replace])
            #expect(heat.last?.before?.task == "heat some milk" && heat.last?.after?.task == replacement.task)
            #expect(heat.last?.reason == "add")
            let deletion = try #require(try await store.history(memoryID: "clean").last)
            #expect(deletion.reason == "delete id clean" && deletion.after == nil)
            #expect(try await store.backend.historyEntry(number: deletion.number) == deletion)
            // The database counts a memory's rows as the full read finds them.
            #expect(try await store.backend.historyCount(memoryID: "heat") == 2)
            #expect(try await store.backend.historyCount(memoryID: "clean") == 2)
            #expect(try await store.backend.historyCount(memoryID: "no-such-memory") == 0)
            #expect(try await store.details(ofMemory: "heat").historyEntries == 2)
            #expect(try await store.statistics().historyEntries == 5)
            #expect(try await store.statistics().generation == 3)
        }
    }

    @Test(arguments: BackendKind.available)
    func aMemoryLeftWithoutSourcesIsDeletedWithAHistoryRow(kind: BackendKind) async throws {
        try await kind.withStore { store in
            // A memory built from two trajectories goes only with the last of them.
            let merged = try #require(try await store.memory(id: "heat"))
            var both = merged
            both.id = "merged"
            both.sourceTrajectoryIDs = ["heat", "clean"]
            both.labels = [:]
            _ = try await store.backend.write(
                WriteBatch(
                    trajectories: [],
                    memories: [MemoryRecord(memory: both, taskVector: Self.vector(1), keywordVector: nil)],
                    replacing: false, policy: "merge", reason: "fold"))
            let first = try await store.delete(.source("textworld"))
            #expect(first.trajectories == 1 && first.memories.count == 1)
            try await store.delete(.id("heat"))
            // A memory stops naming a deleted trajectory.
            #expect(try await store.memory(id: "merged")?.sourceTrajectoryIDs == ["clean"])
            let last = try await store.delete(.label(key: "fold", value: "a"))
            #expect(last.trajectories == 1 && last.memories.count == 2)
            #expect(try await store.memory(id: "merged") == nil)
            let orphan = try #require(try await store.history(memoryID: "merged").last)
            #expect(
                orphan.action == .delete
                    && orphan.reason == "delete label fold=a (its source trajectories were deleted)")
            #expect(orphan.before?.sourceTrajectoryIDs == ["clean"])
            let statistics = try await store.statistics()
            #expect(statistics.trajectories == 0 && statistics.memories == 0)
        }
    }

    @Test(arguments: BackendKind.available)
    func replacingATrajectoryDeletesTheMemoriesBuiltOnlyFromIt(kind: BackendKind) async throws {
        try await kind.withStore { store in
            var derived = try #require(try await store.memory(id: "cook"))
            derived.id = "derived"
            var shared = derived
            shared.id = "shared"
            shared.sourceTrajectoryIDs = ["cook", "heat"]
            _ = try await store.backend.write(
                WriteBatch(
                    trajectories: [],
                    memories: [derived, shared].map {
                        MemoryRecord(memory: $0, taskVector: Self.vector(2), keywordVector: nil)
                    },
                    replacing: false, policy: "merge", reason: "fold"))
            let result = try await store.backend.write(
                WriteBatch(
                    trajectories: [Self.trajectory("cook", task: "cook two potatoes", source: "textworld")],
                    memories: [], replacing: true, policy: "proceduralization", reason: "again"))
            #expect(result.replacedTrajectories == 1 && result.removed.count == 2)
            #expect(try await store.memory(id: "derived") == nil)
            #expect(try await store.memory(id: "cook") == nil)
            #expect(try await store.memory(id: "shared")?.sourceTrajectoryIDs == ["cook", "heat"])
            #expect(try await store.trajectory(id: "cook")?.task == "cook two potatoes")
            #expect(
                try await store.history(memoryID: "derived").last?.reason
                    == "again (its source trajectories were replaced)")
            await #expect(throws: MemoryError.alreadyStored(.trajectory, id: "heat")) {
                try await store.backend.write(
                    WriteBatch(
                        trajectories: [Self.trajectories[0]], memories: [], replacing: false, policy: "p", reason: "r"))
            }
        }
    }

    @Test(arguments: BackendKind.available)
    func aMemoryNamingAnUnstoredSourceWritesNothing(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let before = try await store.statistics()
            var ghost = try #require(try await store.memory(id: "heat"))
            ghost.id = "ghost"
            ghost.sourceTrajectoryIDs = ["heat", "gone"]
            await #expect(throws: MemoryError.missingSourceTrajectory(memoryID: "ghost", trajectoryID: "gone")) {
                try await store.backend.write(
                    WriteBatch(
                        trajectories: [Self.trajectory("new", task: "slice bread")],
                        memories: [MemoryRecord(memory: ghost, taskVector: Self.vector(3), keywordVector: nil)],
                        replacing: false, policy: "p", reason: "r"))
            }
            #expect(try await store.statistics() == before)
            #expect(try await store.trajectory(id: "new") == nil)
        }
    }

    @Test(arguments: BackendKind.available)
    func feedbackCountsAndDeprecatesAtTheThresholds(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let generation = try await store.statistics().generation
            let settings = UpdateSettings(minimumHits: 3, minimumSuccessRate: 0.5)
            var changes = try await store.recordOutcome(
                task: "heat some milk", usedMemories: ["heat", "clean", "heat"], outcome: Outcome(success: true),
                settings: settings)
            #expect(changes.map(\.memoryID) == ["heat", "clean"] && changes.allSatisfy { $0.hitCount == 1 })
            #expect(try await store.statistics().generation == generation)
            for _ in 0..<2 {
                changes = try await store.recordOutcome(
                    task: "clean an apple", usedMemories: ["clean"], outcome: Outcome(success: false),
                    settings: settings)
            }
            #expect(changes == [FeedbackChange(memoryID: "clean", hitCount: 3, successCount: 1, deprecated: true)])
            let clean = try #require(try await store.memory(id: "clean"))
            #expect(clean.status == .deprecated && clean.revision == 5)
            #expect(try await store.statistics().generation == generation + 1)
            #expect(try await store.statistics().deprecatedMemories == 1)
            let history = try await store.history(memoryID: "clean")
            #expect(history.map(\.action) == [.add, .feedback, .feedback, .feedback, .deprecate])
            // The newest entries alone, oldest first, of one memory or of all (memp history --last).
            #expect(try await store.history(memoryID: "clean", last: 2) == Array(history.suffix(2)))
            #expect(try await store.history(memoryID: "clean", last: 50) == history)
            let all = try await store.history()
            #expect(try await store.history(last: 3) == Array(all.suffix(3)) && all.count > 5)
            await #expect(throws: MemoryError.invalidParameter(name: "last", value: 0, expected: "at least 1")) {
                try await store.history(last: 0)
            }
            #expect(history[3].reason == "task failed: 1 use, 0 succeeded")
            #expect(history[4].reason == "success rate 1/3 is below 0.5 after at least 3 hits")
            #expect(history[4].before?.status == .active && history[4].after?.status == .deprecated)
            let hits = try await store.retrieve("clean an apple", options: RetrievalOptions(policy: .query, k: 3))
            #expect(!hits.map(\.memory.id).contains("clean"))
            await #expect(throws: MemoryError.unknownID("missing")) {
                try await store.recordOutcome(
                    task: "t", usedMemories: ["heat", "missing"], outcome: Outcome(success: true))
            }
            #expect(try await store.memory(id: "heat")?.hitCount == 1)
        }
    }

    @Test(arguments: BackendKind.available)
    func countersStopAtTheirLimit(kind: BackendKind) async throws {
        try await kind.withStore { store in
            _ = try await store.backend.recordFeedback(
                [CounterIncrement(memoryID: "heat", hits: Memory.maximumCount, successes: 0)],
                settings: UpdateSettings(minimumHits: Memory.maximumCount, minimumSuccessRate: 0), reason: "bulk")
            await #expect(
                throws: MemoryError.counterLimit(
                    id: "heat", counter: "hitCount", current: Memory.maximumCount, limit: Memory.maximumCount)
            ) {
                try await store.recordOutcome(task: "t", usedMemories: ["heat"], outcome: Outcome(success: true))
            }
            #expect(try await store.memory(id: "heat")?.hitCount == Memory.maximumCount)
        }
    }

    @Test(arguments: BackendKind.available)
    func revertRestoresTheStateBeforeAnEntryOnce(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let settings = UpdateSettings(minimumHits: 1, minimumSuccessRate: 0.5)
            try await store.recordOutcome(
                task: "cook a potato", usedMemories: ["cook"], outcome: Outcome(success: false), settings: settings)
            let deprecation = try #require(try await store.history(memoryID: "cook").last)
            #expect(deprecation.action == .deprecate)
            let undo = try await store.revert(deprecation.number)
            #expect(undo.action == .revert && undo.reverts == deprecation.number && undo.policy == "revert")
            let cook = try #require(try await store.memory(id: "cook"))
            #expect(cook.status == .active && cook.hitCount == 1 && cook.revision == 4)
            #expect(try await store.backend.revertingEntry(of: deprecation.number) == undo.number)
            await #expect(
                throws: MemoryError.cannotRevert(
                    entry: deprecation.number, reason: "entry \(undo.number) reverted it already")
            ) {
                try await store.revert(deprecation.number)
            }
            // Undoing an add deletes the memory; undoing that brings it back, searchable again.
            let added = try #require(try await store.history(memoryID: "heat").first)
            let removal = try await store.revert(added.number)
            #expect(removal.after == nil && removal.before?.id == "heat")
            #expect(try await store.memory(id: "heat") == nil)
            let back = try await store.revert(removal.number)
            #expect(back.after?.task == "heat some milk")
            #expect(try await store.memory(id: "heat") != nil)
            let hits = try await store.retrieve("heat some milk", options: RetrievalOptions(policy: .query, k: 1))
            #expect(hits.first?.memory.id == "heat")
            try await store.delete(.id("clean"))
            let deletion = try #require(try await store.history(memoryID: "clean").last)
            await #expect(
                throws: MemoryError.cannotRevert(
                    entry: deletion.number,
                    reason: "source trajectories clean of memory clean are no longer stored; import them again first "
                        + "(if the import adds memory clean anew, revert that import's entry for it too, then this one)"
                )
            ) {
                try await store.revert(deletion.number)
            }
            // The path the message gives: import again, revert the import's new entry, then the deletion.
            let again = try #require(Self.trajectories.first { $0.id == "clean" })
            try await store.add([again])
            let readded = try #require(try await store.history(memoryID: "clean").last)
            #expect(readded.action == .add)
            try await store.revert(readded.number)
            let restored = try await store.revert(deletion.number)
            #expect(restored.after?.task == "clean an apple")
            #expect(try await store.memory(id: "clean")?.task == "clean an apple")
        }
    }

    @Test(arguments: BackendKind.available)
    func aDryRunDeleteReportsExactlyWhatADeleteDoesAndChangesNothing(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let before = try await store.statistics()
            let dryRun = try await store.delete(.source("alfworld"), dryRun: true)
            #expect(dryRun.trajectories == 2 && dryRun.memories.count == 2)
            #expect(try await store.statistics() == before)
            #expect(store.memoryCount == 3)
            let real = try await store.delete(.source("alfworld"))
            #expect(real.trajectories == dryRun.trajectories && Set(real.memories) == Set(dryRun.memories))
            #expect(real.generation == before.generation + 1)
            let nothing = try await store.delete(.source("nowhere"), dryRun: true)
            #expect(nothing == DeleteResult(trajectories: 0, memories: [], numbers: [], generation: real.generation))
            await #expect(throws: MemoryError.unknownID("heat")) { try await store.delete(.id("heat"), dryRun: true) }
        }
    }

    @Test(arguments: BackendKind.available)
    func keywordVectorsAreTheIndexEntriesKeywordVectors(kind: BackendKind) async throws {
        try await kind.withStore { store in
            var expected: [(DocumentID, [Float])] = []
            let entriesGeneration = try await store.backend.forEachIndexEntry { entry in
                if let vector = entry.keywordVector { expected.append((entry.number, vector)) }
            }
            var read: [(DocumentID, [Float])] = []
            let generation = try await store.backend.forEachKeywordVector { read.append(($0, $1)) }
            #expect(generation == entriesGeneration && generation == store.generation)
            #expect(read.count == 3 && read.map(\.0) == expected.map(\.0))
            #expect(zip(read, expected).allSatisfy { $0.1 == $1.1 && $0.1.count == 16 })
        }
    }

    @Test(arguments: BackendKind.available)
    func aChangeOfWhatFiltersSeeIsRecatalogedAndOtherChangesReindexed(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let heat = try #require(try await store.memory(id: "heat"))
            var deprecated = heat
            deprecated.status = .deprecated
            deprecated.labels["reviewed"] = "yes"
            deprecated.revision = heat.revision + 1
            var retasked = try #require(try await store.memory(id: "clean"))
            let cleanRevision = retasked.revision
            retasked.keywords.append("sink")
            retasked.revision += 1
            let batch = WriteBatch(trajectories: [], memories: [], replacing: false, policy: "test", reason: "")
            let result = try await store.backend.apply(
                ChangeSet(
                    batch: batch,
                    changes: [
                        MemoryChange(
                            memoryID: "heat", action: .deprecate, after: deprecated, expectedRevision: heat.revision,
                            policy: "test", reason: "status and labels"),
                        MemoryChange(
                            memoryID: "clean", action: .rewrite, after: retasked, expectedRevision: cleanRevision,
                            policy: "test", reason: "keywords"),
                    ]))
            #expect(result.recataloged.map(\.task) == [heat.task])
            #expect(result.recataloged.first?.catalogEntry.status == .deprecated)
            #expect(result.recataloged.first?.catalogEntry.labels["reviewed"] == "yes")
            #expect(result.reindexed.map(\.task) == [retasked.task])
            #expect(result.reindexed.first?.keywords == retasked.keywords)
        }
    }

    @Test(arguments: BackendKind.available)
    func aChangeExpectsTheRevisionItStartedFrom(kind: BackendKind) async throws {
        try await kind.withStore { store in
            var heat = try #require(try await store.memory(id: "heat"))
            heat.script = "1. heat it"
            heat.revision = 2
            let change = MemoryChange(
                memoryID: "heat", action: .rewrite, after: heat, expectedRevision: 1, policy: "adjustment",
                reason: "failed")
            let batch = WriteBatch(trajectories: [], memories: [], replacing: false, policy: "adjustment", reason: "")
            let result = try await store.backend.apply(ChangeSet(batch: batch, changes: [change]))
            // A new script is new text for the procedure index: the memory is indexed again.
            #expect(result.reindexed.count == 1 && result.recataloged.isEmpty && result.historyNumbers.count == 1)
            #expect(try await store.memory(id: "heat")?.script == "1. heat it")
            await #expect(throws: MemoryError.revisionConflict(id: "heat", expected: 1, actual: 2)) {
                try await store.backend.apply(ChangeSet(batch: batch, changes: [change]))
            }
            let rewrite = try #require(try await store.history(memoryID: "heat").last)
            #expect(rewrite.action == .rewrite && rewrite.before?.revision == 1 && rewrite.after?.revision == 2)
            #expect(rewrite.number == result.historyNumbers[0])
        }
    }

    /// Two resumed updates of the same tasks at once, as two processes run them, apply each task once: the batch
    /// that commits second finds the other's records in its own transaction, and is made again without those tasks;
    /// a later batch leaves out what the other applied before it began.
    ///
    /// Hostile run 20: both counted the failures that validation keeps no trajectory of, as the records were read
    /// once, before the batches, outside their transactions. A review then found a later batch refused as "already
    /// stored" when the other update had stored its trajectories first.
    @Test(arguments: BackendKind.available)
    func twoResumedUpdatesOfTheSameTasksApplyEachTaskOnce(kind: BackendKind) async throws {
        try await kind.withStores { store, openAnother in
            let other = try await openAnother()
            let tasks = [
                FinishedTask(trajectory: Self.trajectory("t-ok", task: "heat some water"), usedMemories: ["heat"]),
                FinishedTask(
                    trajectory: Self.trajectory("t-fail", task: "clean a pear", success: false),
                    usedMemories: ["clean", "heat"]),
                FinishedTask(trajectory: Self.trajectory("t-ok-2", task: "clean a plum"), usedMemories: ["clean"]),
            ]
            let resuming = UpdateOptions(
                policy: .validation, settings: UpdateSettings(batchSize: 1, mergeDuplicates: false), resume: true)
            // The other update runs while this one builds its first batch's memory of t-ok.
            let writer = InterleavingScriptWriter { try await other.update(tasks, options: resuming) }
            var interleaved = resuming
            interleaved.builder.scriptWriter = writer
            let report = try await store.update(tasks, options: interleaved)
            let otherReport = try #require(try writer.outcome.withLock { $0 }?.get())
            #expect(
                otherReport.tasks == 3 && otherReport.alreadyApplied == 0 && otherReport.added == ["t-ok", "t-ok-2"])
            #expect(report.tasks == 0 && report.alreadyApplied == 3 && report.batches == 0 && report.added == [])
            for (id, counters) in [("heat", "2/1"), ("clean", "2/1")] {
                let memory = try #require(try await store.memory(id: id))
                #expect("\(memory.hitCount)/\(memory.successCount)" == counters, "\(id)")
            }
            #expect(
                try await store.backend.appliedTasks(among: nil).map(\.trajectoryID) == ["t-ok", "t-fail", "t-ok-2"])
        }
    }

    /// An update merges with a memory another store (another process) added since this store read its indexes.
    ///
    /// Hostile run 21: it compared with its indexes as they were, so an identical task added just before was
    /// added again (over HTTP, the first update after a CLI commit).
    @Test(arguments: BackendKind.available)
    func anUpdateMergesWithWhatAnotherProcessAddedBefore(kind: BackendKind) async throws {
        try await kind.withStores { store, openAnother in
            let other = try await openAnother()
            let options = UpdateOptions(policy: .vanilla)
            func task(_ id: String) -> FinishedTask {
                FinishedTask(trajectory: Self.trajectory(id, task: "water the fern by the window"), usedMemories: [])
            }
            #expect(try await other.update([task("q-1")], options: options).added == ["q-1"])
            let report = try await store.update([task("q-2")], options: options)
            #expect(report.merged == ["q-2": "q-1"] && report.added == [])
            #expect(try await store.memory(id: "q-1")?.sourceTrajectoryIDs == ["q-1", "q-2"])
        }
    }

    /// A change set records its tasks as applied in its transaction, and writes nothing when one is recorded
    /// already.
    @Test(arguments: BackendKind.available)
    func aChangeSetAppliesEachTaskOnce(kind: BackendKind) async throws {
        try await kind.withStore { store in
            let batch = WriteBatch(trajectories: [], memories: [], replacing: false, policy: "validation", reason: "")
            let date = Date(timeIntervalSince1970: 1_800_000_000)
            let applied = [
                AppliedTask(trajectoryID: "a", outcome: Outcome(success: true), source: "f", line: 1, date: date),
                AppliedTask(trajectoryID: "b", outcome: Outcome(reward: 0.25), source: "f", line: 2, date: date),
            ]
            let use = CounterIncrement(memoryID: "heat", hits: 1, successes: 0, reason: "b")
            var set = ChangeSet(batch: batch, increments: [use], changes: [])
            set.appliedTasks = applied
            _ = try await store.backend.apply(set)
            #expect(try await store.backend.appliedTasks(among: nil) == applied)
            #expect(try await store.backend.appliedTasks(among: ["b", "x"]) == [applied[1]])
            let generation = try #require(try await store.backend.storeInfo()).generation
            set.appliedTasks = [applied[1]]
            set.appliedTasks[0].line = 7
            await #expect(throws: MemoryError.alreadyApplied(id: "b", path: "f", line: 7)) {
                try await store.backend.apply(set)
            }
            #expect(try await store.backend.storeInfo()?.generation == generation)
            #expect(try await store.memory(id: "heat")?.hitCount == 1)
        }
    }

    /// A task vector of the store's dimension pointing along axis `axis`.
    static func vector(_ axis: Int) -> [Float] { (0..<16).map { $0 == axis ? 1 : 0 } }
}
