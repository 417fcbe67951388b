import ArgumentParser
import Foundation
import RetrievalCore
import VectorIndex

extension IndexCommand {
    /// `memp index reduce`: fit PCA on an index's vectors and write a smaller index plus the PCA model.
    struct Reduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reduce an index to fewer dimensions with PCA (optionally whitened).",
            discussion: "Fits principal components on every vector of --index, writes the projected vectors "
                + "(same IDs, metric and storage) to --output and the PCA model beside it (--pca, default "
                + "<output>.pca). Project queries with the same model before searching the reduced index.")

        @Option(help: "The index to reduce.", transform: nonEmptyPath) var index: String
        @Option(help: "The reduced index to write.", transform: nonEmptyPath) var output: String
        @Option(parsing: .unconditional, help: "Dimensions to keep.") var dims: Int
        @Option(help: "Where to write the PCA model (default: <output>.pca).", transform: nonEmptyPath) var pca: String?
        @Flag(help: "Scale every component to unit variance.") var whiten = false
        @Flag(help: "Print a JSON summary.") var json = false

        func validate() throws {
            guard dims >= 1 else { throw ValidationError("--dims must be at least 1 (got \(dims)).") }
        }

        func run() throws {
            let reduction: IndexReduction
            do {
                reduction = try FlatIndex.reduce(
                    indexAt: index, into: output, dimension: dims, whiten: whiten, modelPath: pca)
            } catch {
                // More dimensions than the index has: a flag this index refuses, as --rescore-factor for f32.
                throw flagError(error, flags: ["components": "--dims"])
            }
            try printSummary(
                reduction, json: json,
                text:
                    "Reduced \(counted(reduction.count, "vector")) from \(reduction.from) to \(reduction.to) dimensions "
                    + "into \(output) (PCA model \(reduction.pca), "
                    + "\(decimal(reduction.explainedVariance * 100, places: 1))% of the variance kept).",
                after: output)
        }
    }
}
