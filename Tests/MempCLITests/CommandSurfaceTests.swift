import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import TestSupport
import Testing

/// What a user sees from `memp --version`, `memp delete --dry-run` and `memp export --source` with no match, run as
/// the real executable.
@Suite struct CommandSurfaceTests {
    static func trajectory(_ id: String, _ task: String, source: String) -> Trajectory {
        Trajectory(
            id: id, task: task,
            steps: [Step(action: "go to countertop 1", observation: "On the countertop 1, you see a mug 1.")],
            outcome: Outcome(success: true, reward: 1), source: source, labels: ["fold": "train"])
    }

    /// A store with two alfworld trajectories and one textworld trajectory.
    static func makeStore(at path: String) async throws {
        let store = try await MemoryStore.create(
            at: path, embedder: HashingEmbedder(dimension: 32), configuration: .hashing(dimension: 32))
        try await store.add([
            trajectory("a1", "heat some mug", source: "alfworld"),
            trajectory("a2", "clean some apple", source: "alfworld"),
            trajectory("t1", "cook a meal", source: "textworld"),
        ])
    }

    @Test func versionPrintsTheReleaseAndExitsZero() async throws {
        let outcome = try await ChildProcess.memp(["--version"])
        #expect(outcome.status == 0 && outcome.output == MempVersion.current + "\n" && outcome.errors == "")
    }

    @Test func deleteDryRunReportsExactlyWhatWouldGoAndKeepsEverything() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await Self.makeStore(at: store)
        let before = try await MemoryStore.statistics(at: store)

        let text = try await ChildProcess.memp(["delete", "--store", store, "--source", "alfworld", "--dry-run"])
        #expect(text.status == 0)
        #expect(
            text.output == "Would delete 2 trajectories and 2 memories (source alfworld); nothing was deleted.\n")
        struct Line: Decodable, Equatable {
            var scope: String
            var trajectories: Int
            var memories: Int
            var dryRun: Bool
        }
        let json = try await ChildProcess.memp(["delete", "--store", store, "--id", "t1", "--dry-run", "--json"])
        #expect(json.status == 0)
        #expect(
            try JSONDecoder().decode(Line.self, from: Data(json.output.utf8))
                == Line(scope: "id t1", trajectories: 1, memories: 1, dryRun: true))
        let unknown = try await ChildProcess.memp(["delete", "--store", store, "--id", "nope", "--dry-run"])
        #expect(unknown.status == 1 && unknown.errors.contains("No memory or trajectory has ID nope."))
        // Nothing changed: not the counts, not the history, not the generation.
        #expect(try await MemoryStore.statistics(at: store) == before)

        let real = try await ChildProcess.memp(["delete", "--store", store, "--source", "alfworld", "--json"])
        #expect(
            try JSONDecoder().decode(Line.self, from: Data(real.output.utf8))
                == Line(scope: "source alfworld", trajectories: 2, memories: 2, dryRun: false))
        let after = try await MemoryStore.statistics(at: store)
        #expect(after.trajectories == 1 && after.memories == 1 && after.historyEntries == before.historyEntries + 2)
    }

    @Test func exportWarnsWhenASourceMatchesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await Self.makeStore(at: store)

        let missing = try await ChildProcess.memp([
            "export", "--store", store, "--output", directory.file("empty-bundle"), "--source", "webshop",
        ])
        #expect(missing.status == 0)
        #expect(
            missing.output
                == "Exported 0 memories and 0 trajectories to \(directory.file("empty-bundle")) (embedder hashing:v1:32).\n"
        )
        #expect(
            missing.errors
                == "warning: no trajectory or memory has source webshop; the store's sources are alfworld, textworld.\n"
                + "warning: no memory matched; the bundle is empty.\n")

        let matching = try await ChildProcess.memp([
            "export", "--store", store, "--output", directory.file("bundle"), "--source", "textworld",
        ])
        #expect(matching.status == 0 && matching.errors == "")
        #expect(
            matching.output
                == "Exported 1 memory and 1 trajectory to \(directory.file("bundle")) (embedder hashing:v1:32).\n")
    }
}
