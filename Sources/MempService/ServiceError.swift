import ProceduralMemory
import RetrievalCore

/// An error the memory service answers a request with: what was wrong, and what kind of failure it is.
///
/// Messages name fields, lines, IDs, store names and limits, never task or trajectory text.
public enum ServiceError: Error, Equatable, Sendable {
    /// The body is not JSON, or not of the expected shape; `field` is the JSON path of the offending value
    /// (empty for the whole body).
    case invalidBody(field: String, reason: String)
    /// A query parameter or argument is outside what the operation accepts.
    case invalidArgument(name: String, reason: String)
    /// A number exceeds a limit the server sets (`k`, tasks per batch, task length).
    case limitExceeded(name: String, limit: Int, actual: Int)
    /// The body is longer than the server accepts.
    case bodyTooLarge(limit: Int)
    /// The request is not valid HTTP/1.1; `problem` says which part breaks the protocol (the method, a header, the
    /// chunked body, …).
    case malformedRequest(problem: String)
    /// The request's header section is over `maximumBytes` bytes or `maximumFields` fields, the most the server
    /// reads.
    case headersTooLarge(maximumBytes: Int, maximumFields: Int)
    /// The server already holds `limit` connections, the most it keeps open at once.
    case tooManyConnections(limit: Int)
    /// No store has this name (or the name is not a store name at all).
    case unknownStore(name: String)
    /// No memory has this ID in the store.
    case unknownMemory(id: String, store: String)
    /// A memory changed between a read and a write; the client can retry.
    case conflict(reason: String)
    /// The request lacks a valid bearer token.
    case unauthorized
    /// No such route.
    case notFound(path: String)
    /// The route exists but not with this method; `allowed` are the methods it takes.
    case methodNotAllowed(method: String, path: String, allowed: [String])
    /// The request did not finish within the server's time limit.
    case timeout(seconds: Double)
    /// The request did not arrive whole, head to end of body, within `seconds`, the server's limit.
    case requestTooSlow(seconds: Double)
    /// The store failed for a reason that is not the client's (database, disk, embedder).
    case storeFailure(reason: String)
    /// The store's database can't be reached or stopped answering; the request can be retried once it is back.
    case storeUnavailable(reason: String)
    /// The disk holding the store's database is full: the write stored nothing; it can be retried once space is
    /// freed.
    case storageFull(reason: String)
}

/// How a ``ServiceError`` is to be reported: the front end maps each kind to its own status.
public enum ServiceErrorKind: String, Sendable, CaseIterable {
    /// The client sent something wrong (HTTP 400).
    case badRequest
    /// The client is not authorized (HTTP 401).
    case unauthorized
    /// The thing asked for does not exist (HTTP 404).
    case notFound
    /// The method is not supported on the path (HTTP 405).
    case methodNotAllowed
    /// The write conflicts with a concurrent one (HTTP 409).
    case conflict
    /// The body is too large (HTTP 413).
    case tooLarge
    /// The request's headers are too large (HTTP 431).
    case headersTooLarge
    /// The server is at its connection limit, or the store's database is unavailable for now (HTTP 503).
    case unavailable
    /// The server took too long (HTTP 503).
    case timeout
    /// The client took too long to send its request (HTTP 408).
    case requestTimeout
    /// The store has no space left for the write (HTTP 507).
    case insufficientStorage
    /// The server failed (HTTP 500); never used for something the client sent.
    case internalFailure
}

extension ServiceError: CustomStringConvertible {
    /// A stable, machine-readable code, as in `{"error": {"code": …}}`.
    public var code: String {
        switch self {
        case .invalidBody: "invalid_body"
        case .invalidArgument: "invalid_argument"
        case .limitExceeded: "limit_exceeded"
        case .bodyTooLarge: "body_too_large"
        case .malformedRequest: "malformed_request"
        case .headersTooLarge: "headers_too_large"
        case .tooManyConnections: "too_many_connections"
        case .unknownStore: "unknown_store"
        case .unknownMemory: "unknown_memory"
        case .conflict: "conflict"
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .timeout: "timeout"
        case .requestTooSlow: "request_timeout"
        case .storeFailure: "store_failure"
        case .storeUnavailable: "store_unavailable"
        case .storageFull: "storage_full"
        }
    }

