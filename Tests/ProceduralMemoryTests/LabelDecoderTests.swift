import Foundation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// Label objects read from a store's rows are decoded once per distinct text, and the catalog a store reads on
/// opening carries each memory's own labels.
@Suite struct LabelDecoderTests {
    struct Refused: Error, Equatable { var text: String }

    @Test func eachDistinctTextIsDecodedOnceAndErrorsPass() throws {
        let decoded = DecodedTexts()
        var decoder = LabelDecoder { (text) throws(Refused) -> [String: String] in
            decoded.add(text)
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                throw Refused(text: text)
            }
            return object
        }
        let texts = [#"{"fold":"train"}"#, "{}", #"{"fold":"train"}"#, #"{"fold":"test","room":"hall"}"#, "{}"]
        let labels = try texts.map { (text) throws(Refused) in try decoder.labels(text) }
        #expect(labels == [["fold": "train"], [:], ["fold": "train"], ["fold": "test", "room": "hall"], [:]])
        #expect(decoded.texts == [#"{"fold":"train"}"#, "{}", #"{"fold":"test","room":"hall"}"#])
        #expect(throws: Refused(text: "[1]")) { try decoder.labels("[1]") }
        #expect(throws: Refused(text: "[1]")) { try decoder.labels("[1]") }
        #expect(decoded.texts.count == 5)
    }

    @Test func pastItsCapacityATextIsDecodedEachTime() throws {
        let decoded = DecodedTexts()
        var decoder = LabelDecoder { (text) -> [String: String] in
            decoded.add(text)
            return ["n": text]
        }
        let capacity = LabelDecoder<Never>.capacity
        for number in 0..<capacity { _ = decoder.labels("\(number)") }
        #expect(decoder.labels("0") == ["n": "0"] && decoder.labels("new") == ["n": "new"])
        #expect(decoder.labels("new") == ["n": "new"])
        #expect(decoded.texts.count == capacity + 2)
    }

    @Test func theCatalogCarriesEachMemorysLabels() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let sets: [[String: String]] = [[:], ["fold": "train"], ["fold": "test", "room": "hall"]]
        let trajectories = (0..<12).map { index in
            Trajectory(
                id: "t\(index)", task: "open door \(index) of the hall", steps: [Step(action: "open door \(index)")],
                source: "test", labels: sets[index % sets.count])
        }
        let store = try await MemoryStore.create(at: path, embedder: WordHashEmbedder())
        try await store.add(trajectories)
        let reopened = try await MemoryStore.open(at: path, embedder: WordHashEmbedder())
        #expect(reopened.cacheState == .loaded)
        let (entries, _) = try await reopened.backend.catalog()
        #expect(entries.count == trajectories.count)
        for (number, entry) in entries {
            let memory = try #require(try await reopened.backend.memories(numbered: [number])[number])
            #expect(entry.labels == memory.labels && entry.labels == sets[Int(memory.id.dropFirst())! % sets.count])
        }
    }
}

/// The texts a decoder was asked to decode, in order.
private final class DecodedTexts {
    private(set) var texts: [String] = []
    func add(_ text: String) { texts.append(text) }
}
