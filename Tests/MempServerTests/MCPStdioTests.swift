import Foundation
import TestSupport
import Testing

/// MCP on standard input and output, fed from a file as a script would.
@Suite struct MCPStdioTests {
    /// The answers of `memp serve --mcp-stdio` (with `options`) to `lines`, on a store of the first `count` sample
    /// trajectories.
    ///
    /// The lines are fed to its standard input from a file, as a script would; each output line gives its JSON
    /// object, or the objects of a batch answer. The server must exit 0.
    static func answers(to lines: [String], storeHolding count: Int, options: [String] = []) async throws -> [[String:
        Any]]
    {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: count)
        let requests = try directory.write(lines.joined(separator: "\n") + "\n", to: "requests.jsonl")
        let script =
            #"memp="$0" store="$1" requests="$2"; shift 2; "#
            + #"exec "$memp" serve --store "$store" --mcp-stdio "$@" < "$requests""#
        let served = try await ChildProcess.run(
            "/bin/sh", ["-c", script, try ChildProcess.mempExecutable(), store, requests] + options)
        #expect(served.status == 0, "\(served.errors)")
        return served.output.split(separator: "\n").flatMap { line -> [[String: Any]] in
            let value = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            return (value as? [[String: Any]]) ?? (value as? [String: Any]).map { [$0] } ?? []
        }
    }

    /// The handshake every session starts with: the `initialize` request (id 1) and the `initialized` notification.
    static let handshake = [
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","#
            + #""capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    ]

    /// The MCP handshake reports the version `memp --version` prints (it said 1.0.0 while the build was 0.1.0).
    @Test func theHandshakeReportsTheBuildsVersion() async throws {
        let printed = try await ChildProcess.memp(["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await #require(try Self.answers(to: Self.handshake, storeHolding: 1).first)
        let server = (answer["result"] as? [String: Any])?["serverInfo"] as? [String: Any]
        #expect(server?["name"] as? String == "memp" && server?["version"] as? String == printed)
        #expect(!printed.isEmpty)
    }

    // The server answers each request in a task of its own; the answers still running when the input ended used to
    // be dropped, so a client that wrote its requests and closed its end got only some of them answered.
    @Test func everyRequestIsAnsweredWhenTheInputEnds() async throws {
        let messages: [[String: Any]] = [
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
        let lines =
            try Self.handshake
            + messages.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let answered = try await Self.answers(to: lines, storeHolding: 3).compactMap { $0["id"].map { "\($0)" } }
        #expect(answered.sorted() == ["1", "2", "4", "stats"])
    }

    /// A line that is not JSON and one over `--max-body-bytes` are answered with parse errors (id null), and the
    /// requests around them as usual.
    // Hostile run 4: a `store` that was not a string, a `duplicates` that was not a string and arguments a tool does
    // not take were ignored, and the call answered as if they were absent (`"store": 5` read the default store).
    @Test func toolArgumentsOfTheWrongTypeOrThatNoToolTakesAreRefused() async throws {
        let calls: [(String, String)] = [
            (#""name":"memory_stats","arguments":{"store":5}"#, "invalid_body: Field store: must be a store's name"),
            (
                #""name":"memory_stats","arguments":{"verbose":true}"#,
                "invalid_body: Field verbose: is not an argument of memory_stats (its arguments: store)."
            ),
            (
                #""name":"show_memory","arguments":{"id":"x","full":1}"#,
                "invalid_body: Field full: is not an argument of show_memory (its arguments: id, store)."
            ),
            (
                #""name":"add_trajectory","arguments":{"trajectory":{},"duplicates":["skip"]}"#,
                "invalid_body: Field duplicates: must be refuse, skip or replace."
            ),
            (#""name":"memory_stats","arguments":{"store":null}"#, "Store default: 1 procedures"),
        ]
        let lines =
            Self.handshake
            + calls.enumerated().map { index, call in
                #"{"jsonrpc":"2.0","id":\#(index + 2),"method":"tools/call","params":{\#(call.0)}}"#
            }
        let answers = try await Self.answers(to: lines, storeHolding: 1)
        for (index, call) in calls.enumerated() {
            let answer = answers.first { $0["id"] as? Int == index + 2 }
            let result = answer?["result"] as? [String: Any]
            let text = (result?["content"] as? [[String: Any]])?.first?["text"] as? String ?? ""
            #expect(text.hasPrefix(call.1), "\(call.0): \(text)")
            #expect((result?["isError"] as? Bool ?? false) == (index < calls.count - 1), "\(call.0)")
        }
    }

    /// `"duplicates": null` is an absent duplicates argument, as `"store": null` is an absent store; it was refused
    /// as not one of refuse, skip or replace. (A session of its own: a write beside the calls above would race
    /// their store count.)
    @Test func aNullDuplicatesArgumentIsAnAbsentOne() async throws {
        let call =
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_trajectory","arguments":{"#
            + #""trajectory":{"id":"n","task":"wash the cup","steps":[{"action":"rinse it"}]},"duplicates":null}}}"#
        let answers = try await Self.answers(to: Self.handshake + [call], storeHolding: 1)
        let result = answers.first { $0["id"] as? Int == 2 }?["result"] as? [String: Any]
        let text = (result?["content"] as? [[String: Any]])?.first?["text"] as? String ?? ""
        #expect(text.hasPrefix("Stored 1 trajectory") && result?["isError"] as? Bool != true, "\(text)")
    }

    @Test func badAndOverLongLinesGetParseErrorsAndTheRestIsAnswered() async throws {
        let huge =
            #"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"pad":""#
            + String(repeating: "x", count: 5_000) + #""}}"#
        let lines = Self.handshake + ["this is not json", huge, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#]
        let answers = try await Self.answers(to: lines, storeHolding: 1, options: ["--max-body-bytes", "1024"])
        #expect(answers.compactMap { $0["id"] as? Int }.sorted() == [1, 2])
        let errors = answers.filter { $0["id"] is NSNull }.compactMap { $0["error"] as? [String: Any] }
        #expect(errors.compactMap { $0["code"] as? Int } == [-32700, -32700])
        #expect(
            errors.compactMap { $0["message"] as? String } == [
                "Parse error: line 3 is not JSON (Invalid value around character 1)",
                "Parse error: line 4 is \(huge.utf8.count) bytes; the most read is 1024",
            ])
    }

    /// A request whose ID is neither a string nor an integer was taken for a notification and never answered, so its
    /// client waited forever: it is refused with an Invalid Request error (id null), alone or in a batch, and the
    /// requests around it are answered.
    @Test func requestsWithUnusableIDsAreRefusedNotLeftUnanswered() async throws {
        let lines =
            Self.handshake + [
                #"{"jsonrpc":"2.0","id":1e300,"method":"ping"}"#, #"{"jsonrpc":"2.0","id":2.5,"method":"ping"}"#,
                #"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#,
                #"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, #"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                #"[{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","id":[3],"method":"ping"}]"#,
                #"{"jsonrpc":"2.0","id":"four","method":"ping"}"#,
            ]
        let answers = try await Self.answers(to: lines, storeHolding: 1)
        #expect(answers.filter { !($0["id"] is NSNull) }.map { "\($0["id"] ?? "")" }.sorted() == ["1", "3", "four"])
        let refusals = answers.filter { $0["id"] is NSNull }.compactMap { $0["error"] as? [String: Any] }
        #expect(refusals.count == 6)
        #expect(refusals.allSatisfy { $0["code"] as? Int == -32600 })
        #expect(
            refusals.first?["message"] as? String
                == "Invalid Request: an id must be a string or an integer of at most 64 bits")
    }

    /// A request with `"id": null`, which MCP forbids, is refused with Invalid Request (id null), alone or in a batch.
    ///
    /// It was answered under a made-up `"id": ""`, so a batch of it and a request whose ID is `""` got two answers no
    /// client could tell apart. A response with a null ID is still passed on, and not answered.
    @Test func requestsWithANullIDAreRefused() async throws {
        let lines =
            Self.handshake + [
                #"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"memory_stats","arguments":{}}}"#,
                #"[{"jsonrpc":"2.0","id":null,"method":"ping"},{"jsonrpc":"2.0","id":"","method":"ping"}]"#,
                #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
                #"{"jsonrpc":"2.0","id":"after","method":"ping"}"#,
            ]
        let answers = try await Self.answers(to: lines, storeHolding: 1)
        let answered = answers.filter { !($0["id"] is NSNull) }
        #expect(answered.map { "\($0["id"] ?? "")" }.sorted() == ["", "1", "after"])
        #expect(answered.allSatisfy { $0["result"] != nil })
        let refusals = answers.filter { $0["id"] is NSNull }.compactMap { $0["error"] as? [String: Any] }
        #expect(refusals.count == 2)
        #expect(
            refusals.allSatisfy {
                $0["code"] as? Int == -32600
                    && $0["message"] as? String
                        == "Invalid Request: an id must be a string or an integer of at most 64 bits"
            })
    }

    /// Of two `initialize` requests in a row, the first is answered with the session and the second refused.
    ///
    /// The server answers each request in a task of its own, so the later one could be answered first, and the first
    /// get "already initialized"; reading now waits for an initialize's answer.
    @Test func initializeRequestsAreAnsweredInTheOrderSent() async throws {
        let initialize = Self.handshake[0]
        let lines =
            [initialize]
            + (2...9).map { initialize.replacingOccurrences(of: #""id":1,"#, with: #""id":\#($0),"#) }
            + [Self.handshake[1], #"{"jsonrpc":"2.0","id":"after","method":"ping"}"#]
        let answers = try await Self.answers(to: lines, storeHolding: 1)
        let succeeded = answers.filter { $0["result"] != nil }.map { "\($0["id"] ?? "")" }
        let refused = answers.filter { $0["error"] != nil }.compactMap { $0["id"] as? Int }
        #expect(succeeded.sorted() == ["1", "after"])
        #expect(refused.sorted() == Array(2...9))
    }

    /// Messages that are JSON but not requests get Invalid Request saying why, and the rest of their batch is answered.
    ///
    /// They got "Parse error: Invalid JSON" (-32700); a batch holding one got that error under a made-up ID instead
    /// of any answer, and an empty batch its error under a made-up ID. Each now gets
    /// Invalid Request (-32600) saying what is wrong, under its own ID or null, and the rest of its batch is
    /// answered; `tools/list` params that don't decode get Invalid params, not an internal error. A request that
    /// repeats a key gets Invalid params (Invalid Request outside params) naming it.
    @Test func messagesThatAreNotRequestsGetInvalidRequestAndTheirBatchIsAnswered() async throws {
        let lines =
            Self.handshake + [
                "5", "[]", #"{"jsonrpc":"1.0","id":"old","method":"ping"}"#, #"{"jsonrpc":"2.0","id":"bare"}"#,
                #"{"jsonrpc":"2.0","id":"number","method":5}"#, #"[{"jsonrpc":"2.0","id":10,"method":"ping"},7]"#,
                #"{"jsonrpc":"2.0","id":"list","method":"tools/list","params":{"cursor":5}}"#,
                #"{"jsonrpc":"2.0","id":"after","method":"ping"}"#,
                // A repeated key was read with one of its values, silently (`"store": 5` read the default store).
                #"{"jsonrpc":"2.0","id":"twice","method":"tools/call","params":{"name":"memory_stats","#
                    + #""arguments":{"store":null,"store":5}}}"#,
                #"{"jsonrpc":"2.0","jsonrpc":"2.0","id":"top","method":"ping"}"#,
                #"[{"jsonrpc":"2.0","id":11,"method":"ping"},{"jsonrpc":"2.0","id":12,"method":"tools/call","#
                    + #""params":{"name":"memory_stats","name":"show_memory"}}]"#,
            ]
        let answers = try await Self.answers(to: lines, storeHolding: 1)
        var errors: [String] = []
        var results: [String] = []
        for answer in answers {
            let id = answer["id"].map { $0 is NSNull ? "null" : "\($0)" } ?? "none"
            if let error = answer["error"] as? [String: Any] {
                errors.append("\(id) \(error["code"] ?? "") \(error["message"] ?? "")")
            } else {
                results.append(id)
            }
        }
        #expect(results.sorted() == ["1", "10", "11", "after"])
        #expect(
            errors.sorted() == [
                "12 -32602 Invalid params: params.name appears twice in its object; keep one of the values",
                "bare -32600 Invalid Request: method is missing",
                "list -32602 Invalid params: params.cursor must be a string",
                "null -32600 Invalid Request: a batch element must be a JSON-RPC object",
                "null -32600 Invalid Request: a batch must hold at least one message",
                "null -32600 Invalid Request: a message must be a JSON-RPC object, or a batch (an array) of them",
                "number -32600 Invalid Request: method must be a string",
                "old -32600 Invalid Request: jsonrpc must be \"2.0\"",
                "top -32600 Invalid Request: jsonrpc appears twice in its object; keep one of the values",
                "twice -32602 Invalid params: params.arguments.store appears twice in its object; keep one of the "
                    + "values",
            ])
    }

    /// A `tools/call` or `initialize` whose params don't decode was answered "Internal error: The data isn't in the
    /// correct format" (-32603); it gets Invalid params (-32602) naming the field.
    @Test func requestsWithParamsThatDontDecodeGetInvalidParamsNamingTheField() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 1)
        let initialize =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","#
            + #""capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
        let lines = [
            initialize, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call"}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}}"#,
            #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"memory_stats","arguments":[1]}}"#,
            #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":[]}"#,
            #"{"jsonrpc":"2.0","id":"again","method":"initialize","params":"2025-03-26"}"#,
            #"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"memory_stats"}}"#,
        ]
        let requests = directory.file("requests.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: requests, atomically: true, encoding: .utf8)
        let served = try await ChildProcess.run(
            "/bin/sh",
            [
                "-c", #"exec "$0" serve --store "$1" --mcp-stdio < "$2""#, try ChildProcess.mempExecutable(), store,
                requests,
            ])
        #expect(served.status == 0, "\(served.errors)")
        var errors: [String: String] = [:]
        var results: [String] = []
        for line in served.output.split(separator: "\n") {
            guard let answer = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            let id = "\(answer["id"] ?? "")"
            if let error = answer["error"] as? [String: Any] {
                #expect(error["code"] as? Int == -32602, "\(id)")
                errors[id] = error["message"] as? String
            } else {
                results.append(id)
            }
        }
        #expect(results.sorted() == ["1", "6"])
        #expect(
            errors == [
                "2": "Invalid params: params is missing",
                "3": "Invalid params: params.name must be a string",
                "4": "Invalid params: params.arguments must be a JSON object",
                "5": "Invalid params: params must be a JSON object",
                "again": "Invalid params: params must be a JSON object",
            ])
    }
}
