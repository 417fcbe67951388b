import Foundation
import HybridSearch
import PostgresNIO
import ProceduralMemory
import RetrievalCore

/// How the database finds the nearest task vectors.
public enum PostgresVectorSearch: Sendable, Equatable {
    /// A sequential scan with exact cosine distances (index scans off): the same top-k as the local engine.
    case exact
    /// pgvector's HNSW index with `hnsw.ef_search` candidates (at least k; pgvector's default is 40). Filtered
    /// lookups scan iteratively (`hnsw.iterative_scan = strict_order`) so that they still return k hits; pgvector
    /// before 0.8 has no iterative scan and would filter the candidates after the scan, so there they scan exactly.
    case hnsw(efSearch: Int)

    /// HNSW with `ef_search` 100: recall@10 of at least 0.95 against exact search in the 100k benchmark
    /// (docs/benchmarks.md); what `memp` uses unless told otherwise.
    public static let standard = PostgresVectorSearch.hnsw(efSearch: 100)

    /// Checks the mode's parameters.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/invalidParameter(name:value:expected:)`` for an `efSearch` outside
    ///   1…1000 (pgvector's range).
    public func validate() throws(MemoryError) {
        if case .hnsw(let efSearch) = self, !(1...1000).contains(efSearch) {
            throw .invalidParameter(name: "efSearch", value: Double(efSearch), expected: "within 1...1000")
        }
    }
}

/// What a lookup in the database considers.
package struct PostgresSearchFilter: Sendable, Equatable {
    /// Whether deprecated memories can be returned.
    package var includeDeprecated: Bool
    /// Only memories from one of these sources, when given.
    package var sources: Set<String>?
    /// Only memories carrying every one of these labels.
    package var labels: [String: String]

    /// Creates a filter; the default passes every active memory.
    package init(includeDeprecated: Bool = false, sources: Set<String>? = nil, labels: [String: String] = [:]) {
        self.includeDeprecated = includeDeprecated
        self.sources = sources
        self.labels = labels
    }

    /// The SQL condition over `memory m`, binding its values after those already in `bindings`, with sources and
    /// labels compared as `selection` compares them.
    ///
    /// A source or label holding a NUL matches nothing, as on SQLite: no store keeps one (PostgreSQL's text and
    /// `jsonb` can't hold it, and sending one fails the whole query).
    func condition(
        _ bindings: inout PostgresBindings, selection: CanonicalSelection
    ) -> (sql: String, filtered: Bool) {
        var parts: [String] = []
        if !includeDeprecated { parts.append("m.status = 'active'") }
        if let sources {
            parts.append(selection.source(of: "m", in: sources.filter { !$0.utf8.contains(0) }, &bindings))
        }
        if labels.contains(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) }) {
            parts.append("false")
        } else {
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                parts.append(selection.label(of: "m", key: key, value: value, &bindings))
            }
        }
        return (parts.isEmpty ? "true" : parts.joined(separator: " AND "), !parts.isEmpty)
    }
}

