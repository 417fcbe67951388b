import Foundation
import Synchronization
import TestSupport
import Testing

/// Several clients at once, several stores, and shutdown in the middle of writes.
@Suite struct ServeConcurrencyTests {
    @Test func storesUnderARootAreHardPartitions() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("stores")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Both stores hold the same tasks under different IDs: only a partition keeps them apart.
        try await StoreFixture.make(at: root + "/alpha", count: 20, prefix: "alpha-")
        try await StoreFixture.make(at: root + "/beta", count: 20, prefix: "beta-")
        let server = try await ServeProcess(["--store-root", root])
        defer { server.terminate() }
        let client = HTTPClient(server.baseURL)

        let stores = HTTPClient.object(try await client.send("GET", "/v1/stores").body)["stores"] as? [String]
        #expect(stores == ["alpha", "beta"])
        for (store, other) in [("alpha", "beta-"), ("beta", "alpha-")] {
            let answer = try await client.send(
                "POST", "/v1/stores/\(store)/lookup",
                json: ["task": "make some tea", "k": 20, "filters": ["includeDeprecated": true]])
            let ids = HTTPClient.hitIDs(answer.body)
            #expect(ids.count == 20)
            #expect(ids.allSatisfy { $0.hasPrefix(store + "-") && !$0.hasPrefix(other) })
        }
        let crossRead = try await client.send("GET", "/v1/stores/alpha/memories/beta-tw-twc-0654-gold")
        #expect(crossRead.status == 404 && HTTPClient.errorCode(crossRead.body) == "unknown_memory")
        for name in ["gamma", "%2E%2E", "%2E%2E%2Fbeta", ".hidden"] {
            let answer = try await client.send("GET", "/v1/stores/\(name)/stats")
            #expect(answer.status == 404 && HTTPClient.errorCode(answer.body) == "unknown_store", "\(name)")
        }
        let unnamed = try await client.send("POST", "/v1/lookup", json: ["task": "x"])
        #expect(unnamed.status == 400 && HTTPClient.errorCode(unnamed.body) == "invalid_argument")
    }

    /// 8 clients each run 10 rounds of lookup, import, feedback and update; afterwards every counter and count is
    /// exactly what the acknowledged requests add up to.
    @Test func eightConcurrentClientsLeaveExactCounters() async throws {
        let served = try await ServedStore(count: 100)
        defer { served.close() }
        let client = served.client
        let ids = HTTPClient.hitIDs(
            try await client.send("POST", "/v1/lookup", json: ["task": "make some tea", "k": 2]).body)
        try #require(ids.count == 2)
        let (praised, blamed) = (ids[0], ids[1])
        let clients = 8
        let rounds = 10
        let failures = Shared<[String]>([])

        await withTaskGroup(of: Void.self) { group in
            for number in 0..<clients {
                group.addTask {
                    do {
                        for round in 0..<rounds {
                            let lookup = try await client.send(
                                "POST", "/v1/lookup", json: ["task": "make some tea \(number) \(round)", "k": 3])
                            let imported = try await client.send(
                                "POST", "/v1/trajectories",
                                json: StoreFixture.trajectory(
                                    id: "c\(number)-\(round)", task: "client \(number) task \(round)"))
                            let feedback = try await client.send(
                                "POST", "/v1/feedback", json: ["memory": praised, "success": true])
                            let update = try await client.send(
                                "POST", "/v1/update",
                                json: [
                                    "policy": "validation",
                                    "tasks": [
                                        StoreFixture.trajectory(
                                            id: "f\(number)-\(round)", task: "failed \(number) \(round)",
                                            success: false,
                                            usedMemories: [blamed])
                                    ],
                                ])
                            for (name, answer) in [
                                ("lookup", lookup), ("import", imported), ("feedback", feedback), ("update", update),
                            ]
                            where answer.status != 200 {
                                failures.withLock {
                                    $0.append(
                                        "\(name) \(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
                                }
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])

        let total = clients * rounds
        let praisedMemory =
            HTTPClient.object(try await client.send("GET", "/v1/memories/\(praised)").body)["memory"]
            as? [String: Any]
        #expect(praisedMemory?["hitCount"] as? Int == total && praisedMemory?["successCount"] as? Int == total)
        let blamedMemory =
            HTTPClient.object(try await client.send("GET", "/v1/memories/\(blamed)").body)["memory"]
            as? [String: Any]
        #expect(blamedMemory?["hitCount"] as? Int == total && blamedMemory?["successCount"] as? Int == 0)
        #expect(blamedMemory?["status"] as? String == "deprecated")
        let statistics =
            HTTPClient.object(try await client.send("GET", "/v1/stats").body)["statistics"]
            as? [String: Any]
        #expect(statistics?["trajectories"] as? Int == 100 + total)
        #expect(statistics?["memories"] as? Int == 100 + total)

        // The requests overlapped: the server saw more than one in flight at some moment.
        let metrics = String(decoding: try await client.send("GET", "/metrics").body, as: UTF8.self)
        let peak = metrics.split(separator: "\n").first { $0.hasPrefix("memp_http_requests_in_flight_peak ") }
            .flatMap { Int($0.split(separator: " ")[1]) }
        #expect((peak ?? 0) >= 2, "\(metrics)")
    }

    /// SIGTERM while clients write: the server exits 0, and every write it acknowledged is in the store.
    @Test func sigtermDuringWritesKeepsEveryAcknowledgedWrite() async throws {
        let served = try await ServedStore(count: 10)
        defer { served.close() }
        let (store, server, client) = (served.store, served.server, served.client)
        let acknowledged = Shared<[String]>([])
        let signalled = Shared(false)

        await withTaskGroup(of: Void.self) { group in
            for number in 0..<4 {
                group.addTask {
                    for round in 0..<500 {
                        let id = "w\(number)-\(round)"
                        guard
                            let answer = try? await client.send(
                                "POST", "/v1/trajectories", json: StoreFixture.trajectory(id: id, task: "write \(id)"))
                        else { return }  // the server stopped accepting
                        guard answer.status == 200 else { return }
                        let count = acknowledged.withLock {
                            $0.append(id); return $0.count
                        }
                        // Signal once 20 writes are acknowledged, while the others are still writing.
                        if count == 20,
                            signalled.withLock({
                                let first = !$0; $0 = true; return first
                            })
                        {
                            kill(server.process.processIdentifier, SIGTERM)
                        }
                    }
                }
            }
        }
        #expect(await server.stop() == 0)
        let written = acknowledged.withLock { $0 }
        #expect(written.count >= 20)

        let restarted = try await ServeProcess(["--store", store])
        defer { restarted.terminate() }
        let restartedClient = HTTPClient(restarted.baseURL)
        for id in written {
            #expect(try await restartedClient.send("GET", "/v1/memories/\(id)").status == 200, "\(id)")
        }
    }
}
