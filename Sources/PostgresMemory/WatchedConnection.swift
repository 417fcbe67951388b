import PostgresNIO
import Synchronization

/// A PostgreSQL connection whose statements fail when it closes instead of waiting for an answer that can't come.
///
/// PostgresNIO (1.33.2) drops a statement written to a connection that has just closed (the server ended it, a
/// crashed server process, a network reset): its write to the closed channel fails unseen and the statement's
/// caller waits forever. Every statement the backend sends goes through ``query(_:logger:)``: one sent on a closed
/// connection fails at once with ``ConnectionClosed`` (told to callers as "the connection was lost"). One sent while
/// the connection was open is failed by PostgresNIO when the connection closes, with the server's reason (an
/// administrator's shutdown, SQLSTATE 57P01), except when the close came in the moment between the check and the
/// write: such a statement, still unanswered ``closeGrace`` after the close, fails with ``ConnectionClosed``.
/// One close callback per connection serves every statement (a callback per statement would pile up on a
/// long-lived pooled connection).
final class WatchedConnection: Sendable {
    /// How long after the connection closed a statement sent before may still get PostgresNIO's answer.
    static let closeGrace: TimeAmount = .seconds(10)

    /// The connection itself.
    let connection: PostgresConnection
    private let waiting: Waiting

    /// The statements waiting for their answers.
    private final class Waiting: Sendable {
        private struct State {
            var isOver = false
            var nextID: UInt64 = 0
            var statements: [UInt64: CheckedContinuation<PostgresRowSequence, any Error>] = [:]
        }
        private let state = Mutex(State())

        /// Registers a statement's continuation; returns its number, or `nil` (having failed it) when the connection
        /// is closed.
        func register(
            _ continuation: CheckedContinuation<PostgresRowSequence, any Error>, connectionIsClosed: Bool
        ) -> UInt64? {
            let id: UInt64? = state.withLock { state in
                guard !state.isOver, !connectionIsClosed else { return nil }
                defer { state.nextID += 1 }
                state.statements[state.nextID] = continuation
                return state.nextID
            }
            if id == nil { continuation.resume(throwing: ConnectionClosed()) }
            return id
        }

        /// Ends statement `id` with `result`, unless it was failed already.
        func finish(_ id: UInt64, with result: Result<PostgresRowSequence, any Error>) {
            state.withLock { $0.statements.removeValue(forKey: id) }?.resume(with: result)
        }

        /// Fails every statement still waiting, and every later one at once.
        func failAll() {
            let statements = state.withLock { state in
                state.isOver = true
                defer { state.statements = [:] }
                return state.statements.values
            }
            for statement in statements { statement.resume(throwing: ConnectionClosed()) }
        }
    }

    /// Watches `connection` from now on.
    init(_ connection: PostgresConnection) {
        self.connection = connection
        let waiting = Waiting()
        self.waiting = waiting
        let eventLoop = connection.eventLoop
        connection.closeFuture.whenComplete { _ in
            eventLoop.scheduleTask(in: Self.closeGrace) { waiting.failAll() }
        }
    }

    /// Whether the connection has closed.
    var isClosed: Bool { connection.isClosed }

    /// Completes when the connection has closed.
    var closeFuture: EventLoopFuture<Void> { connection.closeFuture }

    /// Sends `query` and returns its rows once their description arrives.
    ///
    /// - Throws: ``ConnectionClosed`` when the connection is closed, or closed ``closeGrace`` ago with no answer;
    ///   what PostgresNIO throws otherwise. The rows' sequence fails by itself when the connection closes while
    ///   they come.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        let connection = connection
        let waiting = waiting
        return try await withCheckedThrowingContinuation { continuation in
            guard let id = waiting.register(continuation, connectionIsClosed: connection.isClosed) else { return }
            // PostgresNIO's query ignores cancellation; closing the connection (what a cancelled operation does)
            // ends this wait.
            Task {
                do {
                    waiting.finish(id, with: .success(try await connection.query(query, logger: logger)))
                } catch {
                    waiting.finish(id, with: .failure(error))
                }
            }
        }
    }

    /// Closes the connection.
    func close() -> EventLoopFuture<Void> { connection.close() }
}

/// The connection closed before a statement sent on it was answered (``WatchedConnection``).
struct ConnectionClosed: Error {}
