import Foundation
import TestSupport
import Testing

@testable import Embeddings

@Suite struct EmbedderKindTests {
    /// A model store with nothing installed.
    static func emptyStore(_ directory: TemporaryDirectory) -> ModelStore { ModelStore(directory: directory.path) }

    @Test func serverURLComesFromTheGivenTextElseTheEnvironment() throws {
        let given = OpenAICompatibleServer(baseURL: "http://127.0.0.1:8080/v1")
        #expect(try given.url(environment: [:]) == URL(string: "http://127.0.0.1:8080/v1"))
        let fromEnvironment = OpenAICompatibleServer()
        #expect(
            try fromEnvironment.url(environment: ["MEMP_OPENAI_BASE_URL": "https://api.example.org"])
                == URL(string: "https://api.example.org"))
    }

    @Test func serverURLMustBeHTTP() {
        #expect(throws: EmbeddingError.invalidServerURL("ftp://example.org")) {
            try OpenAICompatibleServer(baseURL: "ftp://example.org").url(environment: [:])
        }
        #expect(throws: EmbeddingError.invalidServerURL("")) { try OpenAICompatibleServer().url(environment: [:]) }
        // Hostile run 7: the endpoint's path went into the query (`/?key=K/v1/embeddings`) or the fragment.
        for url in ["http://127.0.0.1:9/?key=K", "http://127.0.0.1:9/#part"] {
            #expect(throws: EmbeddingError.invalidServerURL(url)) {
                try OpenAICompatibleServer(baseURL: url).url(environment: [:])
            }
        }
        #expect(
            EmbeddingError.invalidServerURL("ftp://example.org").description
                == "The OpenAI-compatible server's base URL must be an http(s) URL without a query or fragment (got "
                + "\"ftp://example.org\").")
    }

    @Test func makesEachKind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(try Embedders.make(.hashing).modelIdentifier == "hashing:v1:384")
        #expect(try Embedders.make(.hashing, dimension: 32).dimension == 32)
        // A known dimension: the client is made without asking the server.
        let client = try Embedders.make(
            .openai, dimension: 8, server: OpenAICompatibleServer(baseURL: "http://127.0.0.1:9", model: "nomic"))
        #expect(client.modelIdentifier == "openai:nomic" && client.dimension == 8)
        let missing = Self.emptyStore(directory).modelDirectory(for: .minilm)
        #expect(
            throws: EmbeddingError.modelNotInstalled(
                name: "all-MiniLM-L6-v2",
                fix: "\(missing)/model.safetensors is missing; run `memp model install minilm`.")
        ) { try Embedders.make(.minilm, store: Self.emptyStore(directory)) }
    }

    @Test func rebuildsTheEmbedderAnIdentifierNames() throws {
        let hashing = try Embedders.embedder(identifier: "hashing:v1:32", dimension: 32)
        #expect(hashing is HashingEmbedder && hashing.dimension == 32)
        let served = try Embedders.embedder(
            identifier: "openai:nomic-embed-text", dimension: 768,
            server: OpenAICompatibleServer(baseURL: "http://127.0.0.1:9", model: "other"))
        #expect(served.modelIdentifier == "openai:nomic-embed-text" && served.dimension == 768)
    }

    @Test(arguments: [("hashing:v1:32", 64), ("hashing:v2:32", 32), ("word2vec:x", 300), ("minilm", 384), ("", 8)])
    func refusesIdentifiersThisBuildCannotLoad(identifier: String, dimension: Int) {
        #expect(throws: EmbeddingError.unknownEmbedder(identifier: identifier)) {
            try Embedders.embedder(identifier: identifier, dimension: dimension)
        }
    }

    @Test func unknownEmbedderSaysWhatCanBeLoaded() {
        #expect(
            EmbeddingError.unknownEmbedder(identifier: "word2vec:x").description
                == "The embedder word2vec:x is not one this build can load (hashing:v1:DIMENSION, "
                + "minilm:all-MiniLM-L6-v2 or openai:MODEL).")
    }

    @Test func kindsAreListedInFlagOrder() {
        #expect(EmbedderKind.allCases.map(\.rawValue) == ["hashing", "minilm", "openai"])
    }
}
