import Foundation
import Hummingbird
import MempService
import NIOHTTP1
import RetrievalCore

/// The HTTP JSON API: routes a request to one ``MemoryService`` call and writes its answer or error as JSON.
///
/// With one store the routes are `/v1/...`; with a store root they are `/v1/stores/{name}/...` (the single store is
/// also reachable as `/v1/stores/default/...`). Every error is `{"error": {"code", "message"}}`.
struct HTTPAPI: Sendable {
    let service: MemoryService
    let token: BearerToken?
    let mcp: MCPHTTPSessions?

    /// A route's answer: the status, and the JSON body or other bytes.
    struct Answer {
        var status: Int
        var body: Data
        var contentType = "application/json"
        /// The methods the route takes, for a 405's `Allow` header (RFC 9110 §15.5.6).
        var allowedMethods: [String]? = nil
    }

    func respond(to request: Request, context: BasicRequestContext) async -> Response {
        let start = ContinuousClock.now
        service.metrics.started()
        let path = request.uri.path
        let method = request.method.rawValue
        var route = "unmatched"
        let response: Response
        do {
            if path != "/healthz", let token, !token.authorizes(request.headers[.authorization]) {
                throw ServiceError.unauthorized
            }
            if path == "/mcp", let mcp {
                route = "/mcp"
                response = await mcp.respond(to: try await body(of: request), request: request)
            } else {
                let (matched, answer) = try await dispatch(request, path: path, method: method)
                route = matched
                response = Self.response(answer)
            }
        } catch let error as ServiceError {
            response = Self.response(Self.answer(error))
        } catch {
            response = Self.response(Self.answer(.storeFailure(reason: "\(error)")))
        }
        let elapsed = ContinuousClock.now - start
        service.metrics.finished(
            route: route, method: method, status: response.status.code,
            seconds: elapsed.inSeconds)
        return response
    }

