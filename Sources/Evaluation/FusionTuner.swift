import Foundation
import HybridSearch
import ProceduralMemory
import RetrievalCore

/// Picks the fusion of a store's `hybrid` lookups from judged queries, by k-fold cross-validation.
///
/// Every fusion of ``grid`` is run over the queries. The choice is the fusion with the best mean nDCG@10 over all
/// judged queries (ties: Hit@1, then the default, then grid order). Cross-validation measures whether choosing
/// this way generalizes: each fold is scored with the fusion chosen on the other folds. The choice is adopted only
/// when that held-out score beats the default fusion's on the same queries; otherwise the default stays, because a
/// gain that does not survive cross-validation is noise of these queries (docs/experiments.md, "Tuning the fusion
/// per store").
public enum FusionTuner {
    /// The fusions tuning chooses from.
    ///
    /// Reciprocal rank fusion with rank constants around the default 60, and convex fusion at three dense weights
    /// under min-max and theoretical normalization (the normalizations docs/experiments.md compares). Small on
    /// purpose: 11 candidates over a few hundred queries can't overfit much, and cross-validation reports it when
    /// they do.
    public static let grid: [FusionMethod] =
        [10.0, 30, 60, 100, 200].map { FusionMethod.reciprocalRank(rankConstant: $0) }
        + [ScoreNormalization.minMax, .theoretical].flatMap { normalization in
            [0.3, 0.5, 0.7].map { FusionMethod.convex(alpha: $0, normalization: normalization) }
        }
    /// The metric tuning maximizes.
    public static let metric = "nDCG@10"

    /// Tunes the fusion on labelled queries and, when `record` is set, records the result in the store's settings
    /// (read back by ``ProceduralMemory/MemoryStore/recordedFusion()``): the tuned fusion when cross-validation supports it, else the
    /// default.
    ///
    /// - Parameters:
    ///   - store: The store; lookups use its memories and embedder.
    ///   - queries: Judged queries: each names the trajectories whose memories are relevant.
    ///   - origin: Where the queries came from, recorded with the choice (`queries FILE (sha256 …)`).
    ///   - folds: The cross-validation folds, at least 2.
    ///   - seed: The seed that assigns queries to folds.
    ///   - record: Whether to record the choice.
    /// - Returns: What was measured and chosen.
    /// - Throws: ``EvaluationError/invalidParameter(name:value:expected:)`` for fewer than 2 folds;
    ///   ``EvaluationError/unknownTrajectories(queryID:ids:)`` when a query names trajectories the store doesn't
    ///   hold; ``EvaluationError/tooFewQueries(judged:folds:)`` when fewer queries than folds have a relevant
    ///   memory in the store; ``EvaluationError/memory(_:)`` when a lookup or the recording fails.
    public static func tune(
        store: MemoryStore, queries: [EvaluationQuery], origin: String, folds: Int = 5, seed: UInt64 = 0,
        record: Bool = true
    ) async throws(EvaluationError) -> FusionTuningReport {
        try checkFolds(folds)
        guard !queries.isEmpty else { throw .tooFewQueries(judged: 0, folds: folds) }
        try await checkTrajectoriesExist(queries, in: store)
        let report = try await tune(
            RetrievalEvaluator(store: store, queries: queries), origin: origin, folds: folds, seed: seed)
        if record {
            do throws(MemoryError) {
                try await store.recordFusion(report.adopted ? report.chosen : nil, evidence: report.evidence)
            } catch {
                throw .memory(error)
            }
        }
        return report
    }

