import RetrievalCore

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
}
