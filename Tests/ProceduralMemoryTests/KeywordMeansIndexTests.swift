import Foundation
import ProceduralMemory
import TestSupport
import Testing

/// The index of mean keyword embeddings the `keyword` policy searches: built from the database when that policy is
/// first used (no cache file holds it), then kept up to date by writes.
@Suite struct KeywordMeansIndexTests {
    static let juggle = Trajectory(
        id: "juggle-1", task: "juggle flaming torches for the circus guests",
        steps: [Step(action: "light the torches", observation: "They burn.")], outcome: Outcome(success: true),
        source: "circus")
    static let options = RetrievalOptions(policy: .keyword, k: 3)

    @Test(arguments: TestStoreKind.allCases)
    func keywordIndexFollowsAddsAndDeletes(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        // The first keyword lookup builds the index; later writes must keep it current.
        let before = try await store.retrieve(Self.juggle.task, options: Self.options)
        #expect(!before.isEmpty && !before.contains { $0.memory.id == Self.juggle.id })
        try await store.add([Self.juggle])
        let added = try await store.retrieve(Self.juggle.task, options: Self.options)
        #expect(added.first?.memory.id == Self.juggle.id)
        #expect(added.count > 1 && added[0].score > added[1].score)

        try await store.delete(.id(Self.juggle.id))
        let deleted = try await store.retrieve(Self.juggle.task, options: Self.options)
        #expect(deleted.map(\.memory.id) == before.map(\.memory.id))
        #expect(deleted.map(\.score) == before.map(\.score))
    }

    @Test func aStoreOpenedFromItsCacheFilesFindsWhatItsWriterFound() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let writer = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        try await writer.add(Samples.all + [Self.juggle])
        let expected = try await writer.retrieve(Self.juggle.task, options: Self.options)
        #expect(expected.first?.memory.id == Self.juggle.id)

        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded)
        #expect(!FileManager.default.fileExists(atPath: path + "/index/keywords.vectors"))
        let found = try await reopened.retrieve(Self.juggle.task, options: Self.options)
        #expect(found.map(\.memory.id) == expected.map(\.memory.id))
        #expect(found.map(\.score) == expected.map(\.score))
    }
}
