import Foundation
import RetrievalCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The HTTP side of OpenAI-compatible clients (chat completions here, embeddings in `Embeddings`): the
/// endpoint, the bearer key read from the environment, and JSON POSTs retried with exponential backoff.
///
/// A 429 or 5xx answer, a timeout or a dropped connection is retried (honouring a finite `Retry-After`, at most
/// 30 s per wait); anything else ends the call with a reason that never contains the key.
///
/// An answer is read only up to the caller's limit and only for `timeout` seconds in all (a server that keeps
/// sending, drips, or sends a compressed bomb is cut off), and redirects are not followed: the key goes only to
/// the endpoint it was configured for, and the answer comes only from there.
package final class OpenAICompatibleTransport: Sendable {
    /// The full endpoint: the base URL + `/v1/<path>` (or `/<path>` when the base URL already ends in `/v1`).
    package let endpoint: URL
    /// Seconds one attempt may take, from sending the request to the answer's last byte.
    package let timeout: Double
    /// The longest a timeout may be, one day: longer ones trap inside FoundationNetworking.
    package static let maximumTimeout: Double = 86_400
    /// Retries after the first attempt for retryable failures.
    package let maximumRetries: Int
    /// The first backoff in seconds; it doubles per retry, up to 30 s.
    package let initialBackoff: Double

    private let apiKey: String?
    private let session: URLSession
    private let exchanges: Exchanges

    /// Creates a transport; nothing is sent until the first POST.
    ///
    /// - Parameters:
    ///   - baseURL: The server's base URL, e.g. `http://127.0.0.1:8080` or `https://api.openai.com/v1`.
    ///   - path: The endpoint below `/v1`, e.g. `embeddings` or `chat/completions`.
    ///   - apiKeyEnvironmentVariable: The variable holding the API key; `nil`, unset or empty sends no key.
    ///   - timeout: Seconds per attempt; more than ``maximumTimeout`` counts as ``maximumTimeout``.
    ///   - maximumRetries: Retries for retryable failures.
    ///   - initialBackoff: The first retry delay in seconds.
    /// - Precondition: `timeout > 0`, `maximumRetries >= 0` and `initialBackoff >= 0`.
    package init(
        baseURL: URL, path: String, apiKeyEnvironmentVariable: String?, timeout: Double, maximumRetries: Int,
        initialBackoff: Double
    ) {
        precondition(
            timeout > 0 && maximumRetries >= 0 && initialBackoff >= 0,
            "OpenAICompatibleTransport: invalid timeout or retry settings")
        endpoint = Self.endpoint(baseURL: baseURL, path: path)
        self.timeout = min(timeout, Self.maximumTimeout)
        self.maximumRetries = maximumRetries
        self.initialBackoff = initialBackoff
        apiKey = apiKeyEnvironmentVariable.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap {
            $0.isEmpty ? nil : $0
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = self.timeout
        exchanges = Exchanges()
        session = URLSession(configuration: configuration, delegate: exchanges, delegateQueue: nil)
    }

    /// The base URL's path followed by `/v1/<path>` (or `/<path>` when it ends in `/v1`), with the base URL's
    /// query and fragment dropped: they would otherwise swallow the suffix (`…/?key=K/v1/chat/completions`).
    static func endpoint(baseURL: URL, path: String) -> URL {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return baseURL }
        var base = components.path
        while base.hasSuffix("/") { base.removeLast() }
        components.path = base + (base.hasSuffix("/v1") ? "/" : "/v1/") + path
        components.query = nil
        components.fragment = nil
        return components.url ?? baseURL
    }

    /// The endpoint without the user name, password, query or fragment a base URL may carry: what provenance and
    /// messages may show.
    package var publicEndpoint: String {
        guard var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else {
            return endpoint.absoluteString
        }
        components.user = nil
        components.password = nil
        return components.url?.absoluteString ?? endpoint.absoluteString
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
    ///
    /// Cancelling the calling task ends the attempt under way at once (a server's lookup timeout waits for it).
    ///
    /// - Parameter maximumAnswerBytes: The most an answer's body may hold (after decompression); a larger one is
    ///   cut off as it arrives and fails the call.
    package func post(_ body: Data, maximumAnswerBytes: Int) async -> Result<Data, TransportFailure> {
        let request = request(body: body)
        var attempt = 0
        while true {
            let task = session.dataTask(with: request)
            let exchanges = exchanges
            let answer = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    start(task, limit: maximumAnswerBytes) { continuation.resume(returning: $0) }
                    // Cancelled before the attempt was registered: the handler below found nothing to end.
                    if Task.isCancelled, exchanges.fail(task.taskIdentifier, with: CancellationError()) {
                        task.cancel()
                    }
                }
            } onCancel: {
                if exchanges.fail(task.taskIdentifier, with: CancellationError()) { task.cancel() }
            }
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

    /// Like ``post(_:maximumAnswerBytes:)``, blocking the calling thread (for synchronous APIs).
    package func postSynchronously(_ body: Data, maximumAnswerBytes: Int) -> Result<Data, TransportFailure> {
        let request = request(body: body)
        var attempt = 0
        while true {
            switch classify(send(request, limit: maximumAnswerBytes), attempt: attempt) {
            case .answer(let data): return .success(data)
            case .failed(let reason): return .failure(TransportFailure(reason: reason))
            case .retry(let delay):
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
            }
        }
    }

    /// Sends `request` and waits for the answer.
    private func send(_ request: URLRequest, limit: Int) -> Result<(Data, URLResponse), any Error> {
        let answer = Mutex<Result<(Data, URLResponse), any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        start(session.dataTask(with: request), limit: limit) { result in
            answer.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0 } ?? .failure(URLError(.unknown))
    }

    /// Starts one attempt, `task`; `finish` gets its outcome once: the answer, the session's error, a timed-out error
    /// when the whole attempt took longer than ``timeout``, or ``AnswerTooLarge``.
    private func start(
        _ task: URLSessionDataTask, limit: Int,
        finish: @escaping @Sendable (Result<(Data, URLResponse), any Error>) -> Void
    ) {
        let identifier = task.taskIdentifier
        exchanges.register(identifier, limit: limit, finish: finish)
        let exchanges = exchanges
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak task] in
            // The idle timeout of the session does not end an answer that keeps coming: this does.
            if exchanges.fail(identifier, with: URLError(.timedOut)) { task?.cancel() }
        }
        task.resume()
    }

    /// Decides what an attempt's answer means: a body, a retry after some delay, or a final failure.
    package func classify(_ answer: Result<(Data, URLResponse), any Error>, attempt: Int) -> Attempt {
        let url = endpoint.absoluteString
        let canRetry = attempt < maximumRetries
        let backoff = min(initialBackoff * Double(1 << min(attempt, 16)), 30)
        let (data, response): (Data, URLResponse)
        switch answer {
        case .failure(let error):
            if let large = error as? AnswerTooLarge {
                return .failed(reason: "the answer is larger than \(large.limit) bytes; it was cut off")
            }
            if error is CancellationError { return .failed(reason: "cancelled") }
            let code = (error as? URLError)?.code
            let retryable = code == .timedOut || code == .networkConnectionLost
            if retryable && canRetry { return .retry(after: backoff) }
            let reason = code == .timedOut ? "no answer within \(timeout) s" : error.localizedDescription
            return .failed(
                reason: reason + (retryable ? " (after \(Self.attempts(attempt + 1)))" : "")
                    + (code == .cannotConnectToHost ? "; is the server running?" : ""))
        case .success(let success): (data, response) = success
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let header = { (name: String) in (response as? HTTPURLResponse)?.value(forHTTPHeaderField: name) }
            if status == 429 || status >= 500, canRetry {
                // A Retry-After that is no finite, non-negative number of seconds (`nan`, `-5`, a date) is ignored:
                // NaN would pass min and max and trap the sleep.
                let retryAfter = header("Retry-After").flatMap(Double.init).flatMap {
                    $0.isFinite && $0 >= 0 ? $0 : nil
                }
                return .retry(after: min(max(retryAfter ?? backoff, backoff), 30))
            }
            let hint =
                switch status {
                case 300..<400:
                    " The server redirected to \(printableText(header("Location") ?? "nowhere")); redirects are not "
                        + "followed (the API key goes only to the configured server): give the final URL instead."
                case 401, 403: " Check the API key variable."
                case 404: " Check the base URL (the endpoint is \(url))."
                case 429, 500...: " Gave up after \(Self.attempts(attempt + 1))."
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
        return printableText(message.count > 200 ? String(message.prefix(200)) + "…" : message)
    }

    /// "1 attempt", "3 attempts".
    private static func attempts(_ count: Int) -> String { count == 1 ? "1 attempt" : "\(count) attempts" }
}

/// Why an attempt was cut off: its answer grew past the caller's limit.
struct AnswerTooLarge: Error {
    let limit: Int
}

/// The session's delegate: collects each attempt's answer up to its limit, refuses redirects, and finishes each
/// attempt exactly once (on completion, or earlier when it fails over its limit or its deadline).
private final class Exchanges: NSObject, URLSessionDataDelegate, @unchecked Sendable {  // state behind a Mutex
    private struct Exchange {
        var limit: Int
        var data = Data()
        var response: URLResponse?
        var finish: @Sendable (Result<(Data, URLResponse), any Error>) -> Void
    }

    private let state = Mutex<[Int: Exchange]>([:])

    func register(
        _ task: Int, limit: Int, finish: @escaping @Sendable (Result<(Data, URLResponse), any Error>) -> Void
    ) {
        state.withLock { $0[task] = Exchange(limit: limit, finish: finish) }
    }

    /// Finishes `task` with `error` unless it finished already; says whether it did (the caller then cancels it).
    @discardableResult
    func fail(_ task: Int, with error: any Error) -> Bool {
        guard let exchange = state.withLock({ $0.removeValue(forKey: task) }) else { return false }
        exchange.finish(.failure(error))
        return true
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        state.withLock { $0[dataTask.taskIdentifier]?.response = response }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let limit = state.withLock { (exchanges) -> Int? in
            guard var exchange = exchanges[dataTask.taskIdentifier] else { return nil }
            guard exchange.data.count + data.count <= exchange.limit else { return exchange.limit }
            exchange.data.append(data)
            exchanges[dataTask.taskIdentifier] = exchange
            return nil
        }
        if let limit, fail(dataTask.taskIdentifier, with: AnswerTooLarge(limit: limit)) { dataTask.cancel() }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)  // the 3xx answer itself completes the task, and says where it pointed
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = state.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if let error {
            exchange.finish(.failure(error))
        } else if let response = exchange.response ?? task.response {
            exchange.finish(.success((exchange.data, response)))
        } else {
            exchange.finish(.failure(URLError(.badServerResponse)))
        }
    }
}

/// Why an OpenAI-compatible request failed, as a sentence without the API key.
package struct TransportFailure: Error, Sendable {
    /// The reason.
    package var reason: String
}
