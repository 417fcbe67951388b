import PostgresNIO
import ProceduralMemory
import Synchronization

/// A PostgreSQL backend's connections: at most `maximum` open at once, idle ones reused, new ones opened directly.
///
/// PostgresNIO's own pool retries a connection that can't be opened for a minute before it fails the operations
/// waiting for it, then retries with a backoff of up to a minute; neither can be configured. Here an operation that
/// finds no idle connection opens one itself, so while the server is down it fails at once with the reason (refused,
/// timed out, login refused), and the first operation after the server is back succeeds. When `maximum`
/// connections are in use, an operation waits for one to be given back, in arrival order.
final class PostgresPool: Sendable {
    /// The most connections open at once.
    let maximum: Int
    private let open: @Sendable () async throws(MemoryError) -> PostgresConnection
    private let closedError: MemoryError
    private let state = Mutex(State())

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections lent, idle or being opened.
        var count = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false
    }

    /// Creates an empty pool that opens connections with `open`, and refuses leases with `closedError` once closed.
    init(
        maximum: Int, closedError: MemoryError,
        open: @escaping @Sendable () async throws(MemoryError) -> PostgresConnection
    ) {
        precondition(maximum >= 1, "PostgresPool: maximum must be at least 1 (got \(maximum))")
        self.maximum = maximum
        self.closedError = closedError
        self.open = open
    }

    deinit { close() }

    /// An open connection for the caller alone, until it gives it back with ``release(_:)``.
    ///
    /// - Throws: The error of opening a connection; `closedError` once the pool is closed; `CancellationError` when
    ///   the caller is cancelled while waiting for a connection to be given back.
    func lease() async throws -> PostgresConnection {
        while true {
            // A cancelled operation doesn't take a connection only to close it.
            try Task.checkCancellation()
            enum Step {
                case use(PostgresConnection)
                case open
                case wait
                case refuse
            }
            let step = state.withLock { state -> Step in
                guard !state.isClosed else { return .refuse }
                // A connection the server closed while it was idle (a restart) is dropped, not lent.
                while let connection = state.idle.popLast() {
                    if !connection.isClosed { return .use(connection) }
                    state.count -= 1
                }
                guard state.count < maximum else { return .wait }
                state.count += 1
                return .open
            }
            switch step {
            case .use(let connection):
                return connection
            case .open:
                do {
                    return try await open()
                } catch {
                    forget()
                    throw error
                }
            case .wait:
                try await waitForRelease()
            case .refuse:
                throw closedError
            }
        }
    }

    /// Takes back a connection from ``lease()``: keeps it for the next lease, or drops it once it is closed.
    func release(_ connection: PostgresConnection) {
        let keep = state.withLock { state in
            guard !connection.isClosed, !state.isClosed else { return false }
            state.idle.append(connection)
            wakeOne(&state)
            return true
        }
        if !keep {
            Self.discard(connection)
            forget()
        }
    }

    /// Closes the idle connections and refuses further leases; lent connections close when given back.
    func close() {
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.count -= state.idle.count
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for connection in idle { Self.discard(connection) }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Closes `connection`, keeping it until it is closed: PostgresNIO asserts that a connection is closed before it
    /// goes away.
    private static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Counts a connection that failed to open or was dropped as gone, so that a waiter may open another.
    private func forget() {
        state.withLock { state in
            state.count -= 1
            wakeOne(&state)
        }
    }

    private func wakeOne(_ state: inout State) {
        guard !state.waiters.isEmpty else { return }
        state.waiters.removeFirst().continuation.resume()
    }

    /// Returns when a connection was given back or dropped (or the pool closed), for the caller to look again.
    private func waitForRelease() async throws {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock { state in
                    // Checked under the lock the cancellation handler takes: it either sees this waiter or this
                    // sees the cancellation.
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        state.waiters.append((id, continuation))
                    }
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
