import Foundation
import Testing

/// Clients that stop sending halfway through a request: they neither hold a connection forever nor keep the server
/// from stopping.
@Suite struct SlowClientTests {
    /// A head announcing a 100-byte body, and 4 bytes of it.
    static let stalledLookup = "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Length: 100\r\n\r\n{\"ta"

    @Test func aConnectionSilentInTheMiddleOfARequestIsClosedAfterTheIdleTimeout() async throws {
        let served = try ServedStore(count: 3, arguments: ["--idle-timeout", "1"])
        defer { served.close() }
        let stalled = try RawConnection(port: try #require(served.server.baseURL.port))
        try stalled.send(Self.stalledLookup)
        // The server closes the connection without an answer: the request never ended.
        #expect(try stalled.readToEnd().isEmpty)
        #expect(try await served.client.send("POST", "/v1/lookup", json: ["task": "make tea"]).status == 200)
    }
}
