import Foundation
import ProceduralMemory
import RetrievalCore

/// Where a PostgreSQL memory store lives: server, database, schema and how to get the password.
///
/// The URL never carries the password: it comes from an environment variable or a file, so that the location can
/// be written to a store descriptor, printed and logged without leaking it.
///
///     let location = try PostgresLocation(url: "postgres://memp@db.internal:5432/agents?schema=team_a",
///                                         password: .environment("MEMP_PG_PASSWORD"))
public struct PostgresLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Where the password comes from.
    public enum PasswordSource: Sendable, Equatable, Codable {
        /// No password (trust or peer authentication).
        case none
        /// The value of this environment variable.
        case environment(String)
        /// The first line of this file.
        case file(String)
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The user to connect as.
    public var user: String
    /// The database.
    public var database: String
    /// The schema holding the store's tables; several stores can share one database in different schemas.
    public var schema: String
    /// Where the password comes from.
    public var password: PasswordSource
    /// Whether to require TLS.
    ///
    /// Off only for servers that have none (a loopback test server).
    public var requireTLS: Bool

    /// The environment variable read when no password source is given.
    public static let defaultPasswordVariable = "MEMP_PG_PASSWORD"

    /// Parses `postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=disable|require]`.
    ///
    /// User and database may be percent-escaped (`a%40b` is the user `a@b`); ``url`` escapes them again, so a
    /// location written to a descriptor reads back the same. Nothing is silently changed or dropped: a port that is
    /// empty or no number, a host that is no host name or address, a name PostgreSQL would cut at 63 bytes, a
    /// repeated or empty parameter and a fragment are refused.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/invalidDatabaseURL(_:)`` naming the part that is wrong, including a
    ///   password in the URL (give it through the environment or a file instead).
    public init(url: String, password: PasswordSource) throws(MemoryError) {
        let scheme = url.prefix { $0 != ":" }
        guard scheme == "postgres" || scheme == "postgresql", url.dropFirst(scheme.count).hasPrefix("://") else {
            throw .invalidDatabaseURL(.notPostgres(scheme: url.contains("://") ? String(scheme) : nil))
        }
        let port = try Self.port(in: url)
        guard let components = URLComponents(string: url) else {
            throw .invalidDatabaseURL(
                .invalidPart(
                    part: "text", reason: "is no well-formed URL (an unclosed [ of an IPv6 address, a stray % or space)"
                ))
        }
        guard components.password == nil else { throw .invalidDatabaseURL(.containsPassword) }
        guard components.fragment == nil else {
            throw .invalidDatabaseURL(
                .invalidPart(part: "fragment", reason: "(#…) is no part of a PostgreSQL location"))
        }
        guard var host = components.host else { throw .invalidDatabaseURL(.missingHost) }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard components.path.hasPrefix("/"), !components.path.dropFirst().contains("/") else {
            throw .invalidDatabaseURL(.missingDatabase)
        }
        var schema = "memp"
        var requireTLS = true
        var seen = Set<String>()
        for item in components.queryItems ?? [] {
            guard !item.name.isEmpty else {
                throw .invalidDatabaseURL(.invalidPart(part: "query", reason: "has an empty parameter (&& or ?&)"))
            }
            guard seen.insert(item.name).inserted else {
                throw .invalidDatabaseURL(
                    .invalidPart(part: "parameter \(item.name)", reason: "appears twice; keep one"))
            }
            switch (item.name, item.value) {
            case ("schema", let value?): schema = value
            case ("sslmode", "disable"?): requireTLS = false
            case ("sslmode", "require"?): requireTLS = true
            case ("schema", nil):
                throw .invalidDatabaseURL(.invalidPart(part: "parameter schema", reason: "has no value (schema=NAME)"))
            case ("sslmode", let value):
                throw .invalidDatabaseURL(
                    .invalidPart(
                        part: "parameter sslmode", reason: "must be disable or require (found \(value ?? "no value"))"))
            default:
                throw .invalidDatabaseURL(.unsupportedParameter(name: item.name))
            }
        }
        self.host = host
        self.port = port
        self.user = components.user ?? ""
        self.database = String(components.path.dropFirst())
        self.schema = schema
        self.password = password
        self.requireTLS = requireTLS
        try validate()
    }

    /// The port the URL names (5432 when it names none), read from the text itself: what follows the host's `:`
    /// must be a number within 1…65535, not empty (which URL parsers take for no port) and not too large for them.
    private static func port(in url: String) throws(MemoryError) -> Int {
        guard let start = url.range(of: "://")?.upperBound else { return 5432 }
        let authority = url[start...].prefix { !"/?#".contains($0) }
        let hostAndPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        // An IPv6 address holds colons of its own: its port follows the closing bracket.
        let afterHost = hostAndPort.hasPrefix("[") ? hostAndPort.drop { $0 != "]" }.dropFirst() : hostAndPort
        guard let colon = afterHost.firstIndex(of: ":") else { return 5432 }
        let text = afterHost[afterHost.index(after: colon)...]
        guard let port = Int(text), text.allSatisfy(\.isASCII) else {
            throw .invalidDatabaseURL(
                .invalidPart(part: "port", reason: "\(printable(String(text))) is no number within 1–65535"))
        }
        try checkPort(port)  // before URLComponents, which refuses a negative port as no URL at all
        return port
    }

    /// Checks the location as ``init(url:password:)`` checks the URL's parts: a location whose fields were set one by
    /// one skips the parser (hostile run 17: port 98517 wrapped to 32981 and connected; an empty host or a NUL in
    /// the user was reported as the database being unavailable).
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/invalidDatabaseURL(_:)`` naming the first part that is wrong.
    public func validate() throws(MemoryError) {
        try Self.checkHost(host)
        try Self.checkPort(port)
        try Self.checkName(user, part: "user", ifEmpty: .missingUser)
        try Self.checkName(database, part: "database", ifEmpty: .missingDatabase)
        try Self.validate(schema: schema)
    }

    /// Checks a host: a name or an address, of letters, digits, `.`, `-`, `_` and (IPv6) `:`.
    private static func checkHost(_ host: String) throws(MemoryError) {
        guard !host.isEmpty else { throw .invalidDatabaseURL(.missingHost) }
        let hostCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:")
        guard host.allSatisfy({ hostCharacters.contains($0) }) else {
            throw .invalidDatabaseURL(
                .invalidPart(
                    part: "host", reason: "\(printable(host)) is no host name or address (letters, digits, . - _)"))
        }
    }

    /// Checks that a port is within 1…65535.
    private static func checkPort(_ port: Int) throws(MemoryError) {
        guard (1...65_535).contains(port) else { throw .invalidDatabaseURL(.invalidPort(port)) }
    }

    /// Checks a user or database name: not empty (else `ifEmpty`), no control characters, and at most 63 bytes
    /// (PostgreSQL cuts longer names, so two long names would name one database).
    private static func checkName(
        _ name: String, part: String, ifEmpty: MemoryError.DatabaseURLProblem
    ) throws(MemoryError) {
        if name.isEmpty { throw .invalidDatabaseURL(ifEmpty) }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidDatabaseURL(
                .invalidPart(part: part, reason: "\(printable(name)) holds a control character"))
        }
        guard name.utf8.count <= 63 else {
            throw .invalidDatabaseURL(
                .invalidPart(
                    part: part, reason: "is \(name.utf8.count) bytes; PostgreSQL keeps 63 and would cut it"))
        }
    }

    /// `text` quoted, cut to 80 characters, with control characters shown (``RetrievalCore/printableText(_:)``).
    private static func printable(_ text: String) -> String {
        let cut = text.unicodeScalars.count > 80
        return "\"" + printableText(String(String.UnicodeScalarView(text.unicodeScalars.prefix(80))))
            + (cut ? "…" : "") + "\""
    }

    /// Checks that a schema name is a plain lower-case SQL identifier, so it can be used unquoted.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/invalidDatabaseURL(_:)`` with
    ///   ``ProceduralMemory/MemoryError/DatabaseURLProblem/invalidSchema(name:)``.
    static func validate(schema: String) throws(MemoryError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = schema.first, first.isLetter || first == "_", schema.count <= 63,
            schema.allSatisfy({ allowed.contains($0) })
        else {
            throw .invalidDatabaseURL(.invalidSchema(name: schema))
        }
    }

    /// The URL, without password; user and database percent-escaped where they hold characters a URL gives a
    /// meaning (`@`, `?`, `#`, `%`, …).
    public var url: String {
        let user = user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user
        let database = database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database
        let host = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(user)@\(host):\(port)/\(database)"
        var parameters: [String] = []
        if schema != "memp" { parameters.append("schema=\(schema)") }
        if !requireTLS { parameters.append("sslmode=disable") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    public var description: String { url }

    /// Reads the password from its source.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/passwordVariableUnset(name:)`` when the variable is unset,
    ///   ``ProceduralMemory/MemoryError/io(path:reason:)`` when the file can't be read (never with the value).
    func resolvePassword() throws(MemoryError) -> String? {
        switch password {
        case .none:
            return nil
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw .passwordVariableUnset(name: name)
            }
            return value
        case .file(let path):
            let data: Data
            do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
                throw .io(path: path, reason: "the PostgreSQL password file \(error)")
            }
            return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
                ?? ""
        }
    }
}
