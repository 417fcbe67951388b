import Foundation
import Testing

/// MCP over HTTP against hostile clients: sessions are bounded, and no request goes unanswered.
@Suite struct MCPOverHTTPTests {
    static let headers = ["Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-03-26"]

    /// Opens a session and returns its ID.
    static func initialize(_ client: HTTPClient) async throws -> String {
        let request: [String: Any] = [
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": [
                "protocolVersion": "2025-03-26", "capabilities": [String: Any](),
                "clientInfo": ["name": "test", "version": "1"],
            ],
        ]
        let answer = try await client.exchange(
            "POST", "/mcp", body: try JSONSerialization.data(withJSONObject: request), headers: headers)
        let id = answer.headers.first { ($0.key as? String)?.lowercased() == "mcp-session-id" }?.value as? String
        return try #require(id, "status \(answer.status)")
    }

    /// The answer to `message` (JSON) sent in session `id`.
    static func send(_ message: String, _ client: HTTPClient, session id: String) async throws -> (
        status: Int, headers: [AnyHashable: Any], body: Data
    ) {
        try await client.exchange(
            "POST", "/mcp", body: Data(message.utf8), headers: headers.merging(["MCP-Session-Id": id]) { $1 })
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
    /// The transport took it for a notification: 202 Accepted, and no answer ever came.
    @Test(arguments: ["1e300", "2.5", "123456789012345678901234567890", #"{"a": 1}"#, "true"])
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
}
