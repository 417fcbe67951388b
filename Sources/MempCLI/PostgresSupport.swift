import ArgumentParser
import Embeddings
import Foundation
import ProceduralMemory

#if PostgreSQL
    import PostgresMemory
#endif

/// Where the lookups of a PostgreSQL store run (`memp query --pg-search`).
enum PostgresSearchChoice: String, CaseIterable, ExpressibleByArgument {
    /// In the database, through pgvector's HNSW index.
    case hnsw
    /// In the database, with an exact scan.
    case exact
    /// In in-process index caches rebuilt from the database, for every policy.
    case caches
}

/// The CLI's PostgreSQL backend: compiled in with the package trait `PostgreSQL`
/// (`swift build -c release --product memp --traits PostgreSQL`), so that the default build does not compile
/// PostgresNIO and its dependencies. Without the trait, every PostgreSQL operation fails with a message saying how
/// to rebuild.
enum PostgresSupport {
    /// The password's default environment variable.
    static let passwordVariable = "MEMP_PG_PASSWORD"

    /// Whether `target` names a database rather than a directory.
    static func isURL(_ target: String) -> Bool {
        target.hasPrefix("postgres://") || target.hasPrefix("postgresql://")
    }

    #if PostgreSQL
        /// Whether `directory` was made by `memp init --backend postgres`.
        static func isStore(at directory: String) -> Bool { PostgresStore.isPostgresStore(at: directory) }

        /// Opens the PostgreSQL store that `directory` describes; `query`, `bm25` and `hybrid` run where `search`
        /// says.
        static func openStore(at directory: String, search: PostgresSearchChoice, efSearch: Int) async throws
            -> MemoryStore
        {
            let databaseSearch: PostgresVectorSearch? =
                switch search {
                case .hnsw: .hnsw(efSearch: efSearch)
                case .exact: .exact
                case .caches: nil
                }
            return try await PostgresStore.open(at: directory, databaseSearch: databaseSearch)
        }

        /// The store's settings and counts, read without loading its indexes.
        static func statistics(at directory: String) async throws -> (info: StoreInfo, statistics: StoreStatistics) {
            let backend = try await PostgresStore.backend(at: directory)
            defer { backend.close() }
            guard let info = try await backend.storeInfo() else {
                throw MemoryError.notAStore(path: backend.location.url)
            }
            return (info, try await backend.statistics())
        }

        /// Creates (or attaches to) a store in the database at `url` and describes it in `directory`; returns the
        /// line to print.
        static func createStore(
            at directory: String, url: String, password: Password, embedder: any Embedder,
            configuration: EmbedderConfiguration
        ) async throws -> String {
            let location = try PostgresLocation(url: url, password: password.source)
            let (store, attached) = try await PostgresStore.create(
                at: directory, location: location, embedder: embedder, configuration: configuration)
            return
                "\(attached ? "Attached" : "Created") a memory store in \(directory) on PostgreSQL at \(location) (embedder \(store.embedder.modelIdentifier), \(store.embedder.dimension) dimensions)."
        }

        /// The backend of the database at `url`.
        static func backend(url: String, password: Password) async throws -> any MemoryBackend {
            try await PostgresBackend.connect(to: try PostgresLocation(url: url, password: password.source))
        }

        /// The backend of the PostgreSQL store that `directory` describes.
        static func backend(storeAt directory: String) async throws -> any MemoryBackend {
            try await PostgresStore.backend(at: directory)
        }
    #else
        /// What every PostgreSQL operation says in a build without the trait.
        static let unavailable =
            "This memp was built without PostgreSQL support; rebuild it with "
            + "`swift build -c release --product memp --traits PostgreSQL`."

        /// Whether `directory` was made by `memp init --backend postgres` (it holds PostgresStore's descriptor).
        static func isStore(at directory: String) -> Bool {
            FileManager.default.fileExists(atPath: directory + "/postgres.json")
        }

        static func openStore(at directory: String, search: PostgresSearchChoice, efSearch: Int) async throws
            -> MemoryStore
        { throw MemoryError.invalidArgument(unavailable) }

        static func statistics(at directory: String) async throws -> (info: StoreInfo, statistics: StoreStatistics) {
            throw MemoryError.invalidArgument(unavailable)
        }

        static func createStore(
            at directory: String, url: String, password: Password, embedder: any Embedder,
            configuration: EmbedderConfiguration
        ) async throws -> String { throw MemoryError.invalidArgument(unavailable) }

        static func backend(url: String, password: Password) async throws -> any MemoryBackend {
            throw MemoryError.invalidArgument(unavailable)
        }

        static func backend(storeAt directory: String) async throws -> any MemoryBackend {
            throw MemoryError.invalidArgument(unavailable)
        }
    #endif

    /// Where the password comes from: `--password-file`, else the variable `--password-env` names when it is set.
    struct Password {
        var file: String?
        var variable: String

        #if PostgreSQL
            var source: PostgresLocation.PasswordSource {
                if let file { return .file(file) }
                return ProcessInfo.processInfo.environment[variable] != nil ? .environment(variable) : .none
            }
        #endif
    }
}
