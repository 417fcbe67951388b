import ArgumentParser
import Embeddings
import Evaluation
import Foundation
import HybridSearch
import ProceduralMemory

/// `memp eval`: offline retrieval experiments over a query set with relevance judgments.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure how well each retrieval policy finds the relevant memories.",
        discussion: """
            Queries are JSON Lines {"qid", "query", "relevant": [trajectory IDs], "labels"}. A retrieved memory is \
            relevant when any of its source trajectories is listed. Prints Hit@1/5/10, Recall@k, MRR@10, nDCG@10 and \
            latency p50/p95 per policy, and how many queries have no relevant memory in the store.
            Evaluate existing stores (--store, repeatable), or build one store per build policy from a trajectory \
            file (--trajectories with --build-policies) for a build × retrieval grid.
            """)

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "A memory store to evaluate (repeatable): a directory, or a postgres:// URL (password in MEMP_PG_PASSWORD).",
            valueName: "dir|url"), transform: nonEmptyPath)
    var stores: [String] = []
    @Option(
        help: "Build stores from this JSON Lines trajectory file instead of opening --store.", transform: nonEmptyPath)
    var trajectories: String?
    @Option(
        help: ArgumentHelp(
            "With --trajectories: the build policies, one store each (default: proceduralization).",
            valueName: BuildPolicy.allCases.map(\.rawValue).joined(separator: ",")))
    var buildPolicies: String?
    @Option(help: "With --trajectories: the embedder (default: MiniLM when installed, else hashing).")
    var embedder: EmbedderKind?
    @OptionGroup var serverOptions: StoreServerOptions
    @Option(
        help: "With --trajectories: keep the built stores in this directory (default: a temporary one).",
        transform: nonEmptyPath)
    var workDirectory: String?
    @Option(help: "The JSON Lines query file.", transform: nonEmptyPath) var queries: String
    @Option(
        name: .short, parsing: .unconditional,
        help: "The cutoff of Recall@k (at least 10 memories are retrieved per query).")
    var k = 10
    @Option(
        help: ArgumentHelp(
            "The retrieval policies.", valueName: RetrievalPolicy.allCases.map(\.rawValue).joined(separator: ",")))
    var modes = RetrievalPolicy.allCases.map(\.rawValue).joined(separator: ",")
    @Option(
        help: ArgumentHelp(
            "Hybrid alphas (dense weight of a min-max convex fusion): start:end:step or a list.",
            valueName: "0:1:0.1"))
    var alphaSweep: String?
    @Option(help: ArgumentHelp("Run every policy at each of these k.", valueName: "1,5,10,20")) var kSweep: String?
    @Option(
        parsing: .unconditional,
        help: "Hybrid: reciprocal rank fusion with this constant instead of the default fusion.")
    var rankConstant: Double?
    @Option(
        help: ArgumentHelp(
            "Hybrid fusions to compare, one run each: rrf:K or convex:minMax|zScore|theoretical:ALPHA.",
            valueName: "rrf:60,convex:minMax:0.5"))
    var fusions: String?
    @Option(parsing: .unconditional, help: "The seed of the random policy.") var seed: UInt64 = 0
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Compare cross-validated fusion tuning (as `memp tune` does it) with the default fusion in this many "
                + "folds, with bootstrap confidence intervals over queries.",
            valueName: "folds"))
    var tuningFolds: Int?
    @Option(
        help: ArgumentHelp(
            "Hybrid runs that also weight BM25 over each memory's script and step actions, one run per weight "
                + "(reported with the fusions).",
            valueName: "0.5,1"))
    var procedureWeights: String?
    @Option(
        help: ArgumentHelp(
            "Hybrid runs with these candidate depths (candidates per ranking), one run each (reported with the "
                + "fusions).",
            valueName: "50,100"))
    var candidateDepths: String?
    @Flag(
        inversion: .prefixedNo,
        help: """
            Embed each query once and reuse it across runs: lookup latencies then measure retrieval alone, and \
            the embedding time is reported beside them.
            """)
    var embeddingCache = true
    @Flag(help: "Print the report as one JSON object instead of tables.") var json = false
    @Option(
        help: ArgumentHelp("Write a self-contained HTML report here.", valueName: "report.html"),
        transform: nonEmptyPath)
    var report: String?

    func validate() throws {
        guard stores.isEmpty != (trajectories == nil) else {
            throw ValidationError("Give either --store DIR (repeatable) or --trajectories FILE.")
        }
        if trajectories == nil {
            // A store embeds with the embedder it was created with, and is evaluated where it is.
            try refuseFirstGiven([
                "--build-policies": buildPolicies != nil, "--embedder": embedder != nil,
                "--work-directory": workDirectory != nil, "--base-url": serverOptions.baseURL != nil,
                "--openai-model": serverOptions.model != nil,
                "--api-key-variable": serverOptions.apiKeyEnvironmentVariable != nil,
            ]) { "\($0) applies to the stores built from --trajectories FILE; a --store is evaluated as it is." }
        }
        try serverOptions.validate(embedder: embedder)
        guard k >= 1 else { throw ValidationError("-k must be at least 1 (got \(k)).") }
        if let rankConstant, !(rankConstant > 0 && rankConstant.isFinite) {
            throw ValidationError("--rank-constant must be a positive number (got \(rankConstant)).")
        }
        if let tuningFolds, tuningFolds < 2 {
            throw ValidationError("--tuning-folds must be at least 2 (got \(tuningFolds)).")
        }
        _ = try plan
        _ = try parsedBuildPolicies
    }

    var parsedBuildPolicies: [BuildPolicy] {
        get throws {
            try Self.parseList(buildPolicies ?? BuildPolicy.proceduralization.rawValue, option: "--build-policies")
        }
    }

    var plan: EvaluationPlan {
        get throws {
            try EvaluationPlan(
                modes: try Self.parseList(modes, option: "--modes"), k: k,
                alphas: try alphaSweep.map(Self.parseAlphas) ?? [],
                kSweep: try kSweep.map { try Self.parseCutoffs($0, option: "--k-sweep") } ?? [],
                rankConstant: rankConstant, fusions: try fusions.map(Self.parseFusions) ?? [], seed: seed,
                tuningFolds: tuningFolds, procedureWeights: try procedureWeights.map(Self.parseWeights) ?? [],
                candidateDepths: try candidateDepths.map { try Self.parseCutoffs($0, option: "--candidate-depths") }
                    ?? [])
        }
    }

    func run() async throws {
        let source: EvaluationRun.Stores =
            if let trajectories {
                .built(
                    trajectories: trajectories, policies: try parsedBuildPolicies,
                    embedder: try embedderConfiguration(embedder, server: serverOptions.server),
                    workDirectory: workDirectory)
            } else {
                .existing(stores)
            }
        let evaluation = EvaluationRun(
            stores: source, queries: queries, plan: try plan, cachesQueryEmbeddings: embeddingCache,
            command: ["memp"] + CommandLine.arguments.dropFirst(), htmlReport: report)
        let result = try await evaluation.run { event in
            switch event {
            case .building(let policy, let directory):
                printError("Building the \(policy.rawValue) store in \(directory) …")
            case .wroteReport(let path): printError("Wrote \(path).")
            case .unreadQueryFields(let warning): printError("Warning: \(warning).")
            }
        }
        print(json ? try result.json() : result.textTable)
    }

    /// A comma-separated list of enum values.
    static func parseList<Value: RawRepresentable & CaseIterable>(_ text: String, option: String) throws -> [Value]
    where Value.RawValue == String {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty else { throw ValidationError("\(option) needs at least one value.") }
        var values: [Value] = []
        for item in items {
            guard let value = Value(rawValue: item) else {
                let valid = Value.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("\(option): unknown value \"\(item)\"; choose from \(valid).")
            }
            if !values.contains(where: { $0.rawValue == value.rawValue }) { values.append(value) }
        }
        return values
    }

    /// The most alphas one sweep runs: a step of 0.001 over 0…1.
    static let maximumAlphaCount = 1001

    /// `start:end:step` (inclusive of `end` up to rounding) or a comma-separated list, each within 0…1.
    static func parseAlphas(_ text: String) throws -> [Double] {
        let alphas: [Double]
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3 {
            guard let start = Double(parts[0]), let end = Double(parts[1]), let step = Double(parts[2]), step > 0,
                start <= end
            else {
                throw ValidationError(
                    "--alpha-sweep: start:end:step needs numbers with start <= end and step > 0 (got \(text)).")
            }
            guard (0...1).contains(start), (0...1).contains(end) else {
                throw ValidationError("--alpha-sweep: every alpha must be within 0…1 (got \(text)).")
            }
            // Each alpha is a run over every query; a tiny step once made a count past Int.max, which trapped.
            let steps = ((end - start) / step + 1e-9).rounded(.down)
            guard steps < Double(Self.maximumAlphaCount) else {
                throw ValidationError(
                    "--alpha-sweep: \(text) makes more than \(Self.maximumAlphaCount) alphas, each a run over every "
                        + "query; take a larger step.")
            }
            // Multiples of the step, rounded, so 0:1:0.1 gives 0.3 rather than 0.30000000000000004.
            alphas = (0...Int(steps)).map { ((start + Double($0) * step) * 1e9).rounded() / 1e9 }
        } else {
            alphas = try text.split(separator: ",").map { item in
                guard let value = Double(item.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--alpha-sweep: \"\(item)\" is not a number.")
                }
                return value
            }
        }
        guard !alphas.isEmpty, alphas.allSatisfy({ (0...1).contains($0) }) else {
            throw ValidationError("--alpha-sweep: every alpha must be within 0…1 (got \(text)).")
        }
        return alphas
    }

    /// A comma-separated list of fusions in their text form (`rrf:60`, `convex:minMax:0.5`).
    static func parseFusions(_ text: String) throws -> [FusionMethod] {
        let methods = try text.split(separator: ",").map { item in
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let method = FusionMethod(item) else {
                throw ValidationError(
                    "--fusions: \"\(item)\" is not a fusion; write rrf:K (K > 0) or convex:NORMALIZATION:ALPHA "
                        + "(NORMALIZATION one of \(ScoreNormalization.allCases.map(\.rawValue).joined(separator: ", ")), "
                        + "ALPHA within 0…1).")
            }
            return method
        }
        guard !methods.isEmpty else { throw ValidationError("--fusions needs at least one fusion.") }
        return methods
    }

    /// A comma-separated list of weights, each a number of at least 0.
    static func parseWeights(_ text: String) throws -> [Double] {
        let weights = try text.split(separator: ",").map { item in
            guard let value = Double(item.trimmingCharacters(in: .whitespaces)), value >= 0, value.isFinite else {
                throw ValidationError("--procedure-weights: \"\(item)\" is not a number of at least 0.")
            }
            return value
        }
        guard !weights.isEmpty else { throw ValidationError("--procedure-weights needs at least one weight.") }
        return weights
    }

    /// A comma-separated list of whole numbers, each at least 1, given to `option`.
    static func parseCutoffs(_ text: String, option: String) throws -> [Int] {
        let cutoffs = try text.split(separator: ",").map { item in
            guard let value = Int(item.trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw ValidationError("\(option): \"\(item)\" is not a whole number of at least 1.")
            }
            return value
        }
        guard !cutoffs.isEmpty else { throw ValidationError("\(option) needs at least one value.") }
        return cutoffs
    }
}
