import Foundation
import LLMClient
import RetrievalCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Embeds through a server speaking OpenAI's `POST /v1/embeddings` (OpenAI, llama.cpp's server, vLLM, Ollama, …).
///
/// Texts go out in batches of ``batchSize``. A 429 or 5xx answer, a timeout or a dropped connection is retried
/// with exponential backoff (honouring `Retry-After`). The dimension is learned from the first answer (or given
/// up front) and every later answer is checked against it. Vectors are L2-normalized here, whatever the server does.
/// The API key is read from an environment variable once, sent only as a bearer token, and never printed.
///
///     let embedder = OpenAICompatibleEmbedder(
///         baseURL: URL(string: "http://127.0.0.1:8080")!, model: "nomic-embed-text")
///     let vectors = try await embedder.embed(["open the fridge"])
public final class OpenAICompatibleEmbedder: Embedder {
    /// The server's base URL, such as `http://127.0.0.1:8080` or `https://api.openai.com/v1`.
    public let baseURL: URL
    /// The model name sent with every request.
    public let model: String
    /// Texts per request.
    public let batchSize: Int
    /// Seconds before a request times out.
    public var timeout: Double { transport.timeout }
    /// Retries after the first attempt for 429, 5xx, timeouts and dropped connections.
    public var maximumRetries: Int { transport.maximumRetries }
    /// The first backoff in seconds; it doubles per retry, up to 30 s.
    public var initialBackoff: Double { transport.initialBackoff }
    /// The full endpoint: `baseURL` + `/v1/embeddings` (or `/embeddings` when `baseURL` already ends in `/v1`).
    public var endpoint: URL { transport.endpoint }

    private let transport: OpenAICompatibleTransport
    private let learnedDimension: Mutex<Int?>

    public var modelIdentifier: String { Self.identifier(model: model) }

    /// The ``modelIdentifier`` of an embedder of `model`.
    public static func identifier(model: String) -> String { "openai:\(model)" }

    /// The vector length: given at `init`, or learned from the first answer; 0 until then
    /// (call ``detectDimension()`` to ask the server).
    public var dimension: Int { learnedDimension.withLock { $0 } ?? 0 }

    /// Creates a client; nothing is sent until the first ``embed(_:)``.
    ///
    /// - Parameters:
    ///   - baseURL: The server's base URL.
    ///   - model: The model name the server expects.
    ///   - apiKeyEnvironmentVariable: The environment variable holding the API key; `nil`, or an unset or empty
    ///     variable, sends no `Authorization` header.
    ///   - dimension: The expected vector length, if known; answers of another length are rejected.
    ///   - batchSize: Texts per request.
    ///   - timeout: Seconds per request.
    ///   - maximumRetries: Retries for retryable failures.
    ///   - initialBackoff: The first retry delay in seconds.
    /// - Precondition: `batchSize >= 1`, `timeout > 0`, `maximumRetries >= 0`, `initialBackoff >= 0`, and
    ///   `dimension`, when given, is at least 1.
    public init(
        baseURL: URL, model: String, apiKeyEnvironmentVariable: String? = "OPENAI_API_KEY", dimension: Int? = nil,
        batchSize: Int = 64, timeout: Double = 60, maximumRetries: Int = 4, initialBackoff: Double = 0.5
    ) {
        // The transport checks the timeout and retry settings.
        precondition(batchSize >= 1, "OpenAICompatibleEmbedder: batch size must be at least 1")
        precondition(dimension.map { $0 >= 1 } ?? true, "OpenAICompatibleEmbedder: dimension must be at least 1")
        self.baseURL = baseURL
        self.model = model
        self.batchSize = batchSize
        transport = OpenAICompatibleTransport(
            baseURL: baseURL, path: "embeddings", apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
            timeout: timeout, maximumRetries: maximumRetries, initialBackoff: initialBackoff)
        learnedDimension = Mutex(dimension)
    }

    /// Whether an API key was found in the environment (the key itself is never exposed).
    public var hasAPIKey: Bool { transport.hasAPIKey }

    /// The vector length, asking the server with a one-word request when it isn't known yet.
    ///
    /// - Throws: What ``embed(_:)`` throws.
    public func detectDimension() throws(EmbeddingError) -> Int {
        if let known = learnedDimension.withLock({ $0 }) { return known }
        return try embed(["dimension probe"]).first?.count ?? 0
    }

