import Foundation
import RetrievalCore

/// What ``FlatIndex/reduce(indexAt:into:dimension:whiten:modelPath:)`` wrote.
public struct IndexReduction: Sendable, Equatable, Codable {
    /// The reduced index's path.
    public var output: String
    /// The PCA model's path.
    public var pca: String
    /// The vectors reduced.
    public var count: Int
    /// Their dimension before.
    public var from: Int
    /// Their dimension after.
    public var to: Int
    /// Whether every component was scaled to unit variance.
    public var whitened: Bool
    /// The share of the variance the kept components explain, 0…1.
    public var explainedVariance: Double
}

extension FlatIndex {
    /// An index of this one's live vectors reduced to `components` dimensions by principal components fitted on
    /// them, and the fitted model, which projects queries for the reduced index.
    ///
    /// The reduced index keeps the IDs, the metric and the vector storage.
    ///
    /// - Parameters:
    ///   - components: The dimensions to keep (1…``dimension``).
    ///   - whiten: Whether every component is scaled to unit variance.
    /// - Throws: What ``PrincipalComponents/fit(values:dimension:components:whiten:)`` throws (fewer than 2
    ///   vectors, a component count out of range), and what adding to an index of `components` dimensions throws.
    /// - Complexity: O(*n*·*d*² + *d*³) for *n* vectors of *d* dimensions.
    public func reduced(toDimension components: Int, whiten: Bool = false) throws(IndexError)
        -> (index: FlatIndex, model: PrincipalComponents)
    {
        let ids = ids
        let values = ids.flatMap { vector(for: $0) ?? [] }
        let model = try PrincipalComponents.fit(
            values: values, dimension: dimension, components: components, whiten: whiten)
        var reduced = try FlatIndex(dimension: components, metric: metric, storage: vectorStorage)
        try reduced.add(
            contentsOf: try VectorSet(dimension: components, values: model.project(values: values)), ids: ids)
        return (reduced, model)
    }

    /// Fits principal components on the index at `path` and writes the reduced index to `output` and the model to
    /// `modelPath`, by default beside the output (``PrincipalComponents/modelPath(besideIndex:)``), where searches
    /// of the reduced index find it.
    ///
    /// - Throws: ``RetrievalCore/IndexError/io(path:reason:)`` when the model's path is the index's or the
    ///   output's (it would overwrite one with the other), before anything is written; what
    ///   ``init(contentsOf:verifyChecksums:)``, ``reduced(toDimension:whiten:)`` and the saves throw.
    public static func reduce(
        indexAt path: String, into output: String, dimension: Int, whiten: Bool = false, modelPath: String? = nil
    ) throws(IndexError) -> IndexReduction {
        let model = modelPath ?? PrincipalComponents.modelPath(besideIndex: output)
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        }
        for (other, role) in [(path, "the index to reduce"), (output, "the reduced index")]
        where resolved(other) == resolved(model) {
            throw .io(path: model, reason: "is \(role); the PCA model needs a path of its own")
        }
        let source = try FlatIndex(contentsOf: path)
        let (reduced, components) = try source.reduced(toDimension: dimension, whiten: whiten)
        try components.save(to: model)
        try reduced.save(to: output)
        return IndexReduction(
            output: output, pca: model, count: reduced.count, from: source.dimension, to: dimension,
            whitened: whiten, explainedVariance: Double(components.explainedVarianceRatios.reduce(0, +)))
    }
}
