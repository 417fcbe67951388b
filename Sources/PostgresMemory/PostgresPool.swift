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
///
/// A connection that went silent while idle (a network cut, a firewall that forgot it, a server that stopped
/// answering) would hold the next query on it until the operating system gives up, which for a write is a quarter
/// of an hour or never. So an idle connection is checked with `SELECT 1` before it is lent when it has been idle
/// longer than ``Timing/checkAfter``, and closed (another opened in its place) when the check gets no answer within
/// ``Timing/checkTimeout``; one idle longer than ``Timing/idleLimit`` is closed rather than lent. The check runs
/// before the operation sends anything, so an operation refused by it wrote nothing.
final class PostgresPool: Sendable {
    /// How long connections may take to open and to answer, and how long they may stay idle.
    ///
    /// The defaults follow established pools: PostgresNIO's 10 s connect timeout and its 60 s idle timeout, and
    /// HikariCP's rule of checking a connection idle longer than 0.5 s, with its 5 s check timeout.
    struct Timing: Sendable {
        /// How long opening a connection (TCP, TLS, login) may take.
        var connectTimeout: Duration = .seconds(10)
        /// A connection idle longer than this is checked before it is lent.
        var checkAfter: Duration = .milliseconds(500)
        /// How long the check waits for the server's answer before the connection is closed.
        var checkTimeout: Duration = .seconds(5)
        /// A connection idle longer than this is closed, not lent.
        var idleLimit: Duration = .seconds(60)
    }

    /// The most connections open at once.
    let maximum: Int
    /// When connections are checked and closed.
    let timing: Timing
    private let open: @Sendable () async throws(MemoryError) -> PostgresConnection
    private let closedError: MemoryError
    private let logger: Logger
    private let state = Mutex(State())

    /// What a lease is given: a connection with how long it has been idle, or the right to open one (a place under
    /// `maximum`).
    private enum Grant: Sendable {
        case connection(WatchedConnection, idle: Duration)
        case place
    }

    private struct State {
        /// Idle connections with the time each was given back, oldest first.
        var idle: [(connection: WatchedConnection, since: ContinuousClock.Instant)] = []
        /// Connections lent, idle or being opened.
        var count = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Grant, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false

        /// The most recently used idle connection still open and idle no longer than `idleLimit`, or a place for a
        /// new one, if either is free; drops (into `dropped`, to be closed) idle connections the server closed (a
        /// restart) or idle longer than `idleLimit`.
        mutating func take(
            maximum: Int, idleLimit: Duration, now: ContinuousClock.Instant, dropped: inout [WatchedConnection]
        ) -> Grant? {
            dropExpired(idleLimit: idleLimit, now: now, into: &dropped)
            while let (connection, since) = idle.popLast() {
                if !connection.isClosed { return .connection(connection, idle: since.duration(to: now)) }
                count -= 1
            }
            guard count < maximum else { return nil }
            count += 1
            return .place
        }

        /// Moves the connections idle longer than `idleLimit` into `dropped`.
        mutating func dropExpired(
            idleLimit: Duration, now: ContinuousClock.Instant, into dropped: inout [WatchedConnection]
        ) {
            let expired = idle.prefix { $0.since.duration(to: now) > idleLimit }.count
            dropped += idle.prefix(expired).map(\.connection)
            idle.removeFirst(expired)
            count -= expired
        }
    }

    /// Creates an empty pool that opens connections with `open`, and refuses leases with `closedError` once closed.
    ///
    /// - Parameter logger: The logger of the checks' queries.
    init(
        maximum: Int, timing: Timing = Timing(), closedError: MemoryError, logger: Logger,
        open: @escaping @Sendable () async throws(MemoryError) -> PostgresConnection
    ) {
        precondition(maximum >= 1, "PostgresPool: maximum must be at least 1 (got \(maximum))")
        self.maximum = maximum
        self.timing = timing
        self.closedError = closedError
        self.logger = logger
        self.open = open
    }

    deinit { close() }

