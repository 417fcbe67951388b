import Foundation
import PostgresMemory
import ProceduralMemory
import TestSupport
import Testing

/// The PostgreSQL server the tests of this process use.
///
/// With `MEMP_TEST_POSTGRES_URL` (and `MEMP_TEST_POSTGRES_PASSWORD_FILE` when it needs a password) the tests use
/// that server. Otherwise the first test starts a throwaway server with `scripts/pg_server.sh` (PostgreSQL 18 or, on
/// CPUs without AVX-512, 16, + pgvector, from `scripts/setup.d/50-postgres.sh`), on loopback with a random port and
/// password; the script's watchdog stops it and deletes its data when this process exits. Each test works in its
/// own schema.
enum PostgresTestServer {
    /// The server's location (schema `memp`), or why none could be had.
    static let server: Result<PostgresLocation, ServerUnavailable> = start()

    /// Whether a server is available; when not, the suites are skipped with ``unavailableReason``.
    static var isAvailable: Bool {
        switch server {
        case .success: return true
        case .failure(let reason):
            FileHandle.standardError.write(Data("PostgreSQL tests skipped: \(reason.message)\n".utf8))
            return false
        }
    }

    struct ServerUnavailable: Error {
        var message: String
    }

    private static func start() -> Result<PostgresLocation, ServerUnavailable> {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["MEMP_TEST_POSTGRES_URL"] {
            let password: PostgresLocation.PasswordSource =
                environment["MEMP_TEST_POSTGRES_PASSWORD_FILE"].map { .file($0) } ?? .none
            do {
                return .success(try PostgresLocation(url: url, password: password))
            } catch {
                return .failure(ServerUnavailable(message: "MEMP_TEST_POSTGRES_URL: \(error)"))
            }
        }
        return launch(in: stateDirectory("memp-pg"))
    }

    /// A new path for a server's state, named after `prefix` and this process.
    private static func stateDirectory(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
    }

    /// Starts a throwaway server whose state lives in `state`, with `scripts/pg_server.sh`; returns its location.
    private static func launch(in state: String) -> Result<PostgresLocation, ServerUnavailable> {
        // system(3) rather than Process: this runs inside a lazy static initializer, where Foundation's child
        // monitoring never saw the script exit (the test process hung).
        let status = system("bash '\(script)' start '\(state)' \(getpid()) > '\(state).out' 2> '\(state).err'")
        let facts = (try? String(contentsOfFile: state + ".out", encoding: .utf8)) ?? ""
        let diagnostics = (try? String(contentsOfFile: state + ".err", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: state + ".out")
        try? FileManager.default.removeItem(atPath: state + ".err")
        guard status == 0 else {
            return .failure(
                ServerUnavailable(message: "scripts/pg_server.sh exited with status \(status): \(diagnostics)"))
        }
        var values: [String: String] = [:]
        for line in facts.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let url = values["PG_URL"], let passwordFile = values["PG_PASSWORD_FILE"] else {
            return .failure(ServerUnavailable(message: "scripts/pg_server.sh printed no PG_URL: \(facts)"))
        }
        do {
            return .success(try PostgresLocation(url: url + "?sslmode=disable", password: .file(passwordFile)))
        } catch {
            return .failure(ServerUnavailable(message: "\(error)"))
        }
    }

    /// The script that starts, halts, resumes and stops throwaway servers.
    private static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pg_server.sh").path
    }

    /// A throwaway server of one test's own, which the test halts and resumes, or freezes and thaws, to play an
    /// outage (the shared server serves every other test); it is stopped and deleted when the value goes away.
    final class OwnServer: Sendable {
        /// The server's location (schema `memp`).
        let location: PostgresLocation
        private let state: String

        /// Starts the server, waiting on a thread of its own (``onOwnThread(_:)``).
        init() async throws {
            let state = PostgresTestServer.stateDirectory("memp-pg-own")
            self.state = state
            location = try await onOwnThread { try PostgresTestServer.launch(in: state).get() }
        }

        deinit { _ = run("stop") }

        /// Stops the server as an administrator's fast shutdown does, keeping its data.
        func halt() async throws { try await script("halt") }

        /// Starts the halted server again on the same port.
        func resume() async throws { try await script("resume") }

        /// Stops every process of the server with SIGSTOP: its connections stay open and nothing answers on them,
        /// as after a network cut that loses packets without a reset.
        func freeze() async throws { try await script("freeze") }

        /// Lets the frozen server run again.
        func thaw() async throws { try await script("thaw") }

        /// Runs `scripts/pg_server.sh COMMAND` on a thread of its own.
        private func script(_ command: String) async throws {
            let status = await onOwnThread { self.run(command) }
            guard status == 0 else {
                throw ServerUnavailable(message: "scripts/pg_server.sh \(command) exited with status \(status)")
            }
        }

        private func run(_ command: String) -> Int32 {
            system("bash '\(PostgresTestServer.script)' \(command) '\(state)' > /dev/null 2>&1")
        }
    }

    /// A location on the test server in a fresh schema of its own.
    static func freshLocation() throws -> PostgresLocation {
        var location = try server.get()
        location.schema = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return location
    }

    /// Runs `body` with a backend on a fresh schema, then drops the schema.
    static func withBackend<Result>(
        _ body: (PostgresBackend) async throws -> Result
    ) async throws -> Result {
        let backend = try await PostgresBackend.connect(to: try freshLocation())
        do {
            let result = try await body(backend)
            try await backend.dropSchema()
            backend.close()
            return result
        } catch {
            try? await backend.dropSchema()
            backend.close()
            throw error
        }
    }
}