    /// How the error is to be reported.
    public var kind: ServiceErrorKind {
        switch self {
        case .invalidBody, .invalidArgument, .limitExceeded, .malformedRequest: .badRequest
        case .bodyTooLarge: .tooLarge
        case .headersTooLarge: .headersTooLarge
        case .tooManyConnections: .unavailable
        case .unknownStore, .unknownMemory, .notFound: .notFound
        case .conflict: .conflict
        case .unauthorized: .unauthorized
        case .methodNotAllowed: .methodNotAllowed
        case .timeout: .timeout
        case .requestTooSlow: .requestTimeout
        case .storeFailure: .internalFailure
        case .storeUnavailable: .unavailable
        case .storageFull: .insufficientStorage
        }
    }

    public var description: String {
        switch self {
        case .invalidBody(let field, let reason):
            field.isEmpty ? "The body \(sentence(reason))" : "Field \(field): \(sentence(reason))"
        case .invalidArgument(let name, let reason):
            // Hostile run 22: a library message, a sentence already, ended "BM25.." (finding 216).
            "\(name): \(sentence(reason))"
        case .limitExceeded(let name, let limit, let actual):
            "\(name) is \(actual); this server accepts at most \(limit)."
        case .bodyTooLarge(let limit):
            "The body is larger than \(limit) bytes, the most this server accepts; send smaller batches."
        case .malformedRequest(let problem):
            "The request is not valid HTTP/1.1: \(problem). The connection is closed; send a well-formed request."
        case .headersTooLarge(let maximumBytes, let maximumFields):
            "The request's headers are over \(maximumBytes) bytes or \(maximumFields) fields, the most this server "
                + "reads; send fewer or shorter headers."
        case .tooManyConnections(let limit):
            "The server already has \(limit) connections open, the most it accepts; retry after a while, or send "
                + "requests over fewer connections (keep-alive)."
        case .unknownStore(let name):
            "No store is called \"\(name)\"; GET /v1/stores lists them."
        case .unknownMemory(let id, let store):
            "No memory has ID \(printableName(id)) in store \(store)."
        case .conflict(let reason):
            "\(reason) Retry the request."
        case .unauthorized:
            "Send the server's token as Authorization: Bearer TOKEN."
        case .notFound(let path):
            "No route \(path); see docs/openapi.yaml."
        case .methodNotAllowed(let method, let path, let allowed):
            "\(path) does not accept \(method); it takes \(allowed.joined(separator: ", "))."
        case .timeout(let seconds):
            "The request took longer than \(shortNumber(seconds)) s, the server's limit: ask for fewer hits or tasks, or retry "
                + "later if the store's database is slow or unreachable."
        case .requestTooSlow(let seconds):
            "The request did not arrive whole within \(shortNumber(seconds)) s, the server's limit; the connection is "
                + "closed. Send it at once, or in smaller batches."
        case .storeFailure(let reason):
            "The store failed: \(reason)"
        case .storeUnavailable(let reason):
            "The store is unavailable: \(reason)"
        case .storageFull(let reason):
            "The store is out of space: \(reason)"
        }
    }

