import HybridSearch
import RetrievalCore

extension MemoryStore {
    /// The longest task a lookup takes, in UTF-8 bytes: 1 MiB.
    ///
    /// Tokenizing, stemming and embedding grow with the task, and a stored task holds at most
    /// ``TextLimits/maximumTaskBytes`` (16 KiB by default), so a far longer lookup text is a mistake (a whole
    /// transcript passed as the task) that would cost seconds per lookup; it is refused instead.
    package static let maximumLookupTaskBytes = 1 << 20

    /// The longest line read from a file of tasks to look up (a query set, a batch of queries): four times
    /// ``maximumLookupTaskBytes``, room for JSON escapes and the fields beside the task.
    ///
    /// A longer line is skipped as it is read and reported, so that a file of one huge line can't fill memory.
    package static let maximumQueryLineBytes = 4 * maximumLookupTaskBytes

    /// Finds the memories that best fit a task.
    ///
    /// Searches the in-memory indexes of the latest published snapshot, then reads the final `k` memories from
    /// the backend in one batch. On a backend that runs the policy in its database (``DatabaseSearching``), the
    /// database searches and only the hits are read.
    ///
    /// - Parameters:
    ///   - task: The new task.
    ///   - options: The policy, `k`, the minimum similarity and the filters.
    /// - Returns: At most `k` hits, best first, each with its explanation.
    /// - Throws: ``MemoryError/emptyTask`` for a blank task, empty or only spaces and invisible characters
    ///   (except for the random policy);
    ///   ``MemoryError/lookupTaskTooLarge(bytes:limit:)`` for a task over 1 MiB;
    ///   ``MemoryError/taskWithoutDirection(embedder:)`` when the query and hybrid policies get an all-zero
    ///   embedding of the task;
    ///   ``MemoryError/invalidParameter(name:value:expected:)`` and
    ///   ``MemoryError/optionNotApplicable(option:policy:)`` for options out of range or not applicable, checked
    ///   first (``RetrievalOptions/validate()``);
    ///   ``MemoryError/embedding(reason:)`` when the task can't be embedded.
    /// - Complexity: O(*n* · *d*) for *n* memories of dimension *d* for the embedding policies, plus the
    ///   postings of the task's terms for BM25.
    public func retrieve(_ task: String, options requested: RetrievalOptions = RetrievalOptions())
        async throws(MemoryError) -> [MemoryHit]
    {
        var options = requested
        try options.validate()
        // Every policy but random ranks by the task's words: a blank task (spaces and invisible characters, which
        // every tokenizer drops) has none, in any of them.
        guard options.policy == .random || !task.isBlank else { throw .emptyTask }
        let taskBytes = task.utf8.count
        guard taskBytes <= Self.maximumLookupTaskBytes else {
            throw .lookupTaskTooLarge(bytes: taskBytes, limit: Self.maximumLookupTaskBytes)
        }
        // Only hybrid fuses, so only hybrid needs the store's recorded fusion.
        var fusion = options.fusion ?? RetrievalOptions.defaultFusion
        if options.policy == .hybrid { fusion = try await effectiveFusion(options.fusion) }
        options.fusion = fusion
        // The databases index no procedure text: a lookup that weights it runs on the in-process indexes.
        let weightsProcedure = options.policy == .hybrid && options.procedureWeight > 0
        if let database = backend as? any DatabaseSearching, database.databasePolicies.contains(options.policy),
            !weightsProcedure
        {
            return try await retrieve(task, options: options, in: database)
        }
        var needed: OptionalIndexes = []
        if weightsProcedure { needed.insert(.procedure) }
        if options.policy == .keyword { needed.insert(.keywordMeans) }
        let snapshot = try await needed.isEmpty ? loadedSnapshot() : snapshot(with: needed)
        let filter = Self.filter(for: options, in: snapshot)
        var explanations: [ScoreExplanation] = []
        var ranked: [(DocumentID, Double)] = []
        // The memories the outcome prior read, reused for the hits so that a lookup reads them once.
        var prefetched: [DocumentID: Memory]?
        switch options.policy {
        case .random:
            for (index, number) in Self.randomDraw(
                from: snapshot, filter: filter, k: options.k, seed: options.seed
            ).enumerated() {
                var explanation = ScoreExplanation(policy: .random, rank: index + 1)
                explanation.seed = options.seed
                ranked.append((number, 0))
                explanations.append(explanation)
            }
        case .query, .bm25, .hybrid:
            let usesPrior = options.policy == .hybrid && options.outcomePrior > 0
            var query = HybridIndex.Query(
                text: task, mode: Self.searchMode[options.policy] ?? .hybrid,
                // The outcome prior reorders a window of fused hits before the final k are taken.
                k: usesPrior ? (options.k > Int.max / 3 ? Int.max : max(3 * options.k, 30)) : options.k,
                fusion: fusion,
                candidateDepth: options.candidateDepth ?? HybridIndex.defaultCandidateDepth(k: options.k),
                filter: filter, minimumDenseScore: options.minimumSimilarity,
                extraSide: weightsProcedure
                    ? snapshot.procedure.map { .init(index: $0, weight: options.procedureWeight) } : nil)
            if options.policy != .bm25 { query.vector = try await taskVector(task) }
            var hits: [HybridIndex.Hit]
            do throws(IndexError) { hits = try snapshot.memories.search(query) } catch { throw .index(error) }
            var priors: [DocumentID: Double] = [:]
            if usesPrior {
                let memories = try await backend.memories(numbered: hits.map(\.id))
                (hits, priors) = Self.applyingOutcomePrior(
                    hits, memories: memories, catalog: snapshot.catalog, strength: options.outcomePrior)
                prefetched = memories
            }
            for (index, hit) in hits.prefix(options.k).enumerated() {
                var explanation = ScoreExplanation(policy: options.policy, rank: index + 1, ranking: hit.explanation)
                explanation.successPrior = priors[hit.id]
                ranked.append((hit.id, hit.score))
                explanations.append(explanation)
            }
        case .keyword:
            guard let keywordMeans = snapshot.keywordMeans else {
                preconditionFailure("snapshot(with: .keywordMeans) returns a snapshot holding them")
            }
            let keywords = snapshot.keywords(of: task, limit: options.keywordLimit)
            guard !keywords.isEmpty else { return [] }
            let mean = meanVector(try await embed(keywords))
            let hits: [SearchHit]
            do throws(IndexError) {
                hits = try keywordMeans.search(
                    mean, k: options.k, minimumScore: options.minimumSimilarity, filter: filter)
            } catch {
                throw .index(error)
            }
            for (index, hit) in hits.enumerated() {
                var explanation = ScoreExplanation(policy: .keyword, rank: index + 1)
                explanation.queryKeywords = keywords
                explanation.averageKeywordSimilarity = hit.score
                ranked.append((hit.id, Double(hit.score)))
                explanations.append(explanation)
            }
        }
        return try await memoryHits(
            ranked, explanations, catalog: snapshot.catalog, filter: options.filter, prefetched: prefetched)
    }