    public func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[start..<min(start + batchSize, texts.count)])
            let answer = transport.postSynchronously(
                try requestBody(batch), maximumAnswerBytes: Self.maximumAnswerBytes(texts: batch.count))
            vectors += try self.vectors(from: answer, inputCount: batch.count)
        }
        return vectors
    }

    public func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[start..<min(start + batchSize, texts.count)])
            let answer = await transport.post(
                try requestBody(batch), maximumAnswerBytes: Self.maximumAnswerBytes(texts: batch.count))
            vectors += try self.vectors(from: answer, inputCount: batch.count)
        }
        return vectors
    }

    /// The most bytes an answer for `texts` texts may hold: a vector of the largest dimension a store takes (4,096)
    /// per text, each number written in up to 32 characters, and the answer's envelope.
    package static func maximumAnswerBytes(texts: Int) -> Int { 65_536 + texts * 4_096 * 32 }

    private func requestBody(_ batch: [String]) throws(EmbeddingError) -> Data {
        let body: [String: Any] = ["model": model, "input": batch, "encoding_format": "float"]
        do { return try JSONSerialization.data(withJSONObject: body) } catch {
            throw EmbeddingError.encodingFailed(what: "The request body", reason: error.localizedDescription)
        }
    }

    /// The vectors of one answer (the transport retried what could be retried), checked against the inputs and
    /// the dimension, and L2-normalized.
    private func vectors(from answer: Result<Data, TransportFailure>, inputCount: Int) throws(EmbeddingError)
        -> [[Float]]
    {
        let url = transport.publicEndpoint
        let data: Data
        switch answer {
        case .success(let body): data = body
        case .failure(let failure): throw .server(url: url, reason: failure.reason)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw (.server(url: url, reason: "the answer is not a JSON object (\(data.count) bytes)"))
        }
        guard let items = object["data"] as? [[String: Any]] else {
            throw (.server(url: url, reason: "the answer has no \"data\" array of embeddings"))
        }
        guard items.count == inputCount else {
            throw (.server(url: url, reason: "the answer holds \(items.count) embeddings for \(inputCount) inputs"))
        }
        var vectors = [[Float]](repeating: [], count: inputCount)
        for (position, item) in items.enumerated() {
            let index = (item["index"] as? NSNumber)?.intValue ?? position
            // JSON's true and false arrive as NSNumbers too: a vector of booleans is no embedding.
            guard let numbers = item["embedding"] as? [NSNumber], !numbers.isEmpty,
                !numbers.contains(where: JSONSyntax.isBoolean),
                vectors.indices.contains(index), vectors[index].isEmpty
            else {
                throw
                    (.server(
                        url: url,
                        reason: "embedding \(position) is missing, empty, not a list of "
                            + "numbers, or has a bad or repeated index"))
            }
            vectors[index] = numbers.map(\.floatValue)
            // An embedding model says something about every text: all zeros, or a value no Float holds, is the
            // server's fault, and must not be blamed on the text (a lookup was told to reword its task).
            guard hasCosineDirection(vectors[index]) else {
                throw (.server(url: url, reason: "embedding \(position) is all zeros or holds a non-finite number"))
            }
        }
        let width = vectors[0].count
        guard vectors.allSatisfy({ $0.count == width }) else {
            throw (.server(url: url, reason: "the embeddings in one answer have different lengths"))
        }
        let expected = learnedDimension.withLock { known in
            if known == nil { known = width }
            return known ?? width
        }
        guard width == expected else { throw (.dimensionMismatch(expected: expected, actual: width)) }
        return vectors.map(Self.unitLength)
    }

    private static func unitLength(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }
}

extension OpenAICompatibleEmbedder: CustomStringConvertible {
    /// The endpoint and model; never the API key.
    public var description: String {
        "OpenAICompatibleEmbedder(\(transport.publicEndpoint), model: \(model), API key: \(hasAPIKey ? "set" : "none"))"
    }
}

extension OpenAICompatibleEmbedder: CustomReflectable {
    /// Mirrors the settings without the API key, so `dump` and debuggers don't reveal it.
    public var customMirror: Mirror {
        Mirror(self, children: ["endpoint": endpoint, "model": model, "hasAPIKey": hasAPIKey, "batchSize": batchSize])
    }
}
