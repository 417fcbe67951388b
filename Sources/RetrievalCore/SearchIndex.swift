/// A searchable collection of documents ranked against a query.
///
/// Safe to read from many tasks at once. Scores compare only within one index, so fuse results by rank.
public protocol SearchIndex: Sendable {
    /// The query type: an embedding, a token list, ….
    associatedtype Query: Sendable

    /// The number of live (not removed) documents.
    var count: Int { get }

    /// Returns the `k` best-scoring documents for `query`, best first; ties go to the lower ``DocumentID``.
    ///
    /// - Parameters:
    ///   - query: The query to rank documents against.
    ///   - k: The maximum number of hits.
    /// - Returns: At most `k` hits; fewer when the index is smaller.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)`` if the query doesn't fit the index.
    /// - Precondition: `k >= 1`.
    /// - Complexity: O(*n* log *k*) for an exhaustive index of *n* documents.
    func search(_ query: Query, k: Int) throws(IndexError) -> [SearchHit]
}
