import Foundation
import TestSupport
import Testing

/// Starting on a free port and stopping on SIGINT, as on SIGTERM.
@Suite struct ServeLifecycleTests {
    @Test func portZeroPicksAFreePortAndSigintExitsZero() async throws {
        let first = try await ServedStore(count: 3)
        defer { first.close() }
        let second = try await ServeProcess(["--store", first.store])
        defer { second.terminate() }
        // Two servers asked for port 0 listen on two different ports, and both answer.
        #expect(first.server.baseURL.port != second.baseURL.port)
        #expect(first.server.baseURL.port.map { $0 > 0 } == true)
        #expect(try await first.client.send("GET", "/healthz").status == 200)
        #expect(try await HTTPClient(second.baseURL).send("GET", "/v1/stats").status == 200)

        kill(second.process.processIdentifier, SIGINT)
        second.process.waitUntilExit()
        #expect(second.process.terminationReason == .exit && second.process.terminationStatus == 0)
        // The other server is unaffected.
        #expect(try await first.client.send("POST", "/v1/lookup", json: ["task": "make tea"]).status == 200)
    }

    @Test func aPortInUseIsNamedWithItsAddress() async throws {
        let served = try await ServedStore(count: 1)
        defer { served.close() }
        let port = try #require(served.server.baseURL.port)
        let second = try await ChildProcess.memp(["serve", "--store", served.store, "--port", String(port)])
        #expect(second.status == 1)
        #expect(
            second.errors.contains(
                "Can't listen on 127.0.0.1:\(port): Address already in use. Choose another address or port (port 0 "
                    + "picks a free one)."))
        // The first server still answers.
        #expect(try await served.client.send("GET", "/healthz").status == 200)
    }
}
