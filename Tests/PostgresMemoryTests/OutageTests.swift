import PostgresNIO
import ProceduralMemory
import Testing

@testable import PostgresMemory

/// What a PostgreSQL store does when its database stops answering (docs/reliability.md, "PostgreSQL outages").
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct OutageTests {
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
            await #expect(
                throws: MemoryError.databaseUnavailable(
                    reason: "PostgreSQL at \(backend.location): the operation was cancelled and its connection closed")
            ) {
                try await operation.value
            }
            let info = try await backend.storeInfo()
            #expect(info == nil)
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
                    // The query returns when the row description arrives; its end comes with the rows.
                    for try await _ in try await connection.query("SELECT pg_sleep(86400)", logger: victim.logger) {}
                }
            }
            var backendPID: Int32 = 0
            for await value in pid {
                backendPID = value
                break
            }
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
}
