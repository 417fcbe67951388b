import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import TestSupport
import Testing

/// `memp` on a PostgreSQL store, run as separate processes: init, concurrent imports, query, stats, migrate.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct CommandTests {
    /// Starts `memp` with `arguments`; the password, when needed, is in `environment`.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(executable: try ChildProcess.mempExecutable(), arguments: arguments, environment: environment)
    }

    /// JSON lines of `count` trajectories with IDs `prefix-N`.
    static func trajectories(prefix: String, count: Int) throws -> String {
        let objects = ["mug", "apple", "potato", "knife", "book", "plate", "egg", "lettuce"]
        let places = ["fridge", "microwave", "shelf", "drawer", "cabinet", "desk"]
        var generator = SplitMix64(seed: UInt64(prefix.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
        return try (0..<count).map { index in
            let object = objects.randomElement(using: &generator) ?? "mug"
            let place = places.randomElement(using: &generator) ?? "shelf"
            let trajectory = Trajectory(
                id: "\(prefix)-\(index)", task: "put some \(object) in \(place)",
                steps: [
                    Step(action: "take \(object) 1 from countertop 1", observation: "You pick up the \(object) 1."),
                    Step(action: "put \(object) 1 in/on \(place) 1", observation: "You put it there."),
                ], outcome: Outcome(success: true, reward: 1), source: prefix, labels: ["object": object])
            return String(decoding: try JSONEncoder().encode(trajectory), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    @Test func initImportConcurrentlyQueryStatsAndMigrate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let location = try PostgresTestServer.freshLocation()
        guard case .file(let passwordFile) = location.password else {
            Issue.record("the test server has no password file")
            return
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let store = directory.file("shared")
        let created = try await ChildProcess.memp(
            [
                "init", "--store", store, "--backend", "postgres", "--url", location.url, "--embedder", "hashing",
                "--dimension", "64",
            ], environment: ["MEMP_PG_PASSWORD": password])
        #expect(created.status == 0, "\(created.errors)")
        #expect(created.output.contains("Created a memory store in \(store) on PostgreSQL at \(location.url)"))
        #expect(!(created.output + created.errors).contains(password))

        // A second machine's directory attaches to the same store, with the password from a file this time.
        let attached = directory.file("attached")
        let second = try await ChildProcess.memp(
            [
                "init", "--store", attached, "--backend", "postgres", "--url", location.url, "--embedder", "hashing",
                "--dimension", "64", "--password-file", passwordFile,
            ])
        #expect(second.status == 0, "\(second.errors)")
        #expect(second.output.hasPrefix("Attached"))

        // Two memories are stored first; then four processes import at once, two through each directory, while
        // four `memp feedback` processes at a time, six rounds, report outcomes of the two memories.
        let seed = directory.file("seed.jsonl")
        try Self.trajectories(prefix: "seed", count: 2).write(toFile: seed, atomically: true, encoding: .utf8)
        let seeded = try await ChildProcess.memp(
            ["import", "--store", store, seed], environment: ["MEMP_PG_PASSWORD": password])
        #expect(seeded.status == 0, "\(seeded.errors)")
        let importers = try (0..<4).map { index in
            let file = directory.file("part\(index).jsonl")
            try Self.trajectories(prefix: "p\(index)", count: 60).write(toFile: file, atomically: true, encoding: .utf8)
            return try Self.start(
                ["import", "--store", index % 2 == 0 ? store : attached, file, "--batch-size", "16"],
                environment: ["MEMP_PG_PASSWORD": password])
        }
        for round in 0..<6 {
            let reporters = try (0..<4).map { lane in
                try Self.start(
                    [
                        "feedback", "--store", lane % 2 == 0 ? store : attached, "--memory", "seed-0", "--memory",
                        "seed-1", "--success", lane % 2 == 0 ? "true" : "false", "--min-hits", "1000", "--json",
                    ],
                    environment: ["MEMP_PG_PASSWORD": password])
            }
            for (lane, reporter) in reporters.enumerated() {
                let result = await reporter.finish()
                #expect(result.status == 0, "round \(round) lane \(lane): \(result.errors)")
                #expect(result.output.split(separator: "\n").count == 2)
            }
        }
        for importer in importers {
            let result = await importer.finish()
            #expect(result.status == 0, "\(result.errors)")
        }
        // No memory lost or duplicated; the counters are exactly the sum of the increments, with one history row
        // each; counters never advanced the generation (one per import batch: 1 + 4 × 4).
        let stats = try await ChildProcess.memp(
            ["stats", "--store", attached, "--json"], environment: ["MEMP_PG_PASSWORD": password])
        #expect(stats.status == 0, "\(stats.errors)")
        let statistics = try JSONDecoder().decode(StoreStatistics.self, from: Data(stats.output.utf8))
        #expect(statistics.trajectories == 242 && statistics.memories == 242 && statistics.historyEntries == 242 + 48)
        #expect(statistics.trajectoriesBySource == ["seed": 2, "p0": 60, "p1": 60, "p2": 60, "p3": 60])
        #expect(statistics.generation == 17)
        let counted = try await PostgresBackend.connect(to: location)
        for id in ["seed-0", "seed-1"] {
            let memory = try #require(try await counted.memory(id: id))
            #expect(memory.hitCount == 24 && memory.successCount == 12 && memory.status == .active, "\(id)")
            #expect(try await counted.history(memoryID: id).filter { $0.action == .feedback }.count == 24)
        }
        counted.close()

        // Each directory's caches catch up with the writes made through the other.
        var answers: [ChildProcess.Outcome] = []
        for path in [store, attached] {
            answers.append(
                try await ChildProcess.memp(
                    ["query", "--store", path, "--mode", "query", "-k", "3", "--json", "put some mug in fridge"],
                    environment: ["MEMP_PG_PASSWORD": password]))
        }
        #expect(answers.allSatisfy { $0.status == 0 })
        #expect(answers[0].output == answers[1].output)
        // The exact scan in the database finds what the in-process caches find; HNSW is the default.
        var searches: [ChildProcess.Outcome] = []
        for choice in ["exact", "caches", "hnsw"] {
            searches.append(
                try await ChildProcess.memp(
                    [
                        "query", "--store", store, "--mode", "query", "-k", "10", "--json", "--pg-search", choice,
                        "put some egg in drawer",
                    ], environment: ["MEMP_PG_PASSWORD": password]))
        }
        #expect(searches.allSatisfy { $0.status == 0 && $0.output.split(separator: "\n").count == 10 })
        func ids(_ output: String) -> [String] {
            output.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
            }
        }
        #expect(ids(searches[0].output) == ids(searches[1].output))
        #expect(Set(ids(searches[2].output)).intersection(ids(searches[0].output)).count >= 9)
        let badEf = try await ChildProcess.memp(["query", "--store", store, "--ef-search", "0", "mug"])
        #expect(badEf.status == 64 && badEf.errors.contains("--ef-search must be within 1…1000 (got 0)."))

        // The store opens the same way in every command: `memp verify` and `memp eval` on the directory, and a query
        // on the database's URL itself.
        let verified = try await ChildProcess.memp(
            ["verify", "--store", store], environment: ["MEMP_PG_PASSWORD": password])
        #expect(verified.status == 0 && verified.output.hasSuffix("OK\n"), "\(verified.output)\(verified.errors)")
        let queries = directory.file("queries.jsonl")
        try #"{"qid": "q1", "query": "put some mug in fridge", "relevant": ["seed-0"]}"#.write(
            toFile: queries, atomically: true, encoding: .utf8)
        let evaluated = try await ChildProcess.memp(
            ["eval", "--store", store, "--queries", queries, "-k", "5", "--json"],
            environment: ["MEMP_PG_PASSWORD": password])
        #expect(evaluated.status == 0, "\(evaluated.errors)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluated.output.utf8)) as? [String: Any]
        let evaluatedStore = (report?["stores"] as? [[String: Any]])?.first?["store"] as? [String: Any]
        #expect(evaluatedStore?["memoryCount"] as? Int == 242 && evaluatedStore?["label"] as? String == "shared")
        let byURL = try await ChildProcess.memp(
            ["query", "--store", location.url, "--mode", "query", "-k", "3", "--json", "put some mug in fridge"],
            environment: ["MEMP_PG_PASSWORD": password])
        #expect(byURL.status == 0 && byURL.output == answers[0].output, "\(byURL.errors)")

        // Without the password the store can't be opened, and the message names the variable.
        let locked = try await ChildProcess.memp(["stats", "--store", store], environment: ["MEMP_PG_PASSWORD": ""])
        #expect(locked.status != 0)

        // Copy to a local store and back into a second schema; both copies are verified by checksums.
        let local = directory.file("local")
        let down = try await ChildProcess.memp(
            ["migrate", "--from", store, "--to", local], environment: ["MEMP_PG_PASSWORD": password])
        #expect(down.status == 0, "\(down.errors)")
        #expect(
            down.output.hasPrefix(
                "Copied 242 trajectories, 242 memories, 290 history rows and 0 records of applied tasks to \(local); "
                    + "verified"))
        var copy = location
        copy.schema += "_copy"
        let up = try await ChildProcess.memp(
            ["migrate", "--from", local, "--to", copy.url, "--password-file", passwordFile])
        #expect(up.status == 0, "\(up.errors)")
        #expect(up.output.split(separator: "(").last == down.output.split(separator: "(").last)
        let localStats = try await ChildProcess.memp(["stats", "--store", local, "--json"])
        #expect(try JSONDecoder().decode(StoreStatistics.self, from: Data(localStats.output.utf8)).memories == 242)

        for schema in [location, copy] {
            let backend = try await PostgresBackend.connect(to: schema)
            try await backend.dropSchema()
            backend.close()
        }
    }
}
