import Foundation
import RetrievalCore
import SQLiteMemory

#if PostgreSQL
    import PostgresMemory
#endif

/// Where a memory store lives, as a user names it: a store directory, or a PostgreSQL database by URL.
///
/// A directory holds either a SQLite store (`memp.sqlite`) or the descriptor of a PostgreSQL store
/// (`postgres.json`, written by ``ProceduralMemory/MemoryStore/create(at:database:embedder:configuration:)``), and
/// both keep their index caches in `index/`; which one it is, is decided here and nowhere else.
///
///     let store = try await MemoryStore.open(at: StoreLocation("memory"))
///     let shared = try await MemoryStore.open(at: StoreLocation("postgres://memp@db:5432/agents"))
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// A store directory.
    case directory(String)
    /// A PostgreSQL database; the store keeps no cache files (its index caches live in memory only).
    case database(DatabaseLocation)

    /// Reads a location: a `postgres://` or `postgresql://` URL names a database, anything else a directory.
    ///
    /// - Parameters:
    ///   - text: The directory or URL.
    ///   - passwordFile: For a URL, a file whose first line is the password.
    ///   - passwordVariable: For a URL without `passwordFile`, the environment variable holding the password
    ///     (see ``DatabaseLocation/passwordVariable``).
    public init(_ text: String, passwordFile: String? = nil, passwordVariable: String? = nil) {
        self =
            DatabaseLocation.isURL(text)
            ? .database(DatabaseLocation(url: text, passwordFile: passwordFile, passwordVariable: passwordVariable))
            : .directory(text)
    }

    /// The directory or the URL (never a password).
    public var description: String {
        switch self {
        case .directory(let path): path
        case .database(let database): database.url
        }
    }

    /// What a store directory holds, decided from its files alone.
    enum DirectoryKind {
        case sqlite, postgres, none
    }

    /// Which store `directory` holds.
    static func kind(of directory: String) -> DirectoryKind {
        // The system would cut such a path at its NUL and look at another directory.
        guard pathProblem(directory) == nil else { return .none }
        if SQLiteStore.isSQLiteStore(at: directory) { return .sqlite }
        #if PostgreSQL
            if PostgresStore.isPostgresStore(at: directory) { return .postgres }
        #else
            // The descriptor's name (PostgresStore.descriptorFileName), to say that such a store needs PostgreSQL.
            if FileManager.default.fileExists(atPath: directory + "/postgres.json") { return .postgres }
        #endif
        return .none
    }

    /// Whether `directory` holds a memory store (SQLite, or a PostgreSQL store's descriptor).
    public static func isStore(_ directory: String) -> Bool { kind(of: directory) != .none }
}

/// A PostgreSQL database holding a memory store: its URL (never with a password) and where the password comes from.
public struct DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// `postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=disable|require]`.
    public var url: String
    /// A file whose first line is the password, read first when given.
    public var passwordFile: String?
    /// The environment variable holding the password, read when there is no `passwordFile`.
    ///
    /// A variable named here must be set. `nil` reads ``defaultPasswordVariable`` when it is set, and gives no
    /// password when it is not (trust or peer authentication).
    public var passwordVariable: String?

    /// The environment variable read when none is named.
    public static let defaultPasswordVariable = "MEMP_PG_PASSWORD"

    /// Creates a location; the URL is checked when the database is first reached.
    public init(url: String, passwordFile: String? = nil, passwordVariable: String? = nil) {
        self.url = url
        self.passwordFile = passwordFile
        self.passwordVariable = passwordVariable
    }

    /// Whether `text` is a PostgreSQL URL rather than a directory.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The URL.
    public var description: String { url }
}

/// How a store on PostgreSQL runs its `query`, `bm25` and `hybrid` lookups; other stores ignore it.
public enum DatabaseSearch: Sendable, Equatable {
    /// In the database, through pgvector's HNSW index with `efSearch` candidates (1…1000).
    case hnsw(efSearch: Int)
    /// In the database, with an exact scan: the same top-k as the in-process engine.
    case exact
    /// In in-process index caches rebuilt from the database, for every policy.
    case indexCaches

    /// HNSW with `ef_search` 100 (recall@10 of at least 0.95 against exact search in the 100k benchmark).
    public static let standard = DatabaseSearch.hnsw(efSearch: 100)
}
