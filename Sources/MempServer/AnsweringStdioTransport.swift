import Foundation
import Logging
import MCP
import RetrievalCore

/// MCP over standard input and output: one JSON-RPC message per line, every request read before the input ends
/// answered.
///
/// The MCP server answers each request in a task of its own and stops as soon as its input ends, so the answers
/// to requests still running when a client closed its end (`memp serve --mcp-stdio < requests.jsonl`) were lost.
/// This transport ends its stream of messages only once a response has gone out for every request it passed on
/// (or no answer has gone out for ``answerWait``, so that a request the server never answers can't keep the
/// process alive; a server still answering a long script is waited for).
///
/// It reads the input itself rather than through the SDK's transport, which rescanned its whole buffer on every
/// 4 KiB read and held a line of any length: a line over ``maximumMessageBytes`` is dropped as it is read and
/// answered with a JSON-RPC parse error (-32700, `id` null), as is a line that is not JSON (with its number and
/// where its syntax breaks).
actor AnsweringStdioTransport: Transport {
    /// How long, once the input has ended and answers are still owed, the server may send none before the owed ones
    /// are given up.
    static let answerWait: Duration = .seconds(60)

    nonisolated let logger = Logger(label: "memp.mcp-stdio")
    /// The longest message read, in bytes.
    let maximumMessageBytes: Int
    private let output = FileHandle.standardOutput
    /// How many requests with each ID (`"` and the text for a string ID, the digits for a number) are unanswered.
    private var unanswered: [String: Int] = [:]
    /// Resumed when the last owed answer goes out, or when no answer has gone out for ``answerWait``.
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// How many messages have been sent, to tell a server still answering from one that stopped.
    private var sent = 0
    /// The key of the `initialize` request whose answer reading waits for, and the waiting reader.
    private var initializeWaiter: (key: String, reader: CheckedContinuation<Void, Never>)?

    /// A transport on this process's standard input and output that reads messages of at most
    /// `maximumMessageBytes` bytes.
    init(maximumMessageBytes: Int) {
        self.maximumMessageBytes = maximumMessageBytes
    }

    func connect() async throws {}

    func disconnect() async {}

    func send(_ data: Data) async throws {
        defer {
            for envelope in Self.envelopes(in: data) where !envelope.isRequest {
                guard let key = envelope.key, let count = unanswered[key] else { continue }
                unanswered[key] = count > 1 ? count - 1 : nil
                if initializeWaiter?.key == key { releaseInitializeWaiter() }
            }
            if unanswered.isEmpty { releaseWaiters() }
        }
        try output.write(contentsOf: data + Data("\n".utf8))
        sent += 1
    }

    func receive() -> AsyncThrowingStream<Data, Swift.Error> {
        let (stream, continuation) = AsyncThrowingStream<Data, Swift.Error>.makeStream()
        let lines = Self.standardInputLines(maximumBytes: maximumMessageBytes)
        let task = Task {
            do {
                for await line in lines {
                    if line.length > maximumMessageBytes {
                        try await send(
                            Self.parseError(
                                "line \(line.number) is \(line.length) bytes; the most read is \(maximumMessageBytes)"))
                    } else if let problem = JSONSyntax.problem(in: line.data) {
                        try await send(Self.parseError("line \(line.number) is not JSON (\(problem))"))
                    } else {
                        let (passed, answers) = JSONRPCScreening.screen(line.data)
                        for answer in answers { try await send(answer.data) }
                        if let passed {
                            record(passed)
                            continuation.yield(passed)
                            // The server answers each request in a task of its own, so of two initialize requests
                            // the later could win, and the first get "already initialized": nothing more is read
                            // until an initialize is answered.
                            for key in Self.envelopes(in: passed).filter(\.isInitialize).compactMap(\.key) {
                                await untilAnswered(key: key)
                            }
                        }
                    }
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

    /// The messages of standard input, read on a thread of their own (a read blocks until input comes).
    private static func standardInputLines(maximumBytes: Int) -> AsyncStream<JSONLinesReader.Line> {
        let (lines, continuation) = AsyncStream<JSONLinesReader.Line>.makeStream()
        Thread.detachNewThread {
            var splitter = JSONLinesReader.Splitter(maximumLineBytes: maximumBytes)
            // One read(2) at a time: FileHandle's reads wait for a full buffer or the end of the input.
            while let chunk = readBytes(from: STDIN_FILENO, upTo: 1 << 16), !chunk.isEmpty {
                for line in splitter.append(chunk) { continuation.yield(line) }
            }
            if let line = splitter.finish() { continuation.yield(line) }
            continuation.finish()
        }
        return lines
    }

    /// A JSON-RPC parse error response (`id` null: the message's ID can't be known).
    private static func parseError(_ detail: String) -> Data {
        JSONRPCScreening.errorResponse(code: -32700, message: "Parse error: \(detail)")
    }

    private func record(_ data: Data) {
        for envelope in Self.envelopes(in: data) where envelope.isRequest {
            if let key = envelope.key { unanswered[key, default: 0] += 1 }
        }
    }

    private func untilAnswered() async {
        guard !unanswered.isEmpty else { return }
        // An absolute deadline cut off a long script the server was still answering (20,000 lookups piped in took
        // 10 minutes in a debug build): only a whole answerWait without any answer gives up.
        let timer = Task {
            var seen = -1
            while !Task.isCancelled && sent != seen {
                seen = sent
                try? await Task.sleep(for: Self.answerWait)
            }
            self.releaseWaiters()
        }
        await withCheckedContinuation { waiters.append($0) }
        timer.cancel()
    }

    /// Waits until the request with `key` is answered, or no answer at all has gone out for ``answerWait``.
    private func untilAnswered(key: String) async {
        guard unanswered[key] != nil else { return }
        let timer = Task {
            var seen = -1
            while !Task.isCancelled && sent != seen {
                seen = sent
                try? await Task.sleep(for: Self.answerWait)
            }
            if !Task.isCancelled { self.releaseInitializeWaiter() }
        }
        await withCheckedContinuation { initializeWaiter = (key, $0) }
        timer.cancel()
    }

    private func releaseInitializeWaiter() {
        let waiter = initializeWaiter
        initializeWaiter = nil
        waiter?.reader.resume()
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
        /// Whether the message is an `initialize` request (it has an ID when its ``key`` is not `nil`).
        var isInitialize: Bool

        enum CodingKeys: String, CodingKey { case id, method }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            isRequest = container.contains(.method)
            isInitialize = (try? container.decode(String.self, forKey: .method)) == "initialize"
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