extension PostgresBackend {
    /// The `k` memories whose task vectors are nearest `vector` by cosine similarity, best first (ties by number).
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/invalidParameter(name:value:expected:)`` for a non-positive k or an
    ///   `efSearch` outside 1…1000; ``ProceduralMemory/MemoryError/nonFiniteVector(memoryID:field:position:)`` for
    ///   a vector with a non-finite component.
    package func searchVectors(
        _ vector: [Float], k: Int, mode: PostgresVectorSearch = .hnsw(efSearch: 100),
        filter: PostgresSearchFilter = .init()
    ) async throws(MemoryError) -> [FusedHit] {
        guard k > 0 else { throw .invalidParameter(name: "k", value: Double(k), expected: "at least 1") }
        if let position = vector.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteVector(memoryID: nil, field: "query", position: position)
        }
        try mode.validate()
        var bindings = PostgresBindings()
        bindings.append(vector)
        let (condition, filtered) = filter.condition(&bindings, selection: canonicalSelection)
        bindings.append(k)
        let sql = """
            SELECT m.number, (1 - (m.task_vector <=> $1::real[]::vector))::real AS cosine
            FROM memory m WHERE \(condition)
            ORDER BY m.task_vector <=> $1::real[]::vector, m.number LIMIT $\(bindings.count)
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        let logger = logger
        return try await inTransaction(writes: false) { connection in
            // A filtered HNSW scan returns k hits only when it is iterative (pgvector 0.8 and later).
            let indexed = if case .hnsw = mode, filtered { try await self.scansIteratively(connection) } else { true }
            switch mode {
            case .hnsw(let efSearch) where indexed:
                try await connection.query(
                    "SELECT set_config('hnsw.ef_search', \(String(max(efSearch, k))), true)", logger: logger)
                if filtered {
                    try await connection.query(
                        "SELECT set_config('hnsw.iterative_scan', 'strict_order', true)", logger: logger)
                }
            case .exact, .hnsw:
                try await connection.query("SET LOCAL enable_indexscan = off", logger: logger)
                try await connection.query("SET LOCAL enable_bitmapscan = off", logger: logger)
            }
            return try await connection.rankedHits(query, logger: logger) { number, cosine, rank in
                FusedHit(id: number, score: Double(cosine), denseScore: cosine, denseRank: rank)
            }
        }
    }

    /// Whether the database's pgvector scans HNSW iteratively (`hnsw.iterative_scan`, 0.8 and later), read once
    /// from its extension version on `connection`.
    private func scansIteratively(_ connection: WatchedConnection) async throws -> Bool {
        if let known = iterativeScan.withLock({ $0 }) { return known }
        var version = ""
        for try await (text) in try await connection.query(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'", logger: logger
        ).decode(String.self) {
            version = text
        }
        let parts = version.split(separator: ".").map { Int($0) ?? 0 }
        let iterative = (parts.first ?? 0, parts.dropFirst().first ?? 0) >= (0, 8)
        iterativeScan.withLock { $0 = iterative }
        return iterative
    }

    /// The `k` memories whose task and keywords best match `text`, ranked by PostgreSQL's `ts_rank_cd` (cover
    /// density, normalized by 1 + log of the document length), any of the query's terms matching (the query's
    /// lexemes are OR-ed, as BM25 does), best first (ties by number).
    ///
    /// The query and the stored memories are the local keyword index's terms (``PostgresSchema/searchTerms(of:)``),
    /// so a memory matches here exactly when it matches a local store's BM25 lookup; only the ranking differs. A text
    /// of tens of thousands of words, past the depth PostgreSQL parses such an OR to, is
    /// ``ProceduralMemory/MemoryError/lookupTaskTooLargeForDatabase(reason:)``.
    package func searchKeywords(
        _ text: String, k: Int, filter: PostgresSearchFilter = .init()
    ) async throws(MemoryError) -> [FusedHit] {
        guard k > 0 else { throw .invalidParameter(name: "k", value: Double(k), expected: "at least 1") }
        var bindings = PostgresBindings()
        // Terms hold no NUL, which PostgreSQL's text can't: the tokenizer splits words at it, as at a space.
        bindings.append(PostgresSchema.searchTerms(of: text))
        let (condition, _) = filter.condition(&bindings, selection: canonicalSelection)
        bindings.append(k)
        let sql = """
            WITH q AS (SELECT nullif(replace(plainto_tsquery('simple', $1)::text, ' & ', ' | '), '')::tsquery AS query)
            SELECT m.number, ts_rank_cd(m.search, q.query, 1) AS rank
            FROM memory m, q WHERE m.search @@ q.query AND \(condition)
            ORDER BY rank DESC, m.number LIMIT $\(bindings.count)
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        do {
            return try await withConnection { connection in
                try await connection.rankedHits(query, logger: logger) { number, score, rank in
                    FusedHit(id: number, score: Double(score), keywordScore: score, keywordRank: rank)
                }
            }
        } catch .recordTooLarge(let reason) {
            // Class 54 here is the query's own size (the OR of its terms parsed past the stack depth), not a
            // record's: a lookup writes nothing.
            throw .lookupTaskTooLargeForDatabase(reason: reason)
        }
    }

    /// The vector and keyword candidates (`depth` each, searched at once) fused in Swift with
    /// ``HybridSearch/fuse(dense:keyword:method:)``, the fusion the local engine uses, so hybrid results of both
    /// engines are comparable.
    ///
    /// - Parameters:
    ///   - depth: Candidates from each side; `nil` means `max(50, 4 * k)`, as in the local engine.
    ///   - minimumCosine: Drops candidates whose task cosine is below it, as the local engine's minimum
    ///     similarity does: vector candidates before the fusion, and keyword-only ones, scored exactly, after.
    package func searchHybrid(
        text: String, vector: [Float], k: Int, depth: Int? = nil,
        fusion: FusionMethod = .reciprocalRank(rankConstant: 60), mode: PostgresVectorSearch = .hnsw(efSearch: 100),
        filter: PostgresSearchFilter = .init(), minimumCosine: Float? = nil
    ) async throws(MemoryError) -> [FusedHit] {
        let depth = depth ?? max(50, 4 * k)
        guard depth >= k else {
            throw .invalidParameter(name: "candidateDepth", value: Double(depth), expected: "at least k (\(k))")
        }
        // The two lists come from two pooled connections at once, so a lookup takes the slower one's time.
        async let vectorHits = searchVectors(vector, k: depth, mode: mode, filter: filter)
        async let keywordHits = searchKeywords(text, k: depth, filter: filter)
        let dense: [FusedHit]
        let keyword: [FusedHit]
        do {
            dense = try await vectorHits.withCosine(atLeast: minimumCosine)
            keyword = try await keywordHits
        } catch {
            throw mapped(error)
        }
        var fused = fuse(
            dense: dense.map { SearchHit(id: $0.id, score: $0.denseScore ?? 0) },
            keyword: keyword.map { SearchHit(id: $0.id, score: $0.keywordScore ?? 0) },
            method: fusion)
        if let minimumCosine {
            let unscored = fused.filter { $0.denseRank == nil }.map { Int64($0.id.rawValue) }
            if !unscored.isEmpty {
                let passing = try await numbers(among: unscored, withCosineAtLeast: minimumCosine, to: vector)
                fused.removeAll { $0.denseRank == nil && !passing.contains($0.id) }
            }
        }
        return Array(fused.prefix(k))
    }

    /// The memories among `numbers` whose task cosine with `vector` is at least `minimum`, computed exactly.
    func numbers(among numbers: [Int64], withCosineAtLeast minimum: Float, to vector: [Float])
        async throws(MemoryError) -> Set<DocumentID>
    {
        var bindings = PostgresBindings()
        bindings.append(vector)
        bindings.append(numbers)
        bindings.append(minimum)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT number FROM memory
                WHERE number = ANY($2) AND (1 - (task_vector <=> $1::real[]::vector))::real >= $3
                """, binds: bindings)
        let logger = logger
        return try await inTransaction(writes: false) { connection in
            var passing = Set<DocumentID>()
            for try await number in try await connection.query(query, logger: logger).decode(Int64.self) {
                passing.insert(DocumentID(UInt64(number)))
            }
            return passing
        }
    }
}

extension WatchedConnection {
    /// Runs `query`, whose rows are (number, score) best first, and ranks each row with `ranking`, which gets the
    /// row's number, score and rank (1 for the first).
    fileprivate func rankedHits(
        _ query: PostgresQuery, logger: Logger, _ ranking: (DocumentID, Float, Int) -> FusedHit
    ) async throws -> [FusedHit] {
        var hits: [FusedHit] = []
        for try await (number, score) in try await self.query(query, logger: logger).decode((Int64, Float).self) {
            hits.append(ranking(DocumentID(UInt64(number)), score, hits.count + 1))
        }
        return hits
    }
}

extension [FusedHit] {
    /// The hits whose cosine similarity is at least `minimum` (all of them when it is `nil`); a hit without one
    /// (a keyword hit) is dropped.
    func withCosine(atLeast minimum: Float?) -> [FusedHit] {
        guard let minimum else { return self }
        return filter { ($0.denseScore ?? -.infinity) >= minimum }
    }
}
