/// Turns texts into L2-normalized vectors of a fixed dimension.
///
/// Implementations are value types or actors and safe to call from many tasks at once.
public protocol Embedder: Sendable {
    /// A stable identifier of the model and its settings, stored beside every vector it produced
    /// (for example `minilm:all-MiniLM-L6-v2` or `hashing:v1:384`), so stale vectors can be detected.
    var modelIdentifier: String { get }

    /// The length of every vector this embedder returns.
    var dimension: Int { get }

    /// Embeds each text, in order; every vector has ``dimension`` components and unit L2 norm
    /// (an all-zero vector only where a model has nothing to say about a text).
    ///
    /// - Throws: ``EmbeddingError`` when the model or the server fails.
    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]]

    /// Embeds each text without blocking the caller's thread.
    func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]]
}

extension Embedder {
    /// Runs the synchronous path; remote embedders override this with real asynchronous I/O.
    public func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        // A synchronous closure can only see the synchronous overload.
        let embedNow = { () throws(EmbeddingError) -> [[Float]] in try self.embed(texts) }
        return try embedNow()
    }

    /// Embeds one text.
    public func embed(_ text: String) throws(EmbeddingError) -> [Float] {
        try embed([text]).first ?? []
    }
}
