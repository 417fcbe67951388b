import Foundation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing

@Suite struct TransferTests {
    static func exported(_ directory: TemporaryDirectory) async throws -> (MemoryStore, String) {
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        try await store.recordOutcome(task: "t", usedMemories: ["tw-cook-0007"], outcome: Outcome(success: true))
        let bundle = directory.file("bundle")
        try await store.export(to: bundle)
        return (store, bundle)
    }

    static func withoutImport(_ memory: Memory?) -> Memory? {
        guard var memory else { return nil }
        memory.provenance.importedFrom = nil
        return memory
    }

    @Test func roundTripKeepsMemoriesVectorsAndProvenance() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (source, bundle) = try await Self.exported(directory)
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: bundle + "/manifest.json"))
        let fields = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
        let createdAt = try #require(fields["createdAt"] as? String)
        #expect(createdAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z/) != nil)
        let manifest = try JSONDates.decoder().decode(BundleManifest.self, from: manifestData)
        #expect(manifest.formatVersion == 2 && manifest.embedderID == "test-words:v1:64" && manifest.dimension == 64)
        #expect(manifest.memoryCount == 4 && manifest.trajectoryCount == 4 && manifest.sourceModels == ["gpt-4o"])
        #expect(manifest.files.map(\.path) == ["memories.jsonl", "trajectories.jsonl"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["bundle", "store"])

        let target = try await TestStoreKind.inMemory.makeStore(in: directory)
        let report = try await target.importBundle(at: bundle)
        #expect(report.memories == 4 && report.trajectories == 4 && !report.reembedded && report.skippedMemories == 0)
        for trajectory in Samples.all {
            let original = try await source.memory(id: trajectory.id)
            let copy = try await target.memory(id: trajectory.id)
            #expect(Self.withoutImport(copy) == original)
            #expect(copy?.provenance.importedFrom == "bundle \(bundle) (embedder test-words:v1:64)")
            #expect(try await target.trajectory(id: trajectory.id) == trajectory)
        }
        #expect(try await target.memory(id: "tw-cook-0007")?.hitCount == 1)
        for policy in [RetrievalPolicy.query, .keyword, .bm25, .hybrid] {
            let options = RetrievalOptions(policy: policy, k: 4)
            let task = "heat a mug for the coffee machine"
            let expected = try await source.retrieve(task, options: options).map { "\($0.memory.id) \($0.score)" }
            #expect(try await target.retrieve(task, options: options).map { "\($0.memory.id) \($0.score)" } == expected)
        }
        let history = try await target.history()
        #expect(history.count == 4 && history.allSatisfy { $0.action == .add && $0.policy == "import-bundle" })
        #expect(history[0].reason == "import bundle \(bundle) (source models: gpt-4o)")

        await #expect(throws: MemoryError.duplicateMemory(id: "alf-heat-mug-1", bundle: bundle)) {
            try await target.importBundle(at: bundle)
        }
        #expect(try await target.importBundle(at: bundle, duplicates: .skip).skippedMemories == 4)
        await #expect(
            throws: MemoryError.io(
                path: bundle, reason: "the bundle directory exists and is not empty; choose a new one")
        ) {
            try await source.export(to: bundle)
        }
    }

    @Test func exportOverAFileKeepsTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        try await store.add(Samples.all)
        let notes = directory.file("notes.txt")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: notes))
        await #expect(
            throws: MemoryError.io(path: notes, reason: "a file by that name exists; choose a new bundle directory")
        ) {
            try await store.export(to: notes)
        }
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == "keep me")
        // Importing it names what it is, where "no such directory" said it did not exist.
        await #expect(
            throws: MemoryError.io(path: notes, reason: "is a file, not a bundle directory from an export")
        ) {
            try await store.importBundle(at: notes)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["notes.txt", "store"])
    }

    @Test func anotherEmbedderEmbedsAgain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        let target = try await MemoryStore.open(
            backend: SQLiteBackend(path: nil), embedder: StoreTests.OtherEmbedder(), cacheDirectory: nil)
        let report = try await target.importBundle(at: bundle)
        #expect(report.reembedded && report.memories == 4)
        #expect(try await target.memory(id: "alf-heat-mug-1")?.embedderID == "other:v1:64")
        #expect(
            try await target.retrieve(Samples.heatMug.task, options: RetrievalOptions(policy: .query, k: 1)).first?
                .memory.id == "alf-heat-mug-1")
    }

    @Test func tamperedBundleIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        let memories = bundle + "/memories.jsonl"
        var text = try String(contentsOfFile: memories, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"hitCount\":1", with: "\"hitCount\":9")
        try text.write(toFile: memories, atomically: true, encoding: .utf8)
        let target = try await expectBundleRefused(
            bundle,
            reason: "memories.jsonl differs from the manifest (size or SHA-256): it was changed after the export")
        let statistics = try await target.statistics()
        #expect(target.memoryCount == 0 && statistics.trajectories == 0)
        #expect(
            MemoryError.bundleRefused(path: "b", reason: "r").description
                == "The bundle b was refused, nothing was imported: r. Export it again from its store.")
    }

    /// A manifest that doesn't decode is refused saying which field is wrong, or where its JSON breaks (it was
    /// "manifest.json is not a valid manifest" whatever the fault).
    @Test(arguments: [
        (#"{"formatVersion": "2"}"#, "manifest.json is not a valid manifest: field formatVersion must be an integer"),
        (#"{"formatVersion": 2}"#, "manifest.json is not a valid manifest: field createdAt is missing"),
        (
            #"{"formatVersion": 2,"#,
            "manifest.json is not a valid manifest: not JSON, Unexpected end of file during JSON parse"
        ),
    ])
    func manifestFaultsAreNamed(manifest: String, reason: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        try manifest.write(toFile: bundle + "/manifest.json", atomically: true, encoding: .utf8)
        try await expectBundleRefused(bundle, reason: reason)
    }

    @Test func manifestThatIsADirectoryIsRefusedAsSuch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        try FileManager.default.removeItem(atPath: bundle + "/manifest.json")
        try FileManager.default.createDirectory(atPath: bundle + "/manifest.json", withIntermediateDirectories: false)
        try await expectBundleRefused(bundle, reason: "manifest.json is a directory, not a regular file")
    }

    @Test(arguments: ["../outside.jsonl", "/etc/passwd", "a/../../outside.jsonl", "./memories.jsonl", ""])
    func pathsOutsideTheBundleAreRefused(path: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        let manifestPath = bundle + "/manifest.json"
        var manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
            as? [String: Any] ?? [:]
        var files = manifest["files"] as? [[String: Any]] ?? []
        files.append([
            "path": path, "bytes": 0, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ])
        manifest["files"] = files
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
        try await expectBundleRefused(
            bundle, reason: "the manifest names the path \"\(path)\", which would leave the bundle directory")
    }

    @Test func symbolicLinkOutOfTheBundleIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, bundle) = try await Self.exported(directory)
        // Same bytes, so only the link's target betrays it.
        try FileManager.default.moveItem(atPath: bundle + "/memories.jsonl", toPath: directory.file("elsewhere.jsonl"))
        try FileManager.default.createSymbolicLink(
            atPath: bundle + "/memories.jsonl", withDestinationPath: directory.file("elsewhere.jsonl"))
        try await expectBundleRefused(bundle, reason: "memories.jsonl resolves to a file outside the bundle directory")
    }

    /// A task of 8,400 characters (under the 16 KiB import limit) and a trajectory of 5,000 steps gave scripts of
    /// 10,423 and 28,935 characters, and a bundle that `importBundle` refused every time: it carries scripts of at
    /// most ``MemoryStore/maximumScriptLength`` characters, which the store never checked.
    @Test func memoriesOfALongTaskOrManyStepsExportAndImportAgain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let longTask = String(repeating: "pick up the red ball ", count: 400)
        let manySteps = (0..<5_000).map { ["take ball", "drop ball"][$0 % 2] }
        let lines = [
            ["id": "long-task", "task": longTask, "steps": [["action": "take ball"]], "outcome": ["success": true]],
            [
                "id": "many-steps", "task": "juggle the ball", "steps": manySteps.map { ["action": $0] },
                "outcome": ["success": true],
            ],
        ]
        let file = directory.file("long.jsonl")
        try Data(
            lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) + "\n" }
                .joined().utf8
        ).write(to: URL(fileURLWithPath: file))
        let source = try await MemoryStore.create(at: directory.file("store"), embedder: WordHashEmbedder())
        #expect(try await source.importTrajectories(from: file).imported == 2)
        for id in ["long-task", "many-steps"] {
            let script = try #require(try await source.memory(id: id)?.script)
            #expect(script.count <= MemoryStore.maximumScriptLength && script.hasSuffix("\n…"))
        }
        let bundle = directory.file("bundle")
        try await source.export(to: bundle)
        let target = try await MemoryStore.create(at: directory.file("target"), embedder: WordHashEmbedder())
        let report = try await target.importBundle(at: bundle)
        #expect(report.memories == 2 && report.trajectories == 2)
        #expect(try await target.trajectory(id: "long-task")?.task == longTask)
        #expect(try await target.trajectory(id: "many-steps")?.steps.count == 5_000)
    }

    @Test func scriptCutToTheLimitKeepsWholeLines() {
        let lines = (1...2_000).map { "\($0). take [OBJECT1]" }
        let clipped = MemoryStore.clippedScript(lines.joined(separator: "\n"))
        #expect(clipped.count <= MemoryStore.maximumScriptLength)
        let kept = clipped.split(separator: "\n").map(String.init)
        #expect(kept.last == "…" && kept.dropLast() == lines.prefix(kept.count - 1))
        let oneLine = String(repeating: "a", count: 9_000)
        #expect(MemoryStore.clippedScript(oneLine) == String(repeating: "a", count: 7_998) + "\n…")
        #expect(MemoryStore.clippedScript("1. take ball") == "1. take ball")
    }

    /// With a trailing slash the temporary was made inside the bundle directory, which was then removed with it:
    /// the export failed ("can't move the bundle into place") and took an existing empty directory along.
    @Test func bundleDirectoryWithATrailingSlashIsWrittenAndAnEmptyOneReplaced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        try await store.export(to: directory.file("new") + "/")
        let empty = directory.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        try await store.export(to: empty + "/")
        for bundle in ["new", "empty"] {
            #expect(
                try await TestStoreKind.inMemory.makeStore(in: directory).importBundle(at: directory.file(bundle))
                    .memories == 4)
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["empty", "new", "store"])
        await #expect(
            throws: MemoryError.io(
                path: directory.file("new"), reason: "the bundle directory exists and is not empty; choose a new one")
        ) { try await store.export(to: directory.file("new") + "//") }
        await #expect(
            throws: MemoryError.io(
                path: directory.path + "/..",
                reason: "names no new directory; name the bundle directory itself (as DIR/bundle)")
        ) { try await store.export(to: directory.path + "/..") }
    }

    /// A `kill -9` during an export left its bundle-sized temporary beside the bundle directory for good.
    @Test func exportRemovesTheTemporariesOfKilledExportsToTheSameDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory, holding: Samples.all)
        let out = directory.file("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let killed = out + "/b.tmp-" + UUID().uuidString
        let otherBundle = out + "/c.tmp-" + UUID().uuidString
        let notOne = out + "/b.tmp-notes"
        for path in [killed, otherBundle, notOne] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try Data("partial".utf8).write(to: URL(fileURLWithPath: path + "/memories.jsonl"))
        }
        // A live export beside it holds the lock shared: its temporary can't be told from one left over.
        let live = try #require(DirectoryLock(directory: out))
        live.lockShared()
        try await store.export(to: out + "/b")
        #expect(FileManager.default.fileExists(atPath: killed))
        live.release()

        try FileManager.default.removeItem(atPath: out + "/b")
        try await store.export(to: out + "/b")
        let left = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(left == ["b", "b.tmp-notes", (otherBundle as NSString).lastPathComponent])
    }
}
