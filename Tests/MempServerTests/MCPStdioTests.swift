import Foundation
import TestSupport
import Testing

/// MCP on standard input and output, fed from a file as a script would.
@Suite struct MCPStdioTests {
    // The server answers each request in a task of its own; the answers still running when the input ended used to
    // be dropped, so a client that wrote its requests and closed its end got only some of them answered.
    @Test func everyRequestIsAnsweredWhenTheInputEnds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try StoreFixture.make(at: store, count: 3)
        let initialize: [String: Any] = [
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": [
                "protocolVersion": "2025-03-26", "capabilities": [String: Any](),
                "clientInfo": ["name": "test", "version": "1"],
            ],
        ]
        let messages: [[String: Any]] = [
            initialize,
            ["jsonrpc": "2.0", "method": "notifications/initialized"],
            ["jsonrpc": "2.0", "id": 2, "method": "tools/list"],
            [
                "jsonrpc": "2.0", "id": "stats", "method": "tools/call",
                "params": ["name": "memory_stats", "arguments": [String: Any]()],
            ],
            [
                "jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": ["name": "lookup_procedures", "arguments": ["task": "take the coin", "k": 2]],
            ],
        ]
        let requests = directory.file("requests.jsonl")
        try messages.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) + "\n" }
            .joined().write(toFile: requests, atomically: true, encoding: .utf8)
        let served = try ChildProcess.run(
            "/bin/sh",
            [
                "-c", #"exec "$0" serve --store "$1" --mcp-stdio < "$2""#, try ChildProcess.mempExecutable(),
                store, requests,
            ])
        #expect(served.status == 0, "\(served.errors)")
        let answered = served.output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"].map { "\($0)" }
        }
        #expect(answered.sorted() == ["1", "2", "4", "stats"])
    }

    /// A line that is not JSON and one over `--max-body-bytes` are answered with parse errors (id null), and the
    /// requests around them as usual.
    @Test func badAndOverLongLinesGetParseErrorsAndTheRestIsAnswered() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try StoreFixture.make(at: store, count: 1)
        let initialize =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","#
            + #""capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
        let huge =
            #"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"pad":""#
            + String(repeating: "x", count: 5_000) + #""}}"#
        let lines = [
            initialize, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, "this is not json", huge,
            #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        ]
        let requests = directory.file("requests.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: requests, atomically: true, encoding: .utf8)
        let served = try ChildProcess.run(
            "/bin/sh",
            [
                "-c", #"exec "$0" serve --store "$1" --mcp-stdio --max-body-bytes 1024 < "$2""#,
                try ChildProcess.mempExecutable(), store, requests,
            ])
        #expect(served.status == 0, "\(served.errors)")
        let answers = served.output.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        #expect(answers.compactMap { $0["id"] as? Int }.sorted() == [1, 2])
        let errors = answers.filter { $0["id"] is NSNull }.compactMap { $0["error"] as? [String: Any] }
        #expect(errors.compactMap { $0["code"] as? Int } == [-32700, -32700])
        #expect(
            errors.compactMap { $0["message"] as? String } == [
                "Parse error: the line is not JSON",
                "Parse error: the message is \(huge.utf8.count) bytes; the most read is 1024",
            ])
    }
}
