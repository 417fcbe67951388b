import HybridSearch
import ProceduralMemory

/// Tuned against default fusion on one store, over the judged queries, with bootstrap confidence intervals.
///
/// "Tuned" is measured honestly: each query is scored with the fusion ``FusionTuner`` chose on the folds that
/// did not hold it, so the figure is what tuning gives on queries it did not see. The differences are paired per
/// query (tuned − default) and resampled as pairs.
public struct TuningComparison: Sendable, Equatable, Codable {
    /// The cross-validation folds.
    public var folds: Int
    /// The bootstrap resamples of every interval.
    public var resamples: Int
    /// The seed of the folds and of the resampling.
    public var seed: UInt64
    /// The judged queries.
    public var queries: Int
    /// The default fusion.
    public var defaultFusion: FusionMethod
    /// The fusion chosen on all judged queries, and whether cross-validation supports it over the default.
    public var chosen: FusionMethod
    /// Whether `memp tune` on these queries would record ``chosen`` (else the default).
    public var adopted: Bool
    /// The fusion chosen on the other folds, per fold.
    public var foldChoices: [FusionMethod]
    /// The default's Hit@1.
    public var defaultHitAt1: BootstrapInterval
    /// The default's nDCG@10.
    public var defaultNDCGAt10: BootstrapInterval
    /// Cross-validated tuning's Hit@1 (held-out folds).
    public var tunedHitAt1: BootstrapInterval
    /// Cross-validated tuning's nDCG@10 (held-out folds).
    public var tunedNDCGAt10: BootstrapInterval
    /// Tuned − default Hit@1, paired per query.
    public var differenceHitAt1: BootstrapInterval
    /// Tuned − default nDCG@10, paired per query.
    public var differenceNDCGAt10: BootstrapInterval
    /// The fusion recorded in the store's settings, when one is.
    public var recordedFusion: FusionMethod?
    /// The recorded fusion's Hit@1 on these queries (optimistic when it was tuned on them).
    public var recordedHitAt1: BootstrapInterval?
    /// The recorded fusion's nDCG@10 on these queries (optimistic when it was tuned on them).
    public var recordedNDCGAt10: BootstrapInterval?

    /// Measures the comparison on an evaluator's store and queries.
    ///
    /// - Throws: ``EvaluationError/tooFewQueries(judged:folds:)`` when fewer queries than folds are judged;
    ///   ``EvaluationError/memory(_:)`` when a lookup fails.
    init(
        _ evaluator: RetrievalEvaluator, folds: Int, seed: UInt64 = BootstrapInterval.defaultSeed,
        resamples: Int = BootstrapInterval.defaultResamples
    ) async throws(EvaluationError) {
        let report = try await FusionTuner.tune(evaluator, origin: "evaluation", folds: folds, seed: seed)
        func interval(_ values: [Double]) -> BootstrapInterval {
            BootstrapInterval(of: values, resamples: resamples, seed: seed)
        }
        let base = report.defaultMetrics
        let tuned = report.heldOutMetrics
        self.folds = folds
        self.resamples = resamples
        self.seed = seed
        queries = report.queryIDs.count
        defaultFusion = RetrievalOptions.defaultFusion
        chosen = report.chosen
        adopted = report.adopted
        foldChoices = report.foldChoices
        defaultHitAt1 = interval(base.map(\.hitAt1))
        defaultNDCGAt10 = interval(base.map(\.ndcgAt10))
        tunedHitAt1 = interval(tuned.map(\.hitAt1))
        tunedNDCGAt10 = interval(tuned.map(\.ndcgAt10))
        differenceHitAt1 = interval(zip(tuned, base).map { $0.hitAt1 - $1.hitAt1 })
        differenceNDCGAt10 = interval(zip(tuned, base).map { $0.ndcgAt10 - $1.ndcgAt10 })
        do throws(MemoryError) {
            recordedFusion = try await evaluator.store.recordedFusion()
        } catch {
            throw .memory(error)
        }
        if let recordedFusion {
            let perQuery = try await evaluator.queryMetrics(
                RetrievalSetting(policy: .hybrid, k: 10, fusion: recordedFusion))
            let judged = perQuery.compactMap { $0 }
            recordedHitAt1 = interval(judged.map(\.hitAt1))
            recordedNDCGAt10 = interval(judged.map(\.ndcgAt10))
        }
    }

    /// The comparison as a text table.
    public var textTable: String {
        func row(_ name: String, _ hit: BootstrapInterval, _ ndcg: BootstrapInterval) -> String {
            name.padding(toLength: 34, withPad: " ", startingAt: 0) + hit.formatted + "   " + ndcg.formatted
        }
        var lines = [
            "Tuned vs default fusion (\(queries) judged queries, \(folds)-fold cross-validation, 95 % percentile "
                + "bootstrap over queries, \(resamples) resamples, seed \(seed)):",
            "setting".padding(toLength: 34, withPad: " ", startingAt: 0) + "Hit@1                      nDCG@10",
            row("default \(defaultFusion)", defaultHitAt1, defaultNDCGAt10),
            row("tuned (held-out folds)", tunedHitAt1, tunedNDCGAt10),
            row("tuned − default (paired)", differenceHitAt1, differenceNDCGAt10),
        ]
        if let recordedFusion, let recordedHitAt1, let recordedNDCGAt10 {
            lines.append(row("recorded \(recordedFusion)", recordedHitAt1, recordedNDCGAt10))
        }
        lines.append(
            "Chosen on all queries: \(chosen) (\(adopted ? "adopted" : "not adopted: the default stays")); "
                + "per fold: " + foldChoices.map(\.description).joined(separator: ", ") + ".")
        return lines.joined(separator: "\n")
    }
}