    /// Tunes the fusion on the store's own record of use (its feedback history): each task reported
    /// with a stored trajectory becomes a query, and the memories it used when it succeeded are its relevant ones.
    ///
    /// - Throws: ``EvaluationError/notEnoughFeedback(tasks:needed:)`` when fewer such tasks than folds exist; else
    ///   as ``tune(store:queries:origin:folds:seed:record:)``.
    public static func tuneFromFeedback(
        store: MemoryStore, folds: Int = 5, seed: UInt64 = 0, record: Bool = true
    ) async throws(EvaluationError) -> FusionTuningReport {
        var queries: [EvaluationQuery] = []
        do throws(MemoryError) {
            for task in try await store.feedbackTasks() where !task.succeededWith.isEmpty {
                var relevant = Set<String>()
                for id in task.succeededWith {
                    if let memory = try await store.memory(id: id) { relevant.formUnion(memory.sourceTrajectoryIDs) }
                }
                guard !relevant.isEmpty else { continue }
                // The task's own trajectory is stored, so its own memory would top its ranking under every fusion.
                queries.append(
                    EvaluationQuery(
                        id: task.trajectoryID, text: task.task, relevant: relevant, excluded: [task.trajectoryID]))
            }
        } catch {
            throw .memory(error)
        }
        guard queries.count >= max(folds, 2) else {
            throw .notEnoughFeedback(tasks: queries.count, needed: max(folds, 2))
        }
        return try await tune(
            store: store, queries: queries, origin: "feedback (\(queries.count) successful tasks)", folds: folds,
            seed: seed, record: record)
    }

    /// Checks a number of cross-validation folds: at least 2.
    ///
    /// - Throws: ``EvaluationError/invalidParameter(name:value:expected:)`` naming `folds`.
    private static func checkFolds(_ folds: Int) throws(EvaluationError) {
        guard folds >= 2 else {
            throw .invalidParameter(name: "folds", value: Double(folds), expected: "at least 2")
        }
    }

    /// Runs every fusion of the grid over the evaluator's judged queries and cross-validates the choice; records
    /// nothing.
    ///
    /// - Throws: ``EvaluationError/invalidParameter(name:value:expected:)`` for fewer than 2 folds,
    ///   ``EvaluationError/tooFewQueries(judged:folds:)``, ``EvaluationError/memory(_:)``.
    static func tune(_ evaluator: RetrievalEvaluator, origin: String, folds: Int, seed: UInt64)
        async throws(EvaluationError) -> FusionTuningReport
    {
        // Every way in checks, an evaluation plan's public `tuningFolds` included (-1 trapped, hostile run 15).
        try checkFolds(folds)
        let judged = evaluator.relevantCounts.indices.filter { evaluator.relevantCounts[$0] > 0 }
        guard judged.count >= folds else { throw .tooFewQueries(judged: judged.count, folds: folds) }
        let candidates = grid.contains(RetrievalOptions.defaultFusion) ? grid : [RetrievalOptions.defaultFusion] + grid
        var metrics: [[QueryMetrics]] = []
        for fusion in candidates {
            let perQuery = try await evaluator.queryMetrics(RetrievalSetting(policy: .hybrid, k: 10, fusion: fusion))
            metrics.append(judged.map { perQuery[$0] ?? QueryMetrics.zero })
        }
        return crossValidate(
            candidates: candidates, metrics: metrics, queryIDs: judged.map { evaluator.queries[$0].id },
            folds: folds, seed: seed, origin: origin)
    }

    /// Throws when a query names a trajectory the store doesn't hold: a misspelt ID would silently make the query
    /// unjudged, and tuning would rest on fewer queries than the file suggests.
    private static func checkTrajectoriesExist(_ queries: [EvaluationQuery], in store: MemoryStore)
        async throws(EvaluationError)
    {
        let named = Array(Set(queries.flatMap(\.relevant)))
        let stored: Set<String>
        do throws(MemoryError) {
            stored = try await store.backend.existingTrajectoryIDs(among: named)
        } catch {
            throw .memory(error)
        }
        for query in queries {
            let missing = query.relevant.filter { !stored.contains($0) }.sorted()
            if !missing.isEmpty { throw .unknownTrajectories(queryID: query.id, ids: Array(missing.prefix(5))) }
        }
    }

