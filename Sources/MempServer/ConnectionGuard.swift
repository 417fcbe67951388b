import HTTPTypes
import Hummingbird
import HummingbirdCore
import MempService
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Guards one HTTP connection: admits it within the server's connection limit, answers protocol errors with the
/// service's JSON error, and closes it at shutdown while a request on it is still arriving.
///
/// - Over the limit, the connection's first request is answered 503 ``MempService/ServiceError/tooManyConnections(limit:)``
///   and the connection's sending side closed, so that the client reads the answer and the end of the connection
///   (it was held until the idle timeout, its descriptor with it, when the request's end never came); its body is
///   never buffered, and the connection is closed at the request's end or its time limit.
/// - A request the HTTP parser refuses (bad method, headers over the decoder's limits, a bad `Content-Length` or
///   chunk size) is answered by the framework with an empty 400; this handler writes that answer as
///   ``MempService/ServiceError/malformedRequest(problem:)`` or ``MempService/ServiceError/headersTooLarge(maximumBytes:maximumFields:)``
///   instead. An error in a body being read reaches the route, which answers it the same way.
/// - A request answered before its body has arrived (413 on its Content-Length, 401) has the rest of its body read
///   and thrown away, so that the client can read the answer once it has sent it; past the body limit more, the
///   connection is closed. The framework reads that rest itself only for a connection it keeps: for a request that
///   asked for `Connection: close` (an HTTP/1.0 request too) it stops reading, and this handler reads the rest.
/// - A CONNECT request (this server is no proxy) is answered 405 without a body, which the HTTP codec strips from
///   any answer to CONNECT, and the connection closed.
/// - An HTTP/1.0 request without keep-alive is marked `Connection: close` (``HTTP10ConnectionCloser``), so that its
///   connection is closed after the answer.
/// - Graceful shutdown waits for every request that has begun, and a request begins with its head: a client that
///   sent a head and part of a body, then nothing, held shutdown up until the idle timeout. Such a request can't be
///   answered (its body is incomplete), so closing it loses nothing; requests received in full are still answered.
/// - A request must arrive whole, from its first byte to the end of its body, within the request time limit. Each
///   piece of a body restarts the framework's idle timeout, so a client sending a byte now and then held its
///   connection for as long as it liked. One still arriving at the limit is answered 408
///   ``MempService/ServiceError/requestTooSlow(seconds:)`` (or, answered already, not again) and its connection
///   closed. The clock starts at the first byte of a request on a connection that owes no answer, seen by a
///   ``RequestStartWatcher`` ahead of the HTTP parser (a head sent a byte at a time ran until the idle timeout), or
///   at the head of a request that waited while an earlier one was answered. Time spent answering is not counted.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connections: ConnectionCount
    private let decoder: HTTP1Channel.Configuration.DecoderConfiguration
    /// Whether this connection counts against the limit; a connection over it is refused.
    private var admitted = false
    /// Whether a request's head has arrived and its end has not.
    private var receiving = false
    /// Requests whose head has arrived and whose answer has not been written to its end.
    private var unanswered = 0
    /// The error for the last request the parser refused, passed on to the framework, whose answer carries it.
    private var protocolError: ServiceError?
    /// Whether the framework's answer to a protocol error is being written, with `protocolError` as its body.
    private var rewriting = false
    /// The most body bytes of an answered request read and thrown away before the connection is closed.
    private let drainLimit: Int
    /// Body bytes thrown away since the request still arriving was answered.
    private var drained = 0
    /// Whether the request still arriving asked for `Connection: close`, as the framework reads the header.
    private var closing = false
    /// Whether this handler reads and throws away the rest of an answered request's body, which the framework,
    /// done with a connection it closes, no longer reads: the client, blocked sending it, never got to read its
    /// answer, and the connection was held until the idle timeout.
    private var draining = false
    /// The longest a request may take to arrive, from its first byte to the end of its body.
    private let requestTimeLimit: TimeAmount
    /// Closes the connection when the request still arriving reaches the time limit; cancelled at its end.
    private var requestDeadline: Scheduled<Void>?
    /// The handler ahead of the parser that reports bytes as they arrive, and writes the answer to a request whose
    /// head is still arriving (no HTTP response can be written through the parser's handlers before a head).
    private var watcher: RequestStartWatcher?
    /// This handler's context while it is in the pipeline, for the watcher's reports.
    private var context: ChannelHandlerContext?

    /// A guard counting its connection against `connections`, answering parser errors under the limits of
    /// `decoder`, reading at most `drainLimit` bytes of a body whose request was answered before it ended, and
    /// closing a connection whose request hasn't arrived whole within `requestTimeLimit`.
    init(
        connections: ConnectionCount, decoder: HTTP1Channel.Configuration.DecoderConfiguration, drainLimit: Int,
        requestTimeLimit: TimeAmount
    ) {
        self.connections = connections
        self.decoder = decoder
        self.drainLimit = drainLimit
        self.requestTimeLimit = requestTimeLimit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        admitted = connections.admit()
        // The HTTP-types codec before this handler drops the request's version, so the HTTP/1.0 rule is applied
        // right after the parser, where the version is still known.
        let pipeline = context.pipeline.syncOperations
        if let parser = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? pipeline.addHandler(HTTP10ConnectionCloser(), position: .after(parser))
            let watcher = RequestStartWatcher { [weak self] bytes in self?.bytesArrived(bytes) }
            // First in the pipeline, ahead of the response encoder too: what it writes goes out as bytes.
            if (try? pipeline.addHandler(watcher, position: .first)) != nil {
                self.watcher = watcher
                let responder = ContinueResponder(watcher: watcher) { [weak self] in
                    // Nothing owed before it (the parser passes pipelined heads on at once), and no refusal coming.
                    guard let self else { return false }
                    return self.admitted && self.unanswered == 0
                }
                try? pipeline.addHandler(responder, position: .after(parser))
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted { connections.release() }
        admitted = false
        requestDeadline?.cancel()
        requestDeadline = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard admitted else {
            // Refused connections buffer nothing: the answer goes out at the head with the end of the sending side,
            // the close follows the end of the request (or its time limit).
            switch part {
            case .head:
                write(.tooManyConnections(limit: connections.limit), context: context)
                context.close(mode: .output, promise: nil)
            case .body: break
            case .end: context.close(promise: nil)
            }
            return
        }
        switch part {
        case .head(let head) where head.method == .connect && unanswered == 0:
            refuseTunnel(context: context)
            return
        case .head(let head):
            receiving = true
            unanswered += 1
            drained = 0
            // The framework's own test: it ends the connection after this answer only for exactly "close".
            closing = head.headerFields[.connection] == "close"
            // Running since its first byte, or not yet: a request that waited while the one before was answered.
            if requestDeadline == nil { startDeadline(context: context) }
        case .body(let buffer) where draining:
            drained += buffer.readableBytes
            if drained > drainLimit { context.close(promise: nil) }
            return
        case .end where draining:
            requestDeadline?.cancel()
            context.close(promise: nil)
            return
        case .body(let buffer) where receiving && unanswered == 0:
            // Answered already (413 on its Content-Length, 401, 404): the framework reads the rest to throw it
            // away, so a body announced as gigabytes would keep the connection busy for as long as it is sent.
            drained += buffer.readableBytes
            if drained > drainLimit {
                context.close(promise: nil)
                return
            }
        case .body: break
        case .end:
            receiving = false
            requestDeadline?.cancel()
            requestDeadline = nil
        }
        context.fireChannelRead(data)
    }

    /// Starts the clock of a request when `bytes` arrive on a connection that owes no answer and receives no request.
    ///
    /// Such bytes are the first of the next request, but for empty lines, which HTTP/1.1 has a server ignore before
    /// a request line (a client that ended its last request with an extra CR LF got a 408 it never asked for). A
    /// connection over the limit is timed as well, to be closed.
    private func bytesArrived(_ bytes: ByteBuffer) {
        guard let context, requestDeadline == nil, !receiving, unanswered == 0 || !admitted,
            bytes.readableBytesView.contains(where: { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") })
        else { return }
        startDeadline(context: context)
    }

    /// Schedules the end of the connection should the request under way not arrive whole in time.
    private func startDeadline(context: ChannelHandlerContext) {
        let loop = context.eventLoop.assumeIsolated()
        requestDeadline = loop.scheduleTask(in: requestTimeLimit) { [self] in
            requestDeadline = nil
            let error = ServiceError.requestTooSlow(seconds: Double(requestTimeLimit.nanoseconds) / 1e9)
            // The request gets its error when no other answer is owed or written: its head arrived and it is the
            // one unanswered request, or its head is still arriving. One answered early (413, 401) had its answer.
            if admitted, !draining, receiving, unanswered == 1 {
                write(error, context: context)
            } else if admitted, !receiving, unanswered == 0, let watcher {
                watcher.write(HTTPAPI.answer(error))
            }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard admitted else {
            context.close(promise: nil)
            return
        }
        if let error = error as? HTTPParserError { protocolError = ServiceError(error, decoder: decoder) }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head where unanswered == 0 && protocolError != nil:
            // No request awaits an answer, so this head is the framework's empty 400 for the protocol error.
            rewriting = true
            promise?.succeed(())
        case .body where rewriting:
            promise?.succeed(())
        case .end where rewriting:
            rewriting = false
            if let protocolError { write(protocolError, context: context) }
            promise?.succeed(())
        case .end:
            unanswered = max(0, unanswered - 1)
            context.write(data, promise: promise)
            if receiving && closing && unanswered == 0 {
                draining = true
                context.read()
            }
        case .head, .body:
            context.write(data, promise: promise)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The framework asks for no more reads once it is done with the connection; the drain asks for them.
        if draining { context.read() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Only the request still arriving awaits an answer (or none does): nothing answerable is cut short.
        if event is ChannelShouldQuiesceEvent, receiving, unanswered <= 1 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Answers a CONNECT request 405 and closes the connection.
    ///
    /// The HTTP codec treats the connection as a tunnel once CONNECT is read, and strips the framing and body of
    /// any answer to it, so the route's JSON 404 went out without either and the client waited for the idle
    /// timeout. Such an answer can't carry the service's JSON error; it says "Connection: close" and ends.
    private func refuseTunnel(context: ChannelHandlerContext) {
        let head = HTTPResponse(
            status: .methodNotAllowed, headerFields: [.allow: "GET, POST, DELETE", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }

    /// Writes `error` as a whole answer that closes the connection.
    private func write(_ error: ServiceError, context: ChannelHandlerContext) {
        let answer = HTTPAPI.answer(error)
        let fields: HTTPFields = [
            .contentType: answer.contentType, .contentLength: String(answer.body.count), .connection: "close",
        ]
        let head = HTTPResponse(status: HTTPResponse.Status(code: answer.status), headerFields: fields)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: answer.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Sits first in the pipeline, ahead of the HTTP parser and encoder: reports each read of bytes (``ConnectionGuard``
/// starts a request's clock at its first byte), and writes the answer to a request whose head has not been parsed,
/// as bytes.
final class RequestStartWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let onBytes: (ByteBuffer) -> Void
    private var context: ChannelHandlerContext?

    /// A watcher that calls `onBytes` with each read, on the event loop, before passing it on.
    init(onBytes: @escaping (ByteBuffer) -> Void) { self.onBytes = onBytes }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onBytes(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    /// Writes `answer` as a whole HTTP/1.1 response that closes the connection, past the HTTP handlers, which take a
    /// response only for a request whose head they have passed on.
    func write(_ answer: HTTPAPI.Answer) {
        let status = HTTPResponseStatus(statusCode: answer.status)
        var bytes = ByteBuffer(
            string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: \(answer.contentType)\r\n"
                + "Content-Length: \(answer.body.count)\r\nConnection: close\r\n\r\n")
        bytes.writeBytes(answer.body)
        write(bytes)
    }

    /// Writes `bytes` to the connection as they are, past the HTTP handlers.
    func write(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }
}

/// Answers an HTTP/1.1 request that sends `Expect: 100-continue` with `100 Continue` as soon as its head has
/// arrived, as RFC 9110 asks of a server that will read the body.
///
/// A client waits for it before sending the body (curl does for bodies over 1 MB): with no answer, it waited out a
/// timeout of its own (a second, for curl), or the server's request time limit, which answered 408 (hostile run 20).
///
/// No 100 goes out while an earlier request on the connection awaits its answer, since responses keep the order of
/// requests: such a client sends its body when its own wait ends, as before. Nor on a connection over the limit,
/// whose 503 comes at once. A request refused by its route (401, 413) gets its final answer after the 100, which
/// the protocol allows.
final class ContinueResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// The handler first in the pipeline, which writes the 100 as bytes: the response encoder takes a head only as
    /// a request's answer.
    private let watcher: RequestStartWatcher
    /// Whether a 100 may go out now, before the head is passed on.
    private let mayContinue: () -> Bool

    init(watcher: RequestStartWatcher, mayContinue: @escaping () -> Bool) {
        self.watcher = watcher
        self.mayContinue = mayContinue
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), head.version == .http1_1,
            head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }), mayContinue()
        {
            watcher.write(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))
        }
        context.fireChannelRead(data)
    }
}

/// Marks an HTTP/1.0 request that did not ask to keep its connection with `Connection: close`, so that the
/// connection is closed after its answer, as HTTP/1.0 has it; it was kept until the idle timeout, and a client
/// reading the answer to the end of the connection waited that long.
final class HTTP10ConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.version == .http1_0, !head.isKeepAlive else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}

/// The connections a server holds open, against its limit; shared by every connection's ``ConnectionGuard``.
final class ConnectionCount: Sendable {
    /// The most connections admitted at once.
    let limit: Int
    private let open = Atomic<Int>(0)

    /// - Precondition: `limit >= 1`.
    init(limit: Int) {
        precondition(limit >= 1, "ConnectionCount: the limit must be at least 1 (got \(limit))")
        self.limit = limit
    }

    /// Counts one more open connection and returns `true`, or returns `false` when `limit` are open already.
    func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Counts one admitted connection as closed.
    func release() {
        open.subtract(1, ordering: .relaxed)
    }
}

extension ServiceError {
    /// The error answered for a request the HTTP parser refused with `error`, under the limits of `decoder`.
    init(_ error: HTTPParserError, decoder: HTTP1Channel.Configuration.DecoderConfiguration) {
        let problem: String
        switch error {
        case .headerOverflow:
            self = .headersTooLarge(maximumBytes: decoder.maxHeaderListSize, maximumFields: decoder.maxHeaderFieldCount)
            return
        case .invalidMethod:
            problem =
                "the request does not start with an HTTP method (a TLS client gets this too: this server speaks "
                + "plain HTTP)"
        case .invalidURL: problem = "the request target is not a valid path"
        case .invalidVersion:
            problem = "the request line does not end with HTTP/1.0 or HTTP/1.1 and CR LF"
        case .invalidContentLength: problem = "Content-Length is not a decimal number of bytes"
        case .unexpectedContentLength:
            problem = "Content-Length is given twice, or together with Transfer-Encoding"
        case .invalidChunkSize: problem = "a chunk of the chunked body does not start with a hexadecimal size"
        case .invalidHeaderToken, .invalidCharactersUsed:
            problem = "a header's name or value holds a character HTTP does not allow"
        case .lfExpected: problem = "a line does not end with CR LF"
        case .invalidEOFState, .closedConnection: problem = "the connection ended in the middle of the request"
        case .unknown:
            // What the parser reports so (hostile run 20) is mostly a bad Transfer-Encoding.
            problem =
                "its headers or body framing can't be parsed (Transfer-Encoding may only be chunked, and not together "
                + "with Content-Length)"
        default: problem = "its request line, headers or body framing can't be parsed"
        }
        self = .malformedRequest(problem: problem)
    }
}
