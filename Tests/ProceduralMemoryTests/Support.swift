import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// A tiny deterministic embedder for tests.
///
/// Each word adds ±1 to one of 64 dimensions (FNV-1a hash), then the sum is L2-normalized. Texts sharing words get a high cosine.
struct WordHashEmbedder: Embedder {
    var modelIdentifier: String { "test-words:v1:64" }
    var dimension: Int { 64 }

    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        texts.map { text in
            var vector = [Float](repeating: 0, count: dimension)
            for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                vector[Int(hash % 64)] += (hash >> 32) & 1 == 0 ? 1 : -1
            }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? vector.map { $0 / norm } : vector
        }
    }
}

/// Every cached policy's hits (query, bm25, hybrid, keyword) for every lookup, as memory IDs with the scores' bit
/// patterns: what two stores must answer alike, to the bit, when one loads index files another wrote.
func rankedAnswers(of store: MemoryStore, to lookups: [String], k: Int) async throws -> [[String]] {
    var answers: [[String]] = []
    for policy in [RetrievalPolicy.query, .bm25, .hybrid, .keyword] {
        for task in lookups {
            let hits = try await store.retrieve(task, options: RetrievalOptions(policy: policy, k: k))
            answers.append(hits.map { "\($0.memory.id) \($0.score.bitPattern)" })
        }
    }
    return answers
}

/// Small, real-looking trajectories: ALFWorld-style household tasks and TextWorld cooking.
enum Samples {
    static let heatMug = Trajectory(
        id: "alf-heat-mug-1", task: "heat some mug and put it in coffeemachine",
        steps: [
            Step(action: "think: I need to find a mug first.", observation: "OK."),
            Step(action: "go to countertop 1", observation: "On the countertop 1, you see a knife 1."),
            Step(action: "go to countertop 2", observation: "On the countertop 2, you see a mug 2."),
            Step(
                action: "take mug 2 from countertop 2",
                observation: "You pick up the mug 2 from the countertop 2."),
            Step(action: "heat mug 2 with stove 1", observation: "Nothing happens."),
            Step(action: "go to microwave 1", observation: "The microwave 1 is closed."),
            Step(
                action: "heat mug 2 with microwave 1",
                observation: "You heat the mug 2 using the microwave 1."),
            Step(
                action: "go to coffeemachine 1", observation: "On the coffeemachine 1, you see nothing."),
            Step(
                action: "put mug 2 in/on coffeemachine 1",
                observation: "You put the mug 2 in/on the coffeemachine 1."),
        ], outcome: Outcome(success: true, reward: 1), source: "alfworld",
        labels: ["taskType": "heat", "fold": "train"],
        producer: "gpt-4o")

    static let cleanApple = Trajectory(
        id: "alf-clean-apple-1", task: "put a clean apple in fridge",
        steps: [
            Step(
                action: "go to diningtable 1",
                observation: "On the diningtable 1, you see a apple 1 and a bread 1."),
            Step(action: "take apple 1 from diningtable 1", observation: "You pick up the apple 1."),
            Step(action: "go to sinkbasin 1", observation: "On the sinkbasin 1, you see nothing."),
            Step(
                action: "clean apple 1 with sinkbasin 1",
                observation: "You clean the apple 1 using the sinkbasin 1."),
            Step(action: "go to fridge 1", observation: "The fridge 1 is closed."),
            Step(action: "open fridge 1", observation: "You open the fridge 1."),
            Step(
                action: "put apple 1 in/on fridge 1", observation: "You put the apple 1 in/on the fridge 1."
            ),
        ], outcome: Outcome(success: true, reward: 1), source: "alfworld",
        labels: ["taskType": "clean", "fold": "train"])

    static let findKeys = Trajectory(
        id: "alf-look-keychain-1", task: "find two keychain and put them in safe",
        steps: [
            Step(action: "go to drawer 1", observation: "The drawer 1 is closed."),
            Step(
                action: "open drawer 1",
                observation: "You open the drawer 1. The drawer 1 is open. In it, you see nothing."),
            Step(action: "go to drawer 2", observation: "The drawer 2 is closed."),
            Step(action: "go to drawer 3", observation: "On the drawer 3, you see a keychain 1."),
            Step(action: "take keychain 1 from drawer 3", observation: "You pick up the keychain 1."),
            Step(action: "go to safe 1", observation: "The safe 1 is closed."),
            Step(
                action: "put keychain 1 in/on safe 1",
                observation: "You put the keychain 1 in/on the safe 1."),
        ], outcome: Outcome(success: false, reward: 0.5), source: "alfworld",
        labels: ["taskType": "pick_two", "fold": "valid"])

    static let cookMeal = Trajectory(
        id: "tw-cook-0007", task: "Cook a meal using the recipe in the kitchen",
        steps: [
            Step(action: "open fridge", observation: "You open the fridge. Inside you see a red potato."),
            Step(
                action: "read cookbook", observation: "Recipe: slice the red potato, fry the red potato."),
            Step(action: "take red potato", observation: "You take the red potato."),
            Step(action: "slice red potato", observation: "You slice the red potato."),
            Step(action: "cook red potato in stove", observation: "You fry the red potato."),
            Step(action: "prepare meal", observation: "Adding the meal to your inventory."),
            Step(action: "eat meal", observation: "You eat the meal. It is delicious."),
        ], outcome: Outcome(success: true, reward: 1), source: "textworld-express",
        labels: ["taskType": "cookingworld"])

    static let all = [heatMug, cleanApple, findKeys, cookMeal]

    /// Our JSON Lines encoding of trajectories, one per line.
    static func jsonLines(_ trajectories: [Trajectory]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try trajectories.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(
            separator: "\n")
            + "\n"
    }
}

/// A store on disk in a fresh temporary directory, or on an in-memory SQLite database.
enum TestStoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case disk, inMemory
    var testDescription: String { rawValue }

    /// A new store of this kind (on disk at `directory/store`) holding `trajectories`.
    func makeStore(in directory: TemporaryDirectory, holding trajectories: [Trajectory] = []) async throws
        -> MemoryStore
    {
        switch self {
        case .disk:
            try await Self.add(
                trajectories, to: MemoryStore.create(at: directory.file("store"), embedder: WordHashEmbedder()))
        case .inMemory:
            try await Self.inMemoryStore(holding: trajectories)
        }
    }

    /// A new in-memory store holding `trajectories`: a test that uses no other store needs no directory.
    static func inMemoryStore(holding trajectories: [Trajectory] = []) async throws -> MemoryStore {
        try await add(
            trajectories,
            to: MemoryStore.open(backend: SQLiteBackend(path: nil), embedder: WordHashEmbedder(), cacheDirectory: nil))
    }

    private static func add(_ trajectories: [Trajectory], to store: MemoryStore) async throws -> MemoryStore {
        if !trajectories.isEmpty { try await store.add(trajectories) }
        return store
    }
}

/// Imports `bundle` into a new in-memory store, expecting the import refused for `reason`.
///
/// - Returns: The store, to check that nothing of the bundle was written.
@discardableResult
func expectBundleRefused(
    _ bundle: String, reason: String, sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MemoryStore {
    let target = try await TestStoreKind.inMemoryStore()
    await #expect(throws: MemoryError.bundleRefused(path: bundle, reason: reason), sourceLocation: sourceLocation) {
        try await target.importBundle(at: bundle)
    }
    return target
}
