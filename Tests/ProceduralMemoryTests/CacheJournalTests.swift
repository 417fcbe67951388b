import Embeddings
import Foundation
import HybridSearch
import MemoryLocation
import RetrievalCore
import TestSupport
import Testing

@testable import ProceduralMemory

/// A write saves what it changed in the index cache's journal beside the files instead of rewriting them, until the
/// journal grows past a fraction of them; a load replays it, and finds what the writer found.
@Suite struct CacheJournalTests {
    /// `count` trajectories with distinct tasks, numbered from `first`.
    static func trajectories(_ first: Int, count: Int, prefix: String = "t") -> [Trajectory] {
        (first..<first + count).map { number in
            Trajectory(
                id: "\(prefix)-\(number)",
                task:
                    "open door number \(number) of the hall then take key \(number % 7) and report to room \(number % 5)",
                steps: [Step(action: "open door \(number)"), Step(action: "take key \(number % 7)")],
                outcome: Outcome(success: number % 3 != 0), source: "test")
        }
    }

    static let lookups = [
        "open door number 12 of the hall", "take key 3 and report to room 4", "report", "door 201",
        "paint the garden fence",
    ]

    static func answers(of store: MemoryStore) async throws -> [[String]] {
        try await rankedAnswers(of: store, to: lookups, k: 5)
    }

    /// The answers of a copy of the store whose cache files are removed, so that its open rebuilds them.
    static func rebuiltAnswers(of path: String, in directory: TemporaryDirectory) async throws -> [[String]] {
        let copy = directory.file("rebuilt-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.removeItem(atPath: copy + "/index")
        let rebuilt = try await MemoryStore.open(at: StoreLocation(copy))
        #expect(rebuilt.cacheState != .loaded)
        return try await answers(of: rebuilt)
    }

    /// Expects the store at `path`, opened again from its cache, and a rebuilt copy of it, to answer as `store`.
    static func expectCacheAndRebuildAnswerAs(
        _ store: MemoryStore, path: String, in directory: TemporaryDirectory
    ) async throws {
        let expected = try await answers(of: store)
        let reopened = try await MemoryStore.open(at: StoreLocation(path))
        #expect(reopened.cacheState == .loaded)
        #expect(try await answers(of: reopened) == expected)
        #expect(try await rebuiltAnswers(of: path, in: directory) == expected)
    }

    static func inodes(_ path: String) throws -> [UInt64] { try StatusChangeTests.inodes(path) }

    static func manifest(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "/index/manifest.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func journalExists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/index/" + IndexCache.journalFile)
    }

    /// A store of 200 memories, its cache files saved whole.
    static func makeStore(in directory: TemporaryDirectory) async throws -> (String, MemoryStore) {
        let path = directory.file("store")
        let store = try await MemoryStore.create(
            at: path, embedder: HashingEmbedder(dimension: 64), configuration: .hashing(dimension: 64))
        try await store.add(trajectories(0, count: 200))
        #expect(try manifest(path)["formatVersion"] as? Int == 2 && !journalExists(path))
        return (path, store)
    }

