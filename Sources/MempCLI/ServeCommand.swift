import ArgumentParser
import Foundation
import MemoryLocation
import MempServer
import MempService
import ProceduralMemory

/// `memp serve`: keeps stores, the embedder and the indexes warm and serves them over HTTP and MCP.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve memory stores over HTTP (JSON API and MCP) or MCP on stdio.",
        discussion: """
            With --store, serves one store at /v1/...; with --store-root, every store under the directory at \
            /v1/stores/NAME/... (each a hard partition). MCP's streamable HTTP transport is at /mcp; --mcp-stdio \
            serves MCP on standard input and output instead (for Claude Desktop, Claude Code, Cursor). Prints \
            "Listening on http://HOST:PORT" on stderr when ready, and there too when a store's index cache can't be \
            saved after a write (and when that no longer holds); SIGTERM or SIGINT finishes the requests in flight, \
            then exits 0. The API is described in docs/openapi.yaml.
            """)

    @Option(
        help: ArgumentHelp(
            "The memory store to serve: a directory, or a postgres:// URL (password in MEMP_PG_PASSWORD).",
            valueName: "dir|url"), transform: nonEmptyPath)
    var store: String?
    @Option(help: ArgumentHelp("Serve every store under this directory.", valueName: "dir"), transform: nonEmptyPath)
    var storeRoot: String?
    @Option(help: "The address to listen on.") var host = MempServer.Configuration().host
    @Option(parsing: .unconditional, help: "The port to listen on (0: any free port).") var port =
        MempServer.Configuration().port
    @Option(
        help: ArgumentHelp("A file holding the token clients must send as Authorization: Bearer.", valueName: "file"))
    var tokenFile: String?
    @Flag(help: "Serve MCP on standard input and output instead of HTTP.") var mcpStdio = false
    @Option(parsing: .unconditional, help: "The largest request body (HTTP) or message (--mcp-stdio), in bytes.")
    var maxBodyBytes = ServiceLimits().maximumBodyBytes
    @Option(parsing: .unconditional, help: "The largest k a lookup may ask for.") var maxK = ServiceLimits().maximumK
    @Option(
        parsing: .unconditional,
        help: "The most bytes of memory text (tasks, scripts, steps) one lookup or batch lookup answers with.")
    var maxAnswerBytes = ServiceLimits().maximumAnswerTextBytes
    @Option(parsing: .unconditional, help: "Seconds a lookup may take before it is answered with an error.")
    var lookupTimeout = ServiceLimits().lookupTimeout.inSeconds
    @Option(
        parsing: .unconditional,
        help: "Seconds a connection may send nothing, between requests or within one, before it is closed.")
    var idleTimeout = MempServer.Configuration().idleTimeout.inSeconds
    @Option(
        parsing: .unconditional,
        help: "Seconds a request may take to arrive, first byte to end of body; one still arriving gets 408.")
    var requestTimeout = MempServer.Configuration().requestTimeLimit.inSeconds
    @Option(
        parsing: .unconditional,
        help: "The most MCP sessions kept over HTTP; a new one replaces the session used least recently.")
    var maxMCPSessions = MempServer.Configuration().maximumMCPSessions
    @Option(
        parsing: .unconditional,
        help: "The most connections open at once; a request on one more is answered 503 and its connection closed.")
    var maxConnections = MempServer.Configuration().maximumConnections
    /// The deprecation thresholds of feedback (`record_outcome`, `/v1/feedback`) and updates whose requests set none.
    @OptionGroup var settingsOptions: UpdateSettingsOptions

    func validate() throws {
        guard (store == nil) != (storeRoot == nil) else {
            throw ValidationError("Give either --store DIR or --store-root DIR.")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0…65535 (got \(port)).") }
        guard MempServer.Configuration.isLoopback(host) || tokenFile != nil || mcpStdio else {
            throw ValidationError("Listening on \(host), beyond this machine, needs --token-file FILE.")
        }
        guard maxBodyBytes >= 1024 else {
            throw ValidationError("--max-body-bytes must be at least 1024 (got \(maxBodyBytes)).")
        }
        guard maxMCPSessions >= 1 else {
            throw ValidationError("--max-mcp-sessions must be at least 1 (got \(maxMCPSessions)).")
        }
        guard maxConnections >= 1 else {
            throw ValidationError("--max-connections must be at least 1 (got \(maxConnections)).")
        }
        guard maxK >= 1 else { throw ValidationError("--max-k must be at least 1 (got \(maxK)).") }
        guard maxAnswerBytes >= 1024 else {
            throw ValidationError("--max-answer-bytes must be at least 1024 (got \(maxAnswerBytes)).")
        }
        // Beyond a day (or infinite) the seconds no longer convert to a Duration, which trapped. Connections given
        // less than a millisecond (1e-10) were all closed unanswered (hostile run 20); a lookup limit that small
        // only makes every lookup a 503, which is what a client's tests of that answer want.
        guard lookupTimeout > 0, lookupTimeout <= 86_400 else {
            throw ValidationError(
                "--lookup-timeout must be more than 0 and at most 86400 seconds (got \(lookupTimeout)).")
        }
        for (flag, seconds) in [("--idle-timeout", idleTimeout), ("--request-timeout", requestTimeout)] {
            guard seconds >= 0.001, seconds <= 86_400 else {
                throw ValidationError("\(flag) must be from 0.001 to 86400 seconds (got \(seconds)).")
            }
        }
    }

    func run() async throws {
        let layout: StoreLayout = store.map { .single(StoreLocation($0)) } ?? .root(directory: storeRoot ?? "")
        let registry = StoreRegistry(layout: layout)
        let service = MemoryService(
            registry: registry,
            limits: ServiceLimits(
                maximumBodyBytes: maxBodyBytes, maximumK: maxK, maximumAnswerTextBytes: maxAnswerBytes,
                lookupTimeout: .seconds(lookupTimeout)),
            updateSettings: settingsOptions.settings,
            log: printError)
        // Open the store, or look at the root, now: errors show at start, not at the first request.
        for name in try await registry.checkServed() {
            printError(
                "Not serving the store in \(String(reflecting: name)): its name "
                    + "\(StoreRegistry.nameProblem(name) ?? "can't name a store") (rename its directory to serve it).")
        }
        if mcpStdio {
            try await MempServer.serveStdio(service)
            return
        }
        let token = try tokenFile.map { try BearerToken(contentsOf: $0) }
        let configuration = MempServer.Configuration(
            host: host, port: port, token: token, idleTimeout: .seconds(idleTimeout),
            requestTimeLimit: .seconds(requestTimeout),
            maximumMCPSessions: maxMCPSessions, maximumConnections: maxConnections)
        try await MempServer.serveHTTP(service, configuration: configuration) { host, port in
            printError("Listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
        }
    }
}