    /// Fused hits rescored by ``OutcomePrior`` and re-sorted (ties to the lower number), with each one's smoothed
    /// success rate.
    ///
    /// The source outcome comes from the snapshot's catalog and the counters from `memories` (read with the hits
    /// in one batch, since feedback changes them without touching the indexes), so no trajectory is read.
    private static func applyingOutcomePrior(
        _ hits: [HybridIndex.Hit], memories: [DocumentID: Memory], catalog: Catalog,
        strength: Double
    ) -> ([HybridIndex.Hit], [DocumentID: Double]) {
        var hits = hits
        var rates: [DocumentID: Double] = [:]
        for index in hits.indices {
            guard let memory = memories[hits[index].id], let entry = catalog[hits[index].id] else { continue }
            let rate = OutcomePrior.successRate(
                sourceOutcome: entry.sourceOutcome, hits: memory.hitCount, successes: memory.successCount)
            rates[hits[index].id] = rate
            hits[index].score = OutcomePrior.adjust(hits[index].score, successRate: rate, strength: strength)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return (hits, rates)
    }

    /// The side of the hybrid index each index-searching policy ranks with.
    static let searchMode: [RetrievalPolicy: SearchMode] = [.query: .vector, .bm25: .bm25, .hybrid: .hybrid]

    /// The filter for the options, or `nil` when every memory passes.
    private static func filter(for options: RetrievalOptions, in snapshot: IndexSnapshot)
        -> SearchFilter?
    {
        let filter = options.filter
        let excludeDeprecated = !filter.includeDeprecated && snapshot.deprecatedCount > 0
        guard filter.sources != nil || !filter.labels.isEmpty || excludeDeprecated else { return nil }
        let catalog = snapshot.catalog
        return .matching { number in catalog[number].map(filter.allows) ?? false }
    }

    /// `k` memories drawn uniformly without replacement, in draw order; the same seed and store give the same
    /// draw.
    ///
    /// - Complexity: O(*k*) without a filter (a partial Fisher–Yates shuffle over virtual positions), O(*n*) with.
    private static func randomDraw(
        from snapshot: IndexSnapshot, filter: SearchFilter?, k: Int, seed: UInt64
    ) -> [DocumentID] {
        let candidates =
            filter.map { filter in snapshot.numbers.filter { filter.allows($0) } } ?? snapshot.numbers
        var generator = SplitMix64(seed: seed)
        var swapped: [Int: Int] = [:]
        var draw: [DocumentID] = []
        for index in 0..<min(k, candidates.count) {
            let other = Int.random(in: index..<candidates.count, using: &generator)
            let picked = swapped[other] ?? other
            swapped[other] = swapped[index] ?? index
            draw.append(candidates[picked])
        }
        return draw
    }
}
