import HybridSearch
import RetrievalCore

/// A backend that runs some retrieval policies in its own database, so that a ``MemoryStore`` on it reads only
/// the hits instead of keeping every memory in in-process indexes.
///
/// A store on such a backend defers loading its index caches until something needs them: a write (imports and
/// updates extract keywords and find near-duplicates in the indexes) or a lookup with a policy the database
/// doesn't run. Lookups with the policies in ``databasePolicies`` never load them.
package protocol DatabaseSearching: MemoryBackend {
    /// The policies ``search(_:vector:options:)`` runs; when empty, a store on the backend searches its index
    /// caches for every policy.
    var databasePolicies: Set<RetrievalPolicy> { get }

    /// Where and how a policy's lookups run, for explanations (`PostgreSQL: pgvector HNSW, ef_search 100`).
    func searchDescription(of policy: RetrievalPolicy) -> String

    /// Runs a lookup in the database.
    ///
    /// - Parameters:
    ///   - task: The task's text.
    ///   - vector: The task's embedding, for the ``RetrievalPolicy/query`` and ``RetrievalPolicy/hybrid``
    ///     policies; `nil` otherwise.
    ///   - options: The policy (one of ``databasePolicies``), `k`, the minimum similarity, fusion and filters.
    /// - Returns: At most `k` hits, best first, each a memory's number (``HybridSearch/FusedHit/id``), its score
    ///   and the scores and ranks behind it. The score is the cosine similarity (vector lookups), the database's
    ///   full-text rank (keyword lookups) or the fused score (hybrid); the dense side is the vector search, the
    ///   keyword side the full-text rank, and each side's rank counts from 1 among that side's candidates.
    /// - Throws: ``MemoryError/policyNotInDatabase(_:)`` for a policy the database doesn't run;
    ///   ``MemoryError/index(_:)`` with ``RetrievalCore/IndexError/missingQueryVector`` when a vector policy gets
    ///   no vector; ``MemoryError/invalidParameter(name:value:expected:)`` for options out of range;
    ///   ``MemoryError/database(reason:)`` when the lookup fails.
    func search(_ task: String, vector: [Float]?, options: RetrievalOptions) async throws(MemoryError)
        -> [FusedHit]
}

extension MemoryStore {
    /// Runs a lookup in the backend's database and reads the hits' memories in one batch.
    func retrieve(
        _ task: String, options: RetrievalOptions, in database: any DatabaseSearching
    ) async throws(MemoryError) -> [MemoryHit] {
        let needsVector = options.policy == .query || options.policy == .hybrid
        let vector = needsVector ? try await taskVector(task) : nil
        let location = database.searchDescription(of: options.policy)
        var ranked: [(DocumentID, Double)] = []
        var explanations: [ScoreExplanation] = []
        for (index, hit) in try await database.search(task, vector: vector, options: options).enumerated() {
            // The database reports its side scores as the in-process index reports its own; its keyword score is
            // its full-text rank, and it tells no matched terms.
            var explanation = ScoreExplanation(
                policy: options.policy, rank: index + 1,
                ranking: HitExplanation(
                    mode: Self.searchMode[options.policy] ?? .hybrid,
                    fusion: options.policy == .hybrid
                        ? (options.fusion ?? RetrievalOptions.defaultFusion).summary : nil,
                    ranking: hit, matchedTerms: []))
            explanation.database = location
            ranked.append((hit.id, hit.score))
            explanations.append(explanation)
        }
        return try await memoryHits(
            ranked, explanations, catalog: published.withLock { $0.catalog }, filter: options.filter)
    }

    /// The hits of a ranking, with their memories read from the backend in one batch (unless `prefetched` holds
    /// them); a memory deleted since the ranking was made is left out, and so is one deprecated since, unless
    /// `filter` includes deprecated memories.
    ///
    /// Feedback commits a deprecation before it publishes it to the indexes' catalog, so a ranking made in between
    /// still counts the memory as active; its row read here no longer does.
    ///
    /// Each hit's source outcome comes from `catalog`; the source trajectories of the memories missing there
    /// (indexes not loaded yet, on a ``DatabaseSearching`` backend) are read in one more batch.
    func memoryHits(
        _ ranked: [(DocumentID, Double)], _ explanations: [ScoreExplanation], catalog: Catalog,
        filter: MemoryFilter, prefetched: [DocumentID: Memory]? = nil
    ) async throws(MemoryError) -> [MemoryHit] {
        var memories = prefetched ?? [:]
        if prefetched == nil { memories = try await backend.memories(numbered: ranked.map(\.0)) }
        let uncataloged = ranked.compactMap { catalog[$0.0] == nil ? memories[$0.0] : nil }
        let outcomes = try await sourceOutcomes(of: uncataloged)
        var hits: [MemoryHit] = []
        for ((number, score), explanation) in zip(ranked, explanations) {
            guard let memory = memories[number], filter.includeDeprecated || memory.status != .deprecated else {
                continue
            }
            let outcome = catalog[number]?.sourceOutcome ?? outcomes[memory.id] ?? nil
            hits.append(MemoryHit(memory: memory, score: score, explanation: explanation, sourceOutcome: outcome))
        }
        return hits
    }

    /// How a memory's source trajectories ended, combined by ``Outcome/combining(_:)``: the one rule every front
    /// end reports (``MemoryHit/sourceOutcome`` of a lookup, a memory shown by ID).
    ///
    /// - Throws: What the backend throws reading the trajectories.
    package func sourceOutcome(of memory: Memory) async throws(MemoryError) -> Outcome? {
        try await sourceOutcomes(of: [memory])[memory.id] ?? nil
    }

    /// ``sourceOutcome(of:)`` of each memory, keyed by memory ID, from one read of their source trajectories.
    private func sourceOutcomes(of memories: [Memory]) async throws(MemoryError) -> [String: Outcome?] {
        guard !memories.isEmpty else { return [:] }
        let ids = Array(Set(memories.flatMap(\.sourceTrajectoryIDs)))
        let stored = ids.isEmpty ? [:] : try await backend.trajectoryOutcomes(among: ids)
        var outcomes: [String: Outcome?] = [:]
        for memory in memories {
            outcomes[memory.id] = Outcome.combining(memory.sourceTrajectoryIDs.compactMap { stored[$0] })
        }
        return outcomes
    }
}
