import Foundation
import MCP
import ProceduralMemory
import Testing

@testable import MempServer
@testable import MempService

/// Tool results' structured content is built from the JSON of the answer in one pass; it must be the value the MCP
/// SDK's own `Value(_:)` builds from the same answer.
@Suite struct StructuredContentTests {
    struct Kinds: Codable {
        var text = "heat the mug — ünïcödé ✓, \"quoted\"\n"
        var empty = ""
        var integers = [0, -5, 42, Int.max, Int.min, Int.min + 1, -9_007_199_254_740_993]
        var huge = UInt64.max
        var doubles = [0.5, 1.0, 0, -0.0, -2.25, 1e300, Double.leastNonzeroMagnitude, 0x1p63, -0x1p64]
        var flags = [true, false]
        var missing: String? = nil
        var present: String? = "here"
        var nested = ["a": [["b": 1]], "c": []]
        var emptyObject: [String: Int] = [:]
    }

    @Test func everyJSONKindComesOutAsTheSDKWouldBuildIt() throws {
        let built = try Value.structuredContent(Kinds())
        #expect(built == (try Value(Kinds())))
        #expect(built.objectValue?["flags"] == [.bool(true), .bool(false)])
        #expect(built.objectValue?["integers"]?.arrayValue?[4] == .int(Int.min))
        #expect(built.objectValue?["doubles"]?.arrayValue?.prefix(2) == [.double(0.5), .int(1)])
        #expect(built.objectValue?["missing"] == nil)
    }

    @Test func aLookupAnswerComesOutAsTheSDKWouldBuildIt() throws {
        let memory = Memory(
            id: "t-1", task: "put a clean apple in the fridge", buildPolicy: .trajectory,
            steps: [Step(action: "go to sinkbasin 1", observation: "You see nothing."), Step(action: "open fridge 1")],
            script: nil, keywords: ["apple", "fridge"], sourceTrajectoryIDs: ["t-1"], source: "test",
            labels: ["fold": "train"], hitCount: 3, successCount: 2, embedderID: "hashing",
            provenance: Provenance(), createdAt: Date(timeIntervalSince1970: 0),
            updatedAt: Date(timeIntervalSince1970: 0))
        let hits = [
            LookupHit(memory: memory, score: 0.8125, outcome: Outcome(success: true, reward: 1), explanation: "rank 1"),
            LookupHit(memory: memory, score: 1, outcome: nil, explanation: ""),
        ]
        let answer = LookupResponse(store: "default", hits: hits)
        #expect(try Value.structuredContent(answer) == (try Value(answer)))
    }

    // `show_memory` gave its dates as seconds since 2001 (the encoder's default), while GET /v1/memories/{id} and
    // `memp show --json` give ISO-8601 strings.
    @Test func datesAreTheAPIsISOStrings() throws {
        let memory = Memory(
            id: "t-1", task: "open the fridge", buildPolicy: .trajectory, steps: [Step(action: "open fridge 1")],
            script: nil, keywords: [], sourceTrajectoryIDs: ["t-1"], source: "test", labels: [:], hitCount: 0,
            successCount: 0, embedderID: "hashing", provenance: Provenance(),
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.25), updatedAt: Date(timeIntervalSince1970: 0))
        let built = try Value.structuredContent(
            MemoryResponse(store: "default", memory: memory, outcome: nil, historyEntries: 0))
        let fields = built.objectValue?["memory"]?.objectValue
        #expect(fields?["createdAt"] == .string("2023-11-14T22:13:20.250000000Z"))
        #expect(fields?["updatedAt"] == .string("1970-01-01T00:00:00.000000000Z"))
    }
}
