import Foundation
import ProceduralMemory
import RetrievalCore

/// A file an evaluation read, with its SHA-256, so that a result can be traced to its exact inputs.
public struct DataSetFile: Sendable, Codable, Equatable {
    /// The path as given.
    public var path: String
    /// The SHA-256 of its bytes, hex.
    public var sha256: String
    /// Its records (non-blank lines).
    public var records: Int
}

/// Everything an evaluation did and found: its configuration, its inputs and their hashes, and every run.
public struct EvaluationReport: Sendable, Codable, Equatable {
    /// The command line that produced the report.
    public var command: [String]
    /// When the evaluation ran (ISO 8601, UTC).
    public var date: String
    /// The query file.
    public var queries: DataSetFile
    /// The trajectory file the stores were built from, when the evaluation built them.
    public var trajectories: DataSetFile?
    /// What ran on each store.
    public var plan: EvaluationPlan
    /// One evaluation per store.
    public var stores: [StoreEvaluation]

    /// Creates a report.
    public init(
        command: [String], date: Date, queries: DataSetFile, trajectories: DataSetFile?, plan: EvaluationPlan,
        stores: [StoreEvaluation]
    ) {
        self.command = command
        self.date = ISO8601DateFormatter().string(from: date)
        self.queries = queries
        self.trajectories = trajectories
        self.plan = plan
        self.stores = stores
    }

    /// Statements computed from the runs: per store, how `hybrid` compares on nDCG@10 with the better of
    /// `query` and `bm25`, and the best alpha of the sweep.
    public var findings: [String] {
        stores.flatMap { evaluation -> [String] in
            var lines: [String] = []
            let prefix = stores.count > 1 ? "\(evaluation.store.label): " : ""
            func ndcg(_ policy: RetrievalPolicy) -> Double? {
                evaluation.runs.first { $0.setting.policy == policy }?.metrics.ndcgAt10
            }
            if let hybrid = ndcg(.hybrid), let dense = ndcg(.query), let keyword = ndcg(.bm25) {
                let (bestName, best) = dense >= keyword ? ("query", dense) : ("bm25", keyword)
                let verdict = hybrid >= best ? "is at least as good as" : "is worse than"
                let sign = hybrid >= best ? "+" : ""
                lines.append(
                    prefix
                        + "hybrid (\(plan.hybridFusion)) nDCG@10 \(format(hybrid)) \(verdict) the better of query "
                        + "(\(format(dense))) "
                        + "and bm25 (\(format(keyword))): \(bestName), by \(sign)\(format(hybrid - best)).")
            }
            if let best = evaluation.alphaSweep.max(by: { $0.metrics.ndcgAt10 < $1.metrics.ndcgAt10 }),
                let alpha = best.setting.alpha
            {
                lines.append(
                    prefix
                        + "Alpha sweep: the best dense weight is \(formatNumber(alpha)) with nDCG@10 "
                        + "\(format(best.metrics.ndcgAt10)) (alpha 0 ranks by BM25 alone, 1 by the dense scores alone, "
                        + "each with the hybrid's outcome prior, which the bm25 and query rows don't apply).")
            }
            if let run = evaluation.runs.first, run.queriesWithoutRelevant > 0 {
                lines.append(
                    prefix + "\(run.queriesWithoutRelevant) of \(run.judgedQueries + run.queriesWithoutRelevant) "
                        + "queries have no relevant memory in the store and are left out of the metrics.")
            }
            return lines
        }
    }

    /// The report as plain-text tables: one row per store and run.
    public var textTable: String {
        var sections: [String] = []
        let multipleStores = stores.count > 1
        func table(_ title: String, _ rows: [(StoreEvaluation, RunResult)]) -> String {
            guard !rows.isEmpty else { return "" }
            var header = [
                "mode", "Hit@1", "Hit@5", "Hit@10", "R@k", "MRR@10", "nDCG@10", "p50 ms", "p95 ms", "judged",
                "no-rel",
            ]
            if multipleStores { header.insert("store", at: 0) }
            var body: [[String]] = []
            for (evaluation, run) in rows {
                var row = [
                    run.setting.name + (run.setting.k == plan.k ? "" : " k=\(run.setting.k)"),
                    format(run.metrics.hitAt1), format(run.metrics.hitAt5), format(run.metrics.hitAt10),
                    format(run.metrics.recallAtK), format(run.metrics.mrrAt10), format(run.metrics.ndcgAt10),
                    String(format: "%.2f", run.latency.p50), String(format: "%.2f", run.latency.p95),
                    String(run.judgedQueries), String(run.queriesWithoutRelevant),
                ]
                if multipleStores { row.insert(evaluation.store.label, at: 0) }
                body.append(row)
            }
            return title + "\n" + alignedColumns([header] + body)
        }
        sections.append(
            table(
                "Retrieval policies (k = \(plan.k), \(queries.records) queries)",
                stores.flatMap { evaluation in evaluation.runs.map { (evaluation, $0) } }))
        sections.append(
            table("Hybrid alpha sweep (convex, min-max)", stores.flatMap { e in e.alphaSweep.map { (e, $0) } }))
        sections.append(table("k sweep", stores.flatMap { e in e.kSweep.map { (e, $0) } }))
        sections.append(table("Hybrid fusions", stores.flatMap { e in e.fusionRuns.map { (e, $0) } }))
        for evaluation in stores {
            guard let tuning = evaluation.tuning else { continue }
            sections.append((multipleStores ? "\(evaluation.store.label): " : "") + tuning.textTable)
        }
        sections.append(
            stores.map { evaluation in
                (multipleStores ? "\(evaluation.store.label): " : "") + Self.latencyNote(evaluation)
            }.joined(separator: "\n"))
        let findings = self.findings
        if !findings.isEmpty { sections.append(findings.joined(separator: "\n")) }
        return sections.filter { !$0.isEmpty }.joined(separator: "\n\n")
    }

    /// What the latencies of a store's runs include, and the cost of embedding a query.
    static func latencyNote(_ evaluation: StoreEvaluation) -> String {
        let embedding =
            "embedding one query takes p50 \(String(format: "%.2f", evaluation.queryEmbedding.p50)) ms, "
            + "p95 \(String(format: "%.2f", evaluation.queryEmbedding.p95)) ms"
        return evaluation.cachedQueryEmbeddings
            ? "Latencies are lookups with the query embedding cached (index search and reading the memories); "
                + embedding + " on top (\(evaluation.store.embedderID))."
            : "Latencies include embedding the query; " + embedding + " of that (\(evaluation.store.embedderID))."
    }

    /// The report as one JSON object.
    ///
    /// - Throws: ``EvaluationError/encodingFailed(what:reason:)`` if a value can't be encoded (a non-finite number).
    public func json(pretty: Bool = false) throws(EvaluationError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do {
            let output = JSONObjectWith(base: self, fields: ["findings": findings])
            return String(decoding: try encoder.encode(output), as: UTF8.self)
        } catch {
            throw .encodingFailed(what: "The evaluation report", reason: "\(error)")
        }
    }
}

/// A metric with four decimals.
func format(_ value: Double) -> String { String(format: "%.4f", value) }

/// Rows padded into left-aligned columns separated by two spaces.
func alignedColumns(_ rows: [[String]]) -> String {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (index, cell) in row.enumerated() {
            if index < widths.count {
                widths[index] = max(widths[index], cell.count)
            } else {
                widths.append(cell.count)
            }
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
