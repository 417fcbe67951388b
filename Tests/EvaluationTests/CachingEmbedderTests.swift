import Embeddings
import Synchronization
import Testing

@testable import Evaluation

/// Counts the texts it is asked to embed.
final class CountingEmbedder: Embedder {
    let base = HashingEmbedder(dimension: 16)
    let embedded = Mutex<[String]>([])
    var modelIdentifier: String { base.modelIdentifier }
    var dimension: Int { base.dimension }

    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        embedded.withLock { $0 += texts }
        return try base.embed(texts)
    }
}

@Suite struct CachingEmbedderTests {
    @Test func embedsEachDistinctTextOnceAndKeepsOrder() throws {
        let counting = CountingEmbedder()
        let caching = CachingEmbedder(counting)
        #expect(caching.modelIdentifier == "hashing:v1:16")
        #expect(caching.dimension == 16)
        let first = try caching.embed(["heat milk", "cool wine", "heat milk"])
        let second = try caching.embed(["cool wine", "slice bread"])
        #expect(first == (try counting.base.embed(["heat milk", "cool wine", "heat milk"])))
        #expect(second == (try counting.base.embed(["cool wine", "slice bread"])))
        #expect(counting.embedded.withLock { $0.sorted() } == ["cool wine", "heat milk", "slice bread"])
        #expect(try caching.embed([]) == [])
    }
}
