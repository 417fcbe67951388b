import Foundation
import HTTPTypes
import Hummingbird
import MCP
import MempService
import ServiceLifecycle

/// MCP's streamable HTTP transport at `/mcp`: one MCP server and transport per session, created by the client's
/// `initialize` request and found again by its `MCP-Session-Id` header.
///
/// Clients rarely end their sessions, so at most ``maximumSessions`` are kept: a new one replaces the session
/// used least recently, whose client is told to initialize again (MCP's answer to an unknown session, 404).
actor MCPHTTPSessions: Service {
    private struct Session {
        let server: Server
        let transport: StatefulHTTPServerTransport
        /// The MCP version its `initialize` negotiated, which decides whether a POST may carry a batch.
        let protocolVersion: String
        /// When the session was last used, as a count of requests: the smallest is the least recent.
        var lastUse: UInt64
    }

    private let service: MemoryService
    /// The most sessions kept at once.
    let maximumSessions: Int
    private var sessions: [String: Session] = [:]
    /// Requests answered so far, the clock of ``Session/lastUse``.
    private var requests: UInt64 = 0
    private var closed = false

    init(service: MemoryService, maximumSessions: Int) {
        precondition(maximumSessions >= 1, "MCPHTTPSessions: at least one session must be allowed")
        self.service = service
        self.maximumSessions = maximumSessions
    }

    /// The first MCP version whose streamable HTTP transport takes one message per POST: 2025-06-18 removed
    /// JSON-RPC batches, which 2025-03-26 required servers to receive.
    static let firstVersionWithoutBatches = "2025-06-18"

    /// Answers one HTTP request to `/mcp`.
    nonisolated func respond(to body: Data, request: Request) async -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let mcpRequest = MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers, body: body.isEmpty ? nil : body, path: "/mcp")
        // The transport reads no batch: it called one a parse error, and a batch the screening answered in part lost
        // the rest of its requests. A batch goes to its session's version's rules here.
        if request.method == .post, Self.isBatch(body) {
            return await respond(toBatch: mcpRequest)
        }
        // The transport took a request whose ID it can't read for a notification (202 and no answer, ever), and
        // answered params it can't decode with an internal error.
        if !body.isEmpty, let answer = JSONRPCScreening.screen(body).answers.first {
            return Self.jsonResponse(answer.data, status: answer.refusesMessage ? .badRequest : .ok)
        }
        return Self.response(await handle(mcpRequest))
    }

    /// Answers a POST whose body is a JSON array: in a session of MCP 2025-03-26 or earlier, each message as if it
    /// came alone, the answers on one event stream; from 2025-06-18, one Invalid Request saying batches are not
    /// taken.
    private func respond(toBatch request: MCP.HTTPRequest) async -> Response {
        guard let id = request.header(HTTPHeaderName.sessionID), let session = sessions[id], !closed else {
            return Self.response(await handle(request))  // 400 (initialize first), 404 or 503, as for one message
        }
        guard session.protocolVersion < Self.firstVersionWithoutBatches else {
            let refusal = JSONRPCScreening.errorResponse(
                code: -32600,
                message: "Invalid Request: this session speaks MCP \(session.protocolVersion), whose HTTP transport "
                    + "takes one JSON-RPC message per POST, not a batch (an array); send each message in a POST of "
                    + "its own")
            return Self.jsonResponse(refusal, status: .badRequest)
        }
        let (passed, answers) = JSONRPCScreening.screen(request.body ?? Data())
        var events = answers.map(\.data)
        var streams: [AsyncThrowingStream<Data, Swift.Error>] = []
        var streamHeaders: [String: String] = [:]
        var errorStatus: Int?
        let kept = passed.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [Any] } ?? []
        for element in kept {
            guard let body = try? JSONSerialization.data(withJSONObject: element) else { continue }
            let single = MCP.HTTPRequest(method: "POST", headers: request.headers, body: body, path: request.path)
            let response = await handle(single)
            switch response {
            case .stream(let stream, let headers):
                streams.append(stream)
                streamHeaders = headers
            case .accepted:
                break
            default:
                // The transport's error carries id null: put it under the request's ID, so its client can tell
                // which request it answers.
                guard
                    var error = response.bodyData.flatMap({ try? JSONSerialization.jsonObject(with: $0) })
                        as? [String: Any]
                else { continue }
                if let requestID = (element as? [String: Any])?["id"], error["id"] is NSNull { error["id"] = requestID }
                if let data = try? JSONSerialization.data(withJSONObject: error, options: [.sortedKeys]) {
                    events.append(data)
                }
                if response.statusCode >= 400 { errorStatus = errorStatus ?? response.statusCode }
            }
        }
        guard !streams.isEmpty else {
            guard !events.isEmpty else { return Self.response(.accepted(headers: [HTTPHeaderName.sessionID: id])) }
            let body =
                events.count == 1
                ? events[0] : Data("[".utf8) + Data(events.joined(separator: Data(",".utf8))) + Data("]".utf8)
            let status = errorStatus ?? (answers.allSatisfy(\.refusesMessage) ? 400 : 200)
            return Self.jsonResponse(body, status: HTTPResponse.Status(code: status))
        }
        // Each request's answer comes on the stream the transport opened for it; one stream carries them all, with
        // the answers given here first.
        let (merged, continuation) = AsyncThrowingStream<Data, Swift.Error>.makeStream()
        for event in events { continuation.yield(Data("data: ".utf8) + event + Data("\n\n".utf8)) }
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for stream in streams {
                    group.addTask {
                        do {
                            for try await chunk in stream { continuation.yield(chunk) }
                        } catch {}
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return Self.response(.stream(merged, headers: streamHeaders))
    }

    private func handle(_ request: MCP.HTTPRequest) async -> MCP.HTTPResponse {
        guard !closed else {
            return .error(statusCode: 503, .internalError("The server is shutting down."))
        }
        requests += 1
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard let session = sessions[id] else {
                return .error(statusCode: 404, .invalidRequest("No MCP session \(id); initialize a new one."))
            }
            sessions[id]?.lastUse = requests
            let response = await session.transport.handleRequest(request)
            if request.method == "DELETE", response.statusCode == 200 {
                sessions[id] = nil
                await session.server.stop()
            }
            return response
        }
        guard request.method == "POST", let body = request.body, Self.isInitialize(body) else {
            return .error(
                statusCode: 400, .invalidRequest("Send initialize first, then the MCP-Session-Id it returns."))
        }
        let id = UUID().uuidString
        let requested = (Self.initializeParameters(body)?["protocolVersion"] as? String) ?? Version.latest
        let protocolVersion = Version.supported.contains(requested) ? requested : Version.latest
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id))
        let server = await MCPTools.makeServer(service: service)
        do {
            try await server.start(transport: transport)
        } catch {
            return .error(statusCode: 500, .internalError("The MCP session could not start: \(error)"))
        }
        if sessions.count >= maximumSessions, let oldest = sessions.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            sessions[oldest.key] = nil
            await oldest.value.server.stop()
        }
        sessions[id] = Session(
            server: server, transport: transport, protocolVersion: protocolVersion, lastUse: requests)
        let response = await transport.handleRequest(request)
        if case .error = response {
            sessions[id] = nil
            await server.stop()
        }
        return response
    }

    /// Ends every session, closing their event streams, so that graceful shutdown is not held up by them.
    func closeAll() async {
        closed = true
        let open = sessions.values
        sessions = [:]
        for session in open { await session.server.stop() }
    }

    /// Waits for graceful shutdown, then ends the sessions (the service group shuts this down before the HTTP
    /// server, which then waits only for ordinary requests).
    func run() async throws {
        try? await gracefulShutdown()
        await closeAll()
    }

    private static func isInitialize(_ body: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
        return object["method"] as? String == "initialize"
    }

    /// The params of an `initialize` request, when they are an object.
    private static func initializeParameters(_ body: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["params"] as? [String: Any]
    }

    /// Whether a body is a JSON array (bytes that are not JSON are the transport's to answer, with a parse error).
    private static func isBatch(_ body: Data) -> Bool {
        guard body.first(where: { !" \t\r\n".utf8.contains($0) }) == UInt8(ascii: "[") else { return false }
        return (try? JSONSerialization.jsonObject(with: body)) is [Any]
    }

    private static func jsonResponse(_ data: Data, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private static func response(_ response: MCP.HTTPResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: response.statusCode)
        if case .stream(let stream, _) = response {
            return Response(
                status: status, headers: headers,
                body: ResponseBody(asyncSequence: stream.map { ByteBuffer(bytes: $0) }))
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.bodyData ?? Data())))
    }
}
