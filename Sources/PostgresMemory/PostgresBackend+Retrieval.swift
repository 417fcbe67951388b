import HybridSearch
import ProceduralMemory

/// A ``ProceduralMemory/MemoryStore`` on a backend with a ``PostgresBackend/databaseSearch`` runs its `query`,
/// `bm25` and `hybrid` lookups here, in PostgreSQL, and reads only the hits. `random` and `keyword` (AveFact:
/// keywords extracted with the corpus's BM25 statistics, then mean keyword embeddings compared) stay on the
/// store's in-process indexes, which it loads for them.
extension PostgresBackend: DatabaseSearching {
    package var databasePolicies: Set<RetrievalPolicy> { databaseSearch == nil ? [] : [.query, .bm25, .hybrid] }

    package func searchDescription(of policy: RetrievalPolicy) -> String {
        let vector =
            switch databaseSearch {
            case .hnsw(let efSearch): "pgvector HNSW, ef_search \(efSearch)"
            case .exact, nil: "exact pgvector scan"
            }
        switch policy {
        case .query: return "PostgreSQL (\(vector))"
        case .bm25: return "PostgreSQL (ts_rank_cd)"
        case .hybrid: return "PostgreSQL (\(vector); ts_rank_cd)"
        case .random, .keyword: return "the in-process indexes"
        }
    }

    package func search(
        _ task: String, vector: [Float]?, options: RetrievalOptions
    ) async throws(MemoryError) -> [FusedHit] {
        guard let mode = databaseSearch else { throw .policyNotInDatabase(options.policy) }
        let filter = PostgresSearchFilter(
            includeDeprecated: options.filter.includeDeprecated, sources: options.filter.sources,
            labels: options.filter.labels)
        switch options.policy {
        case .query, .hybrid:
            guard let vector else { throw .index(.missingQueryVector) }
            if options.policy == .hybrid {
                return try await searchHybrid(
                    text: task, vector: vector, k: options.k, depth: options.candidateDepth,
                    fusion: options.fusion ?? RetrievalOptions.defaultFusion, mode: mode,
                    filter: filter, minimumCosine: options.minimumSimilarity)
            }
            return try await searchVectors(vector, k: options.k, mode: mode, filter: filter)
                .withCosine(atLeast: options.minimumSimilarity)
        case .bm25:
            return try await searchKeywords(task, k: options.k, filter: filter)
        case .random, .keyword:
            throw .policyNotInDatabase(options.policy)
        }
    }
}