    private func dispatch(_ request: Request, path: String, method: String) async throws -> (String, Answer) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).removingPercentEncoding ?? String($0)
        }
        switch parts {
        case ["healthz"]:
            try allow(method, ["GET"], path)
            return ("/healthz", Answer(status: 200, body: Data(#"{"status":"ok"}"#.utf8)))
        case ["metrics"]:
            try allow(method, ["GET"], path)
            var sizes: [(name: String, memories: Int)] = []
            for open in await service.registry.openStores() { sizes.append((open.name, open.store.memoryCount)) }
            let text = service.metrics.render(storeSizes: sizes)
            return (
                "/metrics",
                Answer(status: 200, body: Data(text.utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
            )
        case ["v1", "stores"]:
            try allow(method, ["GET"], path)
            try Self.refuseParameters(request, path)
            return ("/v1/stores", Answer(status: 200, body: try ServiceJSON.encode(service.stores())))
        default:
            break
        }
        guard parts.first == "v1" else { throw ServiceError.notFound(path: path) }
        var rest = Array(parts.dropFirst())
        var store: String?
        var prefix = "/v1"
        if rest.count >= 3, rest[0] == "stores" {
            store = rest[1]
            rest.removeFirst(2)
            prefix = "/v1/stores/{store}"
        }
        switch rest {
        case ["lookup"]:
            return try await post(request, path, route: prefix + "/lookup") { body, _ in
                try await service.lookup(body, store: store)
            }
        case ["lookup", "batch"]:
            return try await post(request, path, route: prefix + "/lookup/batch") { body, _ in
                try await service.lookupBatch(body, store: store)
            }
        case ["trajectories"]:
            return try await post(request, path, route: prefix + "/trajectories", readsQuery: true) {
                try await service.addTrajectories($0, store: store, parameters: $1)
            }
        case ["feedback"]:
            return try await post(request, path, route: prefix + "/feedback") { body, _ in
                try await service.feedback(body, store: store)
            }
        case ["update"]:
            return try await post(request, path, route: prefix + "/update") { body, _ in
                try await service.update(body, store: store)
            }
        case ["stats"]:
            try allow(method, ["GET"], path)
            try Self.refuseParameters(request, path)
            return (prefix + "/stats", try Self.ok(await service.stats(store: store)))
        case let parts where parts.count == 2 && parts[0] == "memories" && !parts[1].isEmpty:
            try allow(method, ["GET", "DELETE"], path)
            try Self.refuseParameters(request, path)
            let route = prefix + "/memories/{id}"
            if method == "DELETE" { return (route, try Self.ok(await service.delete(id: parts[1], store: store))) }
            return (route, try Self.ok(await service.memory(id: parts[1], store: store)))
        default:
            throw ServiceError.notFound(path: path)
        }
    }

    /// A POST route's answer: any other method is refused, and so is a query parameter unless the route
    /// `readsQuery`; the body is read within the service's limit, and what `handle` makes of it is encoded as JSON.
    private func post<Value: Encodable>(
        _ request: Request, _ path: String, route: String, readsQuery: Bool = false,
        _ handle: (Data, [String: String]) async throws -> Value
    ) async throws -> (String, Answer) {
        try allow(request.method.rawValue, ["POST"], path)
        if !readsQuery { try Self.refuseParameters(request, path) }
        let query = try Self.queryParameters(request.uri.query)
        return (route, try Self.ok(try await handle(try await body(of: request), query)))
    }

    /// Refuses the query parameters of a route that reads none: they were ignored, so a misspelt or misplaced option
    /// changed nothing, silently.
    private static func refuseParameters(_ request: Request, _ path: String) throws(ServiceError) {
        guard let name = try queryParameters(request.uri.query).keys.min() else { return }
        throw .invalidArgument(name: name, reason: "is not a query parameter of \(path), which takes none")
    }

    /// Refuses a method the route doesn't take; `HEAD` is taken wherever `GET` is (RFC 9110 §9.3.2: health checks
    /// send it), and answered as `GET` without the body.
    private func allow(_ method: String, _ allowed: [String], _ path: String) throws(ServiceError) {
        let methods = allowed.contains("GET") ? allowed + ["HEAD"] : allowed
        guard methods.contains(method) else {
            throw .methodNotAllowed(method: method, path: path, allowed: methods)
        }
    }

    /// The request body, refused with ``ServiceError/bodyTooLarge(limit:)`` past the service's limit, and with
    /// ``ServiceError/malformedRequest(problem:)`` when it breaks HTTP (a bad chunk size).
    private func body(of request: Request) async throws -> Data {
        // A compressed body would be read as JSON and refused for its bytes, or worse, taken for what it isn't.
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw ServiceError.invalidArgument(
                name: "Content-Encoding",
                reason: "is \(printableText(encoding)), which this server does not decode; send the body uncompressed")
        }
        let limit = service.limits.maximumBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ServiceError.bodyTooLarge(limit: limit)
        }
        var data = Data()
        do {
            for try await buffer in request.body {
                guard data.count + buffer.readableBytes <= limit else { throw ServiceError.bodyTooLarge(limit: limit) }
                data.append(contentsOf: buffer.readableBytesView)
            }
        } catch let error as HTTPParserError {
            throw ServiceError(error, decoder: MempServer.decoder)
        }
        return data
    }

    private static func ok(_ value: some Encodable) throws -> Answer {
        Answer(status: 200, body: try ServiceJSON.encode(value))
    }

    static func answer(_ error: ServiceError) -> Answer {
        var answer = Answer(
            status: status(of: error.kind), body: (try? ServiceJSON.encode(ErrorResponse(error))) ?? Data())
        if case .methodNotAllowed(_, _, let allowed) = error { answer.allowedMethods = allowed }
        return answer
    }

    static func status(of kind: ServiceErrorKind) -> Int {
        switch kind {
        case .badRequest: 400
        case .unauthorized: 401
        case .notFound: 404
        case .methodNotAllowed: 405
        case .conflict: 409
        case .tooLarge: 413
        case .headersTooLarge: 431
        case .unavailable: 503
        case .timeout: 503
        case .requestTimeout: 408
        case .insufficientStorage: 507
        case .internalFailure: 500
        }
    }

    static func response(_ answer: Answer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        if answer.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        if let allowed = answer.allowedMethods { headers[.allow] = allowed.joined(separator: ", ") }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// The parameters of a request's query, by name.
    ///
    /// - Throws: ``MempService/ServiceError/invalidArgument(name:reason:)`` for a name given twice, which was read
    ///   as its last value, silently (a body's repeated key is refused the same way).
    static func queryParameters(_ query: String?) throws(ServiceError) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard let key = parts.first else { continue }
            guard parameters[key] == nil else {
                throw .invalidArgument(name: key, reason: "appears twice in the query; keep one of the values")
            }
            parameters[key] = parts.count > 1 ? parts[1] : ""
        }
        return parameters
    }
}
