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
            {"qid", "hits": [{"id", "sources", "score"}]}; with --contents each hit also carries the memory's \
            "task", "script" and "steps" (those it has), for an agent that follows them.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The task.") var task: String?
    @Option(help: "A JSON Lines file of {\"qid\", \"query\"} records.") var queries: String?
    @Option(help: "The retrieval policy.") var mode: RetrievalPolicy = .hybrid
    @Option(name: .short, parsing: .unconditional, help: "Maximum number of memories per task.") var k = 5
    @Option(
        help: """
            Drop hits below this similarity: the task cosine (query; hybrid, where memories that only BM25 found are \
            scored by cosine too) or the average keyword similarity (keyword).
            """)
    var minSimilarity: Float?
    @OptionGroup var filter: MemoryFilterOptions
    @Option(help: "The seed of the random policy.") var seed: UInt64 = 0
    @Option(
        help:
            "Hybrid: weight of the dense scores in a min-max normalized convex fusion, instead of RRF.")
    var alpha: Double?
    @Option(help: "Hybrid: reciprocal rank fusion with this constant instead of the store's fusion (`memp tune`).")
    var rankConstant: Double?
    @Option(
        help: """
            PostgreSQL stores: where the query, bm25 and hybrid policies run — hnsw (pgvector's HNSW index in the \
            database), exact (an exact scan in the database: the local engine's vector results) or caches \
            (in-process index caches, as on a local store). bm25 runs as ts_rank_cd in the database; random and \
            keyword always use the caches.
            """)
    var pgSearch: PostgresSearchChoice = .hnsw
    @Option(help: "PostgreSQL stores, --pg-search hnsw: the candidates HNSW examines (hnsw.ef_search, 1…1000).")
    var efSearch = 100
    @Option(
        help: ArgumentHelp(
            "Hybrid: how strongly failed or unsuccessful memories are ranked lower (0 off … 1).", valueName: "0…1"))
    var outcomePrior: Double = RetrievalOptions.defaultOutcomePrior
    @Option(
        help: ArgumentHelp(
            "Hybrid: the weight of BM25 over each memory's script and step actions beside the task rankings (0 off); "
                + "for tasks that describe the procedure rather than the goal.",
            valueName: "weight"))
    var procedureWeight: Double = RetrievalOptions.defaultProcedureWeight
    @Flag(help: "Explain each score.") var explain = false
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "With --queries: add each hit's task, script and steps to its line.") var contents = false

    func validate() throws {
        guard (task == nil) != (queries == nil) else {
            throw ValidationError("Give either a task or --queries FILE.")
        }
        guard k >= 1 else { throw ValidationError("-k must be at least 1 (got \(k)).") }
        guard !contents || queries != nil else { throw ValidationError("--contents needs --queries FILE.") }
        if let alpha, !(0...1).contains(alpha) {
            throw ValidationError("--alpha must be within 0…1 (got \(alpha)).")
        }
        guard (0...1).contains(outcomePrior) else {
            throw ValidationError("--outcome-prior must be within 0…1 (got \(outcomePrior)).")
        }
        guard procedureWeight >= 0, procedureWeight.isFinite else {
            throw ValidationError("--procedure-weight must be a number of at least 0 (got \(procedureWeight)).")
        }
        guard (1...1000).contains(efSearch) else {
            throw ValidationError("--ef-search must be within 1…1000 (got \(efSearch)).")
        }
        if let rankConstant, !(rankConstant > 0 && rankConstant.isFinite) {
            throw ValidationError("--rank-constant must be a positive number (got \(rankConstant)).")
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

    /// One hit of a `--queries … --json` line; `Decodable` too, so the tests read the output back through it.
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
    }

    /// One line of `--queries … --json`: a query's hits, or why it got none.
    struct BatchLine: Codable {
        var qid: String
        var hits: [BatchHit]
        /// Why this query got no answer; the batch goes on with the next one.
        var error: String?
    }

    struct HitLine: Encodable {
        var rank: Int
        var id: String
        var score: Double
        var task: String
        var sources: [String]
        var outcome: Outcome?
        var hitCount: Int
        var successCount: Int
        var script: String?
        var steps: [Step]?
        var explanation: ScoreExplanation?
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
                print(
                    try jsonLine(
                        HitLine(
                            rank: hit.explanation.rank, id: hit.memory.id, score: hit.score,
                            task: hit.memory.task,
                            sources: hit.memory.sourceTrajectoryIDs, outcome: hit.sourceOutcome,
                            hitCount: hit.memory.hitCount, successCount: hit.memory.successCount,
                            script: hit.memory.script,
                            steps: hit.memory.steps,
                            explanation: explain ? hit.explanation : nil)))
            }
            return
        }
        if hits.isEmpty { printError("No memory fits this task.") }
        for hit in hits {
            print(
                "\(hit.explanation.rank). \(hit.memory.id)  score \(decimal(hit.score, places: 4))  "
                    + "[\(Self.describe(hit.memory, sourceOutcome: hit.sourceOutcome))]  \(hit.memory.task)")
            if explain { print("   why: \(hit.explanation)") }
            if let script = hit.memory.script {
                for line in script.split(separator: "\n") { print("   \(line)") }
            } else if let steps = hit.memory.steps {
                for (number, step) in steps.enumerated() { print("   \(number + 1). \(step.action)") }
            }
        }
    }

    private func runBatch(_ path: String, store: MemoryStore, options: RetrievalOptions) async throws {
        let limit = MemoryStore.maximumQueryLineBytes
        let reader = JSONLinesReader(path: path, maximumLineBytes: limit)
        try reader.checkReadable()
        struct Query: Decodable {
            var qid: String
            var query: String

            enum CodingKeys: String, CodingKey { case qid, query, text }

            // "text" is read as "query": one query-file schema with `memp collection search --queries`.
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                qid = try container.decode(String.self, forKey: .qid)
                let key: CodingKeys = container.contains(.query) || !container.contains(.text) ? .query : .text
                query = try container.decode(String.self, forKey: key)
            }
        }
        // One bad line or query must not leave the others unanswered: each failure is reported (stderr, and an
        // "error" line for a query with a qid) and the batch goes on; the exit status says something failed.
        var failures = 0
        for line in reader {
            guard line.length <= limit else {
                failures += 1
                printError("\(path), line \(line.number): \(line.length) bytes, over the limit of \(limit) bytes.")
                continue
            }
            let query: Query
            do {
                query = try JSONDecoder().decode(Query.self, from: line.data)
            } catch {
                failures += 1
                let message =
                    switch error {
                    case DecodingError.keyNotFound(let key, _):
                        "\(path), line \(line.number), field \(key.stringValue): is missing."
                    case DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty:
                        "\(path), line \(line.number), field "
                            + "\(context.codingPath.map(\.stringValue).joined(separator: ".")): must be a string."
                    default: "\(path), line \(line.number): not a valid {\"qid\", \"query\"} JSON object."
                    }
                printError(message)
                continue
            }
            let hits: [MemoryHit]
            do {
                hits = try await store.retrieve(query.query, options: options)
            } catch {
                failures += 1
                printError("\(path), line \(line.number), query \(query.qid): \(error)")
                print(try jsonLine(BatchLine(qid: query.qid, hits: [], error: error.description)))
                continue
            }
            print(
                try jsonLine(
                    BatchLine(
                        qid: query.qid,
                        hits: hits.map {
                            BatchHit(
                                id: $0.memory.id, sources: $0.memory.sourceTrajectoryIDs, score: $0.score,
                                outcome: $0.sourceOutcome, hitCount: $0.memory.hitCount,
                                successCount: $0.memory.successCount,
                                task: contents ? $0.memory.task : nil, script: contents ? $0.memory.script : nil,
                                steps: contents ? $0.memory.steps : nil)
                        })))
        }
        if failures > 0 {
            printError("\(failures) of the queries failed (see above); the others were answered.")
            throw ExitCode.failure
        }
    }

    /// How a memory's source trajectories ended and its use counters: `succeeded, used 3×, 2 successes`.
    static func describe(_ memory: Memory, sourceOutcome: Outcome?) -> String {
        let outcome =
            switch sourceOutcome?.success {
            case true: "succeeded"
            case false: "failed"
            case nil: sourceOutcome?.reward.map { "reward \(decimal($0, places: 2))" } ?? "outcome unknown"
            }
        return "\(outcome), used \(memory.hitCount)×, \(memory.successCount) successes"
    }
}
