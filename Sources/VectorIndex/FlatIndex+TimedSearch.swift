import RetrievalCore

/// The answers to a set of queries searched in batches, with the time the searches took.
public struct TimedSearchResult: Sendable, Equatable {
    /// One list of at most `k` hits per query, best first, in query order.
    public let hits: [[SearchHit]]
    /// The queries per search call: 1 searches query by query, more goes through the batch search.
    public let batchSize: Int
    /// The time the searches took, without reading queries or opening the index.
    public let duration: Duration

    /// ``duration`` in seconds.
    public var seconds: Double { duration.inSeconds }

    /// Queries answered per second; 0 when no time was measured.
    public var queriesPerSecond: Double { seconds > 0 ? Double(hits.count) / seconds : 0 }
}

extension FlatIndex {
    /// Searches every vector of `queries` in batches of `batchSize`, timing the searches alone.
    ///
    /// A batch size of 1 answers each query with ``search(_:k:)``; larger batches go through
    /// ``search(batch:k:minimumScore:filter:method:)``, where BLAS answers large batches.
    ///
    /// - Parameters:
    ///   - queries: The queries, of ``dimension`` components each.
    ///   - k: The most hits per query.
    ///   - batchSize: Queries per search call; `nil` searches all of them as one batch. Capped at the query count.
    ///   - method: How batches are answered.
    /// - Returns: The hits per query, the batch size used and the time taken.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteQuery(index:position:)``
    ///   or ``IndexError/zeroQuery(index:)`` (for cosine) naming the query at fault;
    ///   ``IndexError/invalidParameter(name:value:expected:)`` for a `k` or `batchSize` below 1.
    /// - Complexity: O(*q* *n* *d*) for *q* queries.
    public func timedSearch(
        _ queries: VectorSet, k: Int, batchSize: Int? = nil, method: BatchMethod = .automatic
    ) throws(IndexError) -> TimedSearchResult {
        try IndexError.checkResultCount(k)
        if let batchSize, batchSize < 1 {
            throw IndexError.invalidParameter(name: "batchSize", value: Double(batchSize), expected: "at least 1")
        }
        guard queries.dimension == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, actual: queries.dimension)
        }
        let batch = max(1, min(batchSize ?? queries.count, queries.count))
        var hits: [[SearchHit]] = []
        hits.reserveCapacity(queries.count)
        let clock = ContinuousClock()
        let start = clock.now
        if batch == 1 {
            for row in 0..<queries.count { hits.append(try search(Array(queries[row]), k: k)) }
        } else {
            for first in stride(from: 0, to: queries.count, by: batch) {
                let rows = first..<min(first + batch, queries.count)
                hits += try search(batch: queries[rows: rows], k: k, method: method)
            }
        }
        return TimedSearchResult(hits: hits, batchSize: batch, duration: clock.now - start)
    }

    /// The width of a result row for `k` hits: `k`, or the vector count when the index holds fewer (at least 1).
    ///
    /// Padding rows to a `k` far beyond the index would write `k` IDs per query for nothing.
    public func resultWidth(k: Int) -> Int { max(1, min(k, count)) }
}
