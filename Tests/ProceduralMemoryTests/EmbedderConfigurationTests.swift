import Embeddings
import Foundation
import ProceduralMemory
import TestSupport
import Testing

@Suite struct EmbedderConfigurationTests {
    @Test func namedKindsResolveWithoutANote() throws {
        let hashing = try EmbedderConfiguration.resolve(.hashing, dimension: 64)
        #expect(hashing.configuration == .hashing(dimension: 64) && hashing.note == nil)
        let minilm = try EmbedderConfiguration.resolve(.minilm, dimension: 64)
        #expect(minilm.configuration == .minilm(modelDirectory: nil) && minilm.note == nil)
    }

    @Test func withoutAKindTheHashingFallbackIsChosenAndSaidSo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (configuration, note) = try EmbedderConfiguration.resolve(
            nil, dimension: 64, store: ModelStore(directory: directory.path))
        #expect(configuration == .hashing(dimension: 384))
        #expect(
            note
                == "No embedding model is installed; using the hashing:v1:384 fallback (word and character hashing, "
                + "no semantics). Run `memp model install minilm` for real embeddings.")
    }

    @Test func openAIServerMustHaveAnHTTPURL() {
        #expect(throws: EmbeddingError.invalidServerURL("ftp://example.org")) {
            try EmbedderConfiguration.resolve(
                .openai, dimension: 64, server: OpenAICompatibleServer(baseURL: "ftp://example.org", model: "m"))
        }
    }

    /// Hostile run 17: a recorded hashing configuration of 0 dimensions (or fewer) ended every process that embedded
    /// with the store (a precondition of `HashingEmbedder`), while `makeEmbedder()` is documented to throw.
    @Test func aHashingConfigurationBelowOneDimensionIsRefused() throws {
        for dimension in [0, -3] {
            let reason = EmbeddingError.invalidDimension(embedder: "hashing", dimension: dimension).description
            #expect(throws: MemoryError.embedding(reason: reason)) {
                try EmbedderConfiguration.hashing(dimension: dimension).makeEmbedder()
            }
        }
        #expect(try EmbedderConfiguration.hashing(dimension: 1).makeEmbedder().dimension == 1)
    }
}
