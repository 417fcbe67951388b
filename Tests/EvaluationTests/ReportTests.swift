import Foundation
import ProceduralMemory
import TestSupport
import Testing

@testable import Evaluation

@Suite struct ReportTests {
    static func run(
        _ policy: RetrievalPolicy, ndcg: Double, alpha: Double? = nil, latencies: [Double] = [0.5, 1, 2]
    ) -> RunResult {
        RunResult(
            setting: RetrievalSetting(policy: policy, k: 10, alpha: alpha),
            metrics: QueryMetrics(hitAt1: ndcg, hitAt5: 1, hitAt10: 1, recallAtK: 0.5, mrrAt10: ndcg, ndcgAt10: ndcg),
            judgedQueries: 9, queriesWithoutRelevant: 1, emptyResults: 0,
            latency: LatencySummary(milliseconds: latencies), latenciesMilliseconds: latencies)
    }

    static func report(hybrid: Double) throws -> EvaluationReport {
        let evaluation = StoreEvaluation(
            store: StoreDescription(
                label: "proceduralization", path: "/tmp/<store>", buildPolicy: "proceduralization",
                embedderID: "hashing:v1:384", memoryCount: 640, generation: 3),
            queryEmbedding: LatencySummary(milliseconds: [0.25, 0.5]), cachedQueryEmbeddings: true,
            runs: [
                run(.random, ndcg: 0.1, latencies: [0.01, 0.02]), run(.query, ndcg: 0.6), run(.keyword, ndcg: 0.4),
                run(.bm25, ndcg: 0.7), run(.hybrid, ndcg: hybrid, latencies: (1...40).map { Double($0) / 10 }),
            ],
            alphaSweep: [0, 0.25, 0.5, 0.75, 1].map { run(.hybrid, ndcg: 0.7 - 0.1 * $0 * $0, alpha: $0) },
            kSweep: [run(.bm25, ndcg: 0.7)], fusionRuns: [])
        return EvaluationReport(
            command: ["memp", "eval", "--queries", "q s.jsonl"], date: Date(timeIntervalSince1970: 0),
            queries: DataSetFile(path: "q s.jsonl", sha256: String(repeating: "a", count: 64), records: 10),
            trajectories: nil,
            plan: try EvaluationPlan(k: 10, alphas: [0, 0.25, 0.5, 0.75, 1], kSweep: [10]), stores: [evaluation])
    }

    @Test func findingsCompareHybridWithTheBetterSide() throws {
        let better = try Self.report(hybrid: 0.75).findings
        #expect(
            better[0]
                == "hybrid (rrf:60) nDCG@10 0.7500 is at least as good as the better of query (0.6000) and bm25 (0.7000): "
                + "bm25, by +0.0500.")
        #expect(
            better[1]
                == "Alpha sweep: the best dense weight is 0 with nDCG@10 0.7000 (alpha 0 ranks by BM25 alone, 1 by the "
                + "dense scores alone, each with the hybrid's outcome prior, which the bm25 and query rows don't apply)."
        )
        #expect(better[2] == "1 of 10 queries have no relevant memory in the store and are left out of the metrics.")
        let worse = try Self.report(hybrid: 0.65).findings
        #expect(
            worse[0]
                == "hybrid (rrf:60) nDCG@10 0.6500 is worse than the better of query (0.6000) and bm25 (0.7000): "
                + "bm25, by -0.0500.")
    }

    @Test func textTableHasOneRowPerRun() throws {
        let table = try Self.report(hybrid: 0.75).textTable
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "Retrieval policies (k = 10, 10 queries)")
        #expect(lines[1].hasPrefix("mode     Hit@1   Hit@5   Hit@10"))
        #expect(
            lines[2].hasPrefix("random   0.1000  1.0000  1.0000  0.5000  0.1000  0.1000   0.01    0.02    9       1")
        )
        #expect(table.contains("hybrid a=0.25"))
        #expect(table.contains("k sweep"))
    }

    @Test func jsonRoundTripsAndCarriesFindings() throws {
        let report = try Self.report(hybrid: 0.75)
        let text = try report.json()
        #expect(!text.contains("\n"))
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(text.utf8))
        #expect(decoded == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((object["findings"] as? [String])?.count == 3)
        #expect(object["date"] as? String == "1970-01-01T00:00:00Z")
    }

    @Test func htmlIsSelfContainedAndEscaped() throws {
        let html = try HTMLReport.render(Self.report(hybrid: 0.75))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)  // metrics, alpha curve, latency
        #expect(html.contains("/tmp/&lt;store&gt;"))
        #expect(!html.contains("/tmp/<store>"))
        #expect(html.contains("<code>memp eval --queries &#39;q s.jsonl&#39;</code>"))
        #expect(html.contains(String(repeating: "a", count: 64)))
        #expect(!html.contains("http://") || !html.contains("src=\"http"))
        #expect(!html.contains("<script src"))
    }

    @Test func niceCeilingRoundsUpToOneTwoOrFive() {
        #expect(HTMLReport.niceCeiling(0.37) == 0.5)
        #expect(HTMLReport.niceCeiling(1.2) == 2)
        #expect(HTMLReport.niceCeiling(5) == 5)
        #expect(HTMLReport.niceCeiling(7.5) == 10)
        #expect(HTMLReport.niceCeiling(0) == 1)
    }

    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// Renders the report in headless Chromium (installed by scripts/setup.d/40-chromium.sh), screenshots it and
    /// checks with scripts/check_screenshot.py that the page is not blank.
    @Test(.enabled(if: chromium != nil, "chromium is not installed; run scripts/setup.d/40-chromium.sh"))
    func rendersInHeadlessChromium() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let page = directory.file("report.html")
        try HTMLReport.render(Self.report(hybrid: 0.75)).write(toFile: page, atomically: true, encoding: .utf8)
        let screenshot = directory.file("report.png")
        let browser = try await ChildProcess.run(
            try #require(Self.chromium),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + directory.file("profile"), "--screenshot=" + screenshot,
                "--window-size=1100,1400", "file://" + page,
            ])
        #expect(browser.status == 0, "chromium: \(browser.errors)")
        #expect(FileManager.default.fileExists(atPath: screenshot))
        let check = try await ChildProcess.run(
            "/usr/bin/env", ["python3", Self.repositoryRoot + "/scripts/check_screenshot.py", screenshot])
        #expect(check.status == 0, "check_screenshot: \(check.output) \(check.errors)")
        let summary = try JSONSerialization.jsonObject(with: Data(check.output.utf8)) as? [String: Any]
        #expect(summary?["width"] as? Int == 1100)
        #expect((summary?["fraction"] as? Double ?? 0) > 0.02)
    }
}
