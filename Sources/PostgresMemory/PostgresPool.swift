import PostgresNIO
import ProceduralMemory
import Synchronization

/// A PostgreSQL backend's connections: at most `maximum` open at once, idle ones reused, new ones opened directly.
///
/// PostgresNIO's own pool retries a connection that can't be opened for a minute before it fails the operations
/// waiting for it, then retries with a backoff of up to a minute; neither can be configured. Here an operation that
/// finds no idle connection opens one itself, so while the server is down it fails at once with the reason (refused,
/// timed out, login refused), and the first operation after the server is back succeeds. When `maximum`
/// connections are in use, an operation waits, in arrival order, for one to be handed to it (or for the right to
/// open one, when a connection is dropped).
final class PostgresPool: Sendable {
    /// The most connections open at once.
    let maximum: Int
    private let open: @Sendable () async throws(MemoryError) -> PostgresConnection
    private let closedError: MemoryError
    private let state = Mutex(State())

    /// What a lease is given: an idle connection, or the right to open one (a place under `maximum`).
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        case place
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections lent, idle or being opened.
        var count = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Grant, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false

        /// An idle connection still open, or a place for a new one, if either is free; drops idle connections the
        /// server closed (a restart).
        mutating func take(maximum: Int) -> Grant? {
            while let connection = idle.popLast() {
                if !connection.isClosed { return .connection(connection) }
                count -= 1
            }
            guard count < maximum else { return nil }
            count += 1
            return .place
        }
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
    ///   the caller is cancelled before it has a connection.
    func lease() async throws -> PostgresConnection {
        switch try await grant() {
        case .connection(let connection):
            return connection
        case .place:
            do {
                // A cancelled caller passes its place on rather than open a connection only to close it.
                try Task.checkCancellation()
                return try await open()
            } catch {
                passOnPlace()
                throw error
            }
        }
    }

    /// Takes back a connection from ``lease()``: hands it to the first waiter or keeps it idle, or drops it when it
    /// is closed (or the pool is).
    func release(_ connection: PostgresConnection) {
        let dropped = state.withLock { state in
            guard !connection.isClosed, !state.isClosed else { return true }
            if state.waiters.isEmpty {
                state.idle.append(connection)
            } else {
                state.waiters.removeFirst().continuation.resume(returning: .connection(connection))
            }
            return false
        }
        if dropped {
            Self.discard(connection)
            passOnPlace()
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
        for waiter in waiters { waiter.continuation.resume(throwing: closedError) }
    }

    /// What ``lease()`` is given, at once or once a connection is given back or dropped.
    private func grant() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                state.withLock { state in
                    // One critical section decides and enqueues, so that nothing given back in between is missed;
                    // the cancellation handler takes the same lock, so it either finds this waiter or this sees the
                    // cancellation.
                    if state.isClosed {
                        continuation.resume(throwing: closedError)
                    } else if let grant = state.take(maximum: maximum) {
                        continuation.resume(returning: grant)
                    } else if Task.isCancelled {
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

    /// Gives the place of a connection that failed to open or was dropped to the first waiter, or frees it.
    private func passOnPlace() {
        state.withLock { state in
            if !state.isClosed, !state.waiters.isEmpty {
                state.waiters.removeFirst().continuation.resume(returning: .place)
            } else {
                state.count -= 1
            }
        }
    }

    /// Closes `connection`, keeping it until it is closed: PostgresNIO asserts that a connection is closed before it
    /// goes away.
    private static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}