    /// An open connection for the caller alone, until it gives it back with ``release(_:)``.
    ///
    /// A connection idle longer than ``Timing/checkAfter`` is lent only once it has answered a `SELECT 1`; one that
    /// doesn't answer within ``Timing/checkTimeout`` is closed and another opened in its place.
    ///
    /// - Throws: The error of opening a connection; `closedError` once the pool is closed; `CancellationError` when
    ///   the caller is cancelled before it has a connection.
    func lease() async throws -> WatchedConnection {
        switch try await grant() {
        case .connection(let connection, let idle):
            if idle <= timing.checkAfter { return connection }
            if await answers(connection) { return connection }
            Self.discard(connection)
            return try await openInPlace()
        case .place:
            return try await openInPlace()
        }
    }

    /// Takes back a connection from ``lease()``: hands it to the first waiter or keeps it idle, or drops it when it
    /// is closed (or the pool is); closes the idle connections past ``Timing/idleLimit``.
    func release(_ connection: WatchedConnection) {
        let now = ContinuousClock.now
        var expired: [WatchedConnection] = []
        let dropped = state.withLock { state in
            guard !connection.isClosed, !state.isClosed else { return true }
            if state.waiters.isEmpty {
                state.dropExpired(idleLimit: timing.idleLimit, now: now, into: &expired)
                state.idle.append((connection, now))
            } else {
                state.waiters.removeFirst().continuation.resume(returning: .connection(connection, idle: .zero))
            }
            return false
        }
        for connection in expired { Self.discard(connection) }
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
            return (state.idle.map(\.connection), state.waiters)
        }
        for connection in idle { Self.discard(connection) }
        for waiter in waiters { waiter.continuation.resume(throwing: closedError) }
    }

    /// A new connection in a place the caller holds; the place is passed on when it can't be opened.
    private func openInPlace() async throws -> WatchedConnection {
        do {
            // A cancelled caller passes its place on rather than open a connection only to close it.
            try Task.checkCancellation()
            return WatchedConnection(try await open())
        } catch {
            passOnPlace()
            throw error
        }
    }

    /// Whether `connection` answers a `SELECT 1` within ``Timing/checkTimeout``; it is closed when it doesn't.
    private func answers(_ connection: WatchedConnection) async -> Bool {
        // PostgresNIO's queries ignore cancellation: closing the connection is what ends the wait. Whichever of the
        // answer and the timer comes first settles the check, so that a late timer never closes a lent connection.
        let outcome = Settlement()
        let timer = connection.connection.eventLoop.scheduleTask(in: TimeAmount(timing.checkTimeout)) {
            if outcome.settle() { _ = connection.close() as EventLoopFuture<Void> }
        }
        defer { timer.cancel() }
        do {
            for try await _ in try await connection.query("SELECT 1", logger: logger) {}
        } catch {
            return false
        }
        return outcome.settle()
    }

    /// What ``lease()`` is given, at once or once a connection is given back or dropped.
    private func grant() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let now = ContinuousClock.now
        var expired: [WatchedConnection] = []
        defer { for connection in expired { Self.discard(connection) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                state.withLock { state in
                    // One critical section decides and enqueues, so that nothing given back in between is missed;
                    // the cancellation handler takes the same lock, so it either finds this waiter or this sees the
                    // cancellation.
                    if state.isClosed {
                        continuation.resume(throwing: closedError)
                    } else if let grant = state.take(
                        maximum: maximum, idleLimit: timing.idleLimit, now: now, dropped: &expired)
                    {
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
    private static func discard(_ connection: WatchedConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}

/// Whether a wait with two ways to end is over (an answer, or a timer or the connection's close): the first to
/// settle it acts, the other finds it settled.
final class Settlement: Sendable {
    private let isSettled = Mutex(false)

    /// Settles the wait; returns whether this call did (false when it was settled already).
    func settle() -> Bool {
        isSettled.withLock { isSettled in
            defer { isSettled = true }
            return !isSettled
        }
    }
}
