import Foundation

/// Renders an ``EvaluationReport`` as one self-contained HTML file.
///
/// The file holds the tables, inline SVG charts (metrics per mode, the alpha curve, the latency distribution), the
/// exact configuration and the inputs' hashes. No script, font or style sheet is fetched, so it opens offline and
/// renders the same everywhere.
public enum HTMLReport {
    /// The HTML document.
    ///
    /// - Throws: ``EvaluationError/encodingFailed(what:reason:)`` if the report can't be encoded as JSON.
    public static func render(_ report: EvaluationReport) throws(EvaluationError) -> String {
        var body = ""
        body += "<h1>Memp retrieval evaluation</h1>\n"
        body += "<p class=\"meta\">\(escape(report.date)) · \(report.queries.records) queries · "
        body += "\(report.stores.count) store\(report.stores.count == 1 ? "" : "s") · k = \(report.plan.k)</p>\n"
        let findings = report.findings
        if !findings.isEmpty {
            body += "<h2>Findings</h2>\n<ul class=\"findings\">\n"
            for finding in findings { body += "<li>\(escape(finding))</li>\n" }
            body += "</ul>\n"
        }
        body += "<h2>Retrieval policies</h2>\n"
        body += metricsTable(report, report.stores.map { ($0, $0.runs) })
        for evaluation in report.stores {
            body += "<h3>\(escape(evaluation.store.label)): metrics per mode</h3>\n"
            body += metricBarChart(evaluation.runs)
        }
        if report.stores.contains(where: { !$0.alphaSweep.isEmpty }) {
            body += "<h2>Hybrid alpha sweep</h2>\n"
            body += "<p>Convex fusion of min-max normalized scores: alpha is the weight of the dense (query) scores; "
            body += "0 ranks by BM25 alone, 1 by the dense scores alone, each with the hybrid's outcome prior (which the "
            body += "bm25 and query policies don't apply). Dashed lines: the policies at k = "
            body += "\(report.plan.k).</p>\n"
            for evaluation in report.stores where !evaluation.alphaSweep.isEmpty {
                body += "<h3>\(escape(evaluation.store.label)): nDCG@10 and MRR@10 against alpha</h3>\n"
                body += alphaChart(evaluation)
            }
            body += metricsTable(report, report.stores.map { ($0, $0.alphaSweep) })
        }
        if report.stores.contains(where: { !$0.kSweep.isEmpty }) {
            body += "<h2>k sweep</h2>\n"
            body += metricsTable(report, report.stores.map { ($0, $0.kSweep) })
        }
        for evaluation in report.stores {
            guard let tuning = evaluation.tuning else { continue }
            body += "<h2>\(escape(evaluation.store.label)): tuned vs default fusion</h2>\n"
            body += tuningTable(tuning)
        }
        if report.stores.contains(where: { $0.runs.contains { $0.queries != nil } }) {
            body += "<h2>Per-label breakdown</h2>\n"
            body += "<p>Mean over the judged queries carrying each label value, with 95 % percentile bootstrap "
            body += "intervals (\(BootstrapInterval.defaultResamples) resamples, "
            body += "seed \(BootstrapInterval.defaultSeed)).</p>\n"
            for evaluation in report.stores { body += labelBreakdown(evaluation) }
            body += "<h2>Reading failures</h2>\n"
            body += "<p>Per mode, the queries whose first hit is not relevant, with the memories ranked above the "
            body += "first relevant one and why each scored as it did.</p>\n"
            for evaluation in report.stores { body += failures(evaluation) }
        }
        body += "<h2>Latency</h2>\n"
        for evaluation in report.stores {
            body += "<h3>\(escape(evaluation.store.label)): milliseconds per lookup</h3>\n"
            body += "<p>\(escape(EvaluationReport.latencyNote(evaluation)))</p>\n"
            body += latencyChart(evaluation.runs)
        }
        body += "<h2>Configuration and data</h2>\n<table>\n"
        body +=
            "<tr><th>command</th><td><code>\(escape(report.command.map(shellQuoted).joined(separator: " ")))</code></td></tr>\n"
        body += "<tr><th>queries</th><td><code>\(escape(report.queries.path))</code> · \(report.queries.records) "
        body += "records · sha256 <code>\(report.queries.sha256)</code></td></tr>\n"
        if let trajectories = report.trajectories {
            body += "<tr><th>trajectories</th><td><code>\(escape(trajectories.path))</code> · \(trajectories.records) "
            body += "records · sha256 <code>\(trajectories.sha256)</code></td></tr>\n"
        }
        for evaluation in report.stores {
            let store = evaluation.store
            body += "<tr><th>store \(escape(store.label))</th><td><code>\(escape(store.path))</code> · "
            body += "\(store.memoryCount) active memories · build policy \(escape(store.buildPolicy ?? "mixed")) · "
            body += "embedder <code>\(escape(store.embedderID))</code> · generation \(store.generation)</td></tr>\n"
        }
        body += "</table>\n"
        body += "<p>Relevance: a retrieved memory is relevant when any of its source trajectories is listed in the "
        body += "query's <code>relevant</code>. Metrics average over the queries with at least one relevant memory "
        body += "in the store (column “judged”); the others are counted in “no rel.”. Tied scores count as the "
        body += "expected value over their orders (McSherry and Najork 2008).</p>\n"
        let json = try report.json(pretty: true)
        body += "<details><summary>The report as JSON</summary><pre>\(escape(json))</pre></details>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Memp retrieval evaluation</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #1a1a1a; background: #fff; }
            h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; } h3 { font-size: 1em; }
            table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            .best { font-weight: bold; background: #e8f3e8; }
            .meta { color: #555; } .findings li { margin: 0.3em 0; }
            code, pre { font-size: 0.85em; } pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.5em; }
            svg { display: block; margin: 0.5em 0; } svg text { font-family: system-ui, sans-serif; font-size: 11px; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    // MARK: - Tables

    private static var metricColumns: [(String, KeyPath<QueryMetrics, Double>)] {
        [
            ("Hit@1", \.hitAt1), ("Hit@5", \.hitAt5), ("Hit@10", \.hitAt10), ("R@k", \.recallAtK),
            ("MRR@10", \.mrrAt10), ("nDCG@10", \.ndcgAt10),
        ]
    }

    private static func metricsTable(_ report: EvaluationReport, _ groups: [(StoreEvaluation, [RunResult])])
        -> String
    {
        let multipleStores = report.stores.count > 1
        var html = "<table>\n<tr>" + (multipleStores ? "<th>store</th>" : "") + "<th>mode</th><th>k</th>"
        for (name, _) in metricColumns { html += "<th>\(name)</th>" }
        html += "<th>p50 ms</th><th>p95 ms</th><th>judged</th><th>no rel.</th><th>empty</th></tr>\n"
        for (evaluation, runs) in groups where !runs.isEmpty {
            // The best value of each metric among a store's runs is highlighted.
            let best = metricColumns.map { _, path in runs.map { $0.metrics[keyPath: path] }.max() ?? 0 }
            for run in runs {
                html += "<tr>" + (multipleStores ? "<td>\(escape(evaluation.store.label))</td>" : "")
                html += "<td>\(escape(run.setting.name))</td><td class=\"n\">\(run.setting.k)</td>"
                for (index, (_, path)) in metricColumns.enumerated() {
                    let value = run.metrics[keyPath: path]
                    let marked = runs.count > 1 && value == best[index] ? " best" : ""
                    html += "<td class=\"n\(marked)\">\(format(value))</td>"
                }
                html += "<td class=\"n\">\(String(format: "%.3f", run.latency.p50))</td>"
                html += "<td class=\"n\">\(String(format: "%.3f", run.latency.p95))</td>"
                html += "<td class=\"n\">\(run.judgedQueries)</td><td class=\"n\">\(run.queriesWithoutRelevant)</td>"
                html += "<td class=\"n\">\(run.emptyResults)</td></tr>\n"
            }
        }
        return html + "</table>\n"
    }

    /// The tuned-vs-default comparison with its intervals.
    static func tuningTable(_ tuning: TuningComparison) -> String {
        var html = "<p>\(tuning.queries) judged queries, \(tuning.folds)-fold cross-validation; tuned = each query "
        html += "scored with the fusion chosen on the other folds. 95 % percentile bootstrap intervals, "
        html += "\(tuning.resamples) resamples, seed \(tuning.seed).</p>\n"
        html += "<table>\n<tr><th>setting</th><th>Hit@1</th><th>nDCG@10</th></tr>\n"
        var rows = [
            ("default \(tuning.defaultFusion)", tuning.defaultHitAt1, tuning.defaultNDCGAt10),
            ("tuned (held-out folds)", tuning.tunedHitAt1, tuning.tunedNDCGAt10),
            ("tuned − default (paired)", tuning.differenceHitAt1, tuning.differenceNDCGAt10),
        ]
        if let fusion = tuning.recordedFusion, let hit = tuning.recordedHitAt1, let ndcg = tuning.recordedNDCGAt10 {
            rows.append(("recorded \(fusion)", hit, ndcg))
        }
        for (name, hit, ndcg) in rows {
            html += "<tr><td>\(escape(name))</td><td class=\"n\">\(hit.formatted)</td>"
            html += "<td class=\"n\">\(ndcg.formatted)</td></tr>\n"
        }
        html += "</table>\n<p>Chosen on all queries: \(escape(tuning.chosen.description)) ("
        html += tuning.adopted ? "adopted" : "not adopted: the default stays"
        html += "); per fold: \(escape(tuning.foldChoices.map(\.description).joined(separator: ", "))).</p>\n"
        return html
    }

    /// Per label value, each policy run's mean Hit@1 and nDCG@10 over the judged queries with that value.
    static func labelBreakdown(_ evaluation: StoreEvaluation) -> String {
        let runs = evaluation.runs.filter { $0.queries != nil }
        guard let first = runs.first?.queries else { return "" }
        let values = Set(first.flatMap { $0.labels.map { "\($0.key)=\($0.value)" } }).sorted()
        guard !values.isEmpty else { return "" }
        var html = "<h3>\(escape(evaluation.store.label))</h3>\n<table>\n<tr><th>label</th><th>judged</th>"
        for run in runs { html += "<th>\(escape(run.setting.name)) Hit@1</th><th>nDCG@10</th>" }
        html += "</tr>\n"
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            func judged(_ run: RunResult) -> [QueryMetrics] {
                (run.queries ?? []).filter { $0.labels[parts[0]] == parts[1] }.compactMap(\.metrics)
            }
            let count = judged(runs[0]).count
            guard count > 0 else { continue }
            html += "<tr><td>\(escape(value))</td><td class=\"n\">\(count)</td>"
            for run in runs {
                let metrics = judged(run)
                html += "<td class=\"n\">\(BootstrapInterval(of: metrics.map(\.hitAt1)).formatted)</td>"
                html += "<td class=\"n\">\(BootstrapInterval(of: metrics.map(\.ndcgAt10)).formatted)</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table>\n"
    }

    /// Per policy run, the judged queries that miss at rank 1 with what ranked above their first relevant memory.
    static func failures(_ evaluation: StoreEvaluation) -> String {
        var html = ""
        for run in evaluation.runs {
            guard let queries = run.queries else { continue }
            let misses = queries.filter { ($0.metrics?.hitAt1 ?? 1) < 1 }
            html += "<details><summary>\(escape(evaluation.store.label)) · \(escape(run.setting.name)): "
            html += "\(misses.count) of \(run.judgedQueries) judged queries miss at rank 1</summary>\n"
            html += "<table>\n<tr><th>query</th><th>first relevant</th><th>ranked above it</th></tr>\n"
            for miss in misses {
                html += "<tr><td><code>\(escape(miss.id))</code> \(escape(miss.text))</td>"
                html += "<td class=\"n\">\(miss.firstRelevantRank.map(String.init) ?? "none retrieved")</td><td><ol>"
                for hit in miss.hitsAbove {
                    html += "<li><code>\(escape(hit.memoryID))</code> \(String(format: "%.4f", hit.score)): "
                    html += "\(escape(hit.explanation))</li>"
                }
                html += "</ol></td></tr>\n"
            }
            html += "</table></details>\n"
        }
        return html
    }

    // MARK: - Charts

    private static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f"]

    /// Grouped bars: one group per run, one bar per metric, on a 0…1 scale.
    static func metricBarChart(_ runs: [RunResult]) -> String {
        let metrics = metricColumns.filter { ["Hit@1", "R@k", "MRR@10", "nDCG@10"].contains($0.0) }
        let plot = Plot(width: 760, height: 260, left: 40, right: 130, top: 10, bottom: 30)
        let groupWidth = plot.innerWidth / Double(max(runs.count, 1))
        let barWidth = groupWidth * 0.8 / Double(metrics.count)
        var svg = plot.open(label: "metrics per mode") + plot.yAxis(maximum: 1, ticks: 5, format: { formatNumber($0) })
        for (group, run) in runs.enumerated() {
            let groupLeft = plot.left + Double(group) * groupWidth + groupWidth * 0.1
            for (index, (name, path)) in metrics.enumerated() {
                let value = run.metrics[keyPath: path]
                let x = groupLeft + Double(index) * barWidth
                let y = plot.y(value, maximum: 1)
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth - 1))\" "
                svg += "height=\"\(f(plot.bottomY - y))\" fill=\"\(palette[index % palette.count])\">"
                svg += "<title>\(escape(run.setting.name)) \(name) \(format(value))</title></rect>\n"
            }
            svg += plot.text(
                escape(run.setting.name), x: groupLeft + groupWidth * 0.4, y: plot.bottomY + 15, anchor: "middle")
        }
        svg += plot.legend(metrics.enumerated().map { ($1.0, palette[$0 % palette.count], false) })
        return svg + "</svg>\n"
    }

    /// nDCG@10 and MRR@10 against alpha, with the plain policies as dashed reference lines.
    static func alphaChart(_ evaluation: StoreEvaluation) -> String {
        let sweep = evaluation.alphaSweep.compactMap { run in run.setting.alpha.map { ($0, run.metrics) } }
        let references = evaluation.runs.filter { [.query, .bm25, .hybrid].contains($0.setting.policy) }
        let values =
            sweep.flatMap { [$0.1.ndcgAt10, $0.1.mrrAt10] } + references.map(\.metrics.ndcgAt10)
        let maximum = min(1, max(0.1, ((values.max() ?? 1) * 1.1 * 10).rounded(.up) / 10))
        let plot = Plot(width: 760, height: 280, left: 40, right: 170, top: 10, bottom: 34)
        var svg =
            plot.open(label: "alpha sweep")
            + plot.yAxis(maximum: maximum, ticks: Int((maximum * 10).rounded()), format: { formatNumber($0) })
        for tick in stride(from: 0.0, through: 1.0, by: 0.1) {
            let x = plot.left + tick * plot.innerWidth
            svg += plot.text(formatNumber(tick), x: x, y: plot.bottomY + 14, anchor: "middle")
        }
        svg += plot.text(
            "alpha (dense weight)", x: plot.left + plot.innerWidth / 2, y: plot.bottomY + 28, anchor: "middle")
        var legend: [(String, String, Bool)] = []
        for (index, (name, path)) in [("nDCG@10", \QueryMetrics.ndcgAt10), ("MRR@10", \QueryMetrics.mrrAt10)]
            .enumerated()
        {
            let color = palette[index]
            let points = sweep.map { alpha, metrics in
                "\(f(plot.left + alpha * plot.innerWidth)),\(f(plot.y(metrics[keyPath: path], maximum: maximum)))"
            }
            svg +=
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            for (alpha, metrics) in sweep {
                svg += "<circle cx=\"\(f(plot.left + alpha * plot.innerWidth))\" "
                svg += "cy=\"\(f(plot.y(metrics[keyPath: path], maximum: maximum)))\" r=\"3\" fill=\"\(color)\">"
                svg +=
                    "<title>alpha \(formatNumber(alpha)) \(name) \(format(metrics[keyPath: path]))</title></circle>\n"
            }
            legend.append((name, color, false))
        }
        for (index, run) in references.enumerated() {
            let color = palette[(index + 2) % palette.count]
            let y = plot.y(run.metrics.ndcgAt10, maximum: maximum)
            svg +=
                "<line x1=\"\(f(plot.left))\" x2=\"\(f(plot.left + plot.innerWidth))\" y1=\"\(f(y))\" y2=\"\(f(y))\" "
            svg += "stroke=\"\(color)\" stroke-dasharray=\"6 4\"><title>\(escape(run.setting.name)) nDCG@10 "
            svg += "\(format(run.metrics.ndcgAt10))</title></line>\n"
            legend.append(("\(run.setting.name) nDCG@10", color, true))
        }
        svg += plot.legend(legend)
        return svg + "</svg>\n"
    }

    /// One row per run: every lookup as a dot, with the p50 and p95 marked.
    static func latencyChart(_ runs: [RunResult]) -> String {
        let rowHeight = 34.0
        let plot = Plot(
            width: 760, height: 40 + rowHeight * Double(max(runs.count, 1)), left: 110, right: 40, top: 10,
            bottom: 30)
        let maximum = niceCeiling(runs.flatMap(\.latenciesMilliseconds).max() ?? 1)
        var svg = plot.open(label: "latency distribution")
        for tick in 0...5 {
            let value = maximum * Double(tick) / 5
            let x = plot.left + plot.innerWidth * Double(tick) / 5
            svg +=
                "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(plot.top))\" y2=\"\(f(plot.bottomY))\" stroke=\"#e4e4e4\"/>\n"
            svg += plot.text(formatNumber(value) + " ms", x: x, y: plot.bottomY + 15, anchor: "middle")
        }
        for (row, run) in runs.enumerated() {
            let center = plot.top + rowHeight * (Double(row) + 0.5)
            let color = palette[row % palette.count]
            svg += plot.text(escape(run.setting.name), x: plot.left - 8, y: center + 4, anchor: "end")
            for (index, sample) in run.latenciesMilliseconds.enumerated() {
                // A fixed jitter pattern spreads the dots vertically, the same on every render.
                let jitter = Double((index * 7919) % 17) - 8
                svg += "<circle cx=\"\(f(plot.left + sample / maximum * plot.innerWidth))\" "
                svg += "cy=\"\(f(center + jitter))\" r=\"2\" fill=\"\(color)\" fill-opacity=\"0.45\"/>\n"
            }
            for (label, value) in [("p50", run.latency.p50), ("p95", run.latency.p95)] {
                let x = plot.left + value / maximum * plot.innerWidth
                svg += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(center - 13))\" y2=\"\(f(center + 13))\" "
                svg +=
                    "stroke=\"#222\" stroke-width=\"\(label == "p50" ? 2.5 : 1.5)\"><title>\(escape(run.setting.name)) "
                svg += "\(label) \(String(format: "%.3f", value)) ms</title></line>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// The smallest of 1, 2 or 5 × 10ⁿ at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, (log10(value)).rounded(.down))
        for step in [1.0, 2, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// An SVG canvas with margins, mapping values to coordinates.
    struct Plot {
        var width: Double
        var height: Double
        var left: Double
        var right: Double
        var top: Double
        var bottom: Double

        var innerWidth: Double { width - left - right }
        var bottomY: Double { height - bottom }

        func y(_ value: Double, maximum: Double) -> Double {
            bottomY - min(max(value / maximum, 0), 1) * (bottomY - top)
        }

        func open(label: String) -> String {
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" "
                + "viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(label)\">\n"
                + "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#fff\"/>\n"
        }

        func yAxis(maximum: Double, ticks: Int, format: (Double) -> String) -> String {
            var svg = ""
            for tick in 0...ticks {
                let value = maximum * Double(tick) / Double(ticks)
                let y = self.y(value, maximum: maximum)
                svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + innerWidth))\" y1=\"\(f(y))\" y2=\"\(f(y))\" "
                svg += "stroke=\"\(tick == 0 ? "#888" : "#e4e4e4")\"/>\n"
                svg += text(format(value), x: left - 6, y: y + 4, anchor: "end")
            }
            return svg
        }

        func text(_ content: String, x: Double, y: Double, anchor: String) -> String {
            "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" fill=\"#333\">\(content)</text>\n"
        }

        /// Swatches down the right margin; dashed entries are reference lines.
        func legend(_ entries: [(name: String, color: String, dashed: Bool)]) -> String {
            var svg = ""
            for (index, entry) in entries.enumerated() {
                let x = left + innerWidth + 12
                let y = top + 8 + Double(index) * 18
                svg +=
                    "<line x1=\"\(f(x))\" x2=\"\(f(x + 18))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(entry.color)\" "
                svg += "stroke-width=\"\(entry.dashed ? 2 : 6)\"\(entry.dashed ? " stroke-dasharray=\"4 3\"" : "")/>\n"
                svg += text(escape(entry.name), x: x + 24, y: y + 4, anchor: "start")
            }
            return svg
        }
    }

    /// A coordinate with one decimal.
    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Escapes text for HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// An argument quoted for a POSIX shell when it needs it.
    static func shellQuoted(_ argument: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+")
        guard argument.isEmpty || !argument.allSatisfy(safe.contains) else { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
