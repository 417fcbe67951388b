import Embeddings
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

/// The library example of docs/procedural-memory.md, run as written (paths aside).
@Suite struct DocumentationExampleTests {
    @Test func lookupExampleRuns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runs = try directory.write(try Samples.jsonLines(Samples.all), to: "runs.jsonl")

        let store = try await MemoryStore.create(
            at: directory.file("memory"), embedder: HashingEmbedder(), configuration: .hashing(dimension: 384))
        try await store.importTrajectories(
            from: runs, options: ImportOptions(builder: MemoryBuilder(policy: .proceduralization)))

        let hits = try await store.retrieve(
            "heat some milk and put it in the fridge",
            options: RetrievalOptions(policy: .hybrid, k: 3, labels: ["fold": "train"]))
        #expect(hits.count == 2 && hits.allSatisfy { $0.memory.labels["fold"] == "train" })
        #expect(hits.allSatisfy { $0.memory.script != nil && $0.memory.steps != nil })
        #expect(try await MemoryStore.open(at: directory.file("memory")).memoryCount == 4)
    }
}
