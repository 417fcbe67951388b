import ArgumentParser
import Foundation
import TestSupport
import Testing

@testable import MempCLI

@Suite struct EvalCommandTests {
    static var sampleQueries: String {
        URL(fileURLWithPath: MemoryCommandTests.sampleTrajectories).deletingLastPathComponent()
            .appendingPathComponent("queries.jsonl").path
    }

    @Test func parsesSweepsAndLists() throws {
        let command = try EvalCommand.parse([
            "--store", "a", "--store", "b", "--queries", "q.jsonl", "-k", "5", "--modes", "bm25,hybrid,bm25",
            "--alpha-sweep", "0:1:0.25", "--k-sweep", "1,20",
        ])
        let plan = try command.plan
        #expect(command.stores == ["a", "b"])
        #expect(plan.modes == [.bm25, .hybrid])
        #expect(plan.alphas == [0, 0.25, 0.5, 0.75, 1])
        #expect(plan.kSweep == [1, 20])
        #expect(plan.k == 5)
        #expect(try EvalCommand.parseAlphas("0:1:0.1")[3] == 0.3)
        #expect(try EvalCommand.parseAlphas("0:1:0.1").count == 11)
        #expect(try EvalCommand.parseAlphas("0.2, 0.8") == [0.2, 0.8])
    }

    /// The least `memp eval` needs to evaluate a store: the store and the queries.
    static let onAStore = ["--store", "a", "--queries", "q.jsonl"]
    /// The least `memp eval` needs to build stores and evaluate them: the trajectories and the queries.
    static let fromTrajectories = ["--trajectories", "t.jsonl", "--queries", "q.jsonl"]

