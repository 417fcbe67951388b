import Embeddings
import Synchronization

/// An embedder that remembers every text it embedded, so that an evaluation embeds each query once however many
/// policies and sweeps it runs.
///
/// It reports the wrapped embedder's identifier and dimension, so a store opens with it as with the original.
/// Use it to measure retrieval itself: the lookups of a run then exclude the cost of embedding the query, which
/// ``RetrievalEvaluator/queryEmbeddingLatency`` reports on its own.
public final class CachingEmbedder: Embedder {
    /// The embedder that computes vectors the cache doesn't hold.
    public let base: any Embedder
    private let cache = Mutex<[String: [Float]]>([:])

    /// Wraps an embedder.
    public init(_ base: any Embedder) { self.base = base }

    public var modelIdentifier: String { base.modelIdentifier }
    public var dimension: Int { base.dimension }

    public func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        let known = cache.withLock { cache in texts.map { cache[$0] } }
        // Each missing text once, in first-seen order, so the same calls give the same batches.
        var seen = Set<String>()
        let missing = zip(texts, known).compactMap { text, vector in
            vector == nil && seen.insert(text).inserted ? text : nil
        }
        guard !missing.isEmpty else { return known.compactMap { $0 } }
        let vectors = try base.embed(missing)
        guard vectors.count == missing.count else {
            throw .vectorCountMismatch(expected: missing.count, actual: vectors.count)
        }
        let computed = Dictionary(uniqueKeysWithValues: zip(missing, vectors))
        cache.withLock { $0.merge(computed) { old, _ in old } }
        return zip(texts, known).map { text, vector in vector ?? computed[text] ?? [] }
    }

    /// Stores a vector computed elsewhere (by ``base``), keeping one already cached.
    public func remember(_ vector: [Float], for text: String) {
        cache.withLock { cache in if cache[text] == nil { cache[text] = vector } }
    }
}
