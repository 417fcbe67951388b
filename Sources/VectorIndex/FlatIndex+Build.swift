import RetrievalCore

extension FlatIndex {
    /// Vectors added per step by ``init(numbering:metric:storage:progress:)``: bulk inserts, with a progress report
    /// per step.
    public static let buildChunk = 65_536

    /// Builds an index of `vectors` in which vector *i* gets ID *i*, adding ``buildChunk`` vectors at a time.
    ///
    /// - Parameters:
    ///   - vectors: The vectors to index.
    ///   - metric: How vectors are compared.
    ///   - storage: How vectors are stored.
    ///   - progress: Called after each step with the number of vectors added so far.
    /// - Throws: ``IndexError/nonFiniteComponent(id:position:)`` or ``IndexError/zeroVector(id:)`` (cosine) naming
    ///   the vector at fault, or ``IndexError/unsupportedDimension(_:supported:)``.
    /// - Complexity: O(*n* *d*).
    public init(
        numbering vectors: VectorSet, metric: Metric = .cosine, storage: VectorStorage = .f32,
        progress: (Int) -> Void = { _ in }
    ) throws(IndexError) {
        try self.init(dimension: vectors.dimension, metric: metric, storage: storage)
        reserveCapacity(vectors.count)
        for start in stride(from: 0, to: vectors.count, by: Self.buildChunk) {
            let end = min(start + Self.buildChunk, vectors.count)
            try add(contentsOf: vectors[rows: start..<end], ids: (start..<end).map { DocumentID(UInt64($0)) })
            progress(end)
        }
    }
}
