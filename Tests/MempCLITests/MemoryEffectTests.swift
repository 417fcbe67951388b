import Foundation
import TestSupport
import Testing

/// The memory-effect experiment (`scripts/memory_effect.py`) end to end: its agents' self-test, then a quick run
/// on real TextWorldExpress games that drives the built `memp serve` through the Python client (batch lookups,
/// imports, updates, stats), and the two transports (server, one `memp` process per call) playing the same episodes.
@Suite struct MemoryEffectTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let harness = repository.appendingPathComponent("scripts/memory_effect.py").path

    /// Runs `command` through `/usr/bin/env`; returns the exit status, standard output and standard error.
    static func run(_ command: [String]) async throws -> ChildProcess.Outcome {
        try await ChildProcess.run("/usr/bin/env", command)
    }

    /// python3 with textworld-express importable and java on PATH (scripts/setup.d/60-textworld.sh installs them).
    static let textWorldAvailable =
        ChildProcess.succeeds(["python3", "-c", "import textworld_express"])
        && ChildProcess.succeeds(["java", "-version"])

    static let pythonAvailable = ChildProcess.succeeds(["python3", "-c", "pass"])

    @Test(.enabled(if: pythonAvailable, "needs python3"))
    func agentSelfTestPasses() async throws {
        let result = try await Self.run(["python3", Self.harness, "--self-test"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "self-test: all checks passed\n")
    }

    @Test(.needsTextWorld)
    func quickRunMeasuresEveryCondition() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let results = try await Self.quickRun(into: directory.file("server"), transport: "server")
        // Every memory operation was a request but the three `memp init`s that create the stores.
        #expect(results.timing.transport == "server" && results.timing.processes == 3)
        #expect((results.timing.requests ?? 0) > 0)

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

        let report = try String(contentsOfFile: directory.file("server/report.html"), encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("update/adjustment"))
        #expect(report.contains("memory operations (one memp serve)"))
        let table = try String(contentsOfFile: directory.file("server/table.md"), encoding: .utf8)
        #expect(table.hasPrefix("| condition | episodes | success rate [95% CI]"))
    }

    /// The server and one process per call answer the same.
    ///
    /// The same memories guide the same agents to the same episodes. Without coin: TextWorldExpress draws the coin game's gold path anew in every run (another route
    /// through the same house), so memories built from it differ from run to run whatever the transport.
    @Test(.needsTextWorld)
    func bothTransportsPlayTheSameEpisodes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let games = ["--games", "twc,cookingworld,mapreader,arithmetic,sorting,simonsays,peckingorder"]
        let served = try await Self.quickRun(into: directory.file("server"), transport: "server", games)
        let spawned = try await Self.quickRun(into: directory.file("process"), transport: "process", games)
        #expect(served.timing.transport == "server" && spawned.timing.transport == "process")
        #expect(spawned.timing.requests == nil && spawned.timing.processes == nil)
        #expect(served.conditions.map(\.name) == spawned.conditions.map(\.name) && served.conditions.count == 4)
        for (server, processes) in zip(served.conditions, spawned.conditions) {
            #expect(server.episodes == processes.episodes, "\(server.name)")
            #expect(server.curve?.map(\.memoryActive) == processes.curve?.map(\.memoryActive), "\(server.name)")
        }
    }

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
        struct Timing: Decodable {
            var transport: String
            var requests: Int?
            var processes: Int?
        }
        var memorySources: Sources
        var conditions: [Condition]
        var timing: Timing
    }

    /// Runs the quick configuration with `transport` and decodes its results.
    static func quickRun(into out: String, transport: String, _ arguments: [String] = []) async throws -> Results {
        let memp = try ChildProcess.mempExecutable()
        let result = try await run(
            ["python3", harness, "--memp", memp, "--out", out, "--quick", "--transport", transport] + arguments)
        try #require(result.status == 0, "\(result.errors)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Results.self, from: data)
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

extension Trait where Self == ConditionTrait {
    /// Runs the test only where TextWorldExpress games can be played.
    static var needsTextWorld: Self {
        .enabled(
            if: MemoryEffectTests.textWorldAvailable,
            "needs python3, java and textworld-express (bash scripts/setup.d/60-textworld.sh); skipped")
    }
}
