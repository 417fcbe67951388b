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

    /// Answers one HTTP request to `/mcp`.
    nonisolated func respond(to body: Data, request: Request) async -> Response {
        // The transport took a request whose ID it can't read for a notification (202 and no answer, ever), and
        // answered params it can't decode with an internal error. One message comes per POST (batches are refused).
        if !body.isEmpty, let answer = JSONRPCScreening.screen(body).answers.first {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: answer.refusesMessage ? .badRequest : .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.data)))
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let mcpRequest = MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers, body: body.isEmpty ? nil : body, path: "/mcp")
        return Self.response(await handle(mcpRequest))
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
        sessions[id] = Session(server: server, transport: transport, lastUse: requests)
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
