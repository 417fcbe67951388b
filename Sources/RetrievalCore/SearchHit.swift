/// One ranked result: a document and its score under the index's metric (higher is better).
public struct SearchHit: Hashable, Sendable {
    /// The document found.
    public var id: DocumentID
    /// The document's score; for L2 indexes the negated squared distance, so that higher is always better.
    public var score: Float

    /// Creates a hit.
    public init(id: DocumentID, score: Float) {
        self.id = id
        self.score = score
    }

    /// Whether `self` ranks before `other`: higher score first, then lower ID.
    @inlinable
    public func ranks(before other: SearchHit) -> Bool {
        score != other.score ? score > other.score : id < other.id
    }
}
