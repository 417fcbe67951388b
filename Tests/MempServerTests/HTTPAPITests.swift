import Foundation
import TestSupport
import Testing

/// `memp serve` over plain HTTP: every route, and the errors of bad requests.
@Suite struct HTTPAPITests {
    @Test func lookupReturnsProceduresWithCountersAndOutcome() async throws {
        let served = try await ServedStore(count: 40)
        defer { served.close() }
        let (store, client) = (served.store, served.client)

        let health = try await client.send("GET", "/healthz")
        #expect(health.status == 200)

        let first = try await client.send("POST", "/v1/lookup", json: ["task": "make some tea", "k": 3])
        #expect(first.status == 200)
        let hits = try #require(HTTPClient.object(first.body)["hits"] as? [[String: Any]])
        #expect(hits.count == 3)
        let top = try #require(hits.first)
        for field in ["id", "score", "task", "steps", "outcome", "hitCount", "successCount", "explanation"] {
            #expect(top[field] != nil, "hit field \(field)")
        }
        #expect(top["hitCount"] as? Int == 0 && top["successCount"] as? Int == 0)
        let id = try #require(top["id"] as? String)

        // The sample's outcome of the source trajectory is reported as stored.
        let sourceLine = try String(contentsOfFile: store + ".jsonl", encoding: .utf8).split(separator: "\n")
            .first { $0.contains("\"\(id)\"") }
        let source = try JSONSerialization.jsonObject(with: Data(try #require(sourceLine).utf8)) as? [String: Any]
        let outcome = try #require(top["outcome"] as? [String: Any])
        #expect(outcome["success"] as? Bool == (source?["outcome"] as? [String: Any])?["success"] as? Bool)

        let feedback = try await client.send("POST", "/v1/feedback", json: ["memory": id, "success": true])
        #expect(feedback.status == 200)
        let shown = try await client.send("GET", "/v1/memories/\(id)")
        #expect(shown.status == 200)
        let memory = try #require(HTTPClient.object(shown.body)["memory"] as? [String: Any])
        #expect(memory["hitCount"] as? Int == 1 && memory["successCount"] as? Int == 1)
        // The fields of `memp show --json`, and the store: the import's row and the feedback's.
        #expect(Set(HTTPClient.object(shown.body).keys) == ["store", "memory", "outcome", "historyEntries"])
        #expect(HTTPClient.object(shown.body)["historyEntries"] as? Int == 2)
        let cliShown = try await ChildProcess.memp(["show", "--store", store, id, "--json"])
        #expect(Set(HTTPClient.object(Data(cliShown.output.utf8)).keys) == ["memory", "outcome", "historyEntries"])

        let batch = try await client.send(
            "POST", "/v1/lookup/batch",
            json: ["tasks": ["make some tea", "clean the kitchen"], "k": 2, "mode": "query"])
        #expect(batch.status == 200)
        let results = try #require(HTTPClient.object(batch.body)["results"] as? [[[String: Any]]])
        #expect(results.map(\.count) == [2, 2])

        let stats = try await client.send("GET", "/v1/stats")
        let statistics = try #require(HTTPClient.object(stats.body)["statistics"] as? [String: Any])
        #expect(statistics["memories"] as? Int == 40 && statistics["trajectories"] as? Int == 40)

        let deleted = try await client.send("DELETE", "/v1/memories/\(id)")
        #expect(deleted.status == 200)
        #expect(HTTPClient.object(deleted.body)["deletedMemories"] as? Int == 1)
        let gone = try await client.send("GET", "/v1/memories/\(id)")
        #expect(gone.status == 404 && HTTPClient.errorCode(gone.body) == "unknown_memory")

        let metrics = try await client.send("GET", "/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains(#"memp_http_requests_total{route="/v1/lookup",method="POST",status="200"} 1"#))
        #expect(text.contains(#"memp_store_memories{store="default"} 39"#))
        #expect(text.contains(#"memp_http_request_duration_seconds_count{route="/v1/lookup"} 1"#))
    }

    /// On a disk with no space left (finding 42 of the fourth hostile run, whose test stands SQLite's page limit in
    /// for the disk), a server that has its store open keeps answering lookups and reads, and refuses every write
    /// with 507 `storage_full`, storing nothing of it.
    @Test(.enabled(if: FullDiskServer.available, "needs a tmpfs in a user and mount namespace (unshare -r -m)"))
    func onAFullDiskReadsAreAnsweredAndWritesStoreNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 10)
        let server = try #require(try await FullDiskServer.start(copying: store, in: directory, []))
        defer { server.terminate() }
        let client = HTTPClient(server.baseURL)
        let before = try await client.send("GET", "/v1/stats")
        #expect(before.status == 200)
        let lookup = try await client.send("POST", "/v1/lookup", json: ["task": "take the coin", "k": 2])
        #expect(lookup.status == 200 && HTTPClient.hitIDs(lookup.body).count == 2)
        let id = try #require(HTTPClient.hitIDs(lookup.body).first)
        let task: [String: Any] = [
            "id": "new-2", "task": "dig", "steps": [["action": "dig"]], "outcome": ["success": true],
        ]
        let writes: [(String, String, Any?)] = [
            ("POST", "/v1/trajectories", ["id": "new-1", "task": "dig a hole", "steps": [["action": "dig"]]]),
            ("POST", "/v1/feedback", ["memory": id, "success": true]),
            ("POST", "/v1/update", ["policy": "vanilla", "tasks": [task]]),
            ("DELETE", "/v1/memories/\(id)", nil),
        ]
        for (method, path, body) in writes {
            let answer: (status: Int, body: Data)
            if let body {
                answer = try await client.send(method, path, json: body)
            } else {
                answer = try await client.send(method, path)
            }
            #expect(answer.status == 507 && HTTPClient.errorCode(answer.body) == "storage_full", "\(method) \(path)")
            let message = (HTTPClient.object(answer.body)["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("stored nothing of its transaction"), "\(message)")
        }
        let after = try await client.send("GET", "/v1/stats")
        #expect(after.status == 200)
        func counts(_ answer: Data) -> [Int?] {
            let statistics = HTTPClient.object(answer)["statistics"] as? [String: Any]
            return ["trajectories", "memories", "historyEntries", "generation"].map { statistics?[$0] as? Int }
        }
        #expect(counts(after.body) == counts(before.body) && counts(before.body) == [10, 10, 10, 1])
        let shown = try await client.send("GET", "/v1/memories/\(id)")
        #expect((HTTPClient.object(shown.body)["memory"] as? [String: Any])?["hitCount"] as? Int == 0)
    }

    /// A server started on a disk that is full already can't open its store (SQLite needs room for its -wal and
    /// -shm files even to read), and says so: SQLite's own word was "disk I/O error (SQLite code 10)".
    @Test(.enabled(if: FullDiskServer.available, "needs a tmpfs in a user and mount namespace (unshare -r -m)"))
    func onADiskFullBeforeItStartsTheServerSaysTheDiskIsFull() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let outcome = try await #require(try FullDiskServer.serveOnAFullDisk(in: directory))
        #expect(outcome.status == 1, "\(outcome.errors)")
        let mount = directory.file("full-disk")
        #expect(
            outcome.errors.contains(
                "store default can't be opened: \(mount)/store: is on a file system with no space left ("),
            "\(outcome.errors)")
        #expect(outcome.errors.contains("Free some space, or copy the store to a disk with room"), "\(outcome.errors)")
    }

    @Test func importsOneTrajectoryOrJSONLinesWithPerLineErrors() async throws {
        let served = try await ServedStore(count: 5)
        defer { served.close() }
        let client = served.client

        let pretty = try JSONSerialization.data(
            withJSONObject: StoreFixture.trajectory(id: "one", task: "water the plants"), options: .prettyPrinted)
        let single = try await client.send("POST", "/v1/trajectories", body: pretty)
        #expect(single.status == 200)
        #expect((HTTPClient.object(single.body)["report"] as? [String: Any])?["imported"] as? Int == 1)

        let good = String(
            decoding: try JSONSerialization.data(
                withJSONObject: StoreFixture.trajectory(id: "two", task: "feed the cat")), as: UTF8.self)
        let lines = good + "\n" + #"{"id": "three", "task": "x", "steps": "not a list"}"# + "\n"
        let refused = try await client.send("POST", "/v1/trajectories", body: Data(lines.utf8))
        #expect(refused.status == 400 && HTTPClient.errorCode(refused.body) == "invalid_body")
        let message = try #require(
            (HTTPClient.object(refused.body)["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("line 2, steps"), "\(message)")
        // Nothing of the refused batch was committed.
        #expect(try await client.send("GET", "/v1/memories/two").status == 404)

        let skipped = try await client.send("POST", "/v1/trajectories?skipInvalid=true", body: Data(lines.utf8))
        let report = try #require(HTTPClient.object(skipped.body)["report"] as? [String: Any])
        #expect(skipped.status == 200 && report["imported"] as? Int == 1 && report["invalid"] as? Int == 1)
        #expect((report["errors"] as? [String])?.count == 1)

        let duplicate = try await client.send("POST", "/v1/trajectories", body: pretty)
        #expect(duplicate.status == 400 && HTTPClient.errorCode(duplicate.body) == "invalid_body")
        let replaced = try await client.send("POST", "/v1/trajectories?duplicates=replace", body: pretty)
        #expect((HTTPClient.object(replaced.body)["report"] as? [String: Any])?["replaced"] as? Int == 1)
        let badPolicy = try await client.send("POST", "/v1/trajectories?duplicates=maybe", body: pretty)
        #expect(badPolicy.status == 400 && HTTPClient.errorCode(badPolicy.body) == "invalid_argument")
    }

    @Test func updateRunsAPolicyOverFinishedTasks() async throws {
        let served = try await ServedStore(count: 5)
        defer { served.close() }
        let client = served.client
        let used = try #require(
            HTTPClient.hitIDs(try await client.send("POST", "/v1/lookup", json: ["task": "cook", "k": 1]).body).first)

        let update = try await client.send(
            "POST", "/v1/update",
            json: [
                "policy": "validation",
                "tasks": [
                    StoreFixture.trajectory(id: "u1", task: "paint the fence blue", usedMemories: [used]),
                    StoreFixture.trajectory(id: "u2", task: "wash the car", success: false, usedMemories: [used]),
                ],
            ])
        #expect(update.status == 200)
        let report = try #require(HTTPClient.object(update.body)["report"] as? [String: Any])
        #expect(report["added"] as? [String] == ["u1"] && report["skippedFailures"] as? Int == 1)
        let memory = try #require(
            HTTPClient.object(try await client.send("GET", "/v1/memories/\(used)").body)["memory"] as? [String: Any])
        #expect(memory["hitCount"] as? Int == 2 && memory["successCount"] as? Int == 1)

        // Sent again (its answer lost, say), the update is refused; with resume, it applies what it had not (u3)
        // and counts no use twice.
        let again: [String: Any] = [
            "policy": "validation",
            "tasks": [
                StoreFixture.trajectory(id: "u1", task: "paint the fence blue", usedMemories: [used]),
                StoreFixture.trajectory(id: "u2", task: "wash the car", success: false, usedMemories: [used]),
                StoreFixture.trajectory(id: "u3", task: "wash the dog", usedMemories: [used]),
            ],
        ]
        let refused = try await client.send("POST", "/v1/update", json: again)
        #expect(refused.status == 400 && HTTPClient.errorCode(refused.body) == "invalid_body")
        let refusal = try #require(HTTPClient.object(refused.body)["error"] as? [String: Any])
        #expect(
            (refusal["message"] as? String)?.hasPrefix(
                "Field tasks[0].id: the task of trajectory u1 was applied by an update already") == true)
        var resuming = again
        resuming["resume"] = true
        let resumed = try #require(
            HTTPClient.object(try await client.send("POST", "/v1/update", json: resuming).body)["report"]
                as? [String: Any])
        #expect(resumed["alreadyApplied"] as? Int == 2 && resumed["added"] as? [String] == ["u3"])
        let counted = try #require(
            HTTPClient.object(try await client.send("GET", "/v1/memories/\(used)").body)["memory"] as? [String: Any])
        #expect(counted["hitCount"] as? Int == 3 && counted["successCount"] as? Int == 2)
        resuming["resume"] = "yes"
        #expect(try await client.send("POST", "/v1/update", json: resuming).status == 400)

        let badTask = try await client.send(
            "POST", "/v1/update", json: ["policy": "vanilla", "tasks": [["id": "x", "task": "y", "steps": []]]])
        #expect(badTask.status == 400)
        let message = (HTTPClient.object(badTask.body)["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("tasks[0].steps"), "\(message)")
        // A task without an outcome is named by its place in the request (it named the trajectory's ID).
        var unfinished = StoreFixture.trajectory(id: "u9", task: "wash the cat")
        unfinished["outcome"] = nil
        let noOutcome = try await client.send(
            "POST", "/v1/update",
            json: [
                "policy": "vanilla", "tasks": [StoreFixture.trajectory(id: "u8", task: "feed the cat"), unfinished],
            ])
        let missing = (HTTPClient.object(noOutcome.body)["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(noOutcome.status == 400 && missing.hasPrefix("Field tasks[1].outcome: is missing"), "\(missing)")
        let badPolicy = try await client.send("POST", "/v1/update", json: ["policy": "sometimes", "tasks": []])
        #expect(badPolicy.status == 400 && HTTPClient.errorCode(badPolicy.body) == "invalid_argument")
    }

    @Test func badRequestsGetJSONErrorsWith4xxStatus() async throws {
        let served = try await ServedStore(count: 5, arguments: ["--max-body-bytes", "4096", "--max-k", "20"])
        defer { served.close() }
        let client = served.client

        let cases: [(String, String, Data?, Int, String)] = [
            ("POST", "/v1/lookup", Data("{not json".utf8), 400, "invalid_body"),
            ("POST", "/v1/lookup", Data(#"{"task": 3}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/lookup", Data(#"{"task": "x", "k": "3"}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/lookup", Data(#"{"k": 3}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/lookup", Data(#"{"task": "x", "k": 0}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/lookup", Data(#"{"task": "x", "k": 21}"#.utf8), 400, "limit_exceeded"),
            ("POST", "/v1/lookup", Data(#"{"task": "x", "mode": "psychic"}"#.utf8), 400, "invalid_argument"),
            ("POST", "/v1/lookup", Data(#"{"task": "   "}"#.utf8), 400, "invalid_body"),
            // Hostile run 4: a repeated key was read with its first value.
            ("POST", "/v1/lookup", Data(#"{"task": "x", "k": 1, "k": 50}"#.utf8), 400, "invalid_body"),
            // Hostile run 4: a task the hashing embedder maps to zeros was 500 store_failure.
            ("POST", "/v1/lookup", Data(#"{"task": "!!!"}"#.utf8), 400, "invalid_body"),
            (
                "POST", "/v1/trajectories", Data(#"{"id": "a\nb", "task": "x", "steps": [{"action": "go"}]}"#.utf8),
                400, "invalid_body"
            ),
            // A trajectory sent as one JSON object was stored with the last value of a repeated key.
            (
                "POST", "/v1/trajectories",
                Data(#"{"id": "a", "task": "x", "id": "b", "steps": [{"action": "go"}]}"#.utf8), 400, "invalid_body"
            ),
            (
                "POST", "/v1/lookup", Data(#"{"task": "x", "mode": "bm25", "filters": {"minSimilarity": 0.5}}"#.utf8),
                400, "invalid_body"
            ),
            (
                "POST", "/v1/lookup", Data((#"{"task": ""# + String(repeating: "a", count: 5000) + #""}"#).utf8),
                413, "body_too_large"
            ),
            (
                "POST", "/v1/feedback", Data(#"{"memory": "no-such-memory", "success": true}"#.utf8), 404,
                "unknown_memory"
            ),
            ("POST", "/v1/feedback", Data(#"{"memory": "x", "success": "yes"}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/feedback", Data(#"{"success": true}"#.utf8), 400, "invalid_body"),
            ("POST", "/v1/trajectories", Data("".utf8), 400, "invalid_body"),
            ("POST", "/v1/trajectories", Data("[1, 2]".utf8), 400, "invalid_body"),
            ("GET", "/v1/memories/no-such-memory", nil, 404, "unknown_memory"),
            ("DELETE", "/v1/memories/no-such-memory", nil, 404, "unknown_memory"),
            ("GET", "/v1/stores/other/stats", nil, 404, "unknown_store"),
            ("GET", "/v1/nothing", nil, 404, "not_found"),
            ("GET", "/v1/lookup", nil, 405, "method_not_allowed"),
        ]
        for (method, path, body, status, code) in cases {
            let answer = try await client.send(method, path, body: body)
            #expect(answer.status == status, "\(method) \(path) \(String(decoding: body ?? Data(), as: UTF8.self))")
            #expect(HTTPClient.errorCode(answer.body) == code, "\(method) \(path)")
            let message = (HTTPClient.object(answer.body)["error"] as? [String: Any])?["message"] as? String
            #expect(message?.isEmpty == false)
        }
        // The field of a wrong type is named.
        let wrongType = try await client.send("POST", "/v1/lookup", body: Data(#"{"task": "x", "k": "3"}"#.utf8))
        #expect(
            (HTTPClient.object(wrongType.body)["error"] as? [String: Any])?["message"] as? String
                == "Field k: must be an integer.")
        // A number that doesn't fit its field is named, as valid JSON (it was "The body is not valid JSON.").
        for k in ["1e300", "2.5", "99999999999999999999"] {
            let answer = try await client.send("POST", "/v1/lookup", body: Data(#"{"task": "x", "k": \#(k)}"#.utf8))
            #expect(answer.status == 400)
            #expect(Self.message(answer.body) == "Field k: must be an integer.", "k = \(k)")
        }
        // Where JSON breaks is said: deep nesting, invalid UTF-8, a lone surrogate, NaN.
        let broken: [(Data, String)] = [
            (Data(String(repeating: "[", count: 4_000).utf8), "Too many nested arrays or dictionaries"),
            (Data(#"{"task": "x"#.utf8) + Data([0xFF, 0xFE]) + Data(#""}"#.utf8), "Invalid UTF-8 sequence"),
            (Data(#"{"task": "x \ud800 y"}"#.utf8), "surrogate"),
            (Data(#"{"task": "x", "k": NaN}"#.utf8), "around character 19"),
        ]
        for (body, detail) in broken {
            let answer = try await client.send("POST", "/v1/lookup", body: body)
            let message = Self.message(answer.body) ?? ""
            #expect(answer.status == 400 && message.hasPrefix("The body is not valid JSON: "), "\(message)")
            #expect(message.contains(detail), "\(message)")
        }
        // The server still answers after all of them.
        #expect(try await client.send("POST", "/v1/lookup", json: ["task": "x"]).status == 200)
    }

    /// A query parameter given twice was read as its last value, and one no route reads was ignored, silently: both
    /// are refused naming the parameter, as a repeated key or an unknown field of a body is.
    @Test func repeatedAndUnknownQueryParametersAreRefusedByName() async throws {
        let served = try await ServedStore(count: 1)
        defer { served.close() }
        let trajectory = try JSONSerialization.data(
            withJSONObject: StoreFixture.trajectory(id: "q", task: "water the plants"))
        let cases: [(String, String, Data?, String)] = [
            (
                "POST", "/v1/trajectories?duplicates=skip&duplicates=replace", trajectory,
                "duplicates: appears twice in the query; keep one of the values."
            ),
            (
                "POST", "/v1/trajectories?foo=bar", trajectory,
                "foo: is not a parameter of an import (its parameters: duplicates, skipInvalid, build, source)."
            ),
            (
                "POST", "/v1/lookup?k=3", Data(#"{"task": "x"}"#.utf8),
                "k: is not a query parameter of /v1/lookup, which takes none."
            ),
            (
                "POST", "/v1/lookup/batch?x", Data(#"{"tasks": ["x"]}"#.utf8),
                "x: is not a query parameter of /v1/lookup/batch, which takes none."
            ),
            (
                "POST", "/v1/feedback?success=true", Data(#"{"memory": "q", "success": true}"#.utf8),
                "success: is not a query parameter of /v1/feedback, which takes none."
            ),
            (
                "POST", "/v1/update?dry=1", Data("{}".utf8),
                "dry: is not a query parameter of /v1/update, which takes none."
            ),
            ("GET", "/v1/stats?store=other", nil, "store: is not a query parameter of /v1/stats, which takes none."),
            ("GET", "/v1/stores?all=1", nil, "all: is not a query parameter of /v1/stores, which takes none."),
            (
                "GET", "/v1/memories/q?full=1", nil,
                "full: is not a query parameter of /v1/memories/q, which takes none."
            ),
            (
                "DELETE", "/v1/memories/q?force=1&force=2", nil,
                "force: appears twice in the query; keep one of the values."
            ),
        ]
        for (method, path, body, message) in cases {
            let answer = try await served.client.send(method, path, body: body)
            #expect(answer.status == 400, "\(method) \(path)")
            #expect(HTTPClient.errorCode(answer.body) == "invalid_argument", "\(method) \(path)")
            #expect(Self.message(answer.body) == message, "\(method) \(path)")
        }
        // The refused imports stored nothing; the same import with its parameter once is stored.
        #expect(try await Self.trajectoryCount(served.client) == 1)
        #expect(
            try await served.client.send("POST", "/v1/trajectories?duplicates=skip", body: trajectory).status == 200)
        #expect(try await Self.trajectoryCount(served.client) == 2)
    }

    static func trajectoryCount(_ client: HTTPClient) async throws -> Int? {
        let stats = try await client.send("GET", "/v1/stats")
        return (HTTPClient.object(stats.body)["statistics"] as? [String: Any])?["trajectories"] as? Int
    }

    static func message(_ body: Data) -> String? {
        (HTTPClient.object(body)["error"] as? [String: Any])?["message"] as? String
    }

    /// Before, an answer was as large as the hits made it: a batch of 16 tasks with `k` 10 over 10 memories of
    /// 3.75 MB each was a 600 MB answer, and took the server from 61 MB to 1.87 GB; the largest batch over such
    /// memories would have been tens of gigabytes.
    @Test func anAnswerCarryingMoreMemoryTextThanTheLimitIsRefused() async throws {
        let served = try await ServedStore(count: 3, arguments: ["--max-answer-bytes", "65536"])
        defer { served.close() }
        // One memory of the sample holds at most 17,696 bytes of task and steps: within the limit.
        let one = try await served.client.send("POST", "/v1/lookup", json: ["task": "take the coin", "k": 1])
        #expect(one.status == 200)
        // 256 tasks with 3 hits each carry at least 256 × 3 × 88 bytes (the shortest memory has 88).
        let tasks = Array(repeating: "take the coin", count: 256)
        let batch = try await served.client.send("POST", "/v1/lookup/batch", json: ["tasks": tasks, "k": 3])
        #expect(batch.status == 400)
        #expect(HTTPClient.errorCode(batch.body) == "limit_exceeded")
        let message = (HTTPClient.object(batch.body)["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.hasPrefix("the answer's memory text (bytes of tasks, scripts and steps) is "))
        #expect(message.hasSuffix("; this server accepts at most 65536."))
    }

    @Test func bearerTokenIsRequiredWhenConfigured() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 3)
        let tokenFile = directory.file("token")
        try "s3cret-token-0123456789\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let server = try await ServeProcess(["--store", store, "--token-file", tokenFile])
        defer { server.terminate() }

        let anonymous = try await HTTPClient(server.baseURL).send("GET", "/v1/stats")
        #expect(anonymous.status == 401 && HTTPClient.errorCode(anonymous.body) == "unauthorized")
        let wrong = try await HTTPClient(server.baseURL, token: "s3cret-token-0123456780").send("GET", "/v1/stats")
        #expect(wrong.status == 401)
        let right = try await HTTPClient(server.baseURL, token: "s3cret-token-0123456789").send("GET", "/v1/stats")
        #expect(right.status == 200)
        #expect(try await HTTPClient(server.baseURL).send("GET", "/healthz").status == 200)
    }

    @Test func nonLoopbackAddressWithoutTokenIsRefused() async throws {
        let result = try await ChildProcess.memp([
            "serve", "--store", "/nonexistent", "--host", "0.0.0.0", "--port", "0",
        ])
        #expect(result.status == 64)
        #expect(result.errors.contains("needs --token-file"), "\(result.errors)")
    }

    @Test func seesWritesOfAnotherProcessWithoutRestart() async throws {
        let served = try await ServedStore(count: 5)
        defer { served.close() }
        let (store, client) = (served.store, served.client)
        #expect(try await client.send("POST", "/v1/lookup", json: ["task": "x"]).status == 200)

        let file = served.directory.file("more.jsonl")
        let line = try JSONSerialization.data(
            withJSONObject: StoreFixture.trajectory(id: "from-cli", task: "juggle three oranges"))
        try (String(decoding: line, as: UTF8.self) + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try await ChildProcess.memp(["import", "--store", store, file])
        try #require(imported.status == 0, "\(imported.errors)")

        let answer = try await client.send(
            "POST", "/v1/lookup", json: ["task": "juggle three oranges", "k": 1, "mode": "bm25"])
        #expect(HTTPClient.hitIDs(answer.body) == ["from-cli"])
    }
}
