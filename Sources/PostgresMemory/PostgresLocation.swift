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
    /// - Throws: ``ProceduralMemory/MemoryError/invalidDatabaseURL(_:)`` naming the part that is wrong, including a
    ///   password in the URL (give it through the environment or a file instead).
    public init(url: String, password: PasswordSource) throws(MemoryError) {
        guard let components = URLComponents(string: url) else { throw .invalidDatabaseURL(.notPostgres(scheme: nil)) }
        guard components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw .invalidDatabaseURL(.notPostgres(scheme: components.scheme))
        }
        guard components.password == nil else { throw .invalidDatabaseURL(.containsPassword) }
        guard let host = components.host, !host.isEmpty else { throw .invalidDatabaseURL(.missingHost) }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw .invalidDatabaseURL(.invalidPort(port)) }
        guard let user = components.user, !user.isEmpty else { throw .invalidDatabaseURL(.missingUser) }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw .invalidDatabaseURL(.missingDatabase) }
        var schema = "memp"
        var requireTLS = true
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("schema", let value?): schema = value
            case ("sslmode", "disable"?): requireTLS = false
            case ("sslmode", "require"?): requireTLS = true
            default:
                throw .invalidDatabaseURL(.unsupportedParameter(name: item.name))
            }
        }
        try Self.validate(schema: schema)
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.schema = schema
        self.password = password
        self.requireTLS = requireTLS
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

    /// The URL, without password.
    public var url: String {
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
