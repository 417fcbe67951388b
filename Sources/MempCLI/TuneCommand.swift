import ArgumentParser
import Evaluation
import Foundation
import HybridSearch
import ProceduralMemory
import RetrievalCore

/// `memp tune`: chooses the fusion of a store's hybrid lookups by cross-validation, records it, shows or reverts it.
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Choose the fusion of the store's hybrid lookups from judged queries or its record of use.",
        discussion: """
            Runs every fusion of a small grid (reciprocal rank fusion with rank constants 10–200, convex fusion at \
            dense weights 0.3/0.5/0.7 with min-max and theoretical normalization) over judged queries (--queries, \
            the format of `memp eval`) or, without them, over the tasks the store's feedback names with a stored \
            trajectory (the memories they used when they succeeded are the relevant ones). The fusion with the best \
            nDCG@10 is recorded in the store's settings when k-fold cross-validation says it beats the default on \
            queries it was not chosen on; otherwise the default is recorded. `memp query` and `memp serve` use the \
            recorded fusion unless told otherwise. Every choice is kept: --show lists them, --revert undoes the \
            last one.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(
        help: "The JSON Lines query file with relevance judgments (default: the store's record of use).",
        transform: nonEmptyPath)
    var queries: String?
    @Option(parsing: .unconditional, help: "The cross-validation folds.") var folds = 5
    @Option(parsing: .unconditional, help: "The seed that deals queries to folds.") var seed: UInt64 = 0
    @Flag(help: "Measure and print, record nothing.") var dryRun = false
    @Flag(help: "List the recorded fusion choices instead of tuning.") var show = false
    @Flag(help: "Undo the last fusion choice still in effect instead of tuning.") var revert = false
    @Flag(help: "Print JSON instead of tables.") var json = false

    func validate() throws {
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2 (got \(folds)).") }
        guard !(show && revert) else { throw ValidationError("Give --show or --revert, not both.") }
        if show || revert, queries != nil || dryRun {
            throw ValidationError("--show and --revert take no --queries or --dry-run.")
        }
    }

    func run() async throws {
        let store = try await storeOptions.open()
        if show || revert {
            if revert { try await store.revertFusion() }
            let tuning = try await store.fusionTuning()
            if json {
                print(try jsonLine(tuning))
            } else {
                print(Self.describe(tuning))
            }
            return
        }
        let report: FusionTuningReport
        if let queries {
            let querySet = try QuerySet(contentsOf: queries)
            if let warning = querySet.unreadFieldsWarning { printError("Warning: \(warning).") }
            report = try await FusionTuner.tune(
                store: store, queries: querySet.queries, origin: "queries \(queries) (sha256 \(querySet.sha256))",
                folds: folds, seed: seed, record: !dryRun)
        } else {
            report = try await FusionTuner.tuneFromFeedback(store: store, folds: folds, seed: seed, record: !dryRun)
        }
        print(json ? try jsonLine(report) : Self.describe(report, recorded: !dryRun))
    }

    static func describe(_ report: FusionTuningReport, recorded: Bool) -> String {
        var lines = ["fusion                     nDCG@10  Hit@1"]
        for candidate in report.candidates {
            let name = candidate.fusion.description
            lines.append(
                name.padding(toLength: 26, withPad: " ", startingAt: 0) + " "
                    + decimal(candidate.ndcgAt10, places: 4) + "   " + decimal(candidate.hitAt1, places: 4))
        }
        let evidence = report.evidence
        lines.append(
            "\(counted(evidence.queries, "judged query", plural: "judged queries")), \(evidence.folds) folds: "
                + "best \(report.chosen) (nDCG@10 \(decimal(evidence.chosenScore, places: 4))), "
                + "default \(RetrievalOptions.defaultFusion) (\(decimal(evidence.defaultScore, places: 4))), "
                + "cross-validated tuning \(decimal(evidence.crossValidatedScore, places: 4)); "
                + "fold choices " + report.foldChoices.map(\.description).joined(separator: ", ") + ".")
        let decision =
            report.adopted
            ? "\(report.chosen) beats the default on held-out folds"
            : "the default stays: tuning does not beat it on held-out folds"
        lines.append(decision + (recorded ? "; recorded in the store." : " (dry run: nothing recorded)."))
        return lines.joined(separator: "\n")
    }

    static func describe(_ tuning: FusionTuning) -> String {
        guard !tuning.entries.isEmpty else {
            return "No fusion choice recorded: hybrid lookups use the default \(RetrievalOptions.defaultFusion)."
        }
        var lines: [String] = []
        for entry in tuning.entries {
            let fusion = entry.fusion.map(\.description) ?? "default (\(RetrievalOptions.defaultFusion))"
            var line = "#\(entry.number) \(JSONDates.string(from: entry.date)) \(entry.action.rawValue) → \(fusion)"
            if let reverts = entry.reverts { line += ", undoing #\(reverts)" }
            if let evidence = entry.evidence {
                line +=
                    "; \(evidence.metric) over \(counted(evidence.queries, "query")), "
                    + "\(evidence.folds) folds: chosen "
                    + String(
                        format: "%.4f, default %.4f, cross-validated %.4f", evidence.chosenScore,
                        evidence.defaultScore, evidence.crossValidatedScore)
                    + "; " + evidence.origin
            }
            lines.append(line)
        }
        lines.append(
            "In effect: " + (tuning.fusion.map(\.description) ?? "the default \(RetrievalOptions.defaultFusion)") + ".")
        return lines.joined(separator: "\n")
    }
}
