import Foundation
import RetrievalCore
import Testing

/// MCP over HTTP against hostile clients: sessions are bounded, and no request goes unanswered.
@Suite struct MCPOverHTTPTests {
    static let headers = ["Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-03-26"]

    /// Opens a session of MCP `version` and returns its ID.
    static func initialize(_ client: HTTPClient, version: String = "2025-03-26") async throws -> String {
        let request: [String: Any] = [
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": [
                "protocolVersion": version, "capabilities": [String: Any](),
                "clientInfo": ["name": "test", "version": "1"],
            ],
        ]
        let answer = try await client.exchange(
            "POST", "/mcp", body: try JSONSerialization.data(withJSONObject: request),
            headers: headers.merging(["MCP-Protocol-Version": version]) { $1 })
        let id = answer.headers.first { ($0.key as? String)?.lowercased() == "mcp-session-id" }?.value as? String
        return try #require(id, "status \(answer.status)")
    }

    /// The answer to `message` (JSON) sent in session `id` of MCP `version`.
    static func send(_ message: String, _ client: HTTPClient, session id: String, version: String = "2025-03-26")
        async throws -> (status: Int, headers: [AnyHashable: Any], body: Data)
    {
        try await client.exchange(
            "POST", "/mcp", body: Data(message.utf8),
            headers: headers.merging(["MCP-Session-Id": id, "MCP-Protocol-Version": version]) { $1 })
    }

    /// The JSON-RPC messages of an answer: the events of an event stream, or a JSON object or array.
    static func messages(in body: Data) -> [[String: Any]] {
        let text = String(decoding: body, as: UTF8.self)
        let values: [Any] =
            text.hasPrefix("{") || text.hasPrefix("[")
            ? [(try? JSONSerialization.jsonObject(with: body)) as Any]
            : text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.dropFirst("data: ".count).utf8))
            }
        return values.flatMap { ($0 as? [[String: Any]]) ?? ($0 as? [String: Any]).map { [$0] } ?? [] }
    }

    /// The status of a ping in session `id`.
    static func ping(_ client: HTTPClient, session id: String) async throws -> Int {
        try await send(#"{"jsonrpc": "2.0", "id": 2, "method": "ping"}"#, client, session: id).status
    }

    /// What a new session on a one-memory store answers to `message` (JSON): the status, the body as a JSON object
    /// and that object's `error`; and the status of a ping sent in the same session afterwards.
    static func answer(to message: String) async throws -> (
        status: Int, object: [String: Any], error: [String: Any]?, pingAfter: Int
    ) {
        let served = try await ServedStore(count: 1)
        defer { served.close() }
        let session = try await initialize(served.client)
        let answer = try await send(message, served.client, session: session)
        let object = HTTPClient.object(answer.body)
        let pingAfter = try await ping(served.client, session: session)
        return (answer.status, object, object["error"] as? [String: Any], pingAfter)
    }

    @Test func aSessionBeyondTheLimitReplacesTheOneUsedLeastRecently() async throws {
        let served = try await ServedStore(count: 3, arguments: ["--max-mcp-sessions", "2"])
        defer { served.close() }
        let client = served.client
        let first = try await Self.initialize(client)
        let second = try await Self.initialize(client)
        #expect(try await Self.ping(client, session: first) == 200)  // the second is now the least recent

        let third = try await Self.initialize(client)
        #expect(try await Self.ping(client, session: second) == 404)
        #expect(try await Self.ping(client, session: first) == 200)
        #expect(try await Self.ping(client, session: third) == 200)
    }

    /// A request whose ID is neither a string nor an integer is refused with Invalid Request.
    ///
    /// The transport took it for a notification: 202 Accepted, and no answer ever came (for `null` too, which MCP
    /// forbids as an ID).
    @Test(arguments: ["1e300", "2.5", "123456789012345678901234567890", #"{"a": 1}"#, "true", "null"])
    func aRequestWithAnUnusableIDIsRefused(id: String) async throws {
        let answer = try await Self.answer(to: #"{"jsonrpc": "2.0", "id": \#(id), "method": "ping"}"#)
        #expect(answer.status == 400)
        #expect(answer.error?["code"] as? Int == -32600)
        #expect(answer.object["id"] is NSNull)
        #expect(answer.pingAfter == 200)
    }

    /// A message that is JSON but no usable request is answered under its ID with an error saying why: one that is
    /// not a request was "Parse error: Invalid JSON" (it is Invalid Request, 400), and a tool call whose params
    /// don't decode got an internal error (it is Invalid params naming the field), and one that repeated a key was
    /// read with one of its values.
    @Test(arguments: [
        (#"{"jsonrpc": "1.0", "id": 7, "method": "ping"}"#, 400, -32600, #"Invalid Request: jsonrpc must be "2.0""#),
        (
            #"{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {}}"#, 200, -32602,
            "Invalid params: params.name is missing"
        ),
        (
            #"{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "memory_stats", "#
                + #""arguments": {"store": null, "store": 5}}}"#, 200, -32602,
            "Invalid params: params.arguments.store appears twice in its object; keep one of the values"
        ),
    ])
    func anUnusableMessageIsAnsweredSayingWhy(message: String, status: Int, code: Int, reason: String) async throws {
        let answer = try await Self.answer(to: message)
        #expect(answer.status == status)
        #expect(answer.object["id"] as? Int == 7 && answer.error?["code"] as? Int == code)
        #expect(answer.error?["message"] as? String == reason)
        #expect(answer.pingAfter == 200)
    }

    /// A message that is not strict JSON gets a parse error saying where (hostile run 22: "Invalid JSON: Invalid
    /// JSON-RPC message" with no position; a comma before a closing bracket was answered as if it were JSON).
    @Test(arguments: [
        (
            #"{"jsonrpc":"2.0","id":5,"method":"ping",}"#,
            "Parse error: the message ends with a comma before its closing bracket (character 39), which JSON does "
                + "not allow; remove the comma"
        ),
        (
            #"{"jsonrpc":"2.0","id":5,"method":"pi"#,
            "Parse error: the message is not JSON ("
                + JSONSyntax.problem(in: Data(#"{"jsonrpc":"2.0","id":5,"method":"pi"#.utf8))! + ")"
        ),
    ])
    func aMessageThatIsNotStrictJSONGetsAParseErrorSayingWhere(message: String, reason: String) async throws {
        let answer = try await Self.answer(to: message)
        #expect(answer.status == 400)
        #expect(answer.object["id"] is NSNull && answer.error?["code"] as? Int == -32700)
        #expect(answer.error?["message"] as? String == reason)
        #expect(answer.pingAfter == 200)
    }

    /// A batch in a session of MCP 2025-03-26, whose HTTP transport must take batches, gets an answer for each of its
    /// requests on one event stream; an element that is not a request gets Invalid Request beside them.
    ///
    /// The transport called a valid batch a parse error (400, -32700), and a batch with one bad element got only that
    /// element's error, its requests never answered.
    @Test func aBatchIn2025_03_26IsAnsweredRequestByRequest() async throws {
        let served = try await ServedStore(count: 1)
        defer { served.close() }
        let session = try await Self.initialize(served.client)
        let stats =
            #"{"jsonrpc":"2.0","id":"stats","method":"tools/call","#
            + #""params":{"name":"memory_stats","arguments":{}}}"#
        let batch = try await Self.send(
            #"[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":1,"method":"ping"},"#
                + #"{"jsonrpc":"2.0","id":2,"method":"ping"},\#(stats)]"#, served.client, session: session)
        #expect(batch.status == 200)
        let answers = Self.messages(in: batch.body)
        #expect(answers.map { "\($0["id"] ?? "")" }.sorted() == ["1", "2", "stats"])
        #expect(answers.allSatisfy { $0["result"] != nil })

        let withBadElement = try await Self.send(
            #"[{"jsonrpc":"2.0","id":3,"method":"ping"}, 5]"#, served.client, session: session)
        #expect(withBadElement.status == 200)
        let mixed = Self.messages(in: withBadElement.body)
        #expect(mixed.contains { $0["id"] as? Int == 3 && $0["result"] != nil })
        let refusal = mixed.first { $0["id"] is NSNull }?["error"] as? [String: Any]
        #expect(refusal?["code"] as? Int == -32600)
        #expect(refusal?["message"] as? String == "Invalid Request: a batch element must be a JSON-RPC object")

        let onlyNotifications = try await Self.send(
            #"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#, served.client, session: session)
        #expect(onlyNotifications.status == 202)
        #expect(try await Self.ping(served.client, session: session) == 200)
    }

    /// A batch in a session of MCP 2025-06-18 or later, whose HTTP transport takes one message per POST, is refused
    /// as a whole with one Invalid Request saying so, not called a parse error.
    @Test(arguments: ["2025-06-18", "2025-11-25"])
    func aBatchFrom2025_06_18IsRefusedAsABatch(version: String) async throws {
        let served = try await ServedStore(count: 1)
        defer { served.close() }
        let session = try await Self.initialize(served.client, version: version)
        for batch in [
            #"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
            #"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#, "[]",
        ] {
            let answer = try await Self.send(batch, served.client, session: session, version: version)
            #expect(answer.status == 400, "\(batch)")
            let object = HTTPClient.object(answer.body)
            let error = object["error"] as? [String: Any]
            #expect(object["id"] is NSNull && error?["code"] as? Int == -32600, "\(batch)")
            #expect(
                error?["message"] as? String
                    == "Invalid Request: this session speaks MCP \(version), whose HTTP transport takes one JSON-RPC "
                    + "message per POST, not a batch (an array); send each message in a POST of its own")
        }
        let ping = try await Self.send(
            #"{"jsonrpc":"2.0","id":3,"method":"ping"}"#, served.client, session: session, version: version)
        #expect(ping.status == 200)
    }
}
