import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore

/// One offline evaluation: opens or builds the stores, runs a plan on each over a query set, and writes the report.
///
/// A front end fills this in from its input and calls ``run(progress:)``:
/// ```swift
/// let evaluation = EvaluationRun(stores: .existing(["memories"]), queries: "queries.jsonl", plan: plan)
/// print(try await evaluation.run().textTable)
/// ```
public struct EvaluationRun: Sendable {
    /// Where the stores under evaluation come from.
    public enum Stores: Sendable, Equatable {
        /// Existing stores, each a directory or a `postgres://` URL, opened with the embedder each records.
        case existing([String])
        /// One store per build policy, built from the same JSON Lines trajectory file with `embedder`.
        ///
        /// The stores go to `workDirectory/<policy>`; with no work directory, to a temporary one removed afterwards.
        case built(
            trajectories: String, policies: [BuildPolicy], embedder: EmbedderConfiguration, workDirectory: String?)
    }

    /// What ``run(progress:)`` reports while it works.
    public enum Progress: Sendable, Equatable {
        /// A store for `policy` is being built in `directory`.
        case building(policy: BuildPolicy, directory: String)
        /// The HTML report was written to `path`.
        case wroteReport(path: String)
        /// The query file holds fields outside its schema, which nothing reads; `warning` names them and their
        /// lines (without a final period).
        case unreadQueryFields(warning: String)
    }

    /// The stores to evaluate.
    public var stores: Stores
    /// The JSON Lines query file (see ``QuerySet``).
    public var queries: String
    /// What runs on each store.
    public var plan: EvaluationPlan
    /// Whether each query is embedded once and reused across runs, so lookup latencies measure retrieval alone.
    public var cachesQueryEmbeddings: Bool
    /// The command line recorded in the report.
    public var command: [String]
    /// Where to write the self-contained HTML report, if anywhere.
    public var htmlReport: String?

    /// Creates an evaluation; see the properties for each parameter.
    public init(
        stores: Stores, queries: String, plan: EvaluationPlan, cachesQueryEmbeddings: Bool = true,
        command: [String] = [], htmlReport: String? = nil
    ) {
        self.stores = stores
        self.queries = queries
        self.plan = plan
        self.cachesQueryEmbeddings = cachesQueryEmbeddings
        self.command = command
        self.htmlReport = htmlReport
    }

    /// Runs the plan on every store, in order, and writes the HTML report when one is asked for.
    ///
    /// - Parameter progress: Called once when the query file holds fields nothing reads, before each store is built
    ///   and after the report is written.
    /// - Returns: The report, which also carries the query file's (and trajectory file's) SHA-256.
    /// - Throws: What ``EvaluationPlan/validate()`` and ``QuerySet/init(contentsOf:)`` throw;
    ///   ``EvaluationError/storeWithoutEmbedder(path:)`` for an existing store that doesn't record its embedder;
    ///   ``EvaluationError/memory(_:)`` when a store can't be opened, built or read;
    ///   ``EvaluationError/io(path:reason:)`` when the work directory or the report can't be written.
    public func run(progress: (Progress) -> Void = { _ in }) async throws(EvaluationError) -> EvaluationReport {
        try plan.validate()
        // Before the work, not after it: a report that can't be written lost the whole evaluation.
        if let htmlReport {
            do { try FileReplacement.checkWritable(htmlReport) } catch {
                throw .io(path: htmlReport, reason: "can't write the report: \(error.reason)")
            }
        }
        let querySet = try QuerySet(contentsOf: queries)
        if let warning = querySet.unreadFieldsWarning { progress(.unreadQueryFields(warning: warning)) }
        var evaluations: [StoreEvaluation] = []
        var trajectoryFile: DataSetFile?
        switch stores {
        case .existing(let paths):
            for path in paths {
                let store = try await Self.open(path, caching: cachesQueryEmbeddings)
                let evaluator = try await RetrievalEvaluator(store: store, queries: querySet.queries)
                let label = URL(fileURLWithPath: path).lastPathComponent
                evaluations.append(try await evaluator.run(plan, label: label, path: path))
            }
        case .built(let trajectories, let policies, let configuration, let workDirectory):
            let embedder = try Self.embedder(configuration, caching: cachesQueryEmbeddings)
            let directory = if let workDirectory { workDirectory } else { try Self.temporaryDirectory() }
            defer { if workDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
            var records = 0
            for policy in policies {
                let path = directory + "/" + policy.rawValue
                progress(.building(policy: policy, directory: path))
                let (store, importReport) = try await EvaluationStoreBuilder.build(
                    from: trajectories, policy: policy, embedder: embedder, configuration: configuration, at: path)
                records = importReport.linesRead
                let evaluator = try await RetrievalEvaluator(store: store, queries: querySet.queries)
                evaluations.append(try await evaluator.run(plan, label: policy.rawValue, path: path))
            }
            trajectoryFile = DataSetFile(path: trajectories, sha256: try fileSHA256(trajectories), records: records)
        }
        let report = EvaluationReport(
            command: command, date: Date(),
            queries: DataSetFile(path: queries, sha256: querySet.sha256, records: querySet.queries.count),
            trajectories: trajectoryFile, plan: plan, stores: evaluations)
        if let htmlReport {
            let html = try HTMLReport.render(report)
            do { try FileReplacement.write(Data(html.utf8), to: htmlReport) } catch {
                throw .io(path: htmlReport, reason: "can't write the report: \(error.reason)")
            }
            progress(.wroteReport(path: htmlReport))
        }
        return report
    }

    /// Opens the store at `path` with the embedder it records.
    private static func open(_ path: String, caching: Bool) async throws(EvaluationError) -> MemoryStore {
        let location = StoreLocation(path)
        let recorded: EmbedderConfiguration?
        do { recorded = try await MemoryStore.info(at: location).embedderConfiguration } catch { throw .memory(error) }
        guard let configuration = recorded else { throw .storeWithoutEmbedder(path: path) }
        let embedder = try embedder(configuration, caching: caching)
        do { return try await MemoryStore.open(at: location, embedder: embedder) } catch { throw .memory(error) }
    }

    /// The embedder `configuration` builds, behind a ``CachingEmbedder`` when `caching`.
    private static func embedder(_ configuration: EmbedderConfiguration, caching: Bool) throws(EvaluationError)
        -> any Embedder
    {
        let embedder: any Embedder
        do { embedder = try configuration.makeEmbedder() } catch { throw .memory(error) }
        return caching ? CachingEmbedder(embedder) : embedder
    }

    private static func temporaryDirectory() throws(EvaluationError) -> String {
        let path = FileManager.default.temporaryDirectory.path + "/memp-eval-" + UUID().uuidString
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .io(path: path, reason: systemErrorText(of: error))
        }
        return path
    }
}
