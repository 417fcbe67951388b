import ArgumentParser
import Foundation
import HybridSearch
import ProceduralMemory
import RetrievalCore

/// `memp query`: looks up the memories that fit a task, or a file of tasks.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Find the memories that best fit a task.",
        discussion: """
            With --queries, reads JSON Lines {"qid", "query"} ("text" is read as a synonym of "query", the same \
            schema as `memp collection search --queries`) and prints one line per query: \
            {"qid", "hits": [{"id", "sources", "score", "outcome", "hitCount", "successCount"}]} (outcome: how the \
            memory's source attempt ended, when recorded); with --contents each hit also carries the memory's \
            "task", "script" and "steps" (those it has), for an agent that follows them.
            """)

    @OptionGroup var storeOptions: StoreOptions
    // Every argument no option takes: a task may start with "-" (``freeText(in:)``).
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The task.", valueName: "task"))
    var taskArguments: [String] = []

    /// The task, from ``taskArguments`` (``freeText(in:)``).
    var task: String? { freeText(in: taskArguments) }

    @Option(help: "A JSON Lines file of {\"qid\", \"query\"} records.", transform: nonEmptyPath) var queries: String?
    @Option(help: "The retrieval policy.") var mode: RetrievalPolicy = .hybrid
    @Option(name: .short, parsing: .unconditional, help: "Maximum number of memories per task.") var k = 5
    @Option(
        parsing: .unconditional,
        help: """
            Drop hits below this similarity: the task cosine (query; hybrid, where memories that only BM25 found are \
            scored by cosine too) or the average keyword similarity (keyword).
            """)
    var minSimilarity: Float?
    @OptionGroup var filter: MemoryFilterOptions
    @Option(parsing: .unconditional, help: "The seed of the random policy.") var seed: UInt64 = 0
    @Option(
        parsing: .unconditional,
        help:
            "Hybrid: weight of the dense scores in a min-max normalized convex fusion, instead of RRF.")
    var alpha: Double?
    @Option(
        parsing: .unconditional,
        help: "Hybrid: reciprocal rank fusion with this constant instead of the store's fusion (`memp tune`).")
    var rankConstant: Double?
    @Option(
        help: """
            PostgreSQL stores: where the query, bm25 and hybrid policies run — hnsw (pgvector's HNSW index in the \
            database), exact (an exact scan in the database: the local engine's vector results) or caches \
            (in-process index caches, as on a local store). bm25 runs as ts_rank_cd in the database; random and \
            keyword always use the caches.
            """)
    var pgSearch: PostgresSearchChoice = .hnsw
    @Option(
        parsing: .unconditional,
        help: "PostgreSQL stores, --pg-search hnsw: the candidates HNSW examines (hnsw.ef_search, 1…1000).")
    var efSearch = 100
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Hybrid: how strongly failed or unsuccessful memories are ranked lower (0 off … 1).", valueName: "0…1"))
    var outcomePrior: Double = RetrievalOptions.defaultOutcomePrior
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Hybrid: the weight of BM25 over each memory's script and step actions beside the task rankings (0 off); "
                + "for tasks that describe the procedure rather than the goal.",
            valueName: "weight"))
    var procedureWeight: Double = RetrievalOptions.defaultProcedureWeight
    @Flag(help: "Explain each score.") var explain = false
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "With --queries: add each hit's task, script and steps to its line.") var contents = false

    func validate() throws {
        try checkFreeText(taskArguments, naming: "task", command: "memp query")
        guard (task == nil) != (queries == nil) else {
            throw ValidationError("Give either a task or --queries FILE.")
        }
        guard !contents || queries != nil else { throw ValidationError("--contents needs --queries FILE.") }
        guard !explain || queries == nil else {
            throw ValidationError("--explain explains the hits of one task; --queries prints hits without reasons.")
        }
        guard alpha == nil || rankConstant == nil else {
            throw ValidationError("Give --alpha (convex fusion) or --rank-constant (RRF), not both.")
        }
        if mode != .hybrid {
            try refuseHybridFlags(
                [
                    "--alpha": alpha != nil, "--rank-constant": rankConstant != nil,
                    "--procedure-weight": procedureWeight != 0,
                ],
                mode: mode.rawValue)
        }
        guard (1...1000).contains(efSearch) else {
            throw ValidationError("--ef-search must be within 1…1000 (got \(efSearch)).")
        }
        // The library's rules for the options, told with the flags that set them.
        let options = try options
        do throws(MemoryError) { try options.validate() } catch {
            throw flagError(
                error,
                flags: [
                    "k": "-k", "minimumSimilarity": "--min-similarity", "alpha": "--alpha",
                    "rankConstant": "--rank-constant", "outcomePrior": "--outcome-prior",
                    "procedureWeight": "--procedure-weight",
                ])
        }
    }

    var options: RetrievalOptions {
        get throws {
            RetrievalOptions(
                policy: mode, k: k, minimumSimilarity: minSimilarity, sources: filter.sourceFilter,
                labels: try filter.labelFilter, includeDeprecated: filter.includeDeprecated, seed: seed,
                fusion: alpha.map { .convex(alpha: $0, normalization: .minMax) }
                    ?? rankConstant.map { .reciprocalRank(rankConstant: $0) },
                outcomePrior: outcomePrior, procedureWeight: procedureWeight)
        }
    }

    /// One hit as `--json` prints it (in a `--queries` line, or beside its rank and explanation); `Decodable` too, so
    /// the tests read the output back through it.
    struct BatchHit: Codable {
        var id: String
        var sources: [String]
        var score: Double
        var outcome: Outcome?
        var hitCount: Int
        var successCount: Int
        var task: String?
        var script: String?
        var steps: [Step]?

        /// The hit's memory ID, sources, score, source outcome and counters, and with `contents` its task, script
        /// and steps.
        init(_ hit: MemoryHit, contents: Bool) {
            id = hit.memory.id
            sources = hit.memory.sourceTrajectoryIDs
            score = hit.score
            outcome = hit.sourceOutcome
            hitCount = hit.memory.hitCount
            successCount = hit.memory.successCount
            task = contents ? hit.memory.task : nil
            script = contents ? hit.memory.script : nil
            steps = contents ? hit.memory.steps : nil
        }
    }

    /// One line of `--queries … --json`: a query's hits, or why it got none.
    struct BatchLine: Codable {
        var qid: String
        var hits: [BatchHit]
        /// Why this query got no answer; the batch goes on with the next one.
        var error: String?
    }

    func run() async throws {
        let store = try await storeOptions.open(pgSearch: pgSearch, efSearch: efSearch)
        let options = try options
        if let queries {
            try await runBatch(queries, store: store, options: options)
            return
        }
        let hits = try await store.retrieve(task ?? "", options: options)
        if json {
            for hit in hits {
                // The hit with its contents, its rank and, with --explain, why.
                print(
                    try jsonLine(
                        JSONObjectWith(
                            base: BatchHit(hit, contents: true),
                            fields: ["rank": hit.explanation.rank, "explanation": explain ? hit.explanation : nil])))
            }
            return
        }
        if hits.isEmpty { printError("No memory fits this task.") }
        for hit in hits {
            printText(
                "\(hit.explanation.rank). \(hit.memory.id)  score \(decimal(hit.score, places: 4))  "
                    + "[\(Self.describe(hit.memory, sourceOutcome: hit.sourceOutcome))]  \(hit.memory.task)")
            if explain { printText("   why: \(hit.explanation)") }
            if let script = hit.memory.script {
                for line in script.split(separator: "\n") { printText("   \(line)") }
            } else if let steps = hit.memory.steps {
                for (number, step) in steps.enumerated() { printText("   \(number + 1). \(step.action)") }
            }
        }
    }

    private func runBatch(_ path: String, store: MemoryStore, options: RetrievalOptions) async throws {
        let lines = try DocumentReader.queryLines(atPath: path, maximumLineBytes: MemoryStore.maximumQueryLineBytes)
        // One bad line or query must not leave the others unanswered: each failure is reported (stderr, and an
        // "error" line for a query with a qid) and the batch goes on; the exit status says something failed.
        var failures = 0
        var read = 0
        var unreadFields = UnreadFields()
        for line in lines {
            read += 1
            let query: DocumentReader.Query
            do {
                query = try line.get()
                unreadFields.note(query.unreadFields, line: query.line)
                guard query.vector == nil else {
                    throw CollectionError.malformedInput(
                        path: path, line: query.line, field: "vector",
                        reason: "a memory lookup takes the task's text, which the store embeds, not a vector")
                }
            } catch {
                failures += 1
                printError("\(error).")
                continue
            }
            let hits: [MemoryHit]
            do {
                hits = try await store.retrieve(query.text, options: options)
            } catch {
                failures += 1
                printError("\(path), line \(query.line), query \(query.id): \(error)")
                print(try jsonLine(BatchLine(qid: query.id, hits: [], error: error.description)))
                continue
            }
            print(try jsonLine(BatchLine(qid: query.id, hits: hits.map { BatchHit($0, contents: contents) })))
        }
        guard read > 0 else { throw CollectionError.noQueries(path: path) }
        if let warning = DocumentReader.unreadQueryFieldsWarning(unreadFields, path: path) {
            printError("Warning: \(warning).")
        }
        if failures > 0 {
            printError("\(failures) of the queries failed (see above); the others were answered.")
            throw ExitCode.failure
        }
    }

    /// How a memory's source trajectories ended and its use record: `source succeeded; 2 of 3 uses succeeded`.
    static func describe(_ memory: Memory, sourceOutcome: Outcome?) -> String {
        let outcome =
            switch sourceOutcome?.success {
            case true: "source succeeded"
            case false: "source failed"
            case nil:
                sourceOutcome?.reward.map { "source reward \(decimal($0, places: 2))" } ?? "source outcome unknown"
            }
        return "\(outcome); \(Memory.useRecord(hitCount: memory.hitCount, successCount: memory.successCount))"
    }
}