    /// Chooses on all queries and cross-validates the choosing, from each candidate's per-query metrics.
    static func crossValidate(
        candidates: [FusionMethod], metrics: [[QueryMetrics]], queryIDs: [String], folds: Int, seed: UInt64,
        origin: String
    ) -> FusionTuningReport {
        let all = Array(queryIDs.indices)
        let defaultIndex = candidates.firstIndex(of: RetrievalOptions.defaultFusion) ?? 0
        func mean(_ candidate: Int, _ queries: [Int], _ value: (QueryMetrics) -> Double) -> Double {
            queries.isEmpty ? 0 : queries.reduce(0) { $0 + value(metrics[candidate][$1]) } / Double(queries.count)
        }
        func choose(_ queries: [Int]) -> Int {
            var best = defaultIndex
            for candidate in candidates.indices where candidate != best {
                let (score, bestScore) = (mean(candidate, queries, \.ndcgAt10), mean(best, queries, \.ndcgAt10))
                if score > bestScore
                    || (score == bestScore && mean(candidate, queries, \.hitAt1) > mean(best, queries, \.hitAt1))
                {
                    best = candidate
                }
            }
            return best
        }
        // Queries are dealt to folds in a seeded random order, so folds don't follow the file's order.
        var generator = SplitMix64(seed: seed)
        let shuffled = all.shuffled(using: &generator)
        var heldOut = [QueryMetrics](repeating: .zero, count: all.count)
        var foldChoices: [FusionMethod] = []
        for fold in 0..<folds {
            let test = shuffled.indices.filter { $0 % folds == fold }.map { shuffled[$0] }
            let testSet = Set(test)
            let choice = choose(all.filter { !testSet.contains($0) })
            foldChoices.append(candidates[choice])
            for query in test { heldOut[query] = metrics[choice][query] }
        }
        let chosen = choose(all)
        let crossValidated = heldOut.reduce(0) { $0 + $1.ndcgAt10 } / Double(all.count)
        let defaultScore = mean(defaultIndex, all, \.ndcgAt10)
        return FusionTuningReport(
            candidates: candidates.indices.map {
                FusionCandidate(
                    fusion: candidates[$0], ndcgAt10: mean($0, all, \.ndcgAt10), hitAt1: mean($0, all, \.hitAt1))
            },
            chosen: candidates[chosen], adopted: chosen != defaultIndex && crossValidated > defaultScore,
            foldChoices: foldChoices, queryIDs: queryIDs, defaultMetrics: metrics[defaultIndex],
            heldOutMetrics: heldOut,
            evidence: FusionTuningEvidence(
                origin: origin, queries: all.count, folds: folds, metric: metric,
                chosenScore: mean(chosen, all, \.ndcgAt10), defaultScore: defaultScore,
                crossValidatedScore: crossValidated))
    }
}

/// One fusion's mean metrics over the judged queries.
public struct FusionCandidate: Sendable, Equatable, Codable {
    /// The fusion.
    public var fusion: FusionMethod
    /// Its mean nDCG@10.
    public var ndcgAt10: Double
    /// Its mean Hit@1.
    public var hitAt1: Double
}

/// What ``FusionTuner`` measured and chose.
public struct FusionTuningReport: Sendable, Equatable, Codable {
    /// Every fusion tried, with its means over all judged queries.
    public var candidates: [FusionCandidate]
    /// The fusion with the best mean over all judged queries.
    public var chosen: FusionMethod
    /// Whether the choice replaces the default: it differs from it and its cross-validated score beats the
    /// default's.
    public var adopted: Bool
    /// The fusion chosen on the other folds, per fold.
    public var foldChoices: [FusionMethod]
    /// The judged queries, in the order of the metrics below.
    public var queryIDs: [String]
    /// Per judged query, the default fusion's metrics.
    public var defaultMetrics: [QueryMetrics]
    /// Per judged query, the metrics of the fusion chosen on the folds that didn't hold it: what tuning gives on
    /// queries it did not see.
    public var heldOutMetrics: [QueryMetrics]
    /// What is recorded with the choice.
    package var evidence: FusionTuningEvidence

    /// The fusion recorded: ``chosen`` when ``adopted``, else `nil` (the default).
    public var recordedFusion: FusionMethod? { adopted ? chosen : nil }
}
