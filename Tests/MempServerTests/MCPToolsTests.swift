import Foundation
import MCP
import MempService
import TestSupport
import Testing

@testable import MempServer

/// The MCP tools called in process, on a store on disk.
@Suite struct MCPToolsTests {
    /// A service of one hashing store at `path` holding the first `count` sample trajectories, without a lookup
    /// deadline (the tests share the machine with builds).
    static func service(servingSamples count: Int, at path: String) async throws -> MemoryService {
        try await StoreFixture.make(at: path, count: count)
        return MemoryService(
            registry: StoreRegistry(layout: .single(.directory(path))),
            limits: ServiceLimits(lookupTimeout: .seconds(7 * 86_400)))
    }

    /// A write whose index cache could not be saved said nothing over MCP; its result's text now ends with the
    /// warning, which its structured content carries too.
    @Test func aWriteWhoseCacheWasNotSavedSaysSoInItsResult() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        let service = try await Self.service(servingSamples: 2, at: store)
        try FileManager.default.removeItem(atPath: store + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: store + "/index"))
        let result = await MCPTools.call(
            "add_trajectory",
            arguments: [
                "trajectory": ["id": "mcp-1", "task": "water the plants", "steps": [["action": "fill the can"]]]
            ],
            service: service)
        #expect(result.isError != true)
        guard case .text(let text, _, _)? = result.content.first else {
            Issue.record("expected a text result, got \(result.content)")
            return
        }
        let lines = text.split(separator: "\n")
        #expect(lines.first == "Stored 1 trajectory (0 replaced, 0 duplicates skipped) in store default.")
        let warning =
            "Warning: Store default: the changes are stored, but the index cache was not saved (\(store)/index"
        #expect(lines.count == 2 && lines.last?.hasPrefix(warning) == true, "\(text)")
        let warnings = result.structuredContent?.objectValue?["warnings"]?.arrayValue
        #expect(warnings?.first?.objectValue?["code"] == "index_cache_unsaved")
    }

    /// The tools tell a memory's use record in the words `memp query`, `memp show` and `memp feedback` use.
    @Test func lookupAndRecordOutcomeTellTheUseRecordAsTheCLIDoes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.service(servingSamples: 1, at: directory.file("store"))
        func text(_ result: CallTool.Result) -> String {
            guard case .text(let text, _, _)? = result.content.first else { return "\(result.content)" }
            return text
        }
        let before = text(
            await MCPTools.call("lookup_procedures", arguments: ["task": "x", "mode": "random"], service: service))
        let id = try #require(before.firstMatch(of: #/Procedure 1 \(memory (\S+); /#)?.1)
        #expect(before.contains("Procedure 1 (memory \(id); not used yet"), "\(before)")
        let recorded = text(
            await MCPTools.call(
                "record_outcome", arguments: ["memories": [.string(String(id))], "success": true], service: service))
        #expect(recorded == "\(id): 1 of 1 use succeeded", "\(recorded)")
        let after = text(
            await MCPTools.call("lookup_procedures", arguments: ["task": "x", "mode": "random"], service: service))
        #expect(after.contains("Procedure 1 (memory \(id); 1 of 1 use succeeded"), "\(after)")
    }
}
