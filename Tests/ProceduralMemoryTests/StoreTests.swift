import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import Synchronization
import TestSupport
import Testing
import VectorIndex

@Suite struct StoreTests {
    struct OtherEmbedder: Embedder {
        var modelIdentifier: String { "other:v1:64" }
        var dimension: Int { 64 }
        func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
            try WordHashEmbedder().embed(texts)
        }
    }

    static func ids(_ store: MemoryStore) async throws -> Set<String> {
        Set(
            try await store.retrieve("x", options: RetrievalOptions(policy: .random, k: 100)).map(
                \.memory.id))
    }

    @Test(arguments: TestStoreKind.allCases)
    func scopedDeletesRemoveExactlyTheirScope(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)

        let bySource = try await store.delete(.source("textworld-express"))
        #expect(bySource.trajectories == 1 && bySource.memories.count == 1)
        #expect(
            try await Self.ids(store) == ["alf-heat-mug-1", "alf-clean-apple-1", "alf-look-keychain-1"])
        #expect(try await store.trajectory(id: "tw-cook-0007") == nil && store.memoryCount == 3)

        let byLabel = try await store.delete(.label(key: "taskType", value: "heat"))
        #expect(byLabel.trajectories == 1 && byLabel.memories.count == 1)
        #expect(try await Self.ids(store) == ["alf-clean-apple-1", "alf-look-keychain-1"])

        let byID = try await store.delete(.id("alf-look-keychain-1"))
        #expect(byID.trajectories == 1 && byID.memories.count == 1)
        #expect(try await Self.ids(store) == ["alf-clean-apple-1"])
        #expect(try await store.trajectory(id: "alf-clean-apple-1") == Samples.cleanApple)
        #expect(try await store.memory(id: "alf-clean-apple-1")?.steps == Samples.cleanApple.steps)

        let nothing = try await store.delete(.label(key: "taskType", value: "cookingworld"))
        #expect(nothing.trajectories == 0 && nothing.memories.isEmpty)
        await #expect(throws: MemoryError.unknownID("tw-cook-0007")) {
            try await store.delete(.id("tw-cook-0007"))
        }

        let statistics = try await store.statistics()
        #expect(statistics.trajectories == 1 && statistics.memories == 1)
        let deletions = try await store.history().filter { $0.action == .delete }
        #expect(deletions.map(\.memoryID) == ["tw-cook-0007", "alf-heat-mug-1", "alf-look-keychain-1"])
        #expect(deletions[0].reason == "delete source textworld-express" && deletions[0].after == nil)
        #expect(deletions[0].before?.task == Samples.cookMeal.task)
        for policy in RetrievalPolicy.allCases {
            let hits = try await store.retrieve(
                "put a clean apple in fridge", options: RetrievalOptions(policy: policy))
            #expect(hits.map(\.memory.id) == ["alf-clean-apple-1"])
        }
    }

    @Test func reopensFromTheCacheFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let before: [String]
        do {
            let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
            #expect(store.cacheState == .rebuilt(reason: "\(path)/index/manifest.json is missing"))
            try await store.add(Samples.all)
            before = try await store.retrieve("heat a mug", options: RetrievalOptions(k: 4)).map(
                \.memory.id)
        }
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded && reopened.memoryCount == 4)
        #expect(
            try await reopened.retrieve("heat a mug", options: RetrievalOptions(k: 4)).map(\.memory.id)
                == before)
        let info = try await MemoryStore.info(at: path)
        #expect(
            info.embedderID == "test-words:v1:64" && info.dimension == 64 && info.schemaVersion == 4)
    }

    enum Damage: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case deleteVectors, corruptKeywordIndex, truncateVectors, deleteManifest, staleGeneration
        case otherVectorStorage, hugeManifest, grownVectors
        var testDescription: String { rawValue }
    }

    @Test(arguments: Damage.allCases)
    func rebuildsDamagedOrStaleCachesFromSQLite(damage: Damage) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let task = "put a clean apple in the fridge"
        var before: [[String]] = []
        do {
            let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
            try await store.add(Samples.all)
            for policy in RetrievalPolicy.allCases {
                before.append(
                    try await store.retrieve(task, options: RetrievalOptions(policy: policy, k: 4)).map(
                        \.memory.id))
            }
        }
        let index = path + "/index/"
        switch damage {
        case .deleteVectors:
            try FileManager.default.removeItem(atPath: index + "tasks.vectors")
        case .corruptKeywordIndex:
            var bytes = try Data(contentsOf: URL(fileURLWithPath: index + "text.bm25"))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: index + "text.bm25"))
        case .truncateVectors:
            let bytes = try Data(contentsOf: URL(fileURLWithPath: index + "tasks.vectors"))
            try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: index + "tasks.vectors"))
        case .deleteManifest:
            try FileManager.default.removeItem(atPath: index + "manifest.json")
        case .staleGeneration:
            // Another process writes to the database behind the caches' back.
            let backend = try SQLiteBackend(path: path + "/memp.sqlite")
            _ = try await backend.delete(.id("tw-cook-0007"))
        case .otherVectorStorage:
            break
        case .hugeManifest, .grownVectors:
            // Sparse gigabytes: a loader that read or checksummed them whole would take seconds and the memory.
            let file = FileHandle(
                forWritingAtPath: index + (damage == .hugeManifest ? "manifest.json" : "tasks.vectors"))
            try #require(file).truncate(atOffset: 3 << 30)
            try file?.close()
        }
        let storage: VectorStorage = damage == .otherVectorStorage ? .f32 : .int8
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder(), vectorStorage: storage)
        guard case .rebuilt(let reason) = reopened.cacheState else {
            Issue.record("expected a rebuild, got \(reopened.cacheState)")
            return
        }
        let expectedReason =
            switch damage {
            case .deleteVectors: "tasks.vectors is missing"
            case .corruptKeywordIndex: "text.bm25 does not match its checksum"
            case .truncateVectors: "tasks.vectors is "
            case .deleteManifest: "manifest.json is missing"
            case .staleGeneration: "the cache is at generation 1, the store at 2"
            case .otherVectorStorage: "the cached vectors are stored as int8, not f32"
            case .hugeManifest: "manifest.json is 3221225472 bytes, more than the 65536 it may hold"
            case .grownVectors: "tasks.vectors is 3221225472 bytes, its manifest entry "
            }
        #expect(reason.contains(expectedReason))
        for (policy, ids) in zip(RetrievalPolicy.allCases, before) {
            let now = try await reopened.retrieve(task, options: RetrievalOptions(policy: policy, k: 4))
                .map(\.memory.id)
            #expect(now == (damage == .staleGeneration ? ids.filter { $0 != "tw-cook-0007" } : ids))
        }
        // The rebuild rewrote the caches, so the next open loads them.
        let again = try await MemoryStore.open(at: path, embedder: WordHashEmbedder(), vectorStorage: storage)
        #expect(again.cacheState == .loaded)
    }

    @Test func refreshCatchesUpWithAnotherWriter() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let writer = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        let reader = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        try await writer.add(Samples.all)
        #expect(reader.memoryCount == 0)
        #expect(try await reader.refresh() && reader.memoryCount == 4 && reader.generation == writer.generation)
        // The writer saved the cache files of its write, so the reader read them instead of rebuilding.
        #expect(reader.cacheState == .loaded)
        #expect(try await !reader.refresh())
        try await writer.delete(.source("alfworld"))
        // Without the files, the reader rebuilds from the database, and saves the files for the next open.
        try FileManager.default.removeItem(atPath: path + "/index")
        #expect(try await reader.refresh())
        #expect(reader.cacheState == .rebuilt(reason: "\(path)/index/manifest.json is missing"))
        let hits = try await reader.retrieve("heat a mug", options: RetrievalOptions(policy: .random, k: 10))
        #expect(hits.map(\.memory.id) == ["tw-cook-0007"])
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).cacheState == .loaded)

        // A rebuild that can't save the files (a file stands where their folder goes) leaves them stale: the
        // state says so until a write saves them.
        try await writer.delete(.source("textworld-express"))
        try FileManager.default.removeItem(atPath: path + "/index")
        #expect(FileManager.default.createFile(atPath: path + "/index", contents: Data("not a folder".utf8)))
        #expect(try await reader.refresh() && reader.memoryCount == 0)
        guard case .unsaved(let reason) = reader.cacheState else {
            Issue.record("expected the state to say the rebuilt cache was not saved, got \(reader.cacheState)")
            return
        }
        #expect(reason.contains("\(path)/index"))
    }

    /// Writes that queue up for the write lock leave saving the cache files to the last of them, which saves
    /// them even when it changes nothing itself (here a duplicate, refused): however they interleave, the files
    /// hold every write, and the next open loads them.
    @Test func writesThatQueueUpLeaveCacheFilesHoldingEveryOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        let trajectories = (0..<24).map { number in
            Trajectory(
                id: "queued-\(number)", task: "water the plants in room \(number)",
                steps: [Step(action: "fill the can"), Step(action: "water plant \(number)")],
                outcome: Outcome(success: true), source: "queue")
        }
        let refused = await withTaskGroup(of: Bool.self) { group in
            for trajectory in trajectories + [trajectories[0]] {
                group.addTask { (try? await store.add([trajectory])) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(refused == 1 && store.memoryCount == 24)
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded && reopened.memoryCount == 24)
        #expect(try await Self.ids(reopened) == Set(trajectories.map(\.id)))
    }

    @Test func refusesTheWrongEmbedderAndMissingOrExistingStores() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        await #expect(throws: MemoryError.notAStore(path: path)) {
            try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        }
        _ = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        await #expect(throws: MemoryError.storeExists(path: path)) {
            try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        }
        await #expect(
            throws: MemoryError.embedderMismatch(store: "test-words:v1:64", given: "other:v1:64")
        ) {
            try await MemoryStore.open(at: path, embedder: OtherEmbedder())
        }
    }

    /// Hostile run 10: a store path past SQLite's limit failed with "unable to open database file (SQLite code 14)"
    /// after making the directory, which stayed behind.
    @Test func aStorePathTooLongForSQLiteIsRefusedBeforeAnythingIsMade() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let absolute = URL(fileURLWithPath: directory.path).standardizedFileURL.path
        // The longest directory whose temporary database and its journal stay within 512 bytes (in components a file
        // system takes), and one byte more.
        let overhead =
            "/memp.sqlite.tmp-0000012345-".utf8.count + UUID().uuidString.utf8.count + "-journal".utf8.count
        var fitting = absolute
        while fitting.utf8.count + overhead < 512 {
            fitting += "/" + String(repeating: "d", count: min(100, 512 - overhead - fitting.utf8.count - 1))
        }
        let tooLong = fitting + "x"
        let excess = (tooLong + "/memp.sqlite.tmp-0000012345-" + UUID().uuidString + "-journal").utf8.count - 512
        #expect(excess == 1)
        await #expect(
            throws: MemoryError.io(
                path: tooLong,
                reason: "the store's path is \(tooLong.utf8.count) bytes long, 1 more than SQLite can open its "
                    + "database files under (512 bytes for the whole path, file names included); choose a shorter "
                    + "directory")
        ) {
            try await MemoryStore.create(at: tooLong, embedder: WordHashEmbedder())
        }
        #expect(!FileManager.default.fileExists(atPath: tooLong))
        let store = try await MemoryStore.create(at: fitting, embedder: WordHashEmbedder())
        try await store.add([Samples.heatMug])
        #expect(try await store.statistics().memories == 1)
    }

    @Test func lookupsDuringAnImportSeeAllOrNothingOfIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let file = try directory.write(try generatedTrajectoryLines(count: 300), to: "generated.jsonl")
        // The import waits after its first committed batch until the lookups have run, so they run while it is in
        // progress by construction, not by the luck of scheduling.
        let (firstBatch, firstBatchCommitted) = AsyncStream.makeStream(of: Void.self)
        let resume = DispatchSemaphore(value: 0)
        let batches = Mutex(0)
        let importing = Task {
            try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 10)) { _ in
                guard
                    batches.withLock({
                        $0 += 1; return $0
                    }) == 1
                else { return }
                firstBatchCommitted.yield()
                resume.wait()
            }
        }
        for await _ in firstBatch { break }
        let during = try await withThrowingTaskGroup(of: [Int].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var counts: [Int] = []
                    for round in 0..<10 {
                        let all = try await store.retrieve(
                            "x", options: RetrievalOptions(policy: .random, k: 1000, seed: UInt64(round)))
                        counts.append(all.count)
                        let hybrid = try await store.retrieve(
                            "put some mug in fridge", options: RetrievalOptions(k: 3, sources: ["alfworld"]))
                        #expect(hybrid.allSatisfy { $0.memory.source == "alfworld" } && worker >= 0)
                    }
                    return counts
                }
            }
            var all: [Int] = []
            for try await counts in group { all += counts }
            return all
        }
        #expect(batches.withLock { $0 } == 1, "the import went on while it was meant to wait")
        resume.signal()
        let report = try await importing.value
        #expect(report.imported == 300 && batches.withLock { $0 } == 30)
        // Mid-import, with a batch committed to the backend, lookups saw none of it; after it, all of it.
        #expect(during.count == 40 && during.allSatisfy { $0 == 4 })
        let after = try await store.retrieve("x", options: RetrievalOptions(policy: .random, k: 1000, seed: 1))
        #expect(after.count == 304)
        #expect(try await Self.ids(store).count == 100 && store.memoryCount == 304)
    }
}
