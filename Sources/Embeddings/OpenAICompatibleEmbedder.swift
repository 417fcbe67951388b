import Foundation
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
    public let timeout: Double
    /// Retries after the first attempt for 429, 5xx, timeouts and dropped connections.
    public let maximumRetries: Int
    /// The first backoff in seconds; it doubles per retry, up to 30 s.
    public let initialBackoff: Double
    /// The full endpoint: `baseURL` + `/v1/embeddings` (or `/embeddings` when `baseURL` already ends in `/v1`).
    public let endpoint: URL

    private let apiKey: String?
    private let session: URLSession
    private let learnedDimension: Mutex<Int?>

    public var modelIdentifier: String { "openai:\(model)" }

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
        precondition(
            batchSize >= 1 && timeout > 0 && maximumRetries >= 0 && initialBackoff >= 0,
            "OpenAICompatibleEmbedder: invalid batch size, timeout or retry settings")
        precondition(dimension.map { $0 >= 1 } ?? true, "OpenAICompatibleEmbedder: dimension must be at least 1")
        self.baseURL = baseURL
        self.model = model
        self.batchSize = batchSize
        self.timeout = timeout
        self.maximumRetries = maximumRetries
        self.initialBackoff = initialBackoff
        let trimmed =
            baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        endpoint = URL(string: trimmed + (trimmed.hasSuffix("/v1") ? "/embeddings" : "/v1/embeddings")) ?? baseURL
        apiKey = apiKeyEnvironmentVariable.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap {
            $0.isEmpty ? nil : $0
        }
        learnedDimension = Mutex(dimension)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Whether an API key was found in the environment (the key itself is never exposed).
    public var hasAPIKey: Bool { apiKey != nil }

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
            let request = try makeRequest(batch)
            var attempt = 0
            while true {
                switch interpret(send(request), inputCount: batch.count, attempt: attempt) {
                case .vectors(let batchVectors):
                    vectors += batchVectors
                case .failed(let error):
                    throw error
                case .retry(let delay):
                    Thread.sleep(forTimeInterval: delay)
                    attempt += 1
                    continue
                }
                break
            }
        }
        return vectors
    }

    public func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[start..<min(start + batchSize, texts.count)])
            let request = try makeRequest(batch)
            var attempt = 0
            while true {
                let answer: Result<(Data, URLResponse), any Error>
                do { answer = .success(try await session.data(for: request)) } catch { answer = .failure(error) }
                switch interpret(answer, inputCount: batch.count, attempt: attempt) {
                case .vectors(let batchVectors):
                    vectors += batchVectors
                case .failed(let error):
                    throw error
                case .retry(let delay):
                    do { try await Task.sleep(for: .seconds(delay)) } catch {
                        throw EmbeddingError.server(url: endpoint.absoluteString, reason: "cancelled")
                    }
                    attempt += 1
                    continue
                }
                break
            }
        }
        return vectors
    }

    private enum Outcome {
        case vectors([[Float]])
        case retry(after: Double)
        case failed(EmbeddingError)
    }

    private func makeRequest(_ batch: [String]) throws(EmbeddingError) -> URLRequest {
        var request = URLRequest(url: endpoint, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer " + apiKey, forHTTPHeaderField: "Authorization") }
        let body: [String: Any] = ["model": model, "input": batch, "encoding_format": "float"]
        do { request.httpBody = try JSONSerialization.data(withJSONObject: body) } catch {
            throw EmbeddingError.invalidArgument("A text could not be encoded as JSON: \(error.localizedDescription)")
        }
        return request
    }

    /// Sends `request` and waits for the answer (for the synchronous path).
    private func send(_ request: URLRequest) -> Result<(Data, URLResponse), any Error> {
        let answer = Mutex<Result<(Data, URLResponse), any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<(Data, URLResponse), any Error> =
                if let data, let response { .success((data, response)) } else {
                    .failure(error ?? URLError(.badServerResponse))
                }
            answer.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        done.wait()
        return answer.withLock { $0 } ?? .failure(URLError(.unknown))
    }

    /// Decides what an answer means: vectors, a retry after some delay, or a final error.
    private func interpret(_ answer: Result<(Data, URLResponse), any Error>, inputCount: Int, attempt: Int) -> Outcome {
        let url = endpoint.absoluteString
        let canRetry = attempt < maximumRetries
        let backoff = min(initialBackoff * Double(1 << min(attempt, 16)), 30)
        let (data, response): (Data, URLResponse)
        switch answer {
        case .failure(let error):
            let code = (error as? URLError)?.code
            let retryable = code == .timedOut || code == .networkConnectionLost
            if retryable && canRetry { return .retry(after: backoff) }
            let reason = code == .timedOut ? "no answer within \(timeout) s" : error.localizedDescription
            return .failed(
                .server(
                    url: url,
                    reason: reason + (retryable ? " (after \(attempt + 1) attempts)" : "")
                        + (code == .cannotConnectToHost ? "; is the server running?" : "")))
        case .success(let success): (data, response) = success
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            if status == 429 || status >= 500, canRetry {
                let retryAfter = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap(
                    Double.init)
                return .retry(after: min(max(retryAfter ?? backoff, backoff), 30))
            }
            let hint =
                switch status {
                case 401, 403: " Check the API key variable."
                case 404: " Check the base URL (the endpoint is \(url))."
                case 429, 500...: " Gave up after \(attempt + 1) attempts."
                default: ""
                }
            return .failed(.server(url: url, reason: "HTTP \(status): \(Self.serverMessage(data))." + hint))
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failed(.server(url: url, reason: "the answer is not a JSON object (\(data.count) bytes)"))
        }
        guard let items = object["data"] as? [[String: Any]] else {
            return .failed(.server(url: url, reason: "the answer has no \"data\" array of embeddings"))
        }
        guard items.count == inputCount else {
            return .failed(
                .server(url: url, reason: "the answer holds \(items.count) embeddings for \(inputCount) inputs"))
        }
        var vectors = [[Float]](repeating: [], count: inputCount)
        for (position, item) in items.enumerated() {
            let index = (item["index"] as? NSNumber)?.intValue ?? position
            guard let numbers = item["embedding"] as? [NSNumber], !numbers.isEmpty, vectors.indices.contains(index),
                vectors[index].isEmpty
            else {
                return .failed(
                    .server(
                        url: url,
                        reason: "embedding \(position) is missing, empty, not a list of "
                            + "numbers, or has a bad or repeated index"))
            }
            vectors[index] = numbers.map(\.floatValue)
        }
        let width = vectors[0].count
        guard vectors.allSatisfy({ $0.count == width }) else {
            return .failed(.server(url: url, reason: "the embeddings in one answer have different lengths"))
        }
        let expected = learnedDimension.withLock { known in
            if known == nil { known = width }
            return known ?? width
        }
        guard width == expected else { return .failed(.dimensionMismatch(expected: expected, actual: width)) }
        return .vectors(vectors.map(Self.unitLength))
    }

    /// The `error.message` of an OpenAI-style error body, else a short note on the body, never more than 200 characters.
    private static func serverMessage(_ data: Data) -> String {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let message = (object?["error"] as? [String: Any])?["message"] as? String ?? object?["error"] as? String
        guard let message else { return "\(data.count)-byte body without an error message" }
        return message.count > 200 ? String(message.prefix(200)) + "…" : message
    }

    private static func unitLength(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }
}

extension OpenAICompatibleEmbedder: CustomStringConvertible {
    /// The endpoint and model; never the API key.
    public var description: String {
        "OpenAICompatibleEmbedder(\(endpoint.absoluteString), model: \(model), API key: \(hasAPIKey ? "set" : "none"))"
    }
}

extension OpenAICompatibleEmbedder: CustomReflectable {
    /// Mirrors the settings without the API key, so `dump` and debuggers don't reveal it.
    public var customMirror: Mirror {
        Mirror(self, children: ["endpoint": endpoint, "model": model, "hasAPIKey": hasAPIKey, "batchSize": batchSize])
    }
}
