import ArgumentParser
import Foundation
import HybridSearch
import PostgresMemory
import ProceduralMemory

/// The `--store` option shared by the memory commands.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The memory store directory.", valueName: "dir"))
    var store: String

    /// Opens the store with the embedder it records; a directory made by `memp init --backend postgres` opens its
    /// PostgreSQL store, whose `query`, `bm25` and `hybrid` lookups run in the database with `databaseSearch`
    /// (`nil`: in-process index caches).
    func open(databaseSearch: PostgresVectorSearch? = .standard) async throws -> MemoryStore {
        PostgresStore.isPostgresStore(at: store)
            ? try await PostgresStore.open(at: store, databaseSearch: databaseSearch)
            : try await MemoryStore.open(at: store)
    }

    /// The store's settings and counts, read without loading its indexes.
    func statistics() async throws -> (info: StoreInfo, statistics: StoreStatistics) {
        guard PostgresStore.isPostgresStore(at: store) else {
            return (try await MemoryStore.info(at: store), try await MemoryStore.statistics(at: store))
        }
        let backend = try await PostgresStore.backend(at: store)
        defer { backend.close() }
        guard let info = try await backend.storeInfo() else { throw MemoryError.notAStore(path: backend.location.url) }
        return (info, try await backend.statistics())
    }
}

extension PostgresLocation.PasswordSource {
    /// The password source the flags choose: the file when given, else the variable when it is set, else none.
    static func choice(file: String?, variable: String) -> Self {
        if let file { return .file(file) }
        return ProcessInfo.processInfo.environment[variable] != nil ? .environment(variable) : .none
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

    /// The backend setting of the choice.
    func databaseSearch(efSearch: Int) -> PostgresVectorSearch? {
        switch self {
        case .hnsw: .hnsw(efSearch: efSearch)
        case .exact: .exact
        case .caches: nil
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

/// Writes a diagnostic line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// One JSON object on one line.
func jsonLine(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
