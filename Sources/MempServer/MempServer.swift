import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MCP
import MempService
import NIOCore
import ServiceLifecycle

/// Runs a ``MempService/MemoryService`` as an HTTP server (JSON API and MCP at `/mcp`) or as an MCP server on
/// standard input and output.
public enum MempServer {
    /// Where and how the HTTP server listens.
    public struct Configuration: Sendable {
        /// The address to bind: `127.0.0.1` by default.
        public var host: String
        /// The port; 0 picks a free one.
        public var port: Int
        /// The token clients must send; required unless `host` is a loopback address.
        public var token: BearerToken?
        /// Whether `/mcp` serves MCP's streamable HTTP transport.
        public var mcp: Bool
        /// The most MCP sessions kept at once; a new one replaces the session used least recently.
        public var maximumMCPSessions: Int
        /// The most connections open at once; a request on a connection past it is answered 503
        /// ``MempService/ServiceError/tooManyConnections(limit:)`` and the connection closed.
        ///
        /// Each connection may buffer one body of up to ``MempService/ServiceLimits/maximumBodyBytes``, so this
        /// times that limit bounds the memory held by bodies (256 × 8 MiB = 2 GiB by default).
        public var maximumConnections: Int
        /// How long a connection may send nothing, between requests or in the middle of one, before it is closed.
        ///
        /// Without it a client that stops halfway through a request holds its connection, and graceful shutdown
        /// waits for it, forever. A request being answered is never cut short.
        public var idleTimeout: Duration
        /// How long a request may take to arrive, from its first byte to the end of its body; one still arriving
        /// then is answered 408 ``MempService/ServiceError/requestTooSlow(seconds:)`` and its connection closed.
        ///
        /// Each piece of a body received restarts ``idleTimeout``, so without this bound a client sending its body a
        /// byte at a time held its connection as long as it liked. Time spent answering is not counted. The default, 30 s,
        /// lets a body of the default 8 MiB arrive at 280 KB/s.
        public var requestTimeLimit: Duration

        /// Creates a configuration; connections silent for 60 s, and requests not received whole within 30 s, are
        /// closed; 256 connections and 1,024 MCP sessions are kept.
        ///
        /// - Precondition: `maximumMCPSessions >= 1`, `maximumConnections >= 1`.
        public init(
            host: String = "127.0.0.1", port: Int = 8765, token: BearerToken? = nil, mcp: Bool = true,
            idleTimeout: Duration = .seconds(60), requestTimeLimit: Duration = .seconds(30),
            maximumMCPSessions: Int = 1024, maximumConnections: Int = 256
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.mcp = mcp
            self.idleTimeout = idleTimeout
            self.requestTimeLimit = requestTimeLimit
            self.maximumMCPSessions = maximumMCPSessions
            self.maximumConnections = maximumConnections
        }

        /// Whether `host` is reachable only from this machine.
        public static func isLoopback(_ host: String) -> Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    /// Serves HTTP until SIGTERM or SIGINT, then stops accepting connections, finishes the requests in flight and
    /// returns.
    ///
    /// - Parameters:
    ///   - service: The service to expose.
    ///   - configuration: Address, port, token.
    ///   - onListening: Called once with the address actually bound (the port chosen for port 0).
    /// - Throws: ``MempService/ServiceError/invalidArgument(name:reason:)`` when a non-loopback address has no
    ///   token; ``ServerError/cannotListen(host:port:reason:)`` when the address can't be bound (in use, not this
    ///   machine's, or not allowed).
    public static func serveHTTP(
        _ service: MemoryService, configuration: Configuration,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws {
        guard Configuration.isLoopback(configuration.host) || configuration.token != nil else {
            throw ServiceError.invalidArgument(
                name: "host", reason: "\(configuration.host) is not a loopback address; serving it needs a token")
        }
        var logger = Logger(label: "memp.serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let sessions =
            configuration.mcp
            ? MCPHTTPSessions(service: service, maximumSessions: configuration.maximumMCPSessions) : nil
        let api = HTTPAPI(service: service, token: configuration.token, mcp: sessions)
        let host = configuration.host
        let connections = ConnectionCount(limit: configuration.maximumConnections)
        let decoder = Self.decoder
        let application = Application(
            responder: CallbackResponder { request, context in await api.respond(to: request, context: context) },
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionGuard(
                            connections: connections, decoder: decoder, drainLimit: service.limits.maximumBodyBytes,
                            requestTimeLimit: TimeAmount(configuration.requestTimeLimit))
                    ],
                    idleTimeout: TimeAmount(configuration.idleTimeout), httpDecoderConfiguration: decoder)),
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port)),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? 0) },
            logger: logger)
        var services: [any Service] = [application]
        if let sessions { services.append(sessions) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where Self.listenFailures.contains(error.errnoCode) {
            throw ServerError.cannotListen(
                host: host, port: configuration.port, reason: String(cString: strerror(error.errnoCode)))
        }
    }

    /// The HTTP parser's limits: 80 KiB of headers in at most 1,000 fields.
    static let decoder = HTTP1Channel.Configuration.DecoderConfiguration()

    /// The `errno` values of a `bind` that can't succeed at this address: in use, not this machine's, not allowed.
    private static let listenFailures: Set<Int32> = [EADDRINUSE, EADDRNOTAVAIL, EACCES]

    /// Serves MCP on standard input and output until the client closes its end and every request it sent is
    /// answered.
    ///
    /// A message longer than the service's ``MempService/ServiceLimits/maximumBodyBytes``, like a line
    /// that is not JSON, is answered with a JSON-RPC parse error.
    public static func serveStdio(_ service: MemoryService) async throws {
        let server = await MCPTools.makeServer(service: service)
        try await server.start(
            transport: AnsweringStdioTransport(maximumMessageBytes: service.limits.maximumBodyBytes))
        await server.waitUntilCompleted()
    }
}

/// Why the HTTP server could not start.
public enum ServerError: Error, Equatable, CustomStringConvertible {
    /// The server could not listen at `host`:`port`; `reason` is the system's (for example "Address already in use").
    case cannotListen(host: String, port: Int, reason: String)

    /// The message, with the address and how to pick another.
    public var description: String {
        switch self {
        case .cannotListen(let host, let port, let reason):
            "Can't listen on \(host):\(port): \(reason). Choose another address or port (port 0 picks a free one)."
        }
    }
}
