import Foundation
import TestSupport
import Testing

/// The memory-effect experiment (`scripts/memory_effect.py`) end to end: its agents' self-test, then a quick run
/// on real TextWorldExpress games that drives the built `memp` (query with contents, update, stats).
@Suite struct MemoryEffectTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let harness = repository.appendingPathComponent("scripts/memory_effect.py").path

    /// Runs `command` through `/usr/bin/env`; returns the exit status, standard output and standard error.
    static func run(_ command: [String]) throws -> ChildProcess.Outcome {
        try ChildProcess.run("/usr/bin/env", command)
    }

    /// python3 with textworld-express importable and java on PATH (scripts/setup.d/60-textworld.sh installs them).
    static let textWorldAvailable: Bool = {
        guard let python = try? run(["python3", "-c", "import textworld_express"]), python.status == 0,
            let java = try? run(["java", "-version"]), java.status == 0
        else { return false }
        return true
    }()

    static let pythonAvailable: Bool = (try? run(["python3", "-c", "pass"]))?.status == 0

    @Test(.enabled(if: pythonAvailable, "needs python3"))
    func agentSelfTestPasses() throws {
        let result = try Self.run(["python3", Self.harness, "--self-test"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "self-test: all checks passed\n")
    }

    @Test(
        .enabled(
            if: textWorldAvailable,
            "needs python3, java and textworld-express (bash scripts/setup.d/60-textworld.sh); skipped"))
    func quickRunMeasuresEveryCondition() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let memp = try ChildProcessTests.mempExecutable()
        let result = try Self.run([
            "python3", Self.harness, "--memp", memp, "--out", directory.path, "--quick",
        ])
        try #require(result.status == 0, "\(result.errors)")

        struct Results: Decodable {
            struct Sources: Decodable {
                var gold: Int
                var goldSuccessful: Int
                var seed: Int
                var explorer: Int
                var explorerSuccessful: Int
            }
            struct Condition: Decodable {
                struct Summary: Decodable {
                    var episodes: Int
                    var successRate: Double
                    var successCi: [Double]
                    var steps: Double
                    var guidedShare: Double
                    var memoryActive: Double
                }
                struct Point: Decodable {
                    var batch: Int
                    var episodes: Int
                    var memoryActive: Double?
                }
                var name: String
                var summary: Summary
                var curve: [Point]?
                var episodes: [[JSONScalar]]
            }
            var memorySources: Sources
            var conditions: [Condition]
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: directory.file("results.json")))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let results = try decoder.decode(Results.self, from: data)

        // 3 train games per type: every gold path succeeds; the seed memory is one gold trajectory per type.
        #expect(results.memorySources.gold == 24 && results.memorySources.goldSuccessful == 24)
        #expect(results.memorySources.seed == 8 && results.memorySources.explorer == 24)
        #expect(
            results.conditions.map(\.name) == [
                "none", "gold/proceduralization/hybrid", "update/adjustment", "own/proceduralization/hybrid",
            ])
        for condition in results.conditions {
            let summary = condition.summary
            #expect(summary.episodes == 16 && condition.episodes.count == 16, "\(condition.name)")
            #expect((0...1).contains(summary.successRate), "\(condition.name)")
            #expect(
                summary.successCi.count == 2 && summary.successCi[0] <= summary.successRate
                    && summary.successRate <= summary.successCi[1], "\(condition.name)")
            #expect(summary.steps >= 1 && summary.steps <= 50, "\(condition.name)")
        }
        let byName = Dictionary(uniqueKeysWithValues: results.conditions.map { ($0.name, $0) })
        let none = try #require(byName["none"])
        #expect(none.summary.guidedShare == 0 && none.summary.memoryActive == 0)
        let gold = try #require(byName["gold/proceduralization/hybrid"])
        #expect(gold.summary.memoryActive == 24 && gold.summary.guidedShare > 0)
        // peckingorder is solved by following a remembered gold path (read the book, take what it names, repeat).
        let pecking = gold.episodes.filter { $0[2] == .string("peckingorder") }
        #expect(pecking.count == 2 && pecking.allSatisfy { $0[3] == .number(1) })
        let update = try #require(byName["update/adjustment"])
        #expect(update.summary.memoryActive > 0 && update.summary.guidedShare > 0)
        #expect(update.curve?.map(\.batch) == [0, 1] && update.curve?.map(\.episodes) == [10, 6])
        #expect(update.curve?.allSatisfy { ($0.memoryActive ?? 0) > 0 } == true)
        let own = try #require(byName["own/proceduralization/hybrid"])
        #expect(own.summary.memoryActive == Double(results.memorySources.explorerSuccessful))

        let report = try String(contentsOfFile: directory.file("report.html"), encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("update/adjustment"))
        let table = try String(contentsOfFile: directory.file("table.md"), encoding: .utf8)
        #expect(table.hasPrefix("| condition | episodes | success rate [95% CI]"))
    }
}

/// A JSON string or number: the cells of the results' compact episode rows.
enum JSONScalar: Decodable, Equatable {
    case string(String)
    case number(Double)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            self = .number(try container.decode(Double.self))
        }
    }
}
