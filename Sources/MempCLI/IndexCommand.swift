import ArgumentParser
import Embeddings
import Foundation
import RetrievalCore
import VectorIndex

extension Metric: ExpressibleByArgument {}
extension VectorStorage: ExpressibleByArgument {}
extension BatchMethod: ExpressibleByArgument {}

/// `memp index …`: build, search, describe and check vector index files.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build, search, describe and verify exact vector index files (.mvi).",
        subcommands: [Build.self, Search.self, Info.self, Verify.self, Reduce.self]
    )

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an index from a vector file (.fvecs, .bvecs, .ivecs or float32 .npy).",
            discussion: "Vector i gets ID i. The index is written atomically: an interrupted build leaves any "
                + "previous file at --output intact.")

        @Option(help: "The vectors to index.", transform: nonEmptyPath) var input: String
        @Option(help: "The index file to write.", transform: nonEmptyPath) var output: String
        @Option(help: "How vectors are compared: \(Metric.allCases.map(\.rawValue).joined(separator: ", ")).")
        var metric: Metric = .cosine
        @Option(help: "How vectors are stored: \(VectorStorage.allCases.map(\.rawValue).joined(separator: ", ")).")
        var storage: VectorStorage = .f32
        @Flag(help: "Print a JSON summary instead of text.") var json = false

        func run() throws {
            let start = Date()
            let vectors = try VectorFile.read(input)
            var progress = ProgressBar(total: vectors.count, label: "indexing")
            let index: FlatIndex
            do throws(IndexError) {
                index = try FlatIndex(numbering: vectors, metric: metric, storage: storage) { progress.update($0) }
            } catch {
                switch error {
                case .nonFiniteComponent(let id, let position):
                    throw InputFileError.malformed(
                        path: input, line: nil,
                        reason: "vector \(id.map { "\($0)" } ?? "?") has a NaN or infinite component at position "
                            + "\(position)")
                case .zeroVector(let id):
                    throw InputFileError.malformed(
                        path: input, line: nil,
                        reason: "vector \(id.map { "\($0)" } ?? "?") is all zeros, which has no cosine direction")
                default: throw error
                }
            }
            progress.finish()
            try index.save(to: output)
            let seconds = Date().timeIntervalSince(start)
            let summary: [String: JSONValue] = [
                "output": .string(output), "count": .int(index.count), "dimension": .int(index.dimension),
                "metric": .string(metric.rawValue), "storage": .string(storage.rawValue),
                "seconds": .double(seconds),
            ]
            try printSummary(
                summary, json: json,
                text:
                    "Indexed \(counted(index.count, "vector")) of dimension \(index.dimension) (\(metric.rawValue), "
                    + "\(storage.rawValue)) into \(output) in \(decimal(seconds, places: 2)) s.",
                after: output)
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search an index with every vector of a query file and write the top-k IDs as .ivecs.",
            discussion: "Timing covers the searches only (not loading). --batch-size 1 answers one query at a "
                + "time; the default answers all queries as one batch (BLAS for large batches). An index made by "
                + "`memp index reduce` is searched with full-size queries projected by its PCA model: --pca, or "
                + "<index>.pca when it exists and the queries have the model's input dimension.")

        @Option(help: "The index file.", transform: nonEmptyPath) var index: String
        @Option(help: "The query vectors (.fvecs, .bvecs, .ivecs or .npy).", transform: nonEmptyPath) var queries:
            String
        @Option(name: .short, parsing: .unconditional, help: "Hits per query.") var k = 10
        @Option(
            help: """
                The .ivecs file of result IDs (one row per query of k IDs, or as many as the index holds when \
                fewer; -1 where a query has fewer hits).
                """, transform: nonEmptyPath)
        var output: String?
        @Option(parsing: .unconditional, help: "Queries per search call; default: all of them in one batch.")
        var batchSize: Int?
        @Option(
            parsing: .unconditional, help: "Threads per search, for the SIMD scans and BLAS alike; default: every core."
        )
        var threads: Int?
        @Option(help: "How batches are answered: \(BatchMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
        var method: BatchMethod = .automatic
        @Option(parsing: .unconditional, help: "int8 indexes: candidates per hit rescored exactly in f32 (default 8).")
        var rescoreFactor: Int?
        @Option(
            help: "A PCA model from `memp index reduce` to project the queries with (default: <index>.pca).",
            transform: nonEmptyPath)
        var pca: String?
        @Flag(help: "Skip the full checksum pass when opening (the header is still checked).")
        var skipVerify = false
        @Flag(help: "Print a JSON summary (queries, k, batchSize, threads, seconds, queriesPerSecond, …).")
        var json = false

        func validate() throws {
            guard k >= 1 else { throw ValidationError("-k must be at least 1 (got \(k)).") }
            if let batchSize, batchSize < 1 {
                throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).")
            }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads)).") }
            if let rescoreFactor, rescoreFactor < 1 {
                throw ValidationError("--rescore-factor must be at least 1 (got \(rescoreFactor)).")
            }
        }

        func run() throws {
            var flat = try FlatIndex(contentsOf: index, verifyChecksums: !skipVerify)
            if let rescoreFactor {
                guard flat.vectorStorage == .int8 else {
                    throw ValidationError(
                        "--rescore-factor applies to int8 indexes; \(index) stores \(flat.vectorStorage) vectors, "
                            + "which are scored exactly.")
                }
                flat.rescoreFactor = rescoreFactor
            }
            if let threads {
                flat.parallelism = threads
                BLASThreads.set(threads)  // so that BLAS batches honour --threads too
            }
            var queryVectors = try VectorFile.read(queries)
            var given = "its vectors have \(queryVectors.dimension) dimensions"
            if let model = try PrincipalComponents.forQueries(
                dimension: queryVectors.dimension, ofIndex: index, model: pca)
            {
                queryVectors = try VectorSet(
                    dimension: model.outputDimension, values: model.project(values: queryVectors.values))
                given += ", \(model.outputDimension) once projected by the PCA model"
            }
            // Named here, where both files are known: the library's mismatch names neither.
            guard queryVectors.dimension == flat.dimension else {
                throw InputFileError.malformed(
                    path: queries, line: nil,
                    reason: "\(given), those of \(index) \(flat.dimension); search it with queries embedded by the "
                        + "model that built it")
            }
            let search = try flat.timedSearch(queryVectors, k: k, batchSize: batchSize, method: method)
            if let output { try VectorFile.writeResults(search.hits, width: flat.resultWidth(k: k), to: output) }
            let summary: [String: JSONValue] = [
                "queries": .int(queryVectors.count), "k": .int(k), "batchSize": .int(search.batchSize),
                "threads": .int(flat.parallelism), "seconds": .double(search.seconds),
                "queriesPerSecond": .double(search.queriesPerSecond), "indexCount": .int(flat.count),
                "dimension": .int(flat.dimension), "metric": .string(flat.metric.rawValue),
                "storage": .string(flat.vectorStorage.rawValue), "method": .string(method.rawValue),
            ]
            try printSummary(
                summary, json: json,
                text: "\(counted(queryVectors.count, "query")), k=\(k), batch size \(search.batchSize): "
                    + "\(decimal(search.seconds, places: 4)) s, "
                    + "\(decimal(search.queriesPerSecond, places: 1)) queries/s.",
                after: output)
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe an index file: dimension, metric, storage, count and sections.")

        @Argument(help: "The index file.", transform: nonEmptyPath) var path: String
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() throws {
            let file = try VectorIndexFile.describe(path)
            if json {
                try printJSON([
                    "path": .string(path), "formatVersion": .int(Int(file.formatVersion)),
                    "dimension": .int(file.dimension), "metric": .string(file.metric.rawValue),
                    "storage": .string(file.storage.rawValue), "count": .int(file.count),
                    "bytes": .int(file.byteCount),
                    "sections": .array(
                        file.sections.map {
                            .object(["tag": .string($0.tag), "offset": .int($0.offset), "length": .int($0.length)])
                        }),
                ])
            } else {
                print("\(path): Memp vector index, format v\(file.formatVersion), \(file.byteCount) bytes")
                print(
                    "  dimension \(file.dimension), metric \(file.metric.rawValue), "
                        + "storage \(file.storage.rawValue), \(counted(file.count, "vector"))")
                for section in file.sections {
                    print("  section \(section.tag): offset \(section.offset), \(section.length) bytes")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an index file's header, structure, every section checksum and the stored values.",
            discussion:
                "Exits 0 and prints OK when the file is intact; otherwise names the damaged section and exits 1.")

        @Argument(help: "The index file.", transform: nonEmptyPath) var path: String

        func run() throws {
            let index = try FlatIndex(contentsOf: path, verifyChecksums: true)
            try index.verifyValues(path: path)
            print(
                "\(path): OK (\(counted(index.count, "vector")) of dimension \(index.dimension), every checksum "
                    + "matches, every value is well-formed)")
        }
    }
}
