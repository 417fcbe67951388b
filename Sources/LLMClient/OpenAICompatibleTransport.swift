import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The HTTP side of OpenAI-compatible clients (chat completions here, embeddings in `Embeddings`): the
/// endpoint, the bearer key read from the environment, and JSON POSTs retried with exponential backoff.
///
/// A 429 or 5xx answer, a timeout or a dropped connection is retried (honouring `Retry-After`, at most 30 s per
/// wait); anything else ends the call with a reason that never contains the key.
package final class OpenAICompatibleTransport: Sendable {
    /// The full endpoint: the base URL + `/v1/<path>` (or `/<path>` when the base URL already ends in `/v1`).
    package let endpoint: URL
    /// Seconds before a request times out.
    package let timeout: Double
    /// Retries after the first attempt for retryable failures.
    package let maximumRetries: Int
    /// The first backoff in seconds; it doubles per retry, up to 30 s.
    package let initialBackoff: Double

    private let apiKey: String?
    private let session: URLSession

    /// Creates a transport; nothing is sent until the first POST.
    ///
    /// - Parameters:
    ///   - baseURL: The server's base URL, e.g. `http://127.0.0.1:8080` or `https://api.openai.com/v1`.
    ///   - path: The endpoint below `/v1`, e.g. `embeddings` or `chat/completions`.
    ///   - apiKeyEnvironmentVariable: The variable holding the API key; `nil`, unset or empty sends no key.
    package init(
        baseURL: URL, path: String, apiKeyEnvironmentVariable: String?, timeout: Double, maximumRetries: Int,
        initialBackoff: Double
    ) {
        let base = baseURL.absoluteString
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        endpoint = URL(string: trimmed + (trimmed.hasSuffix("/v1") ? "/" : "/v1/") + path) ?? baseURL
        self.timeout = timeout
        self.maximumRetries = maximumRetries
        self.initialBackoff = initialBackoff
        apiKey = apiKeyEnvironmentVariable.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap {
            $0.isEmpty ? nil : $0
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Whether an API key was found in the environment (the key itself is never exposed).
    package var hasAPIKey: Bool { apiKey != nil }

    /// What one attempt came to.
    package enum Attempt {
        /// A 2xx answer's body.
        case answer(Data)
        /// Retry after this many seconds.
        case retry(after: Double)
        /// Give up; the reason names the HTTP status and the server's message, never the key.
        case failed(reason: String)
    }

    /// A JSON POST request to the endpoint with the bearer key, if any.
    package func request(body: Data) -> URLRequest {
        var request = URLRequest(url: endpoint, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer " + apiKey, forHTTPHeaderField: "Authorization") }
        request.httpBody = body
        return request
    }

    /// POSTs `body` and returns the 2xx answer's body, retrying retryable failures; the error string is the reason.
    package func post(_ body: Data) async -> Result<Data, TransportFailure> {
        let request = request(body: body)
        var attempt = 0
        while true {
            let answer: Result<(Data, URLResponse), any Error>
            do { answer = .success(try await session.data(for: request)) } catch { answer = .failure(error) }
            switch classify(answer, attempt: attempt) {
            case .answer(let data): return .success(data)
            case .failed(let reason): return .failure(TransportFailure(reason: reason))
            case .retry(let delay):
                do { try await Task.sleep(for: .seconds(delay)) } catch {
                    return .failure(TransportFailure(reason: "cancelled"))
                }
                attempt += 1
            }
        }
    }

    /// Like ``post(_:)``, blocking the calling thread (for synchronous APIs).
    package func postSynchronously(_ body: Data) -> Result<Data, TransportFailure> {
        let request = request(body: body)
        var attempt = 0
        while true {
            switch classify(send(request), attempt: attempt) {
            case .answer(let data): return .success(data)
            case .failed(let reason): return .failure(TransportFailure(reason: reason))
            case .retry(let delay):
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
            }
        }
    }

    /// Sends `request` and waits for the answer.
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

    /// Decides what an attempt's answer means: a body, a retry after some delay, or a final failure.
    package func classify(_ answer: Result<(Data, URLResponse), any Error>, attempt: Int) -> Attempt {
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
                reason: reason + (retryable ? " (after \(attempt + 1) attempts)" : "")
                    + (code == .cannotConnectToHost ? "; is the server running?" : ""))
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
            return .failed(reason: "HTTP \(status): \(Self.serverMessage(data))." + hint)
        }
        return .answer(data)
    }

    /// The `error.message` of an OpenAI-style error body, else a short note on the body, never more than 200
    /// characters.
    package static func serverMessage(_ data: Data) -> String {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let message = (object?["error"] as? [String: Any])?["message"] as? String ?? object?["error"] as? String
        guard let message else { return "\(data.count)-byte body without an error message" }
        return message.count > 200 ? String(message.prefix(200)) + "…" : message
    }
}

/// Why an OpenAI-compatible request failed, as a sentence without the API key.
package struct TransportFailure: Error, Sendable {
    /// The reason.
    package var reason: String
}
