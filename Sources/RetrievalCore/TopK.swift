import HeapModule

/// Keeps the `k` best hits seen so far: higher score first, ties to the lower ``DocumentID``.
///
/// A bounded min-heap whose root is the worst hit kept, so each offer costs O(log *k*) at most and O(1) when
/// the hit cannot enter.
///
///     var best = TopK(k: 2)
///     best.insert(SearchHit(id: 1, score: 0.5))
///     best.insert(SearchHit(id: 2, score: 0.9))
///     best.insert(SearchHit(id: 3, score: 0.7))
///     best.sorted()  // [id 2, id 3]
public struct TopK: Sendable {
    /// Orders hits so that the heap's minimum is the hit that ranks last.
    @usableFromInline
    struct Entry: Comparable, Sendable {
        @usableFromInline var hit: SearchHit
        @inlinable init(_ hit: SearchHit) { self.hit = hit }
        @inlinable static func < (lhs: Entry, rhs: Entry) -> Bool { rhs.hit.ranks(before: lhs.hit) }
        @inlinable static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.hit == rhs.hit }
    }

    /// The most hits kept.
    public let k: Int
    @usableFromInline var heap: Heap<Entry> = []

    /// Creates an empty selection of at most `k` hits.
    ///
    /// - Precondition: `k >= 0`.
    public init(k: Int) {
        precondition(k >= 0, "TopK: k must not be negative (got \(k))")
        self.k = k
    }

    /// The number of hits kept so far.
    public var count: Int { heap.count }

    /// Whether `k` hits are kept, so that a new hit must beat ``worst`` to enter.
    public var isFull: Bool { heap.count >= k }

    /// The hit that ranks last among those kept, or `nil` when none is kept.
    public var worst: SearchHit? { heap.min?.hit }

    /// Offers a hit; it is kept if fewer than `k` are kept or it ranks before the worst kept.
    ///
    /// - Complexity: O(log *k*).
    @inlinable
    public mutating func insert(_ hit: SearchHit) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.insert(Entry(hit))
        } else if let worst = heap.min, hit.ranks(before: worst.hit) {
            _ = heap.replaceMin(with: Entry(hit))
        }
    }

    /// Offers every hit of another selection.
    public mutating func merge(_ other: TopK) {
        for entry in other.heap.unordered { insert(entry.hit) }
    }

    /// The kept hits, best first.
    ///
    /// - Complexity: O(*k* log *k*).
    public func sorted() -> [SearchHit] {
        heap.unordered.map(\.hit).sorted { $0.ranks(before: $1) }
    }
}