    /// The service error for a memory store error.
    ///
    /// Bad records, unknown IDs and bad arguments are the client's fault; the database, disk and embedder the
    /// server's.
    static func from(_ error: MemoryError, store: String) -> ServiceError {
        switch error {
        case .invalidRecord(_, let line, let field, let reason):
            .invalidBody(field: "line \(line), \(field)", reason: reason)
        case .duplicateTrajectory(let id, _, let line):
            .invalidBody(
                field: "line \(line), id",
                reason: "trajectory \(id) is already stored; send duplicates=skip or duplicates=replace")
        case .alreadyApplied(let id, _, let line):
            .invalidBody(
                field: "tasks[\(line - 1)].id",
                reason: "the task of trajectory \(id) was applied by an update already, and its uses are counted; "
                    + "send resume=true if an update of these tasks was cut short (each task is applied once), or "
                    + "give the attempt a new ID")
        case .appliedWithOtherOutcome(let id, _, let line):
            .invalidBody(
                field: "tasks[\(line - 1)].outcome",
                reason: "trajectory \(id) was applied with another outcome, which is counted already; resume with "
                    + "the tasks the interrupted update was sent")
        case .resumedWithOtherMethod(let id, _, let line, let appliedPolicy, let appliedBuild, _, _):
            .invalidBody(
                field: "tasks[\(line - 1)].id",
                reason: "the task of trajectory \(id) was applied by an update with policy \(appliedPolicy.rawValue) "
                    + "and build \(appliedBuild.rawValue); resume with those, or leave out the tasks it applied")
        case .textTooLarge(_, let line, let field, let bytes, let limit):
            .invalidBody(field: "line \(line), \(field)", reason: "is \(bytes) bytes; the most accepted is \(limit)")
        case .repeatedTrajectory(let id, _, let line, let firstLine):
            .invalidBody(
                field: "line \(line), id",
                reason: "trajectory \(id) appears again (first on line \(firstLine)); "
                    + "send duplicates=replace to keep the later one")
        case .counterLimit, .emptyTask, .lookupTaskTooLarge, .lookupTaskTooLargeForDatabase, .taskWithoutDirection,
            .nothingToRevert, .invalidParameter, .optionNotApplicable, .alreadyStored, .repeatedInBatch,
            .missingSourceTrajectory, .invalidTrajectory, .invalidFeedback, .vectorWithoutDirection, .recordTooLarge:
            // The library names its own parameters (`minimumSimilarity`), not the request's fields.
            .invalidArgument(name: "request", reason: error.description)
        case .importStopped(let committed, let cause):
            // Whatever stopped it, the client must learn what stays stored.
            switch (from(cause, store: store), "\(committed) trajectories before it were committed and stay stored") {
            case (.invalidBody(let field, let reason), let kept):
                .invalidBody(field: field, reason: "\(reason) (\(kept))")
            case (.storeUnavailable(let reason), let kept): .storeUnavailable(reason: "\(reason) (\(kept))")
            case (.storageFull(let reason), let kept): .storageFull(reason: "\(reason) (\(kept))")
            case (.storeFailure(let reason), let kept): .storeFailure(reason: "\(reason) (\(kept))")
            case (let other, _): other
            }
        case .unknownID(let id), .notAMemory(let id, _):
            .unknownMemory(id: id, store: store)
        case .revisionConflict, .tuningConflict:
            .conflict(reason: error.description)
        case .duplicateMemory(let id, _):
            .invalidBody(
                field: "id", reason: "memory \(id) is already stored; send duplicates=skip or duplicates=replace")
        case .databaseUnavailable, .commitUnconfirmed, .embeddingServer:
            // A remote embedding server that fails is, like the database, not the client's fault nor a bug of the
            // server: the request can be retried once it answers.
            .storeUnavailable(reason: error.description)
        case .storageFull:
            .storageFull(reason: error.description)
        case .embedderMismatch, .configurationMismatch, .cancelled, .notAStore, .emptyDatabaseFile, .notSQLiteDatabase,
            .databaseWithoutStoreSettings, .storeExists, .copyEmbedderMismatch, .incompleteCopy,
            .databaseURLAsDirectory, .backendNotBuilt, .database, .io, .index, .embedding, .scriptWriter, .cannotRevert,
            .bundleRefused, .languageModel,
            .policyNotInDatabase, .nonFiniteVector,
            .encodingFailed, .invalidDatabaseURL, .passwordVariableUnset, .storeWithoutEmbedder:
            .storeFailure(reason: error.description)
        }
    }
}

/// `text` ended with a period, unless it ends with one, a question or exclamation mark already.
private func sentence(_ text: String) -> String {
    text.hasSuffix(".") || text.hasSuffix("?") || text.hasSuffix("!") ? text : text + "."
}
