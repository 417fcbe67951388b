import Foundation
import TestSupport
import Testing

/// Clients that stop sending halfway through a request: they neither hold a connection forever nor keep the server
/// from stopping.
@Suite struct SlowClientTests {
    /// A head announcing a 100-byte body, and 4 bytes of it.
    static let stalledLookup = "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Length: 100\r\n\r\n{\"ta"
    /// A chunked upload whose first chunk never ends.
    static let stalledUpload =
        "POST /v1/trajectories HTTP/1.1\r\nHost: memp\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"id\""

    @Test func aConnectionSilentInTheMiddleOfARequestIsClosedAfterTheIdleTimeout() async throws {
        let served = try await ServedStore(count: 3, arguments: ["--idle-timeout", "1"])
        defer { served.close() }
        let stalled = try RawConnection(port: try #require(served.server.baseURL.port))
        try stalled.send(Self.stalledLookup)
        // The server closes the connection without an answer: the request never ended.
        #expect(try await stalled.readToEnd().isEmpty)
        #expect(try await served.client.send("POST", "/v1/lookup", json: ["task": "make tea"]).status == 200)
    }

    /// Each byte restarts the idle timeout (a day here), so only the limit on the whole request can end these: before
    /// it, a body sent a byte at a time held its connection for as long as its client liked.
    @Test(.hangGuard)
    func aRequestNotReceivedWholeWithinTheRequestTimeLimitIsAnswered408AndClosed() async throws {
        let served = try await ServedStore(
            count: 3, arguments: ["--idle-timeout", "86400", "--request-timeout", "1"])
        defer { served.close() }
        let port = try #require(served.server.baseURL.port)
        let stalled = try RawConnection(port: port)
        try stalled.send(Self.stalledLookup)
        let dripping = try RawConnection(port: port)
        try dripping.send("POST /v1/trajectories HTTP/1.1\r\nHost: memp\r\nContent-Length: 1000000\r\n\r\n")
        // Hostile run 18: a head sent a byte at a time, or half a head and then nothing, ran until the idle timeout
        // and got no answer; the clock now starts at a request's first byte.
        let drippingHead = try RawConnection(port: port)
        try drippingHead.send("POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nX-Slow: ")
        let stalledHead = try RawConnection(port: port)
        try stalledHead.send("GET /healthz HTTP/1.1\r\nHo")
        // A byte on each for every request another client gets answered, until the server has closed both: the
        // server's own pace, a few hundred bytes within the limit, far from the body's end and the headers' limit.
        let drip = Task {
            var open = [dripping, drippingHead]
            while !open.isEmpty {
                open.removeAll { (try? $0.send("a")) == nil }
                _ = try await served.client.send("GET", "/healthz")
            }
        }
        let expected = HTTPAnswer(
            status: 408, code: "request_timeout",
            message: "The request did not arrive whole within 1 s, the server's limit; the connection is closed. "
                + "Send it at once, or in smaller batches.")
        #expect(HTTPAnswer.all(in: try await stalled.readToEnd()) == [expected])
        #expect(HTTPAnswer.all(in: try await dripping.readToEnd()) == [expected])
        #expect(HTTPAnswer.all(in: try await drippingHead.readToEnd()) == [expected])
        #expect(HTTPAnswer.all(in: try await stalledHead.readToEnd()) == [expected])
        try await drip.value
        // Other clients are served as before, and nothing of the cut upload was stored.
        let stats = try await served.client.send("GET", "/v1/stats")
        #expect((HTTPClient.object(stats.body)["statistics"] as? [String: Any])?["trajectories"] as? Int == 3)
    }

    /// A client that sends `Expect: 100-continue` gets `100 Continue` once its head has arrived, and sends its body
    /// only then, as curl does for bodies over 1 MB.
    ///
    /// Hostile run 20: no 100 came, so such a client waited out a timeout of its own (a second, for curl) or the
    /// server's request time limit, which answered 408.
    @Test(.hangGuard) func aClientExpectingContinueGetsItBeforeItSendsItsBody() async throws {
        let served = try await ServedStore(count: 3)
        defer { served.close() }
        let connection = try RawConnection(port: try #require(served.server.baseURL.port), readGuard: .seconds(30))
        let body = #"{"task": "heat some milk", "k": 1}"#
        try connection.send(
            "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        #expect(String(decoding: try await connection.readAnswer(), as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try connection.send(body)
        #expect(HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) == [200])
        // A request that expects nothing gets no 100.
        try connection.send(
            "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) == [200])
        // Behind a pipelined request, the 100 never overtakes that request's answer (answers keep the order of
        // requests): a 100 written as the head arrived came first, and read as the first request's answer.
        try connection.send(
            "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + "POST /v1/lookup HTTP/1.1\r\nHost: memp\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        #expect(HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) == [200])
        try connection.send(body)
        var last = HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status)
        if last == [100] { last = HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) }
        #expect(last == [200])
    }

    /// An empty line between requests on a kept connection starts no clock: HTTP/1.1 has a server ignore it.
    ///
    /// Hostile run 19: a client that ended a request with an extra CR LF got a 408 it never asked for once the
    /// limit had passed, and its next request found the connection closed.
    @Test(.hangGuard) func anEmptyLineBetweenRequestsStartsNoClock() async throws {
        let served = try await ServedStore(
            count: 3, arguments: ["--idle-timeout", "86400", "--request-timeout", "1"])
        defer { served.close() }
        let connection = try RawConnection(port: try #require(served.server.baseURL.port))
        try connection.send("GET /healthz HTTP/1.1\r\nHost: memp\r\n\r\n")
        #expect(HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) == [200])
        try connection.send("\r\n")
        // The client pauses for two limits, each seen to pass by a half-sent request of its own on another
        // connection, begun after the empty line; before, the empty line's 408 had closed the connection by then.
        for _ in 0..<2 {
            let witness = try RawConnection(port: try #require(served.server.baseURL.port))
            try witness.send("GET /healthz HTTP/1.1\r\nHo")
            #expect(HTTPAnswer.all(in: try await witness.readToEnd()).map(\.code) == ["request_timeout"])
        }
        try connection.send("GET /healthz HTTP/1.1\r\nHost: memp\r\n\r\n")
        #expect(HTTPAnswer.all(in: try await connection.readAnswer()).map(\.status) == [200])
    }

    /// Before, the server waited for the rest of these requests: it never exited (the idle timeout is a day here,
    /// so only shutdown can end them).
    @Test(.hangGuard)
    func sigtermWhileClientsStallInTheMiddleOfRequestsExitsZero() async throws {
        let served = try await ServedStore(count: 3, arguments: ["--idle-timeout", "86400"])
        defer { served.close() }
        let port = try #require(served.server.baseURL.port)
        let stalledLookup = try RawConnection(port: port)
        try stalledLookup.send(Self.stalledLookup)
        let stalledUpload = try RawConnection(port: port)
        try stalledUpload.send(Self.stalledUpload)
        // A request answered on another connection after the stalled ones were sent.
        #expect(try await served.client.send("GET", "/healthz").status == 200)

        #expect(await served.server.stop() == 0)
        #expect(try await stalledLookup.readToEnd().isEmpty)
        #expect(try await stalledUpload.readToEnd().isEmpty)
        // Nothing of the stalled upload was stored.
        let restarted = try await ServeProcess(["--store", served.store])
        defer { restarted.terminate() }
        let stats = HTTPClient.object(try await HTTPClient(restarted.baseURL).send("GET", "/v1/stats").body)
        #expect((stats["statistics"] as? [String: Any])?["trajectories"] as? Int == 3)
    }
}
