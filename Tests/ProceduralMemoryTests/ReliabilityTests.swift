import Embeddings
import Foundation
import GRDB
import MemoryLocation
import RetrievalCore
import Synchronization
import TestSupport
import Testing
import VectorIndex

@testable import ProceduralMemory
@testable import SQLiteMemory

/// Regression tests for the findings of the adversarial run (issue 17), one or more per finding.
@Suite struct ReliabilityTests {
    /// Rewrites a bundle's memories file through `edit` and fixes its size and SHA-256 in the manifest, as a
    /// deliberate forger would.
    static func forge(bundle: String, _ edit: (inout [[String: Any]]) -> Void) throws {
        let memoriesPath = bundle + "/memories.jsonl"
        var records = try String(contentsOfFile: memoriesPath, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        edit(&records)
        let data = Data(
            try records.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) + "\n" }
                .joined().utf8)
        try data.write(to: URL(fileURLWithPath: memoriesPath))
        let manifestPath = bundle + "/manifest.json"
        var manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
                as? [String: Any])
        var files = try #require(manifest["files"] as? [[String: Any]])
        for index in files.indices where files[index]["path"] as? String == "memories.jsonl" {
            files[index]["bytes"] = data.count
            files[index]["sha256"] = SHA256.hexDigest(of: data)
        }
        manifest["files"] = files
        manifest["memoryCount"] = records.count
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
    }

    /// A bundle exported from the sample store whose first memory `edit` changed, with its digests fixed.
    static func forgedBundle(
        _ directory: TemporaryDirectory, _ edit: @escaping (inout [String: Any]) -> Void
    ) async throws -> String {
        let bundle = directory.file("bundle")
        try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all).export(to: bundle)
        try forge(bundle: bundle) { records in
            var memory = records[0]["memory"] as? [String: Any] ?? [:]
            edit(&memory)
            records[0]["memory"] = memory
        }
        return bundle
    }

    // Finding 1: a huge k overflowed the hybrid candidate depth (4 k).
    // SQLite's message alone ("file is not a database") named no file.
    /// Outcomes that say nothing and negative keyword limits are refused before anything is stored.
    ///
    /// Hostile run 14: code could store what no JSON input can hold. A NaN reward ranked its memory anywhere and
    /// read back as no outcome, an infinite one made every later export and migration fail, an outcome with
    /// neither field read back as none; a negative keyword limit trapped in the keyword extraction.
    @Test func outcomesThatSayNothingAndNegativeKeywordLimitsAreRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        func with(_ outcome: Outcome) -> Trajectory {
            var trajectory = Samples.heatMug
            trajectory.outcome = outcome
            return trajectory
        }
        var empty = Outcome(success: true)
        empty.success = nil
        let refused: [(Outcome, String, String)] = [
            (Outcome(reward: .nan), "outcome.reward", "must be a finite number (got nan)"),
            (Outcome(success: true, reward: -.infinity), "outcome.reward", "must be a finite number (got -inf)"),
            (empty, "outcome", "holds neither a success flag nor a reward"),
        ]
        for (outcome, field, reason) in refused {
            await #expect(throws: MemoryError.invalidRecord(path: "(batch)", line: 1, field: field, reason: reason)) {
                try await store.add([with(outcome)])
            }
            await #expect(throws: MemoryError.invalidRecord(path: "(feedback)", line: 1, field: field, reason: reason))
            {
                try await store.update(
                    [FinishedTask(trajectory: with(outcome), usedMemories: [])],
                    options: UpdateOptions(policy: .validation), source: "(feedback)")
            }
        }
        var options = ImportOptions()
        options.builder.keywordLimit = -1
        let negative = MemoryError.invalidParameter(name: "keywordLimit", value: -1, expected: "at least 0")
        await #expect(throws: negative) { try await store.add([Samples.heatMug], options: options) }
        let file = try directory.write(try Samples.jsonLines([Samples.heatMug]), to: "runs.jsonl")
        await #expect(throws: negative) { try await store.importTrajectories(from: file, options: options) }
        var update = UpdateOptions(policy: .validation)
        update.builder.keywordLimit = -1
        await #expect(throws: negative) {
            try await store.update([FinishedTask(trajectory: Samples.heatMug, usedMemories: [])], options: update)
        }
        #expect(try await store.statistics().trajectories == 0)
        // Feedback holds the reward to the same rule (hostile run 15: NaN counted as a failure, silently).
        try await store.add([Samples.cookMeal])
        await #expect(
            throws: MemoryError.invalidParameter(name: "outcome.reward", value: .infinity, expected: "a finite number")
        ) {
            try await store.recordOutcome(
                task: "cook", usedMemories: [Samples.cookMeal.id], outcome: Outcome(reward: .infinity))
        }
        #expect(try await store.memory(id: Samples.cookMeal.id)?.hitCount == 0)
        try await store.add([with(Outcome(success: false, reward: 0.25))])
        #expect(try await store.trajectory(id: Samples.heatMug.id)?.outcome == Outcome(success: false, reward: 0.25))
    }

    /// A name holding a NUL matches nothing: SQLite cut it there, so `"<id>\u{0}x"` deleted, read and counted
    /// feedback on the record named by what comes before the NUL (hostile run 15).
    @Test func namesHoldingANULMatchNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let id = Samples.heatMug.id, source = Samples.heatMug.source
        let cut = id + "\u{0}other"
        #expect(try await store.memory(id: cut) == nil)
        #expect(try await store.trajectory(id: cut) == nil)
        #expect(try await store.history(memoryID: cut).isEmpty)
        await #expect(throws: MemoryError.unknownID(cut)) { try await store.delete(.id(cut)) }
        let bySource = try await store.delete(.source(source + "\u{0}zz"))
        let byLabel = try await store.delete(.label(key: "k\u{0}", value: "v"))
        #expect(bySource.memories.isEmpty && bySource.trajectories == 0 && byLabel.memories.isEmpty)
        await #expect(throws: MemoryError.unknownID(cut)) {
            try await store.recordOutcome(task: "heat a mug", usedMemories: [cut], outcome: Outcome(success: true))
        }
        var attempt = Samples.heatMug
        attempt.id = "attempt-1"
        await #expect(throws: MemoryError.unknownID(cut)) {
            try await store.update(
                [FinishedTask(trajectory: attempt, usedMemories: [cut])], options: UpdateOptions(policy: .validation))
        }
        let memory = try #require(try await store.memory(id: id))
        #expect(memory.hitCount == 0)
        #expect(store.memoryCount == Samples.all.count)
        #expect(try await MemoryStore.verify(at: directory.file("store")).isSound)
    }

    /// An update holds its trajectories to the rules `add` does: it stored an empty ID, which no export could carry,
    /// and a trajectory without steps (hostile run 15).
    @Test func anUpdateRefusesTrajectoriesAddRefuses() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        func attempt(_ change: (inout Trajectory) -> Void) -> [FinishedTask] {
            var trajectory = Samples.cookMeal
            change(&trajectory)
            return [FinishedTask(trajectory: trajectory, usedMemories: [])]
        }
        let refused: [([FinishedTask], MemoryError)] = [
            (attempt { $0.id = "" }, .invalidTrajectory(id: "", field: "id", rule: "must not be empty")),
            (
                // An ID that is only invisible was taken as blank, and is refused as invisible since finding 207.
                attempt { $0.id = "\u{200B}" },
                .invalidRecord(
                    path: "(update)", line: 1, field: "id",
                    reason: "contains the invisible character U+200B, which an ID can't hold")
            ),
            (
                attempt { $0.source = "" },
                .invalidTrajectory(id: Samples.cookMeal.id, field: "source", rule: "must not be empty")
            ),
            (
                attempt { $0.steps = [] },
                .invalidTrajectory(id: Samples.cookMeal.id, field: "steps", rule: "must hold at least one step")
            ),
            (
                attempt { $0.steps[0].action = " " },
                .invalidTrajectory(id: Samples.cookMeal.id, field: "steps[0].action", rule: "must not be empty")
            ),
        ]
        for (tasks, error) in refused {
            await #expect(throws: error) { try await store.update(tasks, options: UpdateOptions(policy: .vanilla)) }
        }
        #expect(try await store.statistics().trajectories == 1)
    }

    /// An embedder whose vectors are too long for the store's indexes is refused before anything is stored: one
    /// memory's keyword vector (a mean of them) failed every later keyword lookup, and `verify` called the store
    /// sound (hostile run 15); a bundle carrying such a vector is refused too.
    @Test func vectorsTooLongForTheIndexesAreRefused() async throws {
        struct ScaledEmbedder: Embedder {
            var modelIdentifier: String { "test-words:v1:64" }
            var dimension: Int { 64 }
            func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
                try WordHashEmbedder().embed(texts).map { $0.map { $0 * 1e30 } }
            }
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        let scaled = try await MemoryStore.open(at: path, embedder: ScaledEmbedder())
        await #expect {
            try await scaled.add([Samples.heatMug])
        } throws: { error in
            guard case .embedding(let reason) = error as? MemoryError else { return false }
            return reason.hasPrefix("the embedder test-words:v1:64 gave text 1 of ")
                && reason.contains("a vector of L2 norm 1e+30, over the 9.2233715e+18 the store's indexes take")
        }
        #expect(try await scaled.statistics().trajectories == 0)
        let store = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        try await store.add([Samples.heatMug])
        #expect(try await store.retrieve("heat a mug", options: RetrievalOptions(policy: .keyword, k: 1)).count == 1)
    }

    /// Sources that differ only in Unicode normalization are counted as one, and a script keeps no NUL.
    ///
    /// The counts kept the last database row's (hostile run 15), where lookups take the two as one source; a
    /// script writer's NUL would have cut the stored script.
    @Test func equivalentSourcesAreCountedTogetherAndScriptsKeepNoNUL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var composed = Samples.heatMug
        composed.source = "caf\u{E9}"
        var decomposed = Samples.cookMeal
        decomposed.source = "cafe\u{301}"
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [composed, decomposed])
        #expect(try await store.statistics().trajectoriesBySource == ["caf\u{E9}": 2])
        #expect(MemoryStore.clippedScript("1. go\u{0} north") == "1. go north")
    }

    /// A path holding a NUL names no file, so nothing is made or read under the part before it: a create made the
    /// directory `new` for `"new\u{0}evil"`, and an import of `"memp.sqlite\u{0}.jsonl"` read the database
    /// (hostile run 15).
    @Test func pathsHoldingANULAreRefusedBeforeAnythingIsMade() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let reason = "holds a NUL character (\\u0000), which no file or directory name can hold"
        let cut = directory.file("new") + "\u{0}evil"
        await #expect(throws: MemoryError.io(path: printableText(cut), reason: reason)) {
            try await MemoryStore.create(at: cut, embedder: WordHashEmbedder())
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("new")))
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let database = directory.file("store/memp.sqlite") + "\u{0}.jsonl"
        await #expect(throws: MemoryError.io(path: database, reason: reason)) {
            try await store.importTrajectories(from: database)
        }
        await #expect(throws: MemoryError.notAStore(path: directory.file("store") + "\u{0}x")) {
            try await MemoryStore.open(at: directory.file("store") + "\u{0}x", embedder: WordHashEmbedder())
        }
        #expect(try await store.statistics().trajectories == 1)
        // A bundle: an export to `bundle\u{0}x` made `bundle`, an import of one read `bundle`.
        let bundle = directory.file("bundle") + "\u{0}x"
        await #expect(throws: MemoryError.io(path: printableText(bundle), reason: reason)) {
            try await store.export(to: bundle)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("bundle")))
        try await store.export(to: directory.file("bundle"))
        let other = try await TestStoreKind.inMemory.makeStore(in: directory)
        await #expect(throws: MemoryError.io(path: printableText(bundle), reason: reason)) {
            try await other.importBundle(at: bundle)
        }
        #expect(try await other.statistics().memories == 0)
    }

    @Test func aDamagedDatabaseIsNamedInTheError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("memp.sqlite")
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect(throws: MemoryError.notSQLiteDatabase(path: path)) { try SQLiteBackend(path: path) }
    }

    /// Before, a store's write open ran the migrations on any SQLite file: another program's database (or an empty
    /// file) got Memp's tables, without a store's settings, and was then "not a memory store" for good.
    @Test func aSQLiteDatabaseWithoutAStoreIsRefusedAndLeftAsItWas() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(SQLiteStore.databaseFileName)
        let other = try DatabaseQueue(path: path)
        try await other.write { try $0.execute(sql: "CREATE TABLE notes (text TEXT)") }
        await #expect(throws: MemoryError.databaseWithoutStoreSettings(path: path)) {
            try await SQLiteStore.open(at: directory.path, embedder: WordHashEmbedder(), vectorStorage: .int8)
        }
        let tables = try await other.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master") }
        #expect(tables == ["notes"])
    }

    /// A store written before built scripts were cut to ``MemoryStore/maximumScriptLength`` may hold a longer
    /// one, and its bundle was refused by every import (hostile run 10): export cuts it as a build now does.
    @Test func aLongScriptStoredBeforeTheLimitIsCutByExport() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        try await MemoryStore.create(at: path, embedder: WordHashEmbedder()).add([Samples.heatMug])
        let long = (1...2_000).map { "\($0). heat [OBJECT1]" }.joined(separator: "\n")
        let database = try DatabaseQueue(path: path + "/" + SQLiteStore.databaseFileName)
        try await database.write {
            try $0.execute(sql: "UPDATE memory SET script = ? WHERE id = ?", arguments: [long, Samples.heatMug.id])
        }
        let store = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(try await store.memory(id: Samples.heatMug.id)?.script == long)
        let bundle = directory.file("bundle")
        try await store.export(to: bundle)
        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        #expect(try await target.importBundle(at: bundle).memories == 1)
        #expect(try await target.memory(id: Samples.heatMug.id)?.script == MemoryStore.clippedScript(long))
    }

    @Test func hybridLookupCopesWithAnyK() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        for k in [2_305_843_009_213_693_952, Int.max] {
            let hits = try await store.retrieve("take the coin", options: RetrievalOptions(policy: .hybrid, k: k))
            #expect(hits.count == Samples.all.count)
        }
    }

    // Finding 2: a counter at Int64.max made every later feedback trap while decoding the row.
    @Test func bundleWithHugeCounterIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bundle = try await Self.forgedBundle(directory) { $0["hitCount"] = Int64.max }
        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        await #expect {
            try await target.importBundle(at: bundle)
        } throws: { error in
            guard case .bundleRefused(let path, let reason) = error as? MemoryError else { return false }
            return path == bundle && reason.contains("impossible counters")
        }
        #expect(target.memoryCount == 0)
    }

    @Test func feedbackStopsAtTheCounterLimitAndDamagedCountersThrow() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let backend = try #require(store.backend as? SQLiteBackend)
        let id = Samples.heatMug.id
        try await backend.database.write { db in
            try db.execute(
                sql: "UPDATE memory SET hitCount = ? WHERE id = ?", arguments: [Memory.maximumCount, id])
        }
        await #expect(
            throws: MemoryError.counterLimit(
                id: id, counter: "hitCount", current: Memory.maximumCount, limit: Memory.maximumCount)
        ) { try await store.recordOutcome(task: "t", usedMemories: [id], outcome: Outcome(success: true)) }
        #expect(try await store.memory(id: id)?.hitCount == Memory.maximumCount)
        // A REAL where a count belongs (what SQLite leaves when an integer addition overflows) is a damaged row.
        try await backend.database.write { db in
            try db.execute(sql: "UPDATE memory SET hitCount = 9.3e18 WHERE id = ?", arguments: [id])
        }
        await #expect {
            _ = try await store.memory(id: id)
        } throws: { error in
            guard case .database(let reason) = error as? MemoryError else { return false }
            return reason == "memory \(id): hitCount is not a count (damaged row)"
        }
    }

    // Finding 3: a writer that missed another process's commit saved its snapshot stamped with the newest
    // generation, and later opens trusted it.
    @Test func writerThatMissedAnotherWritersCommitDoesNotSaveAStaleCache() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let first = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        let second = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        var replaced = Samples.cleanApple
        replaced.task = "zebra quantum xylophone marmalade"
        try await second.add([replaced], options: ImportOptions(duplicates: .replace))
        // `first` writes next, without having seen `second`'s replacement: the memory count stays the same.
        var extra = Samples.findKeys
        extra.id = "extra-1"
        try await first.add([extra])
        let query = RetrievalOptions(policy: .bm25, k: 1)
        #expect(try await first.retrieve(replaced.task, options: query).map(\.memory.id) == [replaced.id])
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(try await reopened.retrieve(replaced.task, options: query).map(\.memory.id) == [replaced.id])
        #expect(try await MemoryStore.verify(at: path).problems == [])
    }

    // Hostile run 22 (finding 225): a build opened a store that a later build had upgraded, and failed part-way on
    // what it could not read; it is refused at open, read-only too.
    @Test func aStoreOfALaterSchemaIsRefusedAtOpen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let database = path + "/" + SQLiteStore.databaseFileName
        try await SQLiteBackend(path: database).writing { db in
            try db.execute(sql: "UPDATE meta SET value = '99' WHERE key = 'schemaVersion'")
        }
        let refusal = MemoryError.database(
            reason: "\(database): the store has schema version 99, newer than the version "
                + "\(SQLiteBackend.schemaVersion) this build reads and writes; open it with a build as recent as the one "
                + "that upgraded it")
        await #expect(throws: refusal) { try await MemoryStore.open(at: path) }
        #expect(throws: refusal) { try SQLiteBackend(path: database, readOnly: true) }
        // Nothing migrated it back: it is refused again.
        await #expect(throws: refusal) { try await MemoryStore.open(at: path) }
    }

    // Finding 4: SQLite cut texts at a NUL, so "b\u0000evil" replaced the record "b".
    @Test(arguments: ["id", "task", "action"])
    func nulCharacterIsRefusedWithItsField(field: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let first = #"{"id": "b", "task": "open the door", "steps": [{"action": "open door"}]}"#
        let evil =
            switch field {
            case "id": #"{"id": "b\u0000evil", "task": "steal the key", "steps": [{"action": "take key"}]}"#
            case "task": #"{"id": "c", "task": "steal\u0000 the key", "steps": [{"action": "take key"}]}"#
            default: #"{"id": "c", "task": "steal the key", "steps": [{"action": "take\u0000 key"}]}"#
            }
        let file = try directory.write(first + "\n" + evil + "\n", to: "runs.jsonl")
        await #expect(
            throws: MemoryError.invalidRecord(
                path: file, line: 2, field: field == "action" ? "steps[0].action" : field,
                reason: "contains a NUL character (\\u0000), which the store can't keep")
        ) {
            try await store.importTrajectories(from: file, options: ImportOptions(duplicates: .replace))
        }
        #expect(try await store.trajectory(id: "b")?.task == nil)  // the batch with the bad line never committed
        try await store.importTrajectories(
            from: file, options: ImportOptions(duplicates: .replace, skipInvalid: true))
        #expect(try await store.trajectory(id: "b")?.task == "open the door")
        #expect(try await store.statistics().trajectories == 1)
    }

    // Hostile run 4: an ID could hold a line break, a tab or a terminal escape sequence, which split or recoloured
    // every line it was printed on (`memp query`, `memp history`, error messages).
    // Hostile run 12: a bidirectional override or isolate reordered how the rest of the line was shown
    // ("mem\u{202E}gnp.exe" read as "memexe.png" in `memp query`).
    @Test(arguments: [
        ("new\\nline", "control character U+000A"), ("tab\\tbed", "control character U+0009"),
        ("\\u001b[31mred", "control character U+001B"), ("next\\u0085", "control character U+0085"),
        ("mem\\u202egnp.exe", "bidirectional formatting character U+202E"),
        ("a\\u2067b", "bidirectional formatting character U+2067"),
        // Finding 207: an invisible or line-breaking character made two IDs that differ print alike.
        ("run\\u200b-1", "invisible character U+200B"), ("\\ufeffrun-1", "invisible character U+FEFF"),
        ("run-1\\u00ad", "invisible character U+00AD"), ("run\\u200d-1", "invisible character U+200D"),
        ("run-1\\udb40\\udc41", "invisible character U+E0041"), ("a\\u2028b", "line-breaking character U+2028"),
        ("\\u00e9\\u200d\\u200db", "invisible character U+200D"), ("1\\ufe0f", "invisible character U+FE0F"),
    ])
    func anIDWithAControlCharacterIsRefused(escapedID: String, character: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let lines = [
            #"{"id": "runs/a b/é", "task": "open the door", "steps": [{"action": "open door"}]}"#,
            #"{"id": ""# + escapedID + #"", "task": "steal the key", "steps": [{"action": "take key"}]}"#,
        ]
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        await #expect(
            throws: MemoryError.invalidRecord(
                path: file, line: 2, field: "id",
                reason: "contains the \(character), which an ID can't hold")
        ) {
            try await store.importTrajectories(from: file)
        }
        try await store.importTrajectories(from: file, options: ImportOptions(skipInvalid: true))
        #expect(try await store.statistics().trajectories == 1)
        #expect(try await store.trajectory(id: "runs/a b/é")?.task == "open the door")
    }

    // Hostile run 5: a source or label with a line break or escape sequence was stored, and `memp stats`, `show` and
    // `history` printed it raw, splitting or recolouring their lines.
    @Test(arguments: [
        (#""source": "runs\nb""#, "source", "control character U+000A", "a source"),
        (#""labels": {"k\t": "v"}"#, "labels", "control character U+0009", "a label"),
        (#""labels": {"k": "\u001b[31mred"}"#, "labels.k", "control character U+001B", "a label"),
        (#""source": "runs\u202e""#, "source", "bidirectional formatting character U+202E", "a source"),
    ])
    func aSourceOrLabelWithAControlCharacterIsRefused(field: String, name: String, character: String, what: String)
        async throws
    {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let line = #"{"id": "a", "task": "open the door", "steps": [{"action": "open door"}], "# + field + "}"
        let file = try directory.write(line + "\n", to: "runs.jsonl")
        await #expect(
            throws: MemoryError.invalidRecord(
                path: file, line: 1, field: name,
                reason: "contains the \(character), which \(what) can't hold")
        ) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    // Hostile run 22: a label key that is empty or holds "=" was stored, and no key=value filter could name it
    // (finding 221).
    @Test(arguments: [
        (#"{"": "empty"}"#, "has a label with an empty key, which no filter can name"),
        (
            #"{"a=b": "c"}"#,
            #"has the label key "a=b", which holds "=": labels are named key=value, so a key can't hold one"#
        ),
    ])
    func aLabelKeyNoFilterCanNameIsRefused(labels: String, reason: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let line =
            #"{"id": "a", "task": "open the door", "steps": [{"action": "open door"}], "labels": "# + labels + "}"
        let file = try directory.write(line + "\n", to: "runs.jsonl")
        await #expect(throws: MemoryError.invalidRecord(path: file, line: 1, field: "labels", reason: reason)) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    // The recheck of hostile run 22: "run-1 " was stored beside "run-1", another ID printed alike.
    @Test func anIDWithWhiteSpaceAtItsEndsIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let reason =
            "starts or ends with white space (U+0020), which makes another ID than the one without it; remove it"
        let line = #"{"id": "run-1 ", "task": "open the door", "steps": [{"action": "open door"}]}"#
        let file = try directory.write(line + "\n", to: "runs.jsonl")
        await #expect(throws: MemoryError.invalidRecord(path: file, line: 1, field: "id", reason: reason)) {
            try await store.importTrajectories(from: file)
        }
        await #expect(throws: MemoryError.invalidTrajectory(id: " run-1", field: "id", rule: reason)) {
            try await store.recordOutcome(
                usedMemories: [Samples.heatMug.id], trajectoryID: " run-1", outcome: Outcome(success: true))
        }
        #expect(try await store.statistics().trajectories == 1)
        #expect(try await store.memory(id: Samples.heatMug.id)?.hitCount == 0)
    }

    // Hostile run 22: an unknown ID was quoted raw, so that U+2028 broke the message's line (finding 224).
    @Test func anUnknownIDIsQuotedWithItsInvisibleCharactersEscaped() {
        #expect(
            MemoryError.unknownID("a\u{2028}b\u{200B}").description
                == #"No memory or trajectory has ID a\u{2028}b\u{200B}."#)
    }

    // Finding 207 refuses invisible characters, but not those that shape the visible character before them: the
    // zero-width non-joiner of Persian words, the joiner and variation selector of emoji sequences, the selector of a
    // keycap (1️⃣, a digit, U+FE0F, U+20E3; the recheck of run 22 found it refused).
    @Test(arguments: [
        "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}", "dev-\u{1F469}\u{200D}\u{1F4BB}",
        "\u{2764}\u{FE0F}-1", "step-1\u{FE0F}\u{20E3}",
    ])
    func anIDWhoseJoinersShapeVisibleTextIsTaken(id: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let trajectory = Trajectory(id: id, task: "open the door", steps: [Step(action: "open door")], source: "runs")
        let file = try directory.write(try Samples.jsonLines([trajectory]), to: "runs.jsonl")
        try await store.importTrajectories(from: file)
        #expect(try await store.trajectory(id: id)?.task == "open the door")
    }

    // IDs with control characters were refused from hostile run 4 on, bundles included, so that the bundle of a
    // store written before (`memp export`) was refused and the store could no longer be moved or restored.
    @Test func aBundleOfAStoreWhoseIDsHoldControlCharactersStillImports() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let backend = try #require(store.backend as? SQLiteBackend)
        let id = "run\t1"
        try await backend.writing { db in
            for table in ["trajectory", "memory"] {
                try db.execute(sql: "UPDATE \(table) SET id = ? WHERE id = ?", arguments: [id, Samples.heatMug.id])
            }
        }
        let bundle = directory.file("bundle")
        try await store.export(to: bundle)
        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        try await target.importBundle(at: bundle)
        #expect(try await target.memory(id: id)?.sourceTrajectoryIDs == [id])
        #expect(try await target.trajectory(id: id)?.task == Samples.heatMug.task)
    }

    // Hostile run 5: "e\u{301}" (decomposed) and "é" (composed) are one text to Swift and two IDs to the database,
    // so a file holding both was refused as repeating a trajectory, while two imports stored both.
    @Test func anIDNotInNormalizationFormCIsRefusedAsSuch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let lines = [
            #"{"id": "caf\u00e9", "task": "open the door", "steps": [{"action": "open door"}]}"#,
            #"{"id": "cafe\u0301", "task": "steal the key", "steps": [{"action": "take key"}]}"#,
        ]
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        await #expect(
            throws: MemoryError.invalidRecord(
                path: file, line: 2, field: "id",
                reason: "is not in Unicode Normalization Form C (NFC): it is the same text as \"caf\u{E9}\" written "
                    + "with other code points, which the store would keep as another ID; write it as \"caf\u{E9}\"")
        ) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    // Hostile run 5: a store holding IDs that are one text in two Unicode forms (written before IDs had to be in
    // NFC) exported one of the two trajectories, and a migration's checksum covered only one of them. Its bundle
    // is refused saying why, before anything is written: importing both failed in the indexes after the commit.
    @Test func aStoreHoldingOneIDInTwoUnicodeFormsExportsBothAndChecksumsBoth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(
            in: directory, holding: [Samples.heatMug, Samples.cleanApple])
        let backend = try #require(store.backend as? SQLiteBackend)
        let (decomposed, composed) = ("cafe\u{301}", "caf\u{E9}")
        try await backend.writing { db in
            for (old, id) in [(Samples.heatMug.id, decomposed), (Samples.cleanApple.id, composed)] {
                for table in ["trajectory", "memory"] {
                    try db.execute(sql: "UPDATE \(table) SET id = ? WHERE id = ?", arguments: [id, old])
                }
            }
        }
        #expect(try await StoreDigest(of: backend).trajectories == 2)
        let bundle = directory.file("bundle")
        let manifest = try await store.export(to: bundle)
        #expect(manifest.trajectoryCount == 2)
        let lines = try String(contentsOfFile: bundle + "/trajectories.jsonl", encoding: .utf8)
        #expect(lines.contains(Samples.heatMug.task) && lines.contains(Samples.cleanApple.task))
        let target = try await expectBundleRefused(
            bundle,
            reason: "memories.jsonl line 2: memory \(composed) is memory \(decomposed) of line 1 in another Unicode "
                + "form (U+0063 U+0061 U+0066 U+00E9 and U+0063 U+0061 U+0066 U+0065 U+0301); a store can't import "
                + "both. Delete one of them from the store the bundle came from")
        #expect(try await target.statistics().trajectories == 0)
    }

    // Hostile run 4: a UTF-16 file's lines parse (JSONSerialization detects UTF-16), but the half of its last line
    // break left after the split was "line 3: … Invalid value around character 0", which did not say the file is
    // not UTF-8.
    // Hostile run 16: a UTF-32 file's first line, which JSONSerialization parses and JSONDecoder doesn't, was "not
    // valid JSON." with no reason.
    @Test(arguments: [(String.Encoding.utf16LittleEndian, 3), (.utf32LittleEndian, 1)])
    func aUTF16OrUTF32FileIsRefusedSayingItIsNotUTF8(encoding: String.Encoding, line: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let text =
            "\u{FEFF}"
            + [
                #"{"id": "a", "task": "open the door", "steps": [{"action": "open door"}]}"#,
                #"{"id": "b", "task": "take the key", "steps": [{"action": "take key"}]}"#,
            ].joined(separator: "\n") + "\n"
        let file = directory.file("runs.jsonl")
        try #require(text.data(using: encoding)).write(to: URL(fileURLWithPath: file))
        await #expect {
            try await store.importTrajectories(from: file)
        } throws: { error in
            guard case .invalidRecord(file, line, "(line)", let reason) = error as? MemoryError else { return false }
            return reason.hasSuffix("it holds NUL bytes, as text in UTF-16 or UTF-32 does: save the text as UTF-8)")
                || reason
                    == "not valid JSON: it holds NUL bytes, as text in UTF-16 or UTF-32 does: save the text as UTF-8"
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    // Hostile run 4: a line that repeated a key was imported with the first value, silently.
    @Test func aLineThatRepeatsAKeyIsRefusedNamingIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let line = #"{"id": "a", "task": "open the door", "id": "b", "steps": [{"action": "open door"}]}"#
        let file = try directory.write(line + "\n", to: "runs.jsonl")
        await #expect(
            throws: MemoryError.invalidRecord(
                path: file, line: 1, field: "id", reason: "appears twice in its object; keep one of the values")
        ) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    // Finding 7: bundles carried impossible state.
    @Test(arguments: ["negative", "successesAboveHits", "noSource"])
    func bundleWithImpossibleStateIsRefused(kind: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bundle = try await Self.forgedBundle(directory) { memory in
            switch kind {
            case "negative": memory["hitCount"] = -3
            case "successesAboveHits":
                memory["hitCount"] = 1
                memory["successCount"] = 2
            default: memory["sourceTrajectoryIDs"] = [String]()
            }
        }
        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        await #expect {
            try await target.importBundle(at: bundle)
        } throws: { error in
            guard case .bundleRefused(_, let reason) = error as? MemoryError else { return false }
            return reason.hasPrefix("memories.jsonl line 1: memory ")
                && reason.contains(kind == "noSource" ? "names no source trajectory" : "impossible counters")
        }
        #expect(try await target.statistics().memories == 0)
    }

    // Hostile run 4: a bundle whose memories file repeated a memory (digests fixed) got as far as the database:
    // "UNIQUE constraint failed: memory.id (SQLite code 19)"; a line that didn't decode said not why.
    @Test(arguments: [
        ("repeat", "memories.jsonl line 5: memory alf-heat-mug-1 appears again (first on line 1)"),
        ("unreadable", "memories.jsonl line 2 is not a valid record: field taskVector must be a list"),
        // Hostile run 9: an all-zero task vector was committed, then failed the indexes ("nothing was changed"),
        // and every later open of the store failed; a repeated source reached SQLite's UNIQUE constraint.
        (
            "zero",
            "memories.jsonl line 1: memory alf-heat-mug-1's task vector is all zeros, which has no cosine direction"
        ),
        ("twice", "memories.jsonl line 1: memory alf-heat-mug-1 names source trajectory alf-heat-mug-1 twice"),
        // A date past year 9999 was stored and exported again as another date.
        (
            "farDate",
            "memories.jsonl line 1 is not a valid record: field memory.createdAt has an invalid value: "
                + "1000000000000000.0 seconds since 1970 is not a date of the years 1 through 9999"
        ),
    ])
    func aBundleWithARepeatedOrUnreadableRecordIsRefusedSayingWhere(kind: String, reason: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bundle = directory.file("bundle")
        try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all).export(to: bundle)
        try Self.forge(bundle: bundle) { records in
            switch kind {
            case "repeat": records.append(records[0])
            case "zero": records[0]["taskVector"] = (records[0]["taskVector"] as? [Any] ?? []).map { _ in 0 }
            case "twice":
                var memory = records[0]["memory"] as? [String: Any] ?? [:]
                memory["sourceTrajectoryIDs"] = ["alf-heat-mug-1", "alf-heat-mug-1"]
                records[0]["memory"] = memory
            case "farDate":
                var memory = records[0]["memory"] as? [String: Any] ?? [:]
                memory["createdAt"] = 1e15
                records[0]["memory"] = memory
            default: records[1]["taskVector"] = "0.5"
            }
        }
        let target = try await expectBundleRefused(bundle, reason: reason)
        #expect(try await target.statistics().memories == 0)
    }

    /// Hostile run 9: a re-embedded bundle whose task this embedder can't give a direction.
    ///
    /// A bundle re-embedded by a store of another embedder was committed and made every later open fail. Every
    /// write now checks task vectors first.
    @Test func aMemoryWhoseTaskHasNoDirectionIsNeverStored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bundle = try await Self.forgedBundle(directory) { $0["task"] = "!!! ???" }
        let target = try await MemoryStore.create(at: directory.file("other"), embedder: HashingEmbedder(dimension: 64))
        #expect(try await target.embedder.embed(["!!! ???"]).first?.allSatisfy { $0 == 0 } == true)
        await #expect(throws: MemoryError.vectorWithoutDirection(memoryID: "alf-heat-mug-1")) {
            try await target.importBundle(at: bundle)
        }
        #expect(try await target.statistics().memories == 0)
        let reopened = try await MemoryStore.open(at: directory.file("other"), embedder: HashingEmbedder(dimension: 64))
        try await reopened.add([Samples.cleanApple])
        #expect(try await reopened.retrieve(Samples.cleanApple.task).map(\.memory.id) == [Samples.cleanApple.id])
    }

    // A memory whose task this version won't store (over the size limit) was refused with the limit check's own
    // advice ("Fix this field of the line.") followed by ". Export it again from its store.": "..", and advice that
    // gives the same bundle again.
    @Test(arguments: [("over the limit", "70000 bytes, over this store's limit of "), ("NUL", "")])
    func aBundleHoldingATextThisStoreRefusesSaysWhereAndToChangeItInItsStore(kind: String, detail: String)
        async throws
    {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let task = kind == "NUL" ? "heat the\u{0} mug" : String(repeating: "a", count: 70_000)
        let bundle = try await Self.forgedBundle(directory) { $0["task"] = task }
        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        await #expect {
            try await target.importBundle(at: bundle)
        } throws: { error in
            guard case .bundleRefused(_, let reason) = error as? MemoryError else { return false }
            let message = (error as? MemoryError)?.description ?? ""
            return reason.hasPrefix("memories.jsonl line 1, field memory.task: " + detail)
                && reason.hasSuffix("in the store it came from first") && !message.contains("..")
                && !message.contains("Fix this field") && !message.contains("Shorten the text")
        }
        #expect(try await target.statistics().memories == 0)
    }

    // Finding 8: no size limits.
    @Test func textsOverTheLimitsAreRefusedWithFieldAndLimit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let longTask = String(repeating: "a", count: 40)
        let good = #"{"id": "g", "task": "open the door", "steps": [{"action": "open door"}]}"#
        let bigTask = #"{"id": "t", "task": "\#(longTask)", "steps": [{"action": "open door"}]}"#
        let bigObservation =
            #"{"id": "o", "task": "look", "steps": [{"action": "look", "observation": "\#(longTask)"}]}"#
        let filler = String(repeating: longTask, count: 4)
        let hugeLine = #"{"id": "l", "task": "look", "steps": [{"action": "look"}], "x": "\#(filler)"}"#
        let last = good.replacingOccurrences(of: #""g""#, with: #""h""#)
        let file = try directory.write(
            [good, bigTask, bigObservation, hugeLine, last].joined(separator: "\n"), to: "runs.jsonl")
        let limits = TextLimits(
            maximumLineBytes: 150, maximumTaskBytes: 30, maximumStepTextBytes: 30, maximumObservationBytes: 30)
        await #expect(throws: MemoryError.textTooLarge(path: file, line: 2, field: "task", bytes: 40, limit: 30)) {
            try await store.importTrajectories(from: file, options: ImportOptions(limits: limits))
        }
        let report = try await store.importTrajectories(
            from: file, options: ImportOptions(skipInvalid: true, limits: limits))
        #expect(report.imported == 2 && report.invalid == 3)
        #expect(
            report.errors == [
                MemoryError.textTooLarge(path: file, line: 2, field: "task", bytes: 40, limit: 30).description,
                MemoryError.textTooLarge(path: file, line: 3, field: "steps[0].observation", bytes: 40, limit: 30)
                    .description,
                MemoryError.textTooLarge(path: file, line: 4, field: "(line)", bytes: hugeLine.utf8.count, limit: 150)
                    .description,
            ])
        // Raised limits take the same lines.
        let raised = try await store.importTrajectories(
            from: file, options: ImportOptions(duplicates: .skip, limits: TextLimits()))
        #expect(raised.imported == 3 && raised.skippedDuplicates == 2)
        await #expect(
            throws: MemoryError.invalidParameter(name: "maximumTaskBytes", value: 0, expected: "at least 1 (byte)")
        ) {
            try await store.importTrajectories(
                from: file, options: ImportOptions(limits: TextLimits(maximumTaskBytes: 0)))
        }
    }

    // Finding 9: the cache loader trusted files whose checksums matched, whatever their role.
    @Test func aVectorFileOfAnotherRoleIsRebuiltNotSearched() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let expected = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all).retrieve(
            "heat the mug", options: RetrievalOptions(policy: .query, k: 4)
        ).map(\.memory.id)
        let index = path + "/index/"
        // The same vectors in an inner-product index (the role of format 1's keywords.vectors), under the tasks' name.
        let tasks = try FlatIndex(contentsOf: index + "tasks.vectors")
        var impostor = try FlatIndex(dimension: tasks.dimension, metric: .innerProduct, storage: tasks.vectorStorage)
        for id in tasks.ids { try impostor.add(try #require(tasks.vector(for: id)), id: id) }
        try impostor.save(to: index + "tasks.vectors")
        // Fix the manifest's digest, as a forger would.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: index + "tasks.vectors"))
        var manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: index + "manifest.json")))
                as? [String: Any])
        var files = try #require(manifest["files"] as? [String: Any])
        files["tasks.vectors"] = ["bytes": bytes.count, "crc32c": bytes.withUnsafeBytes { crc32c($0) }]
        manifest["files"] = files
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: index + "manifest.json"))
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        guard case .rebuilt(let reason) = reopened.cacheState else {
            Issue.record("the impostor file was loaded")
            return
        }
        #expect(reason.contains("the cached task vector file holds an index of metric ip, not cosine"))
        #expect(
            try await reopened.retrieve("heat the mug", options: RetrievalOptions(policy: .query, k: 4)).map(
                \.memory.id)
                == expected)
    }

    // A kill -9 while the server saved its cache left the saves' temporary files in index/, never removed or reported.
    @Test func temporaryFilesOfStoppedCacheSavesAreReportedThenRemoved() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let path = directory.file("store")
        let index = path + "/index"
        let leftovers = [".dat.nosyncA1b2", ".text.bm25.tmp-1B3D.tmp-9F", "tasks.vectors.tmp-1B3D"]
        for name in leftovers { try Data("x".utf8).write(to: URL(fileURLWithPath: index + "/" + name)) }
        func present() -> [Bool] { leftovers.map { FileManager.default.fileExists(atPath: index + "/" + $0) } }
        func trajectory(_ id: String) -> Trajectory {
            Trajectory(
                id: id, task: "water the \(id) plant", steps: [Step(action: "water it")], outcome: nil, source: "t")
        }

        let report = try await MemoryStore.verify(at: path)
        #expect(report.problems == [])
        #expect(
            report.notes.contains(
                "\(index): 3 temporary files left by cache saves that were stopped (\(leftovers.joined(separator: ", "))); "
                    + "the next save removes them"))
        // While another save holds the lock, its own temporary files can't be told from these: they stay.
        let saving = try #require(DirectoryLock(directory: index))
        saving.lockShared()
        try await store.add([trajectory("fern")])
        #expect(present() == [true, true, true])
        saving.release()
        try await store.add([trajectory("cactus")])
        #expect(present() == [false, false, false])
        #expect(try await MemoryStore.verify(at: path).notes.allSatisfy { !$0.contains("temporary") })
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).cacheState == .loaded)
    }

    // Finding 10: a lookup failed when the cache folder could not be written.
    @Test func lookupRebuildsInMemoryWhenTheCacheFolderIsAFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        try FileManager.default.removeItem(atPath: path + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: path + "/index"))
        let store = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        guard case .rebuilt(let reason) = store.cacheState else {
            Issue.record("expected a rebuild")
            return
        }
        #expect(reason.contains("the rebuilt cache could not be saved"))
        let hits = try await store.retrieve("heat the mug", options: RetrievalOptions(policy: .hybrid, k: 1))
        #expect(hits.map(\.memory.id) == [Samples.heatMug.id])
    }

    // Hostile run 4: a write whose cache files could not be saved after its commit (a full disk) failed, so an
    // import that had stored everything exited 1 and its rerun was refused as "already stored".
    @Test func aWriteThatCommittedSucceedsWhenItsCacheCannotBeSaved() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let opened = store.cacheState
        try FileManager.default.removeItem(atPath: path + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: path + "/index"))
        let report = try await store.add([Samples.cleanApple, Samples.findKeys])
        #expect(report.imported == 2)
        guard case .unsaved(let reason) = store.cacheState else {
            Issue.record("expected the state to say the cache was not saved, got \(store.cacheState)")
            return
        }
        #expect(reason.contains("\(path)/index"))
        // The new memories are in the indexes lookups search.
        let hits = try await store.retrieve(Samples.findKeys.task, options: RetrievalOptions(policy: .hybrid, k: 3))
        #expect(Set(hits.map(\.memory.id)) == Set([Samples.heatMug, Samples.cleanApple, Samples.findKeys].map(\.id)))
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.memoryCount == 3)
        // Once a later write saves them, the state no longer says they are unsaved.
        try FileManager.default.removeItem(atPath: path + "/index")
        let saved = try await store.add([Samples.cookMeal])
        #expect(saved.imported == 1 && store.cacheState == opened)
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).cacheState == .loaded)
    }

    // Hostile run 4: a full disk was "Database: …: database or disk is full (SQLite code 13)", an error like any
    // other of the database (HTTP 500), which said neither what was kept nor what to do. SQLite's page limit
    // stands in for the disk here: it fails a write with the same SQLITE_FULL.
    @Test func aFullDiskStopsAnImportSayingSoAndKeepsWhatWasCommitted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let backend = try #require(store.backend as? SQLiteBackend)
        try await backend.writing { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages + 8)")
        }
        let lines = (0..<200).map { index in
            #"{"id": "run-\#(index)", "task": "wash plate \#(index) in the sink", "#
                + #""steps": [{"action": "go to sink", "observation": "\#(String(repeating: "x", count: 2000))"}]}"#
        }
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        var (committed, cause) = (0, MemoryError.emptyTask)
        do {
            try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 1))
        } catch .importStopped(let count, let stop) {
            (committed, cause) = (count, stop)
        } catch {
            cause = error
        }
        #expect(cause == .storageFull(path: path + "/memp.sqlite"))
        // SQLite's SQLITE_FULL doesn't say which file found no space: the message claims neither disk alone.
        #expect(cause.description.contains("The disk holding the database is full, or the one holding its temporary"))
        #expect(try await store.statistics().trajectories == committed + 1)
        let verification = try await MemoryStore.verify(at: path)
        #expect(verification.problems.isEmpty)
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(try await reopened.statistics().trajectories == committed + 1)
    }

    /// Hostile run 13: an import past the process's file size limit (`ulimit -f`, SIGXFSZ ignored) said "disk I/O
    /// error (SQLite code 10)"; it names the file and the limit, and what earlier batches committed stays.
    @Test func anImportPastTheFileSizeLimitSaysSoAndKeepsWhatWasCommitted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        _ = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let lines = (0..<200).map { index in
            #"{"id": "run-\#(index)", "task": "wash plate \#(index) in the sink", "#
                + #""steps": [{"action": "go to sink", "observation": "\#(String(repeating: "x", count: 2000))"}]}"#
        }
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        await #expect(processExitsWith: .success) { [path = path as String, file = file as String] in
            signal(SIGXFSZ, SIG_IGN)
            let store = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
            // Room for a few of the 200 trajectories in the database's largest file.
            let largest =
                ["", "-wal"].map { suffix in
                    var facts = stat()
                    return stat(path + "/memp.sqlite" + suffix, &facts) == 0 ? Int(facts.st_size) : 0
                }.max() ?? 0
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
            limit.rlim_cur = rlim_t(largest + 256 << 10)
            setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
            var cause: MemoryError?
            do {
                try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 1))
            } catch {
                cause = error as? MemoryError
            }
            guard case .importStopped(let committed, .io(let stopped, let reason))? = cause,
                stopped.hasPrefix(path + "/memp.sqlite"),
                reason.hasPrefix(
                    "can't grow past this process's limit on the size of a file it writes (\(limit.rlim_cur) bytes"),
                reason.hasSuffix(
                    "so the write stopped and its transaction stored nothing. Raise the limit (`ulimit -f`), then retry"
                )
            else { exit(3) }
            guard committed > 0, try await store.statistics().trajectories == committed + 1 else { exit(4) }
            exit(0)
        }
        let verification = try await MemoryStore.verify(at: path)
        #expect(verification.problems.isEmpty)
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(try await reopened.statistics().trajectories > 1)
    }

    // Hostile run 4: a store in a directory this user can't write was "attempt to write a readonly database (SQLite
    // code 8)", also to read it, and on a read-only file system "unable to open database file (SQLite code 14)".
    @Test(.enabled(if: geteuid() != 0, "root writes through permission bits"))
    func aStoreInADirectoryThatCantBeWrittenIsNamedAsSuch() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("store")
        defer {
            chmod(path, 0o755)
            directory.remove()
        }
        _ = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        chmod(path, 0o555)
        do {
            _ = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
            Issue.record("a store in a directory that can't be written opened")
        } catch {
            guard case .io(path, let reason) = error else {
                Issue.record("expected an I/O error naming \(path), got \(error)")
                return
            }
            #expect(reason.hasPrefix("can't be written (Permission denied)"))
        }
        chmod(path, 0o755)
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).memoryCount == 1)
    }

    /// An embedder of more dimensions than an index takes.
    struct WideEmbedder: Embedder {
        var modelIdentifier: String { "wide:v1:5000" }
        var dimension: Int { 5000 }
        func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
            texts.map { _ in [Float](repeating: 1, count: 5000) }
        }
    }

    // Hostile run 4: a create that failed after the database file came into being (a full disk, or an embedder no
    // index takes) left a memp.sqlite behind, and every later create there was refused.
    @Test func aCreateThatFailsLeavesNoDatabaseBehind() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        await #expect(throws: MemoryError.index(.unsupportedDimension(5000, supported: 1...4096))) {
            try await MemoryStore.create(at: path, embedder: WideEmbedder())
        }
        // Refused before anything was made.
        #expect(!FileManager.default.fileExists(atPath: path))
        let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        try await store.add([Samples.heatMug])
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).memoryCount == 1)
    }

    // The database is linked into place: of creates racing for one directory, one makes the store and the others
    // are refused, not run on a database another is making.
    @Test func createsRacingForOneDirectoryMakeOneStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let outcomes = await withTaskGroup(of: MemoryError?.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do throws(MemoryError) {
                        _ = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1)
        #expect(outcomes.compactMap { $0 }.allSatisfy { $0 == .storeExists(path: path) })
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(!names.contains { $0.contains(".tmp-") })
        #expect(try await MemoryStore.open(at: path, embedder: WordHashEmbedder()).memoryCount == 0)
    }

    // A killed create left its temporary database (`memp.sqlite.tmp-UUID`, with `-wal` and `-shm` files) in the
    // store directory for good. The next create removes such files, but never the temporary of a create still
    // running there; verify names those it finds beside a store (left by a create killed after linking it).
    @Test func temporaryDatabasesOfStoppedCreatesAreRemovedByTheNextCreateAndReported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A real database left under a temporary name, as a create killed before it linked the file leaves it.
        let made = directory.file("made")
        _ = try await MemoryStore.create(at: made, embedder: WordHashEmbedder())
        let path = directory.file("store")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let leftover = SQLiteStore.temporaryPrefix + UUID().uuidString
        try FileManager.default.copyItem(atPath: made + "/memp.sqlite", toPath: path + "/" + leftover)
        try Data().write(to: URL(fileURLWithPath: path + "/" + leftover + "-wal"))
        try Data().write(to: URL(fileURLWithPath: path + "/" + leftover + "-shm"))
        let files = [leftover, leftover + "-shm", leftover + "-wal"]
        // While another create holds the directory (its temporary looks the same), nothing is removed or reported.
        let running = try #require(DirectoryLock(directory: path))
        running.lockShared()
        let other = directory.file("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        for name in files { try FileManager.default.copyItem(atPath: path + "/" + name, toPath: other + "/" + name) }
        _ = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        #expect(SQLiteStore.temporaryFiles(in: path) == files)
        #expect(try await MemoryStore.verify(at: path).problems.isEmpty)
        running.release()
        // Once no create runs there, verify names each file.
        let problems = try await MemoryStore.verify(at: path).problems
        #expect(problems.count == 3 && problems.allSatisfy { $0.contains("left by a store create that was stopped") })
        #expect(problems.first?.hasPrefix("\(path)/\(leftover) is a temporary database file") == true)
        // A create in a directory holding only leftovers removes them.
        _ = try await MemoryStore.create(at: other, embedder: WordHashEmbedder())
        #expect(SQLiteStore.temporaryFiles(in: other).isEmpty)
        #expect(try await MemoryStore.verify(at: other).problems.isEmpty)
        #expect(try await MemoryStore.open(at: other, embedder: WordHashEmbedder()).memoryCount == 0)
    }

    // Finding 11: NaN settings, the wrong duplicate message, and empty tasks treated differently per policy.
    /// Found by the soak (`scripts/soak.py`): two processes saving the cache at once; one removed `manifest.json`
    /// between the other's existence check and its removal, so a `memp update` whose batches had all committed
    /// exited 1, and its uses went uncounted by the caller.
    @Test func cacheSaveToleratesAManifestAnotherProcessRemoved() throws {
        let directory = try TemporaryDirectory()
        let manifest = directory.path + "/manifest.json"
        try IndexCache.removeIfPresent(manifest)  // already gone: no error
        try Data("{}".utf8).write(to: URL(fileURLWithPath: manifest))
        try IndexCache.removeIfPresent(manifest)
        #expect(!FileManager.default.fileExists(atPath: manifest))
        // A manifest path that can't be removed (a non-empty folder is in the way) is still an error.
        try FileManager.default.createDirectory(atPath: manifest + "/x", withIntermediateDirectories: true)
        #expect(throws: MemoryError.io(path: manifest, reason: String(cString: strerror(EISDIR)))) {
            try IndexCache.removeIfPresent(manifest)
        }
    }

    @Test func nanSettingsAreRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        // NaN equals nothing, not even itself, so the cases are matched by their other facts.
        let similarity = try await #require(throws: MemoryError.self) {
            try await store.retrieve("heat", options: RetrievalOptions(policy: .query, minimumSimilarity: .nan))
        }
        guard case .invalidParameter("minimumSimilarity", let value, "a cosine similarity within -1…1") = similarity
        else {
            Issue.record("unexpected \(similarity)")
            return
        }
        #expect(
            value.isNaN
                && similarity.description == "minimumSimilarity must be a cosine similarity within -1…1 (got nan).")
        for outside: Float in [1.5, -2, .infinity] {
            await #expect(
                throws: MemoryError.invalidParameter(
                    name: "minimumSimilarity", value: Double(outside), expected: "a cosine similarity within -1…1")
            ) {
                try await store.retrieve("heat", options: RetrievalOptions(policy: .hybrid, minimumSimilarity: outside))
            }
        }
        #expect(
            try await store.retrieve("heat", options: RetrievalOptions(policy: .query, minimumSimilarity: 1)).isEmpty)
        // The options the initializer trapped on, and the fusion's numbers, are refused by the lookup instead.
        for (options, name, value, expected) in [
            (RetrievalOptions(outcomePrior: .nan), "outcomePrior", Double.nan, "within 0…1"),
            (RetrievalOptions(outcomePrior: 2), "outcomePrior", 2, "within 0…1"),
            (RetrievalOptions(procedureWeight: -1), "procedureWeight", -1, "a number of at least 0"),
            (RetrievalOptions(procedureWeight: .infinity), "procedureWeight", .infinity, "a number of at least 0"),
            (RetrievalOptions(fusion: .convex(alpha: 1.5, normalization: .minMax)), "alpha", 1.5, "within 0…1"),
            (RetrievalOptions(fusion: .reciprocalRank(rankConstant: 0)), "rankConstant", 0, "a positive number"),
            (RetrievalOptions(candidateDepth: 0), "candidateDepth", 0, "at least 1"),
        ] {
            let refused = try await #require(throws: MemoryError.self) {
                try await store.retrieve("heat", options: options)
            }
            guard case .invalidParameter(name, let actual, expected) = refused,
                actual == value || (actual.isNaN && value.isNaN)
            else {
                Issue.record("\(name): unexpected \(refused)")
                continue
            }
        }
        let reward = try #require(throws: MemoryError.self) { try UpdateSettings(successReward: .nan).validate() }
        guard case .invalidParameter("successReward", let value, "a finite number") = reward else {
            Issue.record("unexpected \(reward)")
            return
        }
        #expect(value.isNaN)
    }

    @Test func duplicateIDWithinOneFileNamesBothLines() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let line = #"{"id": "b", "task": "open the door", "steps": [{"action": "open door"}]}"#
        let file = try directory.write([line, line, line].joined(separator: "\n"), to: "runs.jsonl")
        await #expect(throws: MemoryError.repeatedTrajectory(id: "b", path: file, line: 2, firstLine: 1)) {
            try await store.importTrajectories(from: file)
        }
    }

    // Hostile run 12: a task of invisible characters only (a zero-width space, a byte order mark, a soft hyphen, a
    // control character), which every tokenizer drops, was no empty task: BM25 answered nothing, the hashing
    // embedder's zero vector was blamed on the words, and MiniLM ranked every memory by an empty sequence.
    @Test(
        arguments: [RetrievalPolicy.query, .keyword, .bm25, .hybrid],
        [" \n", "\u{200B}", "\u{FEFF}\u{00AD} \u{200D}", "\u{01}"])
    func emptyTaskIsTheSameErrorInEveryPolicy(policy: RetrievalPolicy, task: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        await #expect(throws: MemoryError.emptyTask) {
            try await store.retrieve(task, options: RetrievalOptions(policy: policy))
        }
    }

    // Hostile run 4: a task the embedder maps to zeros ("!!!" for a hashing embedder) failed a query or hybrid
    // lookup with "Vector is all zeros and has no cosine direction; nothing was changed." (HTTP 500).
    @Test(arguments: [RetrievalPolicy.query, .hybrid, .keyword, .bm25])
    func aTaskWithoutWordsTheEmbedderKnowsIsRefusedByTheCosinePolicies(policy: RetrievalPolicy) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let lookup = { () async throws(MemoryError) in
            try await store.retrieve("!!!", options: RetrievalOptions(policy: policy))
        }
        if policy == .query || policy == .hybrid {
            await #expect(throws: MemoryError.taskWithoutDirection(embedder: "test-words:v1:64")) { try await lookup() }
        } else {
            // Neither ranks by the task's embedding: nothing matches.
            #expect(try await lookup().isEmpty)
        }
    }

    @Test(arguments: [RetrievalPolicy.random, .query, .keyword, .bm25, .hybrid])
    func aTaskOverTheLookupLimitIsRefusedInEveryPolicy(policy: RetrievalPolicy) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let limit = MemoryStore.maximumLookupTaskBytes
        let task = String(repeating: "open the door ", count: limit / 14) + String(repeating: "é", count: 8)
        #expect(task.utf8.count > limit)
        await #expect(throws: MemoryError.lookupTaskTooLarge(bytes: task.utf8.count, limit: limit)) {
            try await store.retrieve(task, options: RetrievalOptions(policy: policy))
        }
    }

    @Test func aTaskAtTheLookupLimitIsLookedUp() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let limit = MemoryStore.maximumLookupTaskBytes
        let task = "heat the mug " + String(repeating: "x", count: limit - 13)
        #expect(task.utf8.count == limit)
        let hits = try await store.retrieve(task, options: RetrievalOptions(policy: .bm25, k: 2))
        #expect(!hits.isEmpty && hits.allSatisfy { $0.explanation.ranking?.matchedTerms.contains("mug") == true })
    }

    // Finding 12: a whole-store check.
    @Test func verifyPassesASoundStoreAndFindsTamperedRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let sound = try await MemoryStore.verify(at: path)
        #expect(sound.isSound && sound.memories == 4 && sound.trajectories == 4)
        #expect(sound.notes == ["index cache matches the database at generation \(sound.generation)"])
        let backend = try #require(store.backend as? SQLiteBackend)
        try await backend.database.write { db in
            try db.execute(
                sql: "UPDATE memory SET successCount = 5, hitCount = 2 WHERE id = ?", arguments: [Samples.heatMug.id])
            // A task changed behind the store's back: the cache, at the same generation, no longer matches.
            try db.execute(
                sql: "UPDATE memory SET task = 'zebra quantum' WHERE id = ?", arguments: [Samples.cleanApple.id])
            // Hostile run 8: a history row that doesn't decode passed, and `memp history` then failed.
            try db.execute(sql: "UPDATE history SET after = 'garbage{' WHERE number = 1")
        }
        let damaged = try await MemoryStore.verify(at: path)
        #expect(damaged.problems.count == 3)
        #expect(damaged.problems.first?.hasPrefix("memories with impossible counters") == true)
        #expect(damaged.problems.first?.hasSuffix(": \(Samples.heatMug.id)") == true)
        // It names the row and the column (`memp history` said "DecodingError.dataCorrupted … not valid JSON").
        #expect(
            damaged.problems.dropFirst().first?.hasPrefix(
                "the history can't be read: Database: history row 1, column after, holds no memory: not JSON") == true)
        #expect(damaged.problems.last?.contains("the cached BM25 document differs") == true)
    }

    /// Hostile run 21: records of applied tasks edited to hold a negative line passed `verify`.
    @Test func verifyFindsARecordOfAnAppliedTaskThatCantBeRight() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: [Samples.heatMug])
        let task = FinishedTask(trajectory: UpdatePolicyTests.failedCup, usedMemories: [Samples.heatMug.id])
        try await store.update([task], options: UpdateOptions(policy: .validation))
        #expect(try await MemoryStore.verify(at: path).isSound)
        let backend = try #require(store.backend as? SQLiteBackend)
        try await backend.database.write { db in try db.execute(sql: "UPDATE applied_task SET line = -4") }
        let damaged = try await MemoryStore.verify(at: path)
        #expect(
            damaged.problems == [
                "records of applied tasks with a line below 1: \(UpdatePolicyTests.failedCup.id) (line -4)"
            ])
    }

    /// Hostile run 16: a date past year 9999 (or before year 1) read from a bundle was stored, and every export
    /// then wrote a date its own import refused or read back as another.
    @Test func verifyFindsADateTheStoresFilesCannotWrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let backend = try #require(store.backend as? SQLiteBackend)
        try await backend.database.write { db in
            try db.execute(sql: "UPDATE memory SET createdAt = 1e15 WHERE id = ?", arguments: [Samples.heatMug.id])
        }
        let damaged = try await MemoryStore.verify(at: directory.file("store"))
        #expect(
            damaged.problems.contains(
                "memories with a date outside the years 1 through 9999, which no export can write: "
                    + Samples.heatMug.id))
    }

    @Test func verifyFindsDamagedDatabasePages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        do {
            let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
            let backend = try #require(store.backend as? SQLiteBackend)
            try await backend.database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        let databasePath = path + "/" + SQLiteStore.databaseFileName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        let pageSize = 4096
        #expect(bytes.count >= 4 * pageSize)
        // Scramble every page but the first (the header), as a failing disk would.
        for offset in stride(from: pageSize + 8, to: bytes.count, by: 97) { bytes[offset] ^= 0x5A }
        try bytes.write(to: URL(fileURLWithPath: databasePath))
        let report = try await MemoryStore.verify(at: path)
        #expect(!report.isSound)
        #expect(report.problems.first?.isEmpty == false)
    }

    /// Hostile run 13: a file that grew while it was imported (an agent appending its runs) was read past the size
    /// taken at the start, so progress passed 100% and `memp import`'s bar on a terminal trapped half-way through.
    @Test func progressOfAFileThatGrowsWhileImportedNeverPassesItsTotal() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        @Sendable func lines(_ range: Range<Int>) -> String {
            range.map { #"{"id": "g\#($0)", "task": "water plant \#($0)", "steps": [{"action": "pour"}]}"# + "\n" }
                .joined()
        }
        let file = try directory.write(lines(0..<10), to: "growing.jsonl")
        let initialBytes = lines(0..<10).utf8.count
        let reports = Mutex<[ImportReport]>([])
        let appended = Data(lines(10..<20).utf8)
        let final = try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 2)) { step in
            let first = reports.withLock {
                $0.append(step)
                return $0.count == 1
            }
            guard first, let appending = FileHandle(forWritingAtPath: file) else { return }
            appending.seekToEndOfFile()
            appending.write(appended)
            appending.closeFile()
        }
        #expect(final.imported == 20)
        #expect(final.bytesRead == lines(0..<20).utf8.count && final.totalBytes == final.bytesRead)
        let steps = reports.withLock { $0 }
        #expect(steps.first?.totalBytes == initialBytes)
        #expect(steps.allSatisfy { $0.bytesRead <= $0.totalBytes })
        #expect(steps.last?.bytesRead ?? 0 > initialBytes)
    }

    /// Hostile run 17: an import file whose read fails (here this process's memory from address 0) ended the
    /// process; one that could not be opened imported nothing and succeeded.
    @Test func anImportFileThatCantBeReadIsAnIOError() async throws {
        let store = try await TestStoreKind.inMemoryStore()
        await #expect(throws: MemoryError.io(path: "/proc/self/mem", reason: "can't be read: Input/output error")) {
            try await store.importTrajectories(from: "/proc/self/mem")
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    /// A create refuses a configuration that doesn't rebuild its embedder, before anything is made.
    ///
    /// Hostile run 17: `HashingEmbedder()` (384 dimensions) with `.hashing(dimension: 128)` made a store that
    /// `verify` called sound and every later open without an embedder refused as an embedder mismatch.
    @Test func aCreateRefusesAConfigurationThatDoesNotRebuildItsEmbedder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let cases: [(EmbedderConfiguration, String)] = [
            (.hashing(dimension: 128), "hashing:v1:128 (128 dimensions)"),
            (.minilm(modelDirectory: nil), "minilm:all-MiniLM-L6-v2"),
            (
                .openAICompatible(
                    baseURL: "http://127.0.0.1:1/v1", model: "nomic", apiKeyEnvironmentVariable: nil, dimension: 384),
                "openai:nomic (384 dimensions)"
            ),
        ]
        for (configuration, configured) in cases {
            await #expect(
                throws: MemoryError.configurationMismatch(
                    configured: configured, embedder: "hashing:v1:384 (384 dimensions)")
            ) {
                try await MemoryStore.create(at: path, embedder: HashingEmbedder(), configuration: configuration)
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        // The configuration that does rebuild it is recorded, and the store opens without an embedder.
        _ = try await MemoryStore.create(at: path, embedder: HashingEmbedder(), configuration: .hashing(dimension: 384))
        #expect(try await MemoryStore.open(at: path).embedder.modelIdentifier == "hashing:v1:384")
    }

    /// At every limit of open files, from none free to plenty, a create succeeds, or fails and leaves no database.
    ///
    /// Under a limit that let it make the store but not open it (`memp init` under `ulimit -n 10`), a create failed
    /// and left the store, so that the create run again, with the limit raised, said the directory "already holds a
    /// memory store".
    @Test func aCreateThatFailsForWantOfFileDescriptorsLeavesNoStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        await #expect(processExitsWith: .success) { [root = directory.path as String] in
            let (failures, successes) = await attemptUnderEachFileLimit(spares: 40) { spare in
                _ = try await MemoryStore.create(at: "\(root)/store-\(spare)", embedder: WordHashEmbedder())
            } afterFailure: { spare, _ in
                // Neither the store nor the directory made for it (hostile run 18) is left.
                if FileManager.default.fileExists(atPath: "\(root)/store-\(spare)") { exit(3) }
            }
            exit(failures > 0 && successes > 0 ? 0 : 4)
        }
    }

    /// Hostile run 13: a process out of file descriptors (`ulimit -n 12`, or `memp serve` over more stores than its
    /// limit holds) was told "unable to open database file (SQLite code 14)", as if the store were damaged.
    @Test func aProcessOutOfFileDescriptorsIsToldSo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await TestStoreKind.disk.makeStore(in: directory)
        await #expect(processExitsWith: .success) { [database = directory.file("store/memp.sqlite") as String] in
            // The limit is on descriptor numbers: at the lowest free one, no file can be opened at all.
            let lowestFree = open("/dev/null", O_RDONLY)
            close(lowestFree)
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = rlim_t(lowestFree)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            do {
                _ = try SQLiteBackend(path: database, existingStore: true)
                exit(3)
            } catch {
                guard case MemoryError.io(database, let reason) = error,
                    reason.hasPrefix("this process has "),
                    reason.hasSuffix(
                        "files open that its limit of open files allows, and a store's database holds up to 18. "
                            + "Raise the limit, or use fewer stores at once")
                else { exit(4) }
                exit(0)
            }
        }
    }
}
