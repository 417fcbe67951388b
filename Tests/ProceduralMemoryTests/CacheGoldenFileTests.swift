import Embeddings
import Foundation
import KeywordIndex
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

/// Stores written by earlier builds — their SQLite database (schema v2) and index cache files (format v1:
/// `manifest.json`, `tasks.vectors`, `keywords.vectors`, `text.bm25`; format v2 without `keywords.vectors`; format v3
/// with `journal.changes`, the changes of a later write beside the files) — are opened by every later build as they
/// are.
///
/// `Fixtures/store-cache-vN/store/` was written once by `memp init --embedder hashing --dimension 32` and
/// `memp import` of `Fixtures/store-cache-vN/trajectories.jsonl` (for v3, then of `more.jsonl`); see
/// `Fixtures/README.md`. Never regenerate them: a format change gets a new version and a new folder beside these.
@Suite struct CacheGoldenFileTests {
    static func fixtures(version: Int = 1) throws -> String {
        try #require(Bundle.module.path(forResource: "store-cache-v\(version)", ofType: nil, inDirectory: "Fixtures"))
    }

    static let lookups = [
        "heat a mug in the microwave", "clean an apple", "find the keychain", "fry an egg from the cookbook",
    ]

    static func answers(of store: MemoryStore) async throws -> [[String]] {
        try await rankedAnswers(of: store, to: lookups, k: 4)
    }

    @Test(arguments: [1, 2, 3])
    func storeOpensWithItsCacheFilesAsTheyAre(version: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let golden = directory.file("golden")
        let rebuilt = directory.file("rebuilt")
        try FileManager.default.copyItem(atPath: try Self.fixtures(version: version) + "/store", toPath: golden)
        try FileManager.default.copyItem(atPath: try Self.fixtures(version: version) + "/store", toPath: rebuilt)
        try FileManager.default.removeItem(atPath: rebuilt + "/index")

        let withGoldenCaches = try await MemoryStore.open(at: golden)
        #expect(withGoldenCaches.cacheState == .loaded)
        let withRebuiltCaches = try await MemoryStore.open(at: rebuilt)
        #expect(withRebuiltCaches.cacheState != .loaded)
        let answers = try await Self.answers(of: withGoldenCaches)
        #expect(answers.count == 16 && answers.allSatisfy { !$0.isEmpty })
        #expect(answers == (try await Self.answers(of: withRebuiltCaches)))

        let info = try await MemoryStore.info(at: golden)
        // Written at schema version 2, migrated to 3 by the first open for writing.
        #expect(info.schemaVersion == 4 && info.embedderConfiguration == .hashing(dimension: 32))
        let statistics = try await MemoryStore.statistics(at: golden)
        // Version 3's store has the memory of `more.jsonl` too, which its journal holds.
        let count = version == 3 ? 5 : 4
        #expect(
            statistics.trajectories == count && statistics.memories == count && statistics.historyEntries == count)
        #expect(withGoldenCaches.memoryCount == count)
        // Version 2 knew a task as applied by its stored trajectory: the migration records each as applied.
        let applied = try await withGoldenCaches.backend.appliedTasks(among: nil)
        #expect(
            applied.count == count && applied.allSatisfy { $0.source == AppliedTask.legacySource && $0.line == nil })
        let report = try await MemoryStore.verify(at: golden)
        #expect(report.problems == [])
        #expect(report.notes == ["index cache matches the database at generation \(info.generation)"])
    }

    /// Format 1 also holds `keywords.vectors`, the keyword means a load of it leaves unread; format 3 a journal.
    @Test(arguments: [1, 2, 3])
    func cacheFilesHoldWhatTheyClaim(version: Int) throws {
        let files: Set<String> =
            version == 1 ? ["tasks.vectors", "keywords.vectors", "text.bm25"] : ["tasks.vectors", "text.bm25"]
        let index = try Self.fixtures(version: version) + "/store/index"
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: index + "/manifest.json")))
                as? [String: Any])
        #expect(manifest["formatVersion"] as? Int == version)
        #expect(manifest["embedderID"] as? String == "hashing:v1:32")
        #expect(manifest["dimension"] as? Int == 32)
        #expect(manifest["generation"] as? Int == (version == 3 ? 2 : 1))
        #expect(Set(try #require(manifest["files"] as? [String: Any]).keys) == files)
        let journal: Set<String> = version == 3 ? ["journal.changes"] : []
        #expect((manifest["journal"] != nil) == (version == 3))
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: index))
                == files.union(["manifest.json"]).union(journal))

        let tasks = try FlatIndex(contentsOf: index + "/tasks.vectors")
        #expect(tasks.metric == .cosine && tasks.vectorStorage == .int8 && tasks.dimension == 32)
        #expect(tasks.ids == [1, 2, 3, 4])
        if files.contains("keywords.vectors") {
            let keywords = try FlatIndex(contentsOf: index + "/keywords.vectors")
            #expect(keywords.metric == .innerProduct && keywords.vectorStorage == .int8 && keywords.dimension == 32)
        }
        let text = try KeywordIndex(contentsOf: index + "/text.bm25")
        #expect(text.count == 4)
        #expect(try text.search("coffeemachine mug", k: 2).map(\.id) == [1])
        #expect(try text.search("cookbook egg", k: 2).map(\.id) == [4])
    }

    /// The first save over a format 1 cache writes format 2 and removes the keyword file nothing reads any more; a
    /// write that only moves the manifest leaves the cache at format 1, still readable.
    @Test func aWriteOverAVersion1CacheSavesVersion2() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        try FileManager.default.copyItem(atPath: try Self.fixtures(version: 1) + "/store", toPath: path)
        let manifestPath = path + "/index/manifest.json"
        func manifest() throws -> [String: Any] {
            try #require(
                try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: manifestPath)))
                    as? [String: Any])
        }
        let store = try await MemoryStore.open(at: path)
        #expect(store.cacheState == .loaded)
        let strict = UpdateSettings(minimumHits: 1, minimumSuccessRate: 1)
        let used = try #require(try await store.retrieve(Self.lookups[0], options: RetrievalOptions(k: 1)).first)
        try await store.recordOutcome(
            task: Self.lookups[0], usedMemories: [used.memory.id], outcome: Outcome(success: false), settings: strict)
        #expect(try manifest()["formatVersion"] as? Int == 1 && (try manifest()["generation"] as? Int) == 2)
        #expect(try await MemoryStore.open(at: path).cacheState == .loaded)

        try await store.add([
            Trajectory(
                id: "later", task: "water the plant", steps: [Step(action: "take watering can 1")],
                outcome: Outcome(success: true), source: "test")
        ])
        #expect(try manifest()["formatVersion"] as? Int == 2 && (try manifest()["generation"] as? Int) == 3)
        #expect(!FileManager.default.fileExists(atPath: path + "/index/keywords.vectors"))
        let reopened = try await MemoryStore.open(at: path)
        #expect(reopened.cacheState == .loaded && reopened.memoryCount == 5)
        #expect(try await MemoryStore.verify(at: path).problems == [])
    }
}
