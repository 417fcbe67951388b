import Foundation
import TestSupport
import Testing

/// python3 with the `mcp` package (scripts/setup.d/70-mcp.sh installs it).
private let mcpAvailable = ChildProcess.succeeds(["python3", "-c", "import mcp"])

/// The five MCP tools, driven by the official MCP Python SDK over stdio and over streamable HTTP at `/mcp`.
@Suite(.enabled(if: mcpAvailable, "needs python3 with mcp (bash scripts/setup.d/70-mcp.sh)"))
struct MCPTests {
    static let checker = ServeProcess.repository.appendingPathComponent("scripts/mcp_check.py").path

    struct Report: Decodable {
        struct Change: Decodable {
            var memoryID: String
            var hitCount: Int
            var successCount: Int
        }
        var tools: [String]
        var added: Int?
        var lookupIds: [String]
        var lookupText: String
        var feedback: [Change]?
        var shownHits: Int?
        var memories: Int?
        var badIsError: Bool
        var badText: String
        var unknownIsError: Bool
        var unknownText: String
    }

    static func check(_ arguments: [String]) async throws -> Report {
        let result = try await ChildProcess.run("/usr/bin/env", ["python3", checker] + arguments)
        guard result.status == 0 else { throw ServeError(message: "mcp_check.py failed: \(result.errors)") }
        return try JSONDecoder().decode(Report.self, from: Data(result.output.utf8))
    }

    static func expectToolsWork(_ report: Report) {
        #expect(
            report.tools == ["add_trajectory", "lookup_procedures", "memory_stats", "record_outcome", "show_memory"])
        #expect(report.added == 1)
        #expect(report.lookupIds == ["mcp-1"])
        #expect(report.lookupText.contains("Procedure 1 (memory mcp-1"))
        #expect(report.lookupText.contains("water the tomatoes"))
        #expect(report.feedback?.map(\.memoryID) == ["mcp-1"] && report.feedback?.first?.successCount == 1)
        #expect(report.shownHits == 1)
        #expect(report.memories == 4)
        #expect(report.badIsError && report.badText.hasPrefix("invalid_body: Field k: must be at least 1"))
        #expect(report.unknownIsError && report.unknownText.hasPrefix("unknown_memory:"))
    }

    @Test func toolsWorkOverStdio() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 3)
        await Self.expectToolsWork(
            try Self.check(["stdio", "--memp", try ChildProcess.mempExecutable(), "--store", store]))
    }

    @Test func toolsWorkOverStreamableHTTP() async throws {
        let served = try await ServedStore(count: 3)
        defer { served.close() }
        await Self.expectToolsWork(try Self.check(["http", "--url", served.server.baseURL.absoluteString + "/mcp"]))
        // The MCP session does not hold up a graceful shutdown.
        #expect(await served.server.stop() == 0)
    }
}

/// docs/openapi.yaml against the running server: every documented operation and status (503 from a second server
/// whose lookup limit no lookup can meet, 409 from a write another writer interleaves, 507 from a third server whose
/// disk is full), every body's schema, every error's code, and the warnings of writes that could not save the index
/// cache (a file where its folder was).
@Suite struct OpenAPITests {
    static let checker = ServeProcess.repository.appendingPathComponent("scripts/openapi_check.py").path

    static let validatorsAvailable = ChildProcess.succeeds(
        ["python3", "-c", "import yaml, jsonschema, openapi_spec_validator"])

    @Test(.enabled(if: validatorsAvailable, "needs python3 with PyYAML, jsonschema, openapi-spec-validator"))
    func serverMatchesTheOpenAPIDescription() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 10)
        let token = "openapi-check-token-0123"
        try token.write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        // Started first: it copies the store before any other server has it open.
        let full = try await FullDiskServer.start(
            copying: store, in: directory, ["--token-file", directory.file("token")])
        defer { full?.terminate() }
        let server = try await ServeProcess([
            "--store", store, "--token-file", directory.file("token"), "--max-body-bytes", "65536",
        ])
        defer { server.terminate() }
        let impatient = try await ServeProcess([
            "--store", store, "--token-file", directory.file("token"), "--lookup-timeout", "1e-9",
        ])
        defer { impatient.terminate() }
        let result = try await ChildProcess.run(
            "/usr/bin/env",
            [
                "python3", Self.checker, "--url", server.baseURL.absoluteString, "--token", token, "--memory",
                "tw-twc-0654-gold", "--timeout-url", impatient.baseURL.absoluteString, "--database",
                store + "/memp.sqlite",
            ] + (full.map { ["--full-url", $0.baseURL.absoluteString] } ?? []))
        #expect(result.status == 0, "\(result.output) \(result.errors)")
        let summary = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(summary?["problems"] as? [String] == [])
        #expect(summary?["operations"] as? Int == 11)
        // Every documented status of every operation was answered, 409, 503 and 507 included; 507 only where a
        // namespace with a full tmpfs can be made (`unshare -r -m`), and the summary says when it was skipped.
        let documented = try #require(summary?["responsesDocumented"] as? Int)
        let skipped = try #require(summary?["skipped"] as? [String])
        #expect(documented == 51 && summary?["responsesChecked"] as? Int == documented - skipped.count)
        #expect(skipped.count == (FullDiskServer.available ? 0 : 4), "\(skipped)")
        // The server's log says once that the cache was not saved, and once that this no longer holds.
        let log = await onOwnThread { server.terminateAndReadErrors() }
        let unsaved =
            "Warning: store default: the changes are stored, but the index cache was not saved (\(store)/index"
        #expect(log.components(separatedBy: unsaved).count == 2, "\(log)")
        #expect(
            log.components(
                separatedBy: "Store default: the index cache is no longer reported unsaved: a later write saved it"
            ).count == 2, "\(log)")
    }
}
