import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import Synchronization
import TestSupport
import Testing

@testable import MempService

/// The service library without a network: validation, partitions, tokens and metrics.
@Suite struct MemoryServiceTests {
    static func trajectory(_ id: String, _ task: String, success: Bool = true) -> Trajectory {
        Trajectory(
            id: id, task: task, steps: [Step(action: "open the door"), Step(action: "walk in")],
            outcome: Outcome(success: success), source: "test")
    }

    /// A root with two stores holding the same task under different IDs.
    static func makeRoot(_ directory: TemporaryDirectory) async throws -> String {
        let root = directory.file("root")
        for name in ["red", "blue"] {
            let store = try await MemoryStore.create(
                at: root + "/" + name, embedder: HashingEmbedder(dimension: 64),
                configuration: .hashing(dimension: 64))
            try await store.add([Self.trajectory("\(name)-1", "enter the kitchen", success: name == "red")])
        }
        return root
    }

    /// A service of the red store of ``makeRoot(_:)`` alone.
    static func serviceOfRed(_ directory: TemporaryDirectory) async throws -> MemoryService {
        let root = try await makeRoot(directory)
        return MemoryService(registry: StoreRegistry(layout: .single(.directory(root + "/red"))), limits: .untimed)
    }

    /// Hostile run 8: `memp serve --store-root` given a file, a FIFO or a missing path served `{"stores": []}`, and
    /// a store whose directory name isn't a store name was left out without a word.
    @Test func aRootThatIsNoDirectoryIsRefusedAndUnservedStoresAreNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("x", to: "file")
        for (root, reason) in [
            (file, "\(file) is no directory"), (directory.file("none"), "\(directory.file("none")) is missing"),
        ] {
            await #expect(throws: ServiceError.invalidArgument(name: "store root", reason: reason)) {
                try await StoreRegistry(layout: .root(directory: root)).checkServed()
            }
        }
        let root = try await Self.makeRoot(directory)
        try FileManager.default.copyItem(atPath: root + "/red", toPath: root + "/with space")
        let registry = StoreRegistry(layout: .root(directory: root))
        #expect(try await registry.checkServed() == ["with space"])
        #expect(registry.storeNames() == ["blue", "red"])
        // Hostile run 22: each name is told what is wrong with it (".hidden" was told of the characters allowed).
        #expect(
            [".hidden", "with space", String(repeating: "a", count: 129), "blue"].map(StoreRegistry.nameProblem) == [
                "starts with a dot, as hidden directories do",
                #"holds " ", and a store name holds only ASCII letters, digits, -, _ and ."#,
                "is 129 characters long, more than the 128 a store name may have", nil,
            ])
        // As docs/agents.md says: a link under the root to a store elsewhere is served under the link's name, and a
        // store that appears under the root is served without a new registry.
        try FileManager.default.moveItem(atPath: root + "/red", toPath: directory.file("elsewhere"))
        try FileManager.default.createSymbolicLink(
            atPath: root + "/linked", withDestinationPath: directory.file("elsewhere"))
        #expect(registry.storeNames() == ["blue", "linked"])
        let service = MemoryService(registry: registry, limits: .untimed)
        let linked = try await service.lookup(LookupRequest(task: "enter the kitchen", k: 5), store: "linked")
        #expect(linked.hits.map(\.id) == ["red-1"])
        await #expect(throws: ServiceError.unknownStore(name: "red")) {
            try await service.lookup(LookupRequest(task: "enter the kitchen", k: 5), store: "red")
        }
    }

    @Test func lookupsStayInTheirStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = MemoryService(
            registry: StoreRegistry(layout: .root(directory: try await Self.makeRoot(directory))), limits: .untimed)
        #expect(service.stores().stores == ["blue", "red"])
        let red = try await service.lookup(LookupRequest(task: "enter the kitchen", k: 5), store: "red")
        #expect(red.hits.map(\.id) == ["red-1"])
        #expect(red.hits.first?.outcome == Outcome(success: true))
        #expect(red.hits.first.map { [$0.hitCount, $0.successCount] } == [0, 0])
        // A similarity too small for a Float (hostile run 5 found it refused as "must be a number") is 0.
        let subnormal = try await service.lookup(
            Data(#"{"task": "enter the kitchen", "filters": {"minSimilarity": 5e-324}}"#.utf8), store: "red")
        #expect(subnormal.hits.map(\.id) == ["red-1"])
        #expect(
            try JSONDecoder().decode(LookupFilters.self, from: Data(#"{"minSimilarity": 5e-324}"#.utf8))
                == LookupFilters(minSimilarity: 0))
        let blue = try await service.lookup(LookupRequest(task: "enter the kitchen", k: 5), store: "blue")
        #expect(blue.hits.map(\.id) == ["blue-1"] && blue.hits.first?.outcome == Outcome(success: false))
        await #expect(throws: ServiceError.unknownMemory(id: "blue-1", store: "red")) {
            try await service.memory(id: "blue-1", store: "red")
        }
        for name in ["green", "..", "../red", ".red", "red/x", ""] {
            await #expect(throws: ServiceError.unknownStore(name: name)) {
                try await service.stats(store: name)
            }
        }
        // An MCP client has no GET /v1/stores: a request naming no store is told the names.
        await #expect(
            throws: ServiceError.invalidArgument(
                name: "store",
                reason: "this server serves several stores (blue, red); name one (/v1/stores/NAME/… over HTTP, the "
                    + "store argument of an MCP tool)")
        ) { try await service.stats(store: nil) }
    }

    /// A new user found that no HTTP or MCP client could build the record of use `memp tune` learns from: feedback
    /// took no trajectory.
    @Test func feedbackNamingItsAttemptJoinsTheRecordOfUseOnceTheAttemptIsStored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = try await Self.makeRoot(directory)
        let registry = StoreRegistry(layout: .single(.directory(root + "/red")))
        let service = MemoryService(registry: registry, limits: .untimed)
        _ = try await service.feedback(
            Data(#"{"memories": ["red-1"], "success": true, "trajectory": "run-9"}"#.utf8), store: nil)
        let store = try await registry.store(named: nil).store
        #expect(try await store.feedbackTasks().isEmpty)  // the attempt is not stored yet
        let attempt = try JSONEncoder().encode(Self.trajectory("run-9", "walk into the kitchen"))
        _ = try await service.addTrajectories(attempt, store: nil)
        #expect(
            try await store.feedbackTasks()
                == [
                    FeedbackTask(
                        trajectoryID: "run-9", task: "walk into the kitchen", succeededWith: ["red-1"], failedWith: [])
                ])
        // The message named the library's field `id`, which the request doesn't have (hostile run 15's list).
        await #expect(throws: ServiceError.invalidBody(field: "trajectory", reason: "must not be empty")) {
            try await service.feedback(
                Data(#"{"memory": "red-1", "success": true, "trajectory": ""}"#.utf8), store: nil)
        }
        // An ID no import would take (review of hostile run 12: feedback's own check let bidirectional overrides in,
        // to be shown reordered by `memp history`).
        await #expect(
            throws: ServiceError.invalidBody(
                field: "trajectory",
                reason: "contains the bidirectional formatting character U+202E, which a trajectory ID can't hold")
        ) {
            try await service.feedback(
                Data(#"{"memory": "red-1", "success": true, "trajectory": "mem\u202Egnp.exe"}"#.utf8), store: nil)
        }
    }

    /// Hostile run 7: an embedding server that fails was answered 500 `store_failure`, like a bug of the server.
    @Test func aFailingEmbeddingServerMakesTheStoreUnavailable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        let base = server.baseURL.appendingPathComponent("ok")
        let path = directory.file("store")
        let store = try await MemoryStore.create(
            at: path,
            embedder: OpenAICompatibleEmbedder(
                baseURL: base, model: "stub", apiKeyEnvironmentVariable: nil, dimension: 4),
            configuration: .openAICompatible(
                baseURL: base.absoluteString, model: "stub", apiKeyEnvironmentVariable: nil, dimension: 4))
        try await store.add([Self.trajectory("a-1", "enter the kitchen")])
        let service = MemoryService(registry: StoreRegistry(layout: .single(.directory(path))), limits: .untimed)
        #expect(try await service.lookup(LookupRequest(task: "enter the kitchen", k: 1), store: nil).hits.count == 1)
        server.stop()
        await #expect {
            try await service.lookup(LookupRequest(task: "open the fridge", k: 1, mode: "query"), store: nil)
        } throws: { error in
            guard case .storeUnavailable(let reason) = error as? ServiceError else { return false }
            return reason.hasPrefix("The store's embedding server \(base.absoluteString)/v1/embeddings failed: ")
        }
    }

    /// Hostile run 10: an ID given twice in one batch was "already stored; give the attempt a new ID", though
    /// nothing was stored.
    @Test func anIDRepeatedInAnUpdateBatchIsNamedAsARepeat() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let task = #"{"id": "u-c", "task": "x y", "steps": [{"action": "a"}], "outcome": {"success": true}}"#
        await #expect(
            throws: ServiceError.invalidBody(
                field: "tasks[1].id",
                reason: "trajectory u-c appears again (first as tasks[0]); give each attempt its own ID")
        ) {
            try await service.update(Data(#"{"policy": "vanilla", "tasks": [\#(task), \#(task)]}"#.utf8), store: nil)
        }
        let once = try await service.update(Data(#"{"policy": "vanilla", "tasks": [\#(task)]}"#.utf8), store: nil)
        #expect(once.report.added == ["u-c"])
    }

    @Test func requestsAreValidatedWithTheFieldNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = try await Self.makeRoot(directory)
        let service = MemoryService(
            registry: StoreRegistry(layout: .single(.directory(root + "/red"))),
            limits: ServiceLimits(
                maximumK: 10, maximumBatchTasks: 2, maximumTaskCharacters: 50,
                lookupTimeout: ServiceLimits.untimed.lookupTimeout))
        let cases: [(String, ServiceError)] = [
            (#"{"task": "x", "k": 11}"#, .limitExceeded(name: "k", limit: 10, actual: 11)),
            (#"{"task": "x", "k": 0}"#, .invalidBody(field: "k", reason: "must be at least 1 (got 0)")),
            (#"{"task": 1}"#, .invalidBody(field: "task", reason: "must be a string")),
            (
                #"{"task": "x", "filters": {"labels": {"a": 1}}}"#,
                .invalidBody(field: "filters.labels.a", reason: "must be a string")
            ),
            (#"{}"#, .invalidBody(field: "task", reason: "is missing")),
            (#"{"task": "x", "k": 1,}"#, .invalidBody(field: "", reason: JSONSyntax.trailingCommaReason(at: 20))),
            ("[1, 2]", .invalidBody(field: "", reason: "must be a JSON object")),
            // A misspelt or misplaced field is refused, not ignored (the lookup ran without it).
            (
                #"{"task": "x", "kk": 3, "minSimilarity": 0.9}"#,
                .invalidBody(
                    field: "kk", reason: "is not a field of a lookup (its fields: task, k, mode, filters, seed)")
            ),
            (
                #"{"task": "x", "filters": {"source": ["a"]}}"#,
                .invalidBody(
                    field: "filters.source",
                    reason: "is not a field of filters (its fields: sources, labels, includeDeprecated, minSimilarity)")
            ),
            (
                #"{"task": "x", "filters": {"sources": "a"}}"#,
                .invalidBody(field: "filters.sources", reason: "must be a list")
            ),
            ("nope", .invalidBody(field: "", reason: "is not valid JSON: Invalid value around character 1")),
            // Numbers that don't fit their field are named (the decoder names no field for them).
            (#"{"task": "x", "k": 1e300}"#, .invalidBody(field: "k", reason: "must be an integer")),
            // Hostile run 22: numbers no float holds were "not valid JSON" or "a value that does not fit", unnamed.
            (#"{"task": "x", "k": 1e400}"#, .invalidBody(field: "k", reason: JSONSyntax.outOfRangeReason("1e400"))),
            (
                #"{"task": "x", "filters": {"minSimilarity": 1e-400}}"#,
                .invalidBody(field: "filters.minSimilarity", reason: JSONSyntax.outOfRangeReason("1e-400"))
            ),
            (#"{"task": "x", "k": 2.5}"#, .invalidBody(field: "k", reason: "must be an integer")),
            (
                #"{"task": "x", "filters": {"minSimilarity": 1e300}}"#,
                .invalidBody(
                    field: "filters.minSimilarity", reason: "must be a cosine similarity within -1…1 (got inf)")
            ),
            (
                #"{"task": "x", "filters": {"minSimilarity": "0.5"}}"#,
                .invalidBody(field: "filters.minSimilarity", reason: "must be a number")
            ),
            (
                String(repeating: "[", count: 600),
                .invalidBody(
                    field: "", reason: "is not valid JSON: Too many nested arrays or dictionaries around character 513")
            ),
            (
                #"{"task": "x", "mode": "magic"}"#,
                .invalidArgument(
                    name: "mode", reason: #"must be one of random, query, keyword, bm25, hybrid (got "magic")"#)
            ),
            (
                #"{"task": ""# + String(repeating: "y", count: 51) + #""}"#,
                .limitExceeded(name: "task length", limit: 50, actual: 51)
            ),
        ]
        for (body, error) in cases {
            await #expect(throws: error, "\(body)") { try await service.lookup(Data(body.utf8), store: nil) }
        }
        await #expect(throws: ServiceError.limitExceeded(name: "tasks", limit: 2, actual: 3)) {
            try await service.lookupBatch(Data(#"{"tasks": ["a", "b", "c"]}"#.utf8), store: nil)
        }
        // Whether a task may be blank is the library's rule: not where the words rank, but a random draw needs none
        // (the service refused it in every mode, the library and `memp query --mode random ""` did not).
        let blank = "must not be empty (or only spaces and invisible characters)"
        await #expect(throws: ServiceError.invalidBody(field: "tasks[1]", reason: blank)) {
            try await service.lookupBatch(Data(#"{"tasks": ["kitchen", " "]}"#.utf8), store: nil)
        }
        await #expect(throws: ServiceError.invalidBody(field: "task", reason: blank)) {
            try await service.lookup(Data(#"{"task": "", "mode": "bm25"}"#.utf8), store: nil)
        }
        // Hostile run 22: a task the embedder gives no direction was refused naming no task, ending "BM25.."
        let noWords =
            "holds no word the embedder \(HashingEmbedder(dimension: 64).modelIdentifier) knows, so it gives an "
            + "all-zero vector that can't rank memories by cosine; give the task in words, or look it up with mode bm25"
        await #expect(throws: ServiceError.invalidBody(field: "tasks[1]", reason: noWords)) {
            try await service.lookupBatch(Data(#"{"tasks": ["kitchen", "!!!"], "mode": "hybrid"}"#.utf8), store: nil)
        }
        #expect(ServiceError.invalidBody(field: "tasks[1]", reason: noWords).description.hasSuffix("mode bm25."))
        #expect(
            ServiceError.invalidArgument(name: "request", reason: "Give it in words.").description
                == "request: Give it in words.")
        // Hostile run 12: a zero-width space was no empty task, and MiniLM ranked every memory for it.
        await #expect(throws: ServiceError.invalidBody(field: "task", reason: blank)) {
            try await service.lookup(Data(#"{"task": "\u200b\ufeff", "mode": "query"}"#.utf8), store: nil)
        }
        #expect(try await service.lookup(Data(#"{"task": " ", "mode": "random"}"#.utf8), store: nil).hits.count == 1)
        await #expect(
            throws: ServiceError.invalidBody(
                field: "filters.minSimilarity", reason: "applies to the query, keyword and hybrid modes, not to bm25")
        ) {
            try await service.lookup(
                Data(#"{"task": "x", "mode": "bm25", "filters": {"minSimilarity": 0.5}}"#.utf8), store: nil)
        }
        await #expect(
            throws: ServiceError.invalidBody(
                field: "task", reason: "is not a field of a batch lookup (its fields: tasks, k, mode, filters, seed)")
        ) { try await service.lookupBatch(Data(#"{"tasks": ["a"], "task": "b"}"#.utf8), store: nil) }
        await #expect(
            throws: ServiceError.invalidBody(
                field: "succeeded",
                reason:
                    "is not a field of feedback (its fields: memory, memories, success, trajectory, minHits, minSuccessRate)"
            )
        ) {
            try await service.feedback(
                Data(#"{"memory": "red-1", "success": true, "succeeded": true}"#.utf8), store: nil)
        }
        await #expect(
            throws: ServiceError.invalidBody(
                field: "dryRun",
                reason: "is not a field of an update (its fields: policy, tasks, build, source, minHits, "
                    + "minSuccessRate, resume)")
        ) { try await service.update(Data(#"{"policy": "vanilla", "tasks": [], "dryRun": true}"#.utf8), store: nil) }
        await #expect(throws: ServiceError.unknownStore(name: "blue")) {
            try await service.stats(store: "blue")
        }
    }

    @Test func importRefusesABadLineNamingItAndKeepsNothingOfItsBatch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let body = Data(
            (#"{"id": "a", "task": "t", "steps": [{"action": "go"}]}"# + "\n" + #"{"id": "b", "task": "t"}"#).utf8)
        await #expect(throws: ServiceError.invalidBody(field: "line 2, steps", reason: "is missing")) {
            try await service.addTrajectories(body, store: nil)
        }
        let stats = try await service.stats(store: nil)
        #expect(stats.statistics.trajectories == 1)
        // The embedder and its dimension, as `memp stats --json` gives them.
        #expect(stats.embedder == HashingEmbedder(dimension: 64).modelIdentifier && stats.dimension == 64)
        let report = try await service.addTrajectories(body, store: nil, parameters: ["skipInvalid": "true"]).report
        #expect(report.imported == 1 && report.invalid == 1)
    }

    /// Hostile run 16: one object over several lines with a syntax error was taken for JSON Lines and answered
    /// "line 1, (line): not valid JSON: Unexpected end of file", its first line `{` alone.
    @Test func anObjectOverSeveralLinesThatIsNotJSONIsRefusedSayingWhereItBreaks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let body = Data("{\n  \"id\": \"a\",\n  \"task\": \"t\" x,\n  \"steps\": [{\"action\": \"go\"}]\n}\n".utf8)
        let problem = try #require(JSONSyntax.problem(in: body))
        #expect(problem == "Invalid value around character 29")  // the `x`
        let before = try await service.stats(store: nil).statistics.trajectories
        await #expect(throws: ServiceError.invalidBody(field: "", reason: "is not valid JSON: " + problem)) {
            try await service.addTrajectories(body, store: nil)
        }
        #expect(try await service.stats(store: nil).statistics.trajectories == before)
        // The same object, valid, is one trajectory.
        let valid = Data(String(decoding: body, as: UTF8.self).replacingOccurrences(of: " x,", with: ",").utf8)
        #expect(try await service.addTrajectories(valid, store: nil).report.imported == 1)
        // JSON Lines whose first record is broken stay JSON Lines: skipped with skipInvalid, named by line without.
        let lines = Data(
            (#"{"id": "b", "task": "t""# + "\n" + #"{"id": "c", "task": "t", "steps": [{"action": "go"}]}"#).utf8)
        let report = try await service.addTrajectories(lines, store: nil, parameters: ["skipInvalid": "true"]).report
        #expect(report.imported == 1 && report.invalid == 1)
        await #expect {
            try await service.addTrajectories(lines, store: nil)
        } throws: { error in
            guard case .invalidBody(let field, _) = error as? ServiceError else { return false }
            return field == "line 1, (line)"
        }
    }

    /// A body of one object, on one line or over several, keeps its numbers as JSON Lines (and a line of a file,
    /// `ImportTests.numbersAreReadAsWritten`) do, though the service writes it again on one line before the
    /// importer reads it.
    @Test func aSingleObjectKeepsItsNumbersAsJSONLinesDo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let labels =
            #"{"huge": 123456789012345678901234567890, "big": 12345678901234567890, "exact": 9007199254740993, "#
            + #""small": 1.5e-7, "one": 1.0, "tiny": 1e-400, "text": "a\"b\u00e9"}"#
        func object(_ id: String, _ separator: String) -> String {
            #"{"id": "\#(id)",\#(separator)"task": "heat a mug", "steps": [{"action": "go"}],\#(separator)"labels": "#
                + labels + "}"
        }
        let jsonLines = Data((object("line", " ") + "\n" + object("other", " ")).utf8)
        #expect(try await service.addTrajectories(jsonLines, store: nil).report.imported == 2)
        let expected = try await service.memory(id: "line", store: nil).memory.labels
        // Integers of 64 bits keep their digits; one past 64 bits is read as a Double, as a file's line reads it.
        #expect(
            expected == [
                "huge": "1.2345678901234568e+29", "big": "12345678901234567890", "exact": "9007199254740993",
                "small": "1.5e-07", "one": "1", "tiny": "0", "text": "a\"b\u{E9}",
            ])
        for (id, separator) in [("one", " "), ("several", "\r\n  ")] {
            #expect(
                try await service.addTrajectories(Data(object(id, separator).utf8), store: nil).report.imported == 1)
            #expect(try await service.memory(id: id, store: nil).memory.labels == expected, "\(id)")
        }
    }

    /// A `source` parameter a record's source could not be (a NUL, a line break) is refused as that parameter, not
    /// blamed on the body's first line, and nothing is stored.
    @Test func aBadSourceParameterIsRefusedByItsName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let stored = try await service.stats(store: nil).statistics.trajectories
        let body = Data(#"{"id": "a", "task": "t", "steps": [{"action": "go"}]}"#.utf8)
        await #expect(
            throws: ServiceError.invalidArgument(
                name: "source", reason: "contains a NUL character (\\u0000), which the store can't keep")
        ) { try await service.addTrajectories(body, store: nil, parameters: ["source": "a\u{0}b"]) }
        let task = #"{"id": "u", "task": "t", "steps": [{"action": "go"}], "usedMemories": []}"#
        await #expect(
            throws: ServiceError.invalidBody(
                field: "source", reason: "contains the control character U+000A, which a source can't hold")
        ) {
            try await service.update(
                Data(#"{"policy": "vanilla", "tasks": [\#(task)], "source": "a\nb"}"#.utf8), store: nil)
        }
        #expect(try await service.stats(store: nil).statistics.trajectories == stored)
        let report = try await service.addTrajectories(body, store: nil, parameters: ["source": "notes"]).report
        #expect(report.imported == 1)
    }

    /// Hostile run 10: a record over a limit PostgreSQL has (a 3,000-byte ID) was answered 500 `store_failure` by a
    /// PostgreSQL store and not skipped by `skipInvalid`; every store now refuses it as a bad line, before writing.
    @Test func aRecordOverALimitEveryStoreSharesIsABadLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        let longID = String(repeating: "k", count: 3000)
        let body = Data(
            (#"{"id": "a", "task": "t", "steps": [{"action": "go"}]}"# + "\n"
                + #"{"id": "\#(longID)", "task": "t", "steps": [{"action": "go"}]}"#).utf8)
        let refusal = ServiceError.invalidBody(
            field: "line 2, id",
            reason: "is 3000 bytes, more than the 1024 bytes an ID may have in any store (PostgreSQL indexes it, and "
                + "an index entry holds at most 2,704 bytes); shorten it")
        #expect(refusal.kind == .badRequest)
        let stored = try await service.stats(store: nil).statistics.trajectories
        await #expect(throws: refusal) { try await service.addTrajectories(body, store: nil) }
        #expect(try await service.stats(store: nil).statistics.trajectories == stored)
        let report = try await service.addTrajectories(body, store: nil, parameters: ["skipInvalid": "true"]).report
        #expect(report.imported == 1 && report.invalid == 1)
        // A write the database still refuses as beyond its limits is the request's to change, not a server failure.
        let tooLarge = MemoryError.recordTooLarge(
            reason: "PostgreSQL at postgres://memp@db/agents: index row size 3024 exceeds … (SQLSTATE 54000)")
        #expect(ServiceError.from(tooLarge, store: "red").kind == .badRequest)
    }

    /// A database that can't be reached is `store_unavailable` (HTTP 503: retry later), not a failure of the server
    /// (500); an import it stops says how many trajectories stay committed, whatever stopped it.
    @Test func anUnreachableDatabaseIsUnavailableAndAStoppedImportSaysWhatStays() {
        let reason = "PostgreSQL at postgres://memp@db:5432/agents: the connection was lost"
        let unavailable = ServiceError.from(.databaseUnavailable(reason: reason), store: "default")
        let message = "Database unavailable: \(reason); retry when it is back."
        #expect(unavailable == .storeUnavailable(reason: message))
        #expect(unavailable.kind == .unavailable && unavailable.code == "store_unavailable")
        let stopped = ServiceError.from(
            .importStopped(committedTrajectories: 512, cause: .databaseUnavailable(reason: reason)), store: "default")
        #expect(
            stopped
                == .storeUnavailable(reason: message + " (512 trajectories before it were committed and stay stored)"))
        #expect(
            ServiceError.from(.commitUnconfirmed(reason: reason), store: "default")
                == .storeUnavailable(
                    reason: "Database unavailable: \(reason) while the transaction was committing, so it may or may "
                        + "not have been committed; once the database is back, look whether the change is there "
                        + "before retrying."))
        let failed = ServiceError.from(
            .importStopped(committedTrajectories: 3, cause: .database(reason: "disk full")), store: "default")
        #expect(
            failed
                == .storeFailure(
                    reason: "Database: disk full (3 trajectories before it were committed and stay stored)"))
        // A task the store's embedder gives no direction is the request's to change, not a failure of the server.
        let directionless = MemoryError.vectorWithoutDirection(memoryID: "m-1")
        #expect(
            ServiceError.from(directionless, store: "default")
                == .invalidArgument(name: "request", reason: directionless.description))
    }

    /// A full disk is `storage_full` (HTTP 507: retry once space is freed), not a failure of the server (500).
    @Test func aFullDiskIsInsufficientStorageAndAStoppedImportSaysWhatStays() {
        let full = MemoryError.storageFull(path: "/stores/red/memp.sqlite")
        let answer = ServiceError.from(full, store: "red")
        #expect(answer == .storageFull(reason: full.description))
        #expect(answer.kind == .insufficientStorage && answer.code == "storage_full")
        let stopped = ServiceError.from(.importStopped(committedTrajectories: 7, cause: full), store: "red")
        let kept = " (7 trajectories before it were committed and stay stored)"
        #expect(stopped == .storageFull(reason: full.description + kept))
    }

    /// A write that committed but could not save the store's index cache succeeded over HTTP and MCP without a word
    /// (the CLI warns): each write's answer, and the store's stats, now carry the warning until a write saves the
    /// cache again, and the log says so once when it starts and once when it ends.
    @Test func aWriteWhoseCacheCannotBeSavedWarnsInItsAnswerAndLogsOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.makeRoot(directory) + "/red"
        let lines = Mutex<[String]>([])
        let service = MemoryService(
            registry: StoreRegistry(layout: .single(.directory(store))), limits: .untimed,
            log: { line in lines.withLock { $0.append(line) } })
        #expect(try await service.stats(store: nil).warnings == nil)
        try FileManager.default.removeItem(atPath: store + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: store + "/index"))
        let unsaved = [
            ServiceWarning(
                code: .indexCacheUnsaved,
                message: "Store default: the changes are stored, but the index cache was not saved (\(store)/index: "
                    + "can't create the index directory: ")
        ]
        func expectUnsaved(_ warnings: [ServiceWarning]?, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(warnings?.map(\.code) == [.indexCacheUnsaved], sourceLocation: sourceLocation)
            #expect(
                warnings?.first?.message.hasPrefix(unsaved[0].message) == true, "\(String(describing: warnings))",
                sourceLocation: sourceLocation)
        }
        let line = #"{"id": "red-2", "task": "water the plants", "steps": [{"action": "fill the can"}]}"#
        let imported = try await service.addTrajectories(Data(line.utf8), store: nil)
        #expect(imported.report.imported == 1)
        expectUnsaved(imported.warnings)
        expectUnsaved(
            try await service.feedback(Data(#"{"memory": "red-1", "success": true}"#.utf8), store: nil).warnings)
        let task = #"{"id": "red-3", "task": "dig", "steps": [{"action": "dig"}], "outcome": {"success": true}}"#
        let update = #"{"policy": "vanilla", "tasks": [\#(task)]}"#
        expectUnsaved(try await service.update(Data(update.utf8), store: nil).warnings)
        expectUnsaved(try await service.delete(id: "red-3", store: nil).warnings)
        expectUnsaved(try await service.stats(store: nil).warnings)
        #expect(lines.withLock { $0.count } == 1)
        #expect(lines.withLock { $0.first?.hasPrefix("Warning: store" + unsaved[0].message.dropFirst(5)) } == true)
        // Once a write saves the cache, answers carry no warning, and the log says so once.
        try FileManager.default.removeItem(atPath: store + "/index")
        let next = #"{"id": "red-4", "task": "close the door", "steps": [{"action": "push the door"}]}"#
        let saved = try await service.addTrajectories(Data(next.utf8), store: nil)
        #expect(saved.warnings == nil && saved.report.imported == 1)
        #expect(try await service.stats(store: nil).warnings == nil)
        #expect(
            lines.withLock { Array($0.dropFirst()) } == [
                "Store default: the index cache is no longer reported unsaved: a later write saved it, or the store "
                    + "read it again after another process wrote."
            ])
        // The answer's JSON has no warnings field then.
        #expect(!String(decoding: try ServiceJSON.encode(saved), as: UTF8.self).contains("warnings"))
    }

    @Test func feedbackCountsEveryReportAndRefusesUnknownIDs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfRed(directory)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    _ = try? await service.feedback(
                        Data(#"{"memory": "red-1", "success": \#(index % 4 != 0)}"#.utf8), store: nil)
                }
            }
        }
        let memory = try await service.memory(id: "red-1", store: nil).memory
        #expect(memory.hitCount == 20 && memory.successCount == 15)
        await #expect(throws: ServiceError.unknownMemory(id: "ghost", store: "default")) {
            try await service.feedback(Data(#"{"memories": ["red-1", "ghost"], "success": true}"#.utf8), store: nil)
        }
        #expect(try await service.memory(id: "red-1", store: nil).memory.hitCount == 20)
    }

    /// A memory merged from a failed and then a successful trajectory: the service's lookup, its memory by ID and
    /// the library's lookup (what `memp query` prints) all report one outcome, by the library's rule.
    @Test func serviceAndLibraryReportOneOutcomeForAMergedMemory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let embedder = HashingEmbedder(dimension: 64)
        let store = try await MemoryStore.create(at: path, embedder: embedder, configuration: .hashing(dimension: 64))
        let task = "enter the kitchen"
        let failed = Trajectory(
            id: "first", task: task, steps: [Step(action: "walk")], outcome: Outcome(success: false), source: "test")
        let succeeded = Trajectory(
            id: "second", task: task, steps: [Step(action: "open the door")], outcome: Outcome(success: true),
            source: "test")
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        let memory = Memory(
            id: "merged", task: task, kind: .merged, buildPolicy: .trajectory, steps: succeeded.steps, script: nil,
            keywords: [], sourceTrajectoryIDs: ["first", "second"], source: "test", labels: [:],
            embedderID: embedder.modelIdentifier, provenance: Provenance(), createdAt: date, updatedAt: date)
        _ = try await store.backend.write(
            WriteBatch(
                trajectories: [failed, succeeded],
                memories: [MemoryRecord(memory: memory, taskVector: try embedder.embed(task), keywordVector: nil)],
                replacing: false, policy: "test", reason: "test"))

        let library = try await MemoryStore.open(at: path).retrieve(task, options: RetrievalOptions(k: 1))
        #expect(library.map(\.memory.id) == ["merged"])
        #expect(library.first?.sourceOutcome == Outcome(success: true))
        let service = MemoryService(registry: StoreRegistry(layout: .single(.directory(path))), limits: .untimed)
        let served = try await service.lookup(LookupRequest(task: task, k: 1), store: nil)
        #expect(served.hits.map(\.id) == ["merged"])
        #expect(served.hits.first?.outcome == library.first?.sourceOutcome)
        #expect(try await service.memory(id: "merged", store: nil).outcome == Outcome(success: true))
    }

    @Test func lookupsUseTheFusionRecordedInTheStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try await Self.makeRoot(directory) + "/red"
        try await MemoryStore.open(at: path).recordFusion(
            .reciprocalRank(rankConstant: 10),
            evidence: FusionTuningEvidence(
                origin: "test", queries: 5, folds: 5, metric: "nDCG@10", chosenScore: 1, defaultScore: 0.5,
                crossValidatedScore: 0.75))
        let service = MemoryService(registry: StoreRegistry(layout: .single(.directory(path))), limits: .untimed)
        let hits = try await service.lookup(LookupRequest(task: "enter the kitchen", k: 1), store: nil).hits
        let hit = try #require(hits.first)
        #expect(hit.explanation.hasPrefix("reciprocal rank fusion (rank constant 10);"))
    }

    @Test func bearerTokenMatchesOnlyTheExactToken() throws {
        let token = BearerToken("abcdefghijklmnop")
        #expect(token.authorizes("Bearer abcdefghijklmnop"))
        for header in [
            nil, "", "Bearer abcdefghijklmno", "Bearer abcdefghijklmnoq", "Basic abcdefghijklmnop",
            "bearer abcdefghijklmnop", "Bearer abcdefghijklmnopq",
        ] {
            #expect(!token.authorizes(header), "\(header ?? "nil")")
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "short\n".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        #expect(
            throws: ServiceError.invalidArgument(
                name: directory.file("token"), reason: "the token file must hold a token of at least 16 characters")
        ) { try BearerToken(contentsOf: directory.file("token")) }
        // Hostile run 7: a token with a NUL was accepted, though no client can send it.
        try "abcdefghijklmnop\u{0}qrstuv\n".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        #expect(
            throws: ServiceError.invalidArgument(
                name: directory.file("token"),
                reason: "the token holds a byte a client can't send in an Authorization header at offset 16 (a token "
                    + "is visible ASCII: letters, digits and punctuation)")
        ) { try BearerToken(contentsOf: directory.file("token")) }
        // A FIFO in place of the token file was opened and waited on; a huge file was read whole.
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(
            throws: ServiceError.invalidArgument(name: fifo, reason: "the token file is a FIFO, not a regular file")
        ) { try BearerToken(contentsOf: fifo) }
        let huge = directory.file("huge")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil) && truncate(huge, 2 << 30) == 0)
        #expect(
            throws: ServiceError.invalidArgument(
                name: huge, reason: "the token file is 2147483648 bytes, more than the 1048576 it may hold")
        ) { try BearerToken(contentsOf: huge) }
    }

    @Test func metricsRenderCountsAndCumulativeBuckets() {
        let metrics = ServiceMetrics()
        for seconds in [0.0005, 0.003, 0.003, 2.0] {
            metrics.started()
            metrics.finished(route: "/v1/lookup", method: "POST", status: 200, seconds: seconds)
        }
        let text = metrics.render(storeSizes: [(name: "default", memories: 7)])
        #expect(text.contains(#"memp_http_requests_total{route="/v1/lookup",method="POST",status="200"} 4"#))
        #expect(text.contains(#"memp_http_request_duration_seconds_bucket{route="/v1/lookup",le="0.001"} 1"#))
        #expect(text.contains(#"memp_http_request_duration_seconds_bucket{route="/v1/lookup",le="0.005"} 3"#))
        #expect(text.contains(#"memp_http_request_duration_seconds_bucket{route="/v1/lookup",le="+Inf"} 4"#))
        #expect(text.contains("memp_http_requests_in_flight 0\n"))
        #expect(text.contains("memp_http_requests_in_flight_peak 1\n"))
        #expect(text.contains(#"memp_store_memories{store="default"} 7"#))
    }
}