    @Test(arguments: [
        ["--queries", "q.jsonl"], ["--store", "a", "--trajectories", "t.jsonl", "--queries", "q.jsonl"],
    ])
    func needsEitherAStoreOrTrajectories(arguments: [String]) {
        #expect(
            parseFailure(EvalCommand.self, arguments) == "Give either --store DIR (repeatable) or --trajectories FILE.")
    }

    @Test(arguments: [
        (
            onAStore + ["--modes", "bm25,vector"],
            "--modes: unknown value \"vector\"; choose from random, query, keyword, bm25, hybrid."
        ),
        (onAStore + ["--alpha-sweep", "0:2:0.5"], "--alpha-sweep: every alpha must be within 0…1 (got 0:2:0.5)."),
        // Hostile run 4: a step this small made a count past Int.max, which trapped.
        (
            onAStore + ["--alpha-sweep", "0:1:1e-300"],
            "--alpha-sweep: 0:1:1e-300 makes more than 1001 alphas, each a run over every query; take a larger step."
        ),
        (onAStore + ["--alpha-sweep", "0:inf:0.5"], "--alpha-sweep: every alpha must be within 0…1 (got 0:inf:0.5)."),
        (
            onAStore + ["--alpha-sweep", "1:0:0.1"],
            "--alpha-sweep: start:end:step needs numbers with start <= end and step > 0 (got 1:0:0.1)."
        ),
        (onAStore + ["--k-sweep", "0,5"], "--k-sweep: \"0\" is not a whole number of at least 1."),
        (onAStore + ["-k", "0"], "-k must be at least 1 (got 0)."),
        (onAStore + ["--procedure-weights", "0.5,-1"], "--procedure-weights: \"-1\" is not a number of at least 0."),
        (
            fromTrajectories + ["--build-policies", "trajectory,steps"],
            "--build-policies: unknown value \"steps\"; choose from trajectory, script, proceduralization."
        ),
        // `--embedder openai` was offered without a way to name the server: the run failed with the library's
        // "base URL must be an http(s) URL … (got "")".
        (fromTrajectories + ["--embedder", "openai"], "--embedder openai needs --base-url and --openai-model."),
    ])
    func rejectsBadFlags(arguments: [String], message: String) {
        #expect(parseFailure(EvalCommand.self, arguments) == message)
    }

    @Test(arguments: [["--base-url", "http://127.0.0.1:1"], ["--api-key-variable", "KEY"]])
    func refusesServerFlagsWithoutTheOpenAIEmbedder(flag: [String]) {
        #expect(
            parseFailure(EvalCommand.self, Self.fromTrajectories + flag)
                == "--base-url, --openai-model and --api-key-variable apply only to --embedder openai.")
    }

    /// The flags that shape the stores --trajectories builds were ignored without a word beside --store.
    @Test(arguments: [
        ["--embedder", "hashing"], ["--build-policies", "script"], ["--work-directory", "w"],
        ["--base-url", "http://127.0.0.1:1"], ["--openai-model", "m"], ["--api-key-variable", "KEY"],
    ])
    func refusesBuildFlagsBesideAStore(flag: [String]) {
        #expect(
            parseFailure(EvalCommand.self, Self.onAStore + flag)
                == "\(flag[0]) applies to the stores built from --trajectories FILE; a --store is evaluated as it is.")
    }

    /// `--embedder openai` builds its store on the server `--base-url` and `--openai-model` name, as `memp init` does.
    @Test func buildsStoresOnAnOpenAICompatibleServer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        defer { server.stop() }
        let trajectories = directory.file("t.jsonl")
        let queries = directory.file("q.jsonl")
        try """
        {"id": "a", "task": "open the door", "steps": [{"action": "open door"}], "outcome": {"success": true}}
        {"id": "b", "task": "take the key", "steps": [{"action": "take key"}], "outcome": {"success": true}}

        """.write(toFile: trajectories, atomically: true, encoding: .utf8)
        try #"{"qid": "q", "query": "open a door", "relevant": ["a"]}"#.write(
            toFile: queries, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.memp([
            "eval", "--trajectories", trajectories, "--embedder", "openai", "--base-url",
            server.baseURL.absoluteString + "/ok", "--openai-model", "stub", "--queries", queries, "--modes", "query",
            "--json",
        ])
        #expect(result.status == 0, "\(result.errors)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let stores = try #require(object["stores"] as? [[String: Any]])
        let description = try #require(stores.first?["store"] as? [String: Any])
        #expect(description["embedderID"] as? String == "openai:stub")
    }

    /// Builds a trajectory and a script store from the committed sample with the hashing embedder, evaluates two
    /// policies on each, and writes the JSON and the HTML report.
    @Test func buildGridOnTheSampleWritesJSONAndHTML() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = directory.file("report.html")
        let result = try await ChildProcess.memp([
            "eval", "--trajectories", MemoryCommandTests.sampleTrajectories, "--build-policies",
            "trajectory,script", "--embedder", "hashing", "--work-directory", directory.file("stores"),
            "--queries", Self.sampleQueries, "--modes", "bm25,hybrid", "--alpha-sweep", "0,1", "--json",
            "--report", report,
        ])
        #expect(result.status == 0, "\(result.errors)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let stores = try #require(object["stores"] as? [[String: Any]])
        #expect(stores.count == 2)
        let descriptions = stores.compactMap { $0["store"] as? [String: Any] }
        #expect(descriptions.compactMap { $0["label"] as? String } == ["trajectory", "script"])
        #expect(descriptions.compactMap { $0["memoryCount"] as? Int } == [640, 640])
        let runs = try #require(stores[0]["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { ($0["judgedQueries"] as? Int) == 80 })
        let trajectories = try #require(object["trajectories"] as? [String: Any])
        #expect(trajectories["records"] as? Int == 640)
        #expect((trajectories["sha256"] as? String)?.count == 64)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.contains("<svg"))
        #expect(html.contains("hybrid a=1"))
    }

    /// A hashing-embedder store of the committed sample, made by `memp init` and `memp import`.
    static func sampleStore(in directory: TemporaryDirectory) async throws -> String {
        let store = directory.file("store")
        #expect(try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"]).status == 0)
        #expect(
            try await ChildProcess.memp(["import", "--store", store, MemoryCommandTests.sampleTrajectories]).status
                == 0)
        return store
    }

    /// Runs `memp subcommand --store store --queries <the sample queries> flags…`, requires it to succeed, and
    /// returns its output.
    static func run(_ subcommand: String, on store: String, _ flags: String...) async throws -> String {
        let result = try await ChildProcess.memp([subcommand, "--store", store, "--queries", sampleQueries] + flags)
        try #require(result.status == 0, "\(result.errors)")
        return result.output
    }

    @Test func evaluatesAnExistingStoreAsATable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(in: directory)
        let lines = try await Self.run("eval", on: store, "--modes", "random,bm25").split(separator: "\n")
        #expect(lines.first == "Retrieval policies (k = 10, 80 queries)")
        #expect(lines.contains { $0.hasPrefix("random ") })
        #expect(lines.contains { $0.hasPrefix("bm25 ") })
    }

    /// `memp tune` records a choice that `--show` lists and `--revert` undoes, and `memp eval --tuning-folds` reports
    /// tuned vs default with intervals.
    @Test func tunesShowsRevertsAndEvaluatesTheTuning() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(in: directory)
        let tuned = try await Self.run("tune", on: store, "--folds", "4")
        #expect(tuned.contains("80 judged queries, 4 folds: best "))
        #expect(tuned.contains("recorded in the store."))
        let shown = try await ChildProcess.memp(["tune", "--store", store, "--show", "--json"])
        let record = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        #expect((record["entries"] as? [[String: Any]])?.map { $0["action"] as? String } == ["tune"])
        #expect(try await ChildProcess.memp(["tune", "--store", store, "--revert"]).status == 0)
        let again = try await ChildProcess.memp(["tune", "--store", store, "--revert"])
        #expect(again.status == 1)
        #expect(again.errors.contains("No fusion choice is in effect, so there is nothing to revert"))
        let evaluated = try await Self.run("eval", on: store, "--modes", "hybrid", "--tuning-folds", "4")
        #expect(evaluated.contains("Tuned vs default fusion (80 judged queries, 4-fold cross-validation"))
        #expect(evaluated.contains("tuned − default (paired)"))
    }

    @Test(arguments: [
        (["--store", "s", "--folds", "1"], "--folds must be at least 2 (got 1)."),
        (["--store", "s", "--show", "--revert"], "Give --show or --revert, not both."),
        (["--store", "s", "--show", "--queries", "q.jsonl"], "--show and --revert take no --queries or --dry-run."),
    ])
    func tuneRejectsBadFlags(arguments: [String], message: String) {
        #expect(parseFailure(TuneCommand.self, arguments) == message)
    }
}
