import Foundation
import Logging
import MCP

/// MCP over standard input and output that answers every request read before the input ends.
///
/// The MCP server answers each request in a task of its own and stops as soon as its input ends, so the answers
/// to requests still running when a client closed its end (`memp serve --mcp-stdio < requests.jsonl`) were lost.
/// This transport ends its stream of messages only once a response has gone out for every request it passed on
/// (or ``answerWait`` has passed, so that a request the server never answers can't keep the process alive).
actor AnsweringStdioTransport: Transport {
    /// How long, once the input has ended, the answers still owed are waited for.
    static let answerWait: Duration = .seconds(60)

    private let stdio = StdioTransport()
    /// How many requests with each ID (`"` and the text for a string ID, the digits for a number) are unanswered.
    private var unanswered: [String: Int] = [:]
    /// Resumed when the last owed answer goes out, or when ``answerWait`` has passed.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    nonisolated var logger: Logger { stdio.logger }

    func connect() async throws { try await stdio.connect() }

    func disconnect() async { await stdio.disconnect() }

    func send(_ data: Data) async throws {
        defer {
            for envelope in Self.envelopes(in: data) where !envelope.isRequest {
                guard let key = envelope.key, let count = unanswered[key] else { continue }
                unanswered[key] = count > 1 ? count - 1 : nil
            }
            if unanswered.isEmpty { releaseWaiters() }
        }
        try await stdio.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, Swift.Error> {
        let (stream, continuation) = AsyncThrowingStream<Data, Swift.Error>.makeStream()
        let task = Task {
            do {
                for try await data in await stdio.receive() {
                    record(data)
                    continuation.yield(data)
                }
                await untilAnswered()
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func record(_ data: Data) {
        for envelope in Self.envelopes(in: data) where envelope.isRequest {
            if let key = envelope.key { unanswered[key, default: 0] += 1 }
        }
    }

    private func untilAnswered() async {
        guard !unanswered.isEmpty else { return }
        let timer = Task {
            try? await Task.sleep(for: Self.answerWait)
            self.releaseWaiters()
        }
        await withCheckedContinuation { waiters.append($0) }
        timer.cancel()
    }

    private func releaseWaiters() {
        let released = waiters
        waiters = []
        for waiter in released { waiter.resume() }
    }

    /// The ID and kind of one JSON-RPC message: a request has a `method` and an `id`, a response only an `id`.
    private struct Envelope: Decodable {
        var key: String?
        var isRequest: Bool

        enum CodingKeys: String, CodingKey { case id, method }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            isRequest = container.contains(.method)
            if let text = try? container.decode(String.self, forKey: .id) {
                key = "\"" + text
            } else if let number = try? container.decode(Int.self, forKey: .id) {
                key = String(number)
            } else {
                key = nil  // a notification, or an ID the server answers with a null or random one
            }
        }
    }

    /// A batch element that is not an object, read as no message.
    private struct BatchElement: Decodable {
        var envelope: Envelope?

        init(from decoder: any Decoder) throws { envelope = try? Envelope(from: decoder) }
    }

    /// The messages of a single message or a batch.
    private static func envelopes(in data: Data) -> [Envelope] {
        let decoder = JSONDecoder()
        if let envelope = try? decoder.decode(Envelope.self, from: data) { return [envelope] }
        return ((try? decoder.decode([BatchElement].self, from: data)) ?? []).compactMap(\.envelope)
    }
}
