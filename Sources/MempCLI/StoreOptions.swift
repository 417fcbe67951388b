import ArgumentParser
import Foundation
import HybridSearch
import MemoryLocation
import ProceduralMemory

/// The `--store` option shared by the memory commands.
struct StoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The memory store: a directory, or a postgres:// URL (password in MEMP_PG_PASSWORD).",
            valueName: "dir|url"), transform: nonEmptyPath)
    var store: String

    /// Opens the store on the backend it lives on (the library decides which); a PostgreSQL store's `query`,
    /// `bm25` and `hybrid` lookups run where `pgSearch` says. `loading` says what to load up front.
    func open(
        pgSearch: PostgresSearchChoice = .hnsw, efSearch: Int = 100, loading: StoreLoading = .everything
    ) async throws -> MemoryStore {
        try await MemoryStore.open(
            at: StoreLocation(store),
            options: StoreOpenOptions(databaseSearch: pgSearch.databaseSearch(efSearch), loading: loading))
    }
}

/// Where the lookups of a PostgreSQL store run (`memp query --pg-search`).
enum PostgresSearchChoice: String, CaseIterable, ExpressibleByArgument {
    /// In the database, through pgvector's HNSW index.
    case hnsw
    /// In the database, with an exact scan.
    case exact
    /// In in-process index caches rebuilt from the database, for every policy.
    case caches

    /// The library's search mode, with `efSearch` candidates for HNSW.
    func databaseSearch(_ efSearch: Int) -> DatabaseSearch {
        switch self {
        case .hnsw: .hnsw(efSearch: efSearch)
        case .exact: .exact
        case .caches: .indexCaches
        }
    }
}

/// Where a PostgreSQL password comes from: `--password-file`, else the variable `--password-variable` names.
struct PasswordOptions: ParsableArguments {
    @Option(help: "A file whose first line is the PostgreSQL password.", transform: nonEmptyPath) var passwordFile:
        String?
    // Named as --api-key-variable and --llm-key-variable are; the first name this option had still works.
    @Option(
        name: [.customLong("password-variable"), .customLong("password-env")],
        help: """
            The environment variable holding the PostgreSQL password; it must be set. Without it, \
            \(DatabaseLocation.defaultPasswordVariable) is read when set.
            """)
    var passwordVariable: String?

    /// `text` as a store location: a `postgres://` URL with this password source, else a directory.
    func location(_ text: String) -> StoreLocation {
        StoreLocation(text, passwordFile: passwordFile, passwordVariable: passwordVariable)
    }
}

/// The `--source`, `--label` and `--include-deprecated` filters of `memp query` and `memp export`.
struct MemoryFilterOptions: ParsableArguments {
    @Option(name: .customLong("source"), help: "Only memories from this source (repeatable).")
    var sources: [String] = []
    @Option(
        name: .customLong("label"),
        help: ArgumentHelp("Only memories with this label (repeatable).", valueName: "key=value"))
    var labels: [String] = []
    @Flag(help: "Include deprecated memories.") var includeDeprecated = false

    func validate() throws { _ = try labelFilter }

    /// The `--source` values as a set; nil when none was given, which means every source.
    var sourceFilter: Set<String>? { sources.isEmpty ? nil : Set(sources) }

    /// The `--label` values as a dictionary: a memory must carry every one.
    var labelFilter: [String: String] {
        get throws {
            var filter: [String: String] = [:]
            for label in labels {
                let (key, value) = try parseLabel(label)
                filter[key] = value
            }
            return filter
        }
    }
}

extension BuildPolicy: ExpressibleByArgument {}
extension RetrievalPolicy: ExpressibleByArgument {}
extension DuplicatePolicy: ExpressibleByArgument {}
extension TrajectoryFormat: ExpressibleByArgument {}

/// Parses `key=value`.
func parseLabel(_ text: String) throws -> (key: String, value: String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("A label is key=value (got \"\(text)\").")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}
