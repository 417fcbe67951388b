import Foundation
import MemoryLocation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// The procedure field: BM25 over each memory's script and step actions, fused into `hybrid` with its own weight.
@Suite struct ProcedureIndexTests {
    /// Words of the cooking memory's actions that no stored task or keyword holds: only the procedure field
    /// matches them.
    static let procedureQuery = "read cookbook, slice potato"

    static let juggle = Trajectory(
        id: "juggle-1", task: "entertain the guests",
        steps: [Step(action: "juggle torches", observation: "The guests applaud.")],
        outcome: Outcome(success: true), source: "circus")

    @Test func procedureTextIsTheScriptThenTheActions() {
        let steps = [Step(action: "open fridge", observation: "You open it."), Step(action: "take milk")]
        #expect(
            IndexEntry.procedureText(script: "Task: get milk\n1. open fridge", steps: steps)
                == "Task: get milk\n1. open fridge\nopen fridge\ntake milk")
        #expect(IndexEntry.procedureText(script: nil, steps: steps) == "open fridge\ntake milk")
        #expect(IndexEntry.procedureText(script: "1. open fridge", steps: nil) == "1. open fridge")
        #expect(IndexEntry.procedureText(script: nil, steps: nil) == "")
    }

    @Test(arguments: TestStoreKind.allCases)
    func weightedProcedureRankingAddsItsReciprocalRank(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let query = Self.procedureQuery
        // Task BM25 matches nothing here, so without the procedure field only the dense side ranks.
        #expect(try await store.retrieve(query, options: RetrievalOptions(policy: .bm25, k: 4)).isEmpty)
        let plain = try await store.retrieve(query, options: RetrievalOptions(k: 4, outcomePrior: 0))
        #expect(plain.allSatisfy { $0.explanation.ranking?.extraRank == nil })
        #expect(!plain.contains { $0.explanation.description.contains("procedure") })
        let denseRank = try #require(plain.first { $0.memory.id == "tw-cook-0007" }?.explanation.ranking?.denseRank)

        for weight in [1.0, 2.5] {
            let hits = try await store.retrieve(
                query, options: RetrievalOptions(k: 4, outcomePrior: 0, procedureWeight: weight))
            let first = try #require(hits.first)
            #expect(first.memory.id == "tw-cook-0007")
            #expect(first.explanation.ranking?.extraRank == 1 && first.explanation.ranking?.keywordRank == nil)
            #expect(first.explanation.ranking?.denseRank == denseRank)
            #expect(first.score == 1 / (60 + Double(denseRank)) + 0 + weight / 61)
            #expect(first.explanation.description.contains("procedure BM25 #1"))
            // Only the cooking memory's actions hold these words.
            #expect(hits.dropFirst().allSatisfy { $0.explanation.ranking?.extraRank == nil })
        }
    }

    @Test(arguments: TestStoreKind.allCases)
    func procedureIndexFollowsAddsAndDeletes(location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory, holding: Samples.all)
        let options = RetrievalOptions(k: 5, outcomePrior: 0, procedureWeight: 1)
        // The first weighted lookup builds the procedure index; later writes must keep it current.
        #expect(
            try await store.retrieve("juggle torches", options: options).allSatisfy {
                $0.explanation.ranking?.extraRank == nil
            })
        try await store.add([Self.juggle])
        let added = try await store.retrieve("juggle torches", options: options)
        #expect(added.first?.memory.id == "juggle-1" && added.first?.explanation.ranking?.extraRank == 1)

        try await store.delete(.id("juggle-1"))
        let deleted = try await store.retrieve("juggle torches", options: options)
        #expect(!deleted.contains { $0.memory.id == "juggle-1" })
        #expect(deleted.allSatisfy { $0.explanation.ranking?.extraRank == nil })
    }

    @Test func reopenedStoreBuildsTheProcedureIndexFromTheDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let options = RetrievalOptions(k: 5, outcomePrior: 0, procedureWeight: 1)
        let first = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        try await first.add(Samples.all)
        // The script build policy keeps no steps: the script alone is the memory's procedure text.
        try await first.add(
            [Self.juggle], options: ImportOptions(builder: MemoryBuilder(policy: .script)))
        let expected = try await first.retrieve("juggle torches", options: options)

        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded)
        let hits = try await reopened.retrieve("juggle torches", options: options)
        #expect(hits.first?.memory.id == "juggle-1" && hits.first?.memory.steps == nil)
        #expect(hits.first?.explanation.ranking?.extraRank == 1)
        #expect(hits.map(\.memory.id) == expected.map(\.memory.id))
        #expect(hits.map(\.score) == expected.map(\.score))
        let cooking = try await reopened.retrieve(Self.procedureQuery, options: options)
        #expect(cooking.first?.memory.id == "tw-cook-0007" && cooking.first?.explanation.ranking?.extraRank == 1)
    }
}
