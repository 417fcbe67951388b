import Embeddings
import Foundation
import HybridSearch
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

@testable import Evaluation

@Suite struct FusionTunerTests {
    static func metrics(_ ndcg: Double, hit: Double = 0) -> QueryMetrics {
        QueryMetrics(hitAt1: hit, hitAt5: hit, hitAt10: hit, recallAtK: ndcg, mrrAt10: ndcg, ndcgAt10: ndcg)
    }

    @Test func adoptsAFusionThatWinsOnHeldOutFolds() {
        let candidates: [FusionMethod] = [.reciprocalRank(rankConstant: 60), .reciprocalRank(rankConstant: 10)]
        let report = FusionTuner.crossValidate(
            candidates: candidates,
            metrics: [(0..<6).map { _ in Self.metrics(0.5) }, (0..<6).map { _ in Self.metrics(0.75) }],
            queryIDs: (0..<6).map { "q\($0)" }, folds: 3, seed: 1, origin: "test")
        #expect(report.chosen == .reciprocalRank(rankConstant: 10) && report.adopted)
        #expect(report.recordedFusion == .reciprocalRank(rankConstant: 10))
        #expect(report.evidence.crossValidatedScore == 0.75 && report.evidence.defaultScore == 0.5)
        #expect(report.foldChoices == Array(repeating: .reciprocalRank(rankConstant: 10), count: 3))
        #expect(report.candidates.map(\.ndcgAt10) == [0.5, 0.75])
    }

    /// One query carries the whole gain: chosen on all queries, it loses on every fold that holds that query out.
    @Test func keepsTheDefaultWhenTheGainDoesNotSurviveCrossValidation() {
        let candidates: [FusionMethod] = [
            .reciprocalRank(rankConstant: 60), .convex(alpha: 0.5, normalization: .minMax),
        ]
        let lucky = [Self.metrics(1)] + (0..<5).map { _ in Self.metrics(0.45) }
        let report = FusionTuner.crossValidate(
            candidates: candidates, metrics: [(0..<6).map { _ in Self.metrics(0.5) }, lucky],
            queryIDs: (0..<6).map { "q\($0)" }, folds: 6, seed: 7, origin: "test")
        // Leave-one-out: the fold of q0 keeps the default (0.5), the other five choose the convex fusion (0.45).
        #expect(report.chosen == .convex(alpha: 0.5, normalization: .minMax) && !report.adopted)
        #expect(report.recordedFusion == nil)
        #expect(abs(report.evidence.crossValidatedScore - (0.5 + 5 * 0.45) / 6) < 1e-12)
        #expect(report.heldOutMetrics.map(\.ndcgAt10) == [0.5, 0.45, 0.45, 0.45, 0.45, 0.45])
    }

    @Test func tiesGoToHitAt1ThenToTheDefault() {
        let candidates: [FusionMethod] = [
            .reciprocalRank(rankConstant: 10), .reciprocalRank(rankConstant: 60), .reciprocalRank(rankConstant: 30),
        ]
        let same = (0..<4).map { _ in Self.metrics(0.5, hit: 0.5) }
        let tied = FusionTuner.crossValidate(
            candidates: candidates, metrics: [same, same, same], queryIDs: ["a", "b", "c", "d"], folds: 2, seed: 0,
            origin: "test")
        #expect(tied.chosen == RetrievalOptions.defaultFusion && !tied.adopted)
        let betterHit = (0..<4).map { _ in Self.metrics(0.5, hit: 1) }
        let report = FusionTuner.crossValidate(
            candidates: candidates, metrics: [same, same, betterHit], queryIDs: ["a", "b", "c", "d"], folds: 2,
            seed: 0, origin: "test")
        // Equal nDCG@10 and so equal held-out scores: chosen for Hit@1, but not adopted.
        #expect(report.chosen == .reciprocalRank(rankConstant: 30) && !report.adopted)
    }