    @Test func writesAreSavedInTheJournalAndALoadFindsWhatTheWriterFinds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, store) = try await Self.makeStore(in: directory)
        let other = try await MemoryStore.open(at: StoreLocation(path))
        let files = try Self.inodes(path)

        // Additions in separate writes, a replacement, and removals of a memory the files hold and of one added since.
        for trajectory in Self.trajectories(200, count: 3) { try await store.add([trajectory]) }
        var replaced = Self.trajectories(12, count: 1)[0]
        replaced.task = "paint the fence by the garden gate"
        try await store.add([replaced], options: ImportOptions(duplicates: .replace))
        for id in ["t-5", "t-201"] { #expect(try await store.delete(.id(id)).memories == [id]) }

        #expect(try Self.inodes(path) == files)
        #expect(Self.journalExists(path))
        #expect(try Self.manifest(path)["formatVersion"] as? Int == 3)
        #expect(try Self.manifest(path)["generation"] as? Int == Int(store.generation))

        let expected = try await Self.answers(of: store)
        #expect(expected.allSatisfy { !$0.isEmpty })
        #expect(expected.joined().contains { $0.hasPrefix("t-12 ") })
        #expect(!expected.joined().contains { $0.hasPrefix("t-5 ") || $0.hasPrefix("t-201 ") })
        let reopened = try await MemoryStore.open(at: StoreLocation(path))
        #expect(reopened.cacheState == .loaded && reopened.memoryCount == 200 + 3 - 2)
        #expect(try await Self.answers(of: reopened) == expected)
        #expect(try await Self.rebuiltAnswers(of: path, in: directory) == expected)
        // Another process's store catches up from the same files and journal.
        #expect(try await other.refresh())
        #expect(try await Self.answers(of: other) == expected)

        let report = try await MemoryStore.verify(at: path)
        #expect(report.problems == [])
        #expect(report.notes == ["index cache matches the database at generation \(store.generation)"])
    }

    @Test func aJournalGrownPastItsShareOfTheFilesIsFoldedIntoThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, store) = try await Self.makeStore(in: directory)
        let files = try Self.inodes(path)
        var rewrittenAt: Int?
        for write in 0..<40 {
            try await store.add(Self.trajectories(1000 + write * 5, count: 5))
            if try Self.inodes(path) != files {
                rewrittenAt = write
                break
            }
            #expect(Self.journalExists(path), "write \(write)")
        }
        // The journal took some writes, then the files were rewritten and the journal removed.
        let rewrite = try #require(rewrittenAt)
        #expect(rewrite >= 1)
        #expect(!Self.journalExists(path))
        #expect(try Self.manifest(path)["formatVersion"] as? Int == 2)
        // The next write starts a journal over the new files.
        let newFiles = try Self.inodes(path)
        try await store.add(Self.trajectories(5000, count: 1))
        #expect(try Self.inodes(path) == newFiles && Self.journalExists(path))

        try await Self.expectCacheAndRebuildAnswerAs(store, path: path, in: directory)
    }

    /// A journal that can't be written (here a directory in its place) leaves the save to rewrite the files: it
    /// made every write warn that the cache was not saved, and every open rebuild it.
    @Test func aJournalThatCantBeWrittenLeavesTheFilesToRewrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, store) = try await Self.makeStore(in: directory)
        try FileManager.default.createDirectory(
            atPath: path + "/index/" + IndexCache.journalFile, withIntermediateDirectories: false)
        let files = try Self.inodes(path)
        try await store.add(Self.trajectories(300, count: 2))
        if case .unsaved(let reason) = store.cacheState { Issue.record("the write did not save the cache: \(reason)") }
        #expect(try Self.inodes(path) != files)
        #expect(try Self.manifest(path)["formatVersion"] as? Int == 2)
        try await Self.expectCacheAndRebuildAnswerAs(store, path: path, in: directory)
    }

    @Test func aDamagedJournalMakesTheOpenRebuild() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, store) = try await Self.makeStore(in: directory)
        try await store.add(Self.trajectories(300, count: 2))
        let expected = try await Self.answers(of: store)
        let journal = path + "/index/" + IndexCache.journalFile
        var bytes = try Data(contentsOf: URL(fileURLWithPath: journal))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: journal))

        let reopened = try await MemoryStore.open(at: StoreLocation(path))
        #expect(reopened.cacheState == .rebuilt(reason: "\(journal) does not match its checksum in the manifest"))
        #expect(try await Self.answers(of: reopened) == expected)
        // The rebuild saved the files whole, without a journal.
        #expect(!Self.journalExists(path))
        #expect(try Self.manifest(path)["formatVersion"] as? Int == 2)
        #expect(try await MemoryStore.open(at: StoreLocation(path)).cacheState == .loaded)
    }

    /// The journal file holds what was recorded, and replays it onto the index it was recorded over.
    @Test func aJournalFileRoundTripsAndReplays() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var live = try HybridIndex(dimension: 3, metric: .cosine, vectorStorage: .f32)
        try live.add(text: "alpha beta", vector: [1, 0, 0], id: 1)
        try live.add(text: "gamma", vector: [0, 1, 0], id: 2)
        try live.add(text: "delta", vector: [0, 0, 1], id: 3)
        var base = live
        let digest = FileDigest(bytes: 10, crc32c: 7)
        var journal = CacheJournal(base: ["tasks.vectors": digest])
        // Remove a base document, add two (one with text outside ASCII), replace one of them, add and remove another.
        try live.remove(2)
        journal.recordRemoval(number: 2)
        for (id, text, vector): (DocumentID, String, [Float]) in [
            (4, "ünïcödé 東京 text", [0.5, 0.5, 0]), (5, "epsilon", [0, 0.2, 1]), (6, "zeta", [1, 1, 1]),
        ] {
            try live.add(text: text, vector: vector, id: id)
            journal.recordAddition(number: id, text: text, vector: vector)
        }
        try live.remove(5)
        journal.recordRemoval(number: 5)
        try live.add(text: "epsilon again", vector: [0, 1, 1], id: 5)
        journal.recordAddition(number: 5, text: "epsilon again", vector: [0, 1, 1])
        try live.remove(6)
        journal.recordRemoval(number: 6)
        #expect(journal.removed == [2, 5, 6] && Set(journal.added.keys) == [4, 5])

        let path = directory.file("journal.changes")
        try journal.write(to: path, dimension: 3)
        let read = try CacheJournal(contentsOf: path, dimension: 3, base: journal.base)
        #expect(read == journal)
        try read.replay(on: &base)
        #expect(Set(base.vectors.ids) == Set(live.vectors.ids) && base.count == 4)
        for text in ["epsilon", "ünïcödé", "alpha", "gamma zeta"] {
            let query = HybridIndex.Query(text: text, vector: [0.3, 0.4, 0.5], k: 4)
            let replayed = try base.search(query)
            let expected = try live.search(query)
            #expect(replayed.map(\.id) == expected.map(\.id), "\(text)")
            #expect(replayed.map(\.score) == expected.map(\.score), "\(text)")
        }
        #expect(throws: IndexError.corrupted(path: path, section: "header", reason: "dimension 3, the store's 4")) {
            try CacheJournal(contentsOf: path, dimension: 4, base: journal.base)
        }
    }
}
