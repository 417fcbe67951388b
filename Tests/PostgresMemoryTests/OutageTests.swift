import Foundation
import PostgresNIO
import ProceduralMemory
import TestSupport
import Testing

@testable import PostgresMemory

/// What a PostgreSQL store does when its database stops answering (docs/reliability.md, "PostgreSQL outages").
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct OutageTests {
    /// The vector the outage tests store every trajectory with.
    static let vector: [Float] = [1, 0, 0]

    /// The three trajectories an outage test writes in one phase: `<phase>-0`, `<phase>-1` and `<phase>-2`.
    static func trajectories(_ phase: String) -> [Trajectory] {
        (0..<3).map { Fixtures.trajectory("\(phase)-\($0)", task: "heat mug \($0)", source: "test", labels: [:]) }
    }

    /// The reason of the `databaseUnavailable` error a write of the trajectories of `phase` must fail with.
    ///
    /// `backend` writes while its server is `state` (down, frozen). A write that succeeds is recorded as an issue
    /// and gives nil; another error is thrown.
    static func unavailableReason(
        writing phase: String, with backend: PostgresBackend, whileTheServerIs state: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String? {
        do {
            _ = try await backend.write(Fixtures.batch(adding: trajectories(phase), vector: vector))
            Issue.record("a write succeeded while the server was \(state)", sourceLocation: sourceLocation)
            return nil
        } catch {
            guard case .databaseUnavailable(let reason) = error else { throw error }
            return reason
        }
    }

    /// A transaction that fails once the server has ended its connection (as the server ends every connection when
    /// one of its processes crashes) fails with its error, and the next operation succeeds on a new connection.
    ///
    /// Before, the ROLLBACK sent after the failure was never answered (PostgresNIO drops a statement written to a
    /// closed connection): `memp import` hung forever beside a server whose pgvector crashed it.
    @Test(.hangGuard) func aTransactionThatFailsOnAConnectionTheServerEndedEndsAndTheNextSucceeds() async throws {
        struct Abandoned: Error {}
        try await PostgresTestServer.withBackend { backend in
            let other = try await PostgresBackend.connect(to: backend.location)
            defer { other.close() }
            await #expect(throws: MemoryError.database(reason: "PostgreSQL at \(backend.location): Abandoned()")) {
                try await backend.inTransaction { connection in
                    try await Self.endServerProcess(of: connection, logger: backend.logger, from: other)
                    throw Abandoned()
                }
            }
            #expect(try await backend.storeInfo() == nil)
        }
    }

    /// A statement on a connection the server ended after the previous statement fails at once with
    /// `databaseUnavailable`, in a transaction (finding 138) or outside one, as a lookup's reads are (finding 140):
    /// PostgresNIO drops a statement written to a closed connection, so it used to wait forever.
    @Test(.hangGuard, arguments: [true, false])
    func aStatementOnAConnectionTheServerEndedFailsAtOnce(inTransaction: Bool) async throws {
        try await PostgresTestServer.withBackend { backend in
            let other = try await PostgresBackend.connect(to: backend.location)
            defer { other.close() }
            let endThenRead = { (connection: WatchedConnection) in
                try await Self.endServerProcess(of: connection, logger: backend.logger, from: other)
                // The client has seen the connection end: a statement written now is dropped.
                try? await connection.closeFuture.get()
                return try await PostgresBackend.currentGeneration(connection, logger: backend.logger)
            }
            await #expect(
                throws: MemoryError.databaseUnavailable(
                    reason: "PostgreSQL at \(backend.location): the connection was lost")
            ) {
                inTransaction
                    ? try await backend.inTransaction(endThenRead) : try await backend.withConnection(endThenRead)
            }
            #expect(try await backend.storeInfo() == nil)
        }
    }

    /// Returns once the server process `pid` runs `statement`, asking the server again until it does.
    static func waitUntilRunning(_ statement: String, in pid: Int32, on backend: PostgresBackend) async throws {
        var running = false
        while !running {
            running = try await backend.withConnection { connection in
                var found = false
                for try await count in try await connection.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND state = 'active' AND query = \(statement)",
                    logger: backend.logger
                ).decode(Int64.self) {
                    found = count == 1
                }
                return found
            }
        }
    }

    /// Ends the server process behind `connection` from a connection of `other`, returning once it has ended.
    static func endServerProcess(
        of connection: WatchedConnection, logger: Logger, from other: PostgresBackend
    ) async throws {
        var victim = 0
        for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int.self) {
            victim = pid
        }
        _ = try await other.withConnection { connection in
            // The call returns once the server process has ended.
            try await connection.query("SELECT pg_terminate_backend(\(victim)::integer, 60000)", logger: other.logger)
        }
    }

    /// A transaction whose connection the server ends before its COMMIT is answered may have committed only if it
    /// wrote: a read (a lookup, a snapshot) fails as any of its statements would, not as a commit that "may or may
    /// not have been committed" (hostile run 17, finding 173).
    @Test(.hangGuard, arguments: [true, false])
    func aTransactionCutAtItsCommitIsUnconfirmedOnlyIfItWrites(writes: Bool) async throws {
        try await PostgresTestServer.withBackend { backend in
            let other = try await PostgresBackend.connect(to: backend.location)
            defer { other.close() }
            let reason = "PostgreSQL at \(backend.location): the connection was lost"
            await #expect(
                throws: writes ? MemoryError.commitUnconfirmed(reason: reason) : .databaseUnavailable(reason: reason)
            ) {
                try await backend.inTransaction(writes: writes) { connection in
                    try await Self.endServerProcess(of: connection, logger: backend.logger, from: other)
                    // The client has seen the connection end before the COMMIT is sent.
                    try? await connection.closeFuture.get()
                }
            }
            #expect(try await backend.storeInfo() == nil)
        }
    }

    /// Cancelling an operation closes the connection its query waits on, so the operation ends at once.
    ///
    /// PostgresNIO's queries ignore cancellation, so a lookup of `memp serve` that timed out waited as long as the
    /// server did (forever, for a server stopped with SIGSTOP). The pool opens a new connection for the next one.
    @Test func cancellingAnOperationEndsTheQueryItWaitsOn() async throws {
        try await PostgresTestServer.withBackend { backend in
            let (started, signal) = AsyncStream.makeStream(of: Void.self)
            let operation = Task {
                try await backend.withConnection { connection in
                    signal.yield()
                    // The query returns when the row description arrives; its end comes with the rows.
                    for try await _ in try await connection.query("SELECT pg_sleep(86400)", logger: backend.logger) {}
                }
            }
            for await _ in started { break }
            operation.cancel()
            // Hostile run 17: it was "Database unavailable … retry when it is back", though the server was up.
            await #expect(
                throws: MemoryError.cancelled(
                    reason: "PostgreSQL at \(backend.location): the operation's connection was closed")
            ) {
                try await operation.value
            }
            let info = try await backend.storeInfo()
            #expect(info == nil)
        }
    }

    /// At every limit of open files, from none free to plenty, a connect succeeds, or fails saying that the process
    /// is out of files, never that the database is unavailable.
    ///
    /// Hostile run 17: a process out of file descriptors was told "Database unavailable … retry when it is back",
    /// where a SQLite store says to raise the limit.
    @Test func aProcessOutOfFileDescriptorsIsToldSoNotThatTheDatabaseIsDown() async throws {
        let location = try PostgresTestServer.freshLocation()
        await #expect(processExitsWith: .success) { [location = location as PostgresLocation] in
            // The event loops start at the first connection, with the descriptors they need (a debug build of NIO
            // traps when it can't make them): as in a process that has used its store before running short.
            guard let warm = try? await PostgresBackend.connect(to: location) else { exit(5) }
            warm.close()
            // The password read now, so that the connection's socket is the one descriptor too many.
            var location = location
            if case .file(let path) = location.password {
                guard let password = try? String(contentsOfFile: path, encoding: .utf8) else { exit(6) }
                setenv("MEMP_TEST_PASSWORD", password.trimmingCharacters(in: .newlines), 1)
                location.password = .environment("MEMP_TEST_PASSWORD")
            }
            var outOfFiles = 0
            let (_, successes) = await attemptUnderEachFileLimit(spares: 24) { _ in
                let backend = try await PostgresBackend.connect(to: location)
                _ = try await backend.storeInfo()
                backend.close()
            } afterFailure: { _, error in
                if case MemoryError.databaseUnavailable? = error as? MemoryError { exit(3) }
                if "\(error)".contains("as many files open as its limit allows") { outOfFiles += 1 }
            }
            exit(outOfFiles > 0 && successes > 0 ? 0 : 4)
        }
    }

    /// An administrator's shutdown (`pg_ctl stop -m fast`, SQLSTATE 57P01) ends a running query with
    /// `databaseUnavailable`, which the service answers with 503, not 500; the server's own refusals stay
    /// `database`.
    @Test func aServerShuttingDownIsUnavailable() async throws {
        try await PostgresTestServer.withBackend { backend in
            await #expect(
                throws: MemoryError.database(
                    reason: "PostgreSQL at \(backend.location): relation \"no_such_table\" does not exist "
                        + "(SQLSTATE 42P01)")
            ) {
                try await backend.withConnection { connection in
                    try await connection.query("SELECT * FROM no_such_table", logger: backend.logger)
                }
            }
            // A backend of its own: a pool may lend the terminated connection once more before it notices.
            let victim = try await PostgresBackend.connect(to: backend.location)
            defer { victim.close() }
            let (pid, signal) = AsyncStream.makeStream(of: Int32.self)
            let operation = Task {
                try await victim.withConnection { connection in
                    for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: victim.logger)
                        .decode(Int32.self)
                    {
                        signal.yield(pid)
                    }
                    // The server holds the query's answer until the sleep ends; the query's end comes with the rows.
                    for try await _ in try await connection.query("SELECT pg_sleep(86400)", logger: victim.logger) {}
                }
            }
            var backendPID: Int32 = 0
            for await value in pid {
                backendPID = value
                break
            }
            // Ended before it has the query, the server process would take the query's connection with it, and the
            // query would be sent on a closed connection ("the connection was lost").
            try await Self.waitUntilRunning("SELECT pg_sleep(86400)", in: backendPID, on: backend)
            // pg_terminate_backend sends the backend what a fast shutdown sends every backend.
            _ = try await backend.withConnection { connection in
                try await connection.query("SELECT pg_terminate_backend(\(backendPID))", logger: backend.logger)
            }
            await #expect(
                throws: MemoryError.databaseUnavailable(
                    reason: "PostgreSQL at \(backend.location): terminating connection due to administrator command "
                        + "(SQLSTATE 57P01)")
            ) {
                try await operation.value
            }
        }
    }

    /// While the server is down, a write fails at once with `databaseUnavailable` and the network's reason, and
    /// none of it is stored; the first write after the server is back succeeds, and every write acknowledged
    /// before the outage is still there.
    ///
    /// PostgresNIO's pool made the first write wait a minute for "no connection could be opened", then failed
    /// writes for up to a minute after the server was back.
    @Test func writesFailAtOnceDuringAnOutageAndSucceedRightAfterIt() async throws {
        let server = try await PostgresTestServer.OwnServer()
        let location = server.location
        let backend = try await PostgresBackend.connect(to: location)
        defer { backend.close() }
        try await Fixtures.seed(backend, with: Self.trajectories("before"), vector: Self.vector)
        // Opened just now, its pool holds no connection the shutdown closes: its write must open one.
        let writer = try await PostgresBackend.connect(to: location)
        defer { writer.close() }
        try await server.halt()
        if let reason = try await Self.unavailableReason(writing: "during", with: writer, whileTheServerIs: "down") {
            #expect(reason.hasPrefix("PostgreSQL at \(location): can't connect to \(location.host):\(location.port): "))
            #expect(reason.contains("Connection refused"), "\(reason)")
        }
        try await server.resume()
        _ = try await writer.write(Fixtures.batch(adding: Self.trajectories("after"), vector: Self.vector))
        // The other backend's connection was closed by the shutdown; it opens a new one.
        let statistics = try await backend.statistics()
        #expect(statistics.trajectories == 6 && statistics.memories == 6)
        for id in ["before-0", "before-1", "before-2", "after-0", "after-1", "after-2"] {
            #expect(try await backend.trajectory(id: id) != nil, "\(id)")
        }
        for id in ["during-0", "during-1", "during-2"] {
            #expect(try await backend.trajectory(id: id) == nil, "\(id)")
        }
    }

    /// A write that finds its pooled connection silent (the server frozen with SIGSTOP: the connection stays open and
    /// nothing answers, as after a network cut) fails with `databaseUnavailable` once the check and a new
    /// connection's opening have timed out, and stores nothing; once the server answers again, the next write
    /// succeeds.
    ///
    /// Before the pool checked idle connections, the write waited on the silent one until the server came back (and
    /// on a real cut until the operating system gave up); the time limit turns that wait into a failure.
    @Test(.hangGuard) func aWriteOnAConnectionThatStoppedAnsweringFailsAndStoresNothing() async throws {
        let server = try await PostgresTestServer.OwnServer()
        // Seeding and the writes after the thaw use the default waits, so a loaded machine can't fail them.
        let backend = try await PostgresBackend.connect(to: server.location)
        defer { backend.close() }
        try await Fixtures.seed(backend, with: Self.trajectories("before"), vector: Self.vector)
        // The write during the freeze goes through a pool whose every idle connection is checked, with short waits,
        // so the test doesn't wait out the defaults; its one read before the freeze leaves it a pooled connection
        // (a new connection is lent unchecked).
        let timing = PostgresPool.Timing(
            connectTimeout: .seconds(1), checkAfter: .zero, checkTimeout: .milliseconds(300), idleLimit: .seconds(3600))
        let hurried = try await PostgresBackend.connect(to: server.location, timing: timing)
        defer { hurried.close() }
        #expect(try await hurried.statistics().trajectories == 3)
        try await server.freeze()
        if let reason = try await Self.unavailableReason(writing: "during", with: hurried, whileTheServerIs: "frozen") {
            let location = server.location
            #expect(reason.hasPrefix("PostgreSQL at \(location): can't connect to \(location.host):\(location.port)"))
        }
        try await server.thaw()
        _ = try await backend.write(Fixtures.batch(adding: Self.trajectories("after"), vector: Self.vector))
        let statistics = try await backend.statistics()
        #expect(statistics.trajectories == 6 && statistics.memories == 6)
        for id in ["during-0", "during-1", "during-2"] {
            #expect(try await backend.trajectory(id: id) == nil, "\(id)")
        }
    }

    /// A connection idle past the idle limit is closed and another opened; one checked before it is lent is lent
    /// again when it answers.
    @Test func connectionsIdlePastTheLimitAreReplacedAndCheckedOnesReused() async throws {
        let location = try PostgresTestServer.freshLocation()
        func backendPIDs(_ timing: PostgresPool.Timing) async throws -> (Int32, Int32) {
            let backend = try await PostgresBackend.connect(to: location, timing: timing)
            defer { backend.close() }
            func pid() async throws -> Int32 {
                try await backend.withConnection { connection in
                    var pid: Int32 = 0
                    for try await value in try await connection.query("SELECT pg_backend_pid()", logger: backend.logger)
                        .decode(Int32.self)
                    {
                        pid = value
                    }
                    return pid
                }
            }
            return (try await pid(), try await pid())
        }
        let expired = try await backendPIDs(PostgresPool.Timing(idleLimit: .zero))
        #expect(expired.0 != expired.1)
        let checked = try await backendPIDs(PostgresPool.Timing(checkAfter: .zero))
        #expect(checked.0 == checked.1)
        let backend = try await PostgresBackend.connect(to: location)
        try await backend.dropSchema()
        backend.close()
    }
}