    @Test func tunesARealStoreAndRecordsTheChoice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Fixture.store(in: directory)
        let judged = Array(Fixture.queries.prefix(3))
        let report = try await FusionTuner.tune(store: store, queries: judged, origin: "fixture", folds: 3)
        #expect(report.queryIDs == ["q-heat", "q-cool", "q-slice"])
        #expect(report.candidates.map(\.fusion) == FusionTuner.grid)
        #expect(report.evidence.queries == 3 && report.evidence.folds == 3 && report.foldChoices.count == 3)
        let tuning = try await store.fusionTuning()
        #expect(tuning.entries.map(\.action) == [.tune] && tuning.fusion == report.recordedFusion)
        #expect(tuning.entries.first?.evidence == report.evidence)
        // The default's per-query metrics are what a plain evaluation of the default measures.
        let evaluator = try await RetrievalEvaluator(store: store, queries: judged)
        let plain = try await evaluator.run(
            RetrievalSetting(policy: .hybrid, k: 10, fusion: .reciprocalRank(rankConstant: 60)))
        #expect(abs(QueryMetrics.mean(report.defaultMetrics).ndcgAt10 - plain.metrics.ndcgAt10) < 1e-12)

        let dry = try await FusionTuner.tune(store: store, queries: judged, origin: "fixture", folds: 3, record: false)
        #expect(dry.evidence == report.evidence)
        #expect(try await store.fusionTuning().entries.count == 1)
    }

    @Test func refusesQueriesItCannotTuneOn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Fixture.store(in: directory)
        await #expect(throws: EvaluationError.unknownTrajectories(queryID: "q-missing", ids: ["water-plants"])) {
            try await FusionTuner.tune(store: store, queries: Fixture.queries, origin: "fixture")
        }
        await #expect(throws: EvaluationError.tooFewQueries(judged: 3, folds: 5)) {
            try await FusionTuner.tune(store: store, queries: Array(Fixture.queries.prefix(3)), origin: "fixture")
        }
        await #expect(throws: EvaluationError.tooFewQueries(judged: 0, folds: 5)) {
            try await FusionTuner.tune(store: store, queries: [], origin: "fixture")
        }
        await #expect(throws: EvaluationError.invalidParameter(name: "folds", value: 1, expected: "at least 2")) {
            try await FusionTuner.tune(store: store, queries: Fixture.queries, origin: "fixture", folds: 1)
        }
        await #expect(throws: EvaluationError.notEnoughFeedback(tasks: 0, needed: 5)) {
            try await FusionTuner.tuneFromFeedback(store: store)
        }
        // Hostile run 8: after the used memories were deleted it said "with a stored trajectory", which they had.
        #expect(
            EvaluationError.notEnoughFeedback(tasks: 1, needed: 5).description
                == "The store's record of use has 1 successful task whose trajectory and used memories are still "
                + "stored; tuning needs at least 5. Record outcomes with their trajectories (and import those), or "
                + "tune on judged queries.")
        #expect(try await store.fusionTuning().entries.isEmpty)
    }

    @Test func tunesOnTheStoresRecordOfUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Fixture.store(in: directory)
        let byID = Dictionary(uniqueKeysWithValues: Fixture.trajectories.map { ($0.id, $0) })
        for (task, used, success) in [
            ("heat-egg", "heat-mug", true), ("cool-wine", "cool-apple", true), ("slice-bread", "clean-pan", false),
        ] {
            let trajectory = try #require(byID[task])
            try await store.recordOutcome(
                task: trajectory.task, usedMemories: [used], trajectory: trajectory, outcome: Outcome(success: success))
        }
        let report = try await FusionTuner.tuneFromFeedback(store: store, folds: 2)
        #expect(report.queryIDs == ["heat-egg", "cool-wine"])
        #expect(report.evidence.origin == "feedback (2 successful tasks)")
        // Each task's own memory is stored; ranked, it would be first for its task under every fusion (Hit@1 0).
        // Left out, the memory each task used comes first (RRF ties it with another for one task: 0.75, tie-aware).
        #expect(report.candidates.map(\.hitAt1) == Array(repeating: 0.75, count: 5) + Array(repeating: 1, count: 6))
        #expect(try await store.fusionTuning().entries.count == 1)
    }

    @Test func bootstrapIntervalIsSeededAndBracketsTheMean() {
        let constant = BootstrapInterval(of: [0.25, 0.25, 0.25], resamples: 50)
        #expect(constant == BootstrapInterval(of: [0.25, 0.25, 0.25], resamples: 50))
        #expect(constant.mean == 0.25 && constant.lower == 0.25 && constant.upper == 0.25)
        let values = (0..<100).map { Double($0 % 2) }
        let interval = BootstrapInterval(of: values, seed: 3)
        #expect(interval == BootstrapInterval(of: values, seed: 3))
        #expect(interval.mean == 0.5 && interval.lower < 0.5 && interval.upper > 0.5)
        // The standard error of a mean of 100 fair coin flips is 0.05: a 95 % interval spans about ±0.1.
        #expect(interval.lower > 0.35 && interval.upper < 0.65)
        #expect(interval.formatted == String(format: "0.5000 [%.4f, %.4f]", interval.lower, interval.upper))
    }

    @Test func evaluationKeepsQueryOutcomesAndComparesTuningWithIntervals() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let evaluator = try await Fixture.evaluator(in: directory)
        let evaluation = try await evaluator.run(
            try EvaluationPlan(modes: [.bm25, .hybrid], alphas: [0.5], tuningFolds: 3), label: "fixture", path: "x")
        let bm25 = try #require(evaluation.runs.first?.queries)
        #expect(bm25.map(\.id) == Fixture.queries.map(\.id))
        // bm25 ranks a relevant memory first for every judged query, so nothing ranks above it.
        #expect(bm25.prefix(3).allSatisfy { $0.firstRelevantRank == 1 && $0.hitsAbove.isEmpty })
        // Without a relevant memory, the top hits are kept: hybrid's dense side ranks all six memories.
        let missing = try #require(evaluation.runs.last?.queries?.last)
        #expect(missing.id == "q-missing" && missing.metrics == nil && missing.firstRelevantRank == nil)
        #expect(missing.hitsAbove.count == QueryOutcome.maximumHitsAbove)
        #expect(evaluation.alphaSweep.allSatisfy { $0.queries == nil })

        let tuning = try #require(evaluation.tuning)
        #expect(tuning.queries == 3 && tuning.folds == 3 && tuning.recordedFusion == nil)
        let hybrid = try #require(evaluation.runs.last)
        // The default row is the plain hybrid run's mean.
        #expect(abs(tuning.defaultNDCGAt10.mean - hybrid.metrics.ndcgAt10) < 1e-12)
        #expect(abs(tuning.differenceNDCGAt10.mean - (tuning.tunedNDCGAt10.mean - tuning.defaultNDCGAt10.mean)) < 1e-12)
        #expect(tuning.defaultNDCGAt10.lower <= tuning.defaultNDCGAt10.mean)
        #expect(tuning.defaultNDCGAt10.mean <= tuning.defaultNDCGAt10.upper)

        let report = EvaluationReport(
            command: ["memp", "eval"], date: Date(timeIntervalSince1970: 0),
            queries: DataSetFile(path: "q.jsonl", sha256: "00", records: 4), trajectories: nil,
            plan: try EvaluationPlan(modes: [.bm25, .hybrid], tuningFolds: 3), stores: [evaluation])
        let html = try HTMLReport.render(report)
        #expect(html.contains("fixture: tuned vs default fusion"))
        #expect(html.contains("Reading failures"))
        #expect(report.textTable.contains("tuned − default (paired)"))
    }
}
