import ArgumentParser
import Foundation
import HybridSearch
import ProceduralMemory

/// The `--store` option shared by the memory commands.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The memory store directory.", valueName: "dir"))
    var store: String

    /// Opens the store with the embedder it records; a directory made by `memp init --backend postgres` opens its
    /// PostgreSQL store, whose `query`, `bm25` and `hybrid` lookups run where `pgSearch` says.
    func open(pgSearch: PostgresSearchChoice = .hnsw, efSearch: Int = 100) async throws -> MemoryStore {
        PostgresSupport.isStore(at: store)
            ? try await PostgresSupport.openStore(at: store, search: pgSearch, efSearch: efSearch)
            : try await MemoryStore.open(at: store)
    }

    /// The store's settings and counts, read without loading its indexes.
    func statistics() async throws -> (info: StoreInfo, statistics: StoreStatistics) {
        guard PostgresSupport.isStore(at: store) else {
            return (try await MemoryStore.info(at: store), try await MemoryStore.statistics(at: store))
        }
        return try await PostgresSupport.statistics(at: store)
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
