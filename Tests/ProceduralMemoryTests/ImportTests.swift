import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import Synchronization
import TestSupport
import Testing

@Suite struct ImportTests {
    @Test(arguments: BuildPolicy.allCases, TestStoreKind.allCases)
    func buildsEveryPolicyFromOurFormat(policy: BuildPolicy, location: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await location.makeStore(in: directory)
        let file = try directory.write(try Samples.jsonLines(Samples.all), to: "runs.jsonl")
        let report = try await store.importTrajectories(
            from: file, options: ImportOptions(builder: MemoryBuilder(policy: policy), batchSize: 3))
        #expect(
            report.linesRead == 4 && report.imported == 4 && report.invalid == 0
                && report.skippedDuplicates == 0)

        let memory = try #require(try await store.memory(id: "alf-heat-mug-1"))
        #expect(memory.buildPolicy == policy && memory.kind == .built && memory.status == .active)
        #expect(memory.task == Samples.heatMug.task)
        #expect(memory.sourceTrajectoryIDs == ["alf-heat-mug-1"])
        #expect(memory.source == "alfworld" && memory.labels == ["taskType": "heat", "fold": "train"])
        #expect(memory.hitCount == 0 && memory.successCount == 0 && memory.revision == 1)
        #expect(memory.embedderID == "test-words:v1:64")
        #expect(memory.provenance.producer == "gpt-4o" && memory.provenance.importedFrom == file)
        #expect(!memory.keywords.isEmpty)
        let expectedScript = RuleBasedScriptWriter().abstract(
            task: Samples.heatMug.task, steps: Samples.heatMug.steps)
        switch policy {
        case .trajectory:
            #expect(memory.steps == Samples.heatMug.steps && memory.script == nil)
            #expect(memory.provenance.scriptWriter == nil)
        case .script:
            #expect(memory.steps == nil && memory.script == expectedScript)
            #expect(memory.provenance.scriptWriter == "rule-based/v1")
        case .proceduralization:
            #expect(memory.steps == Samples.heatMug.steps && memory.script == expectedScript)
        }
        #expect(try await store.trajectory(id: "alf-clean-apple-1") == Samples.cleanApple)
        let statistics = try await store.statistics()
        #expect(
            statistics.trajectories == 4 && statistics.memories == 4 && statistics.activeMemories == 4)
        #expect(statistics.memoriesByBuildPolicy == [policy.rawValue: 4])
        #expect(statistics.trajectoriesBySource == ["alfworld": 3, "textworld-express": 1])
        #expect(statistics.historyEntries == 4)
    }

    @Test func importsTheReferenceFormat() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let lines = [
            #"{"source": "tp-001", "query": "Plan a 3-day trip from Seattle to Denver.\n\nBudget: $1,200.", "trajectory": "Thought: find flights first\nAction: FlightSearch[Seattle, Denver, 2022-03-10]\nObservation: 12 flights found.\nAction: AccommodationSearch[Denver]\nObservation: 30 hotels found.", "facts": {"destination": "Denver", "days": 3}}"#,
            #"{"source": "tp-002", "query": "Plan a 5-day trip from Austin to Miami.", "trajectory": "> search flights Austin Miami\n4 flights found.", "facts": ["Miami", "five days"], "success": true}"#,
        ]
        let file = try directory.write(lines.joined(separator: "\n"), to: "reference.jsonl")
        let report = try await store.importTrajectories(
            from: file, options: ImportOptions(source: "travelplanner"))
        #expect(report.imported == 2)
        let first = try #require(try await store.trajectory(id: "tp-001"))
        #expect(first.task == "Plan a 3-day trip from Seattle to Denver.")
        #expect(first.source == "travelplanner" && first.outcome == nil)
        #expect(
            first.steps == [
                Step(action: "think: find flights first"),
                Step(action: "FlightSearch[Seattle, Denver, 2022-03-10]", observation: "12 flights found."),
                Step(action: "AccommodationSearch[Denver]", observation: "30 hotels found."),
            ])
        // Object facts keep their values, in key order; list facts are kept as given.
        #expect(try await store.memory(id: "tp-001")?.keywords == ["3", "Denver"])
        #expect(try await store.memory(id: "tp-002")?.keywords == ["Miami", "five days"])
        #expect(try await store.trajectory(id: "tp-002")?.outcome == Outcome(success: true))
    }

    /// Hostile run 15's list: keywords given in code were stored as given, blank ones too (a file's are trimmed and
    /// the blank ones dropped), and keywords for an ID not in the batch were dropped unseen.
    @Test func keywordsGivenInCodeAreKeptAsAFilesAre() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        await #expect(
            throws: MemoryError.invalidTrajectory(
                id: "alf-heat-mug", field: "facts", rule: "names no trajectory of the batch")
        ) {
            try await store.add([Samples.heatMug], facts: ["alf-heat-mug": ["mug"]])
        }
        #expect(try await store.statistics().trajectories == 0)
        try await store.add([Samples.heatMug], facts: [Samples.heatMug.id: ["  mug ", "", " \t", "coffee machine"]])
        #expect(try await store.memory(id: Samples.heatMug.id)?.keywords == ["mug", "coffee machine"])
    }

    /// Hostile run 16: a label's integer past 10^15 was stored as other text (`1234567890123456.0`, and
    /// `9007199254740993` as `9007199254740992.0`), so a filter or delete by the label as written missed it; a
    /// reward of 1e-400, JSON a Double rounds to 0, was refused as "not valid JSON".
    @Test func numbersAreReadAsWritten() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let labels = [
            "1234567890123456", "9007199254740993", "-9007199254740993", "12345678901234567890", "1e2", "0.5", "1e300",
        ]
        let line =
            #"{"id": "n", "task": "heat a mug", "steps": [{"action": "go"}], "outcome": {"reward": 1e-400}, "labels": {"#
            + labels.enumerated().map { #""l\#($0.offset)": \#($0.element)"# }.joined(separator: ", ") + "}}"
        try await store.importTrajectories(from: try directory.write(line, to: "numbers.jsonl"))
        let stored = try #require(try await store.trajectory(id: "n"))
        #expect(stored.outcome == Outcome(reward: 0))
        #expect(
            stored.labels == [
                "l0": "1234567890123456", "l1": "9007199254740993", "l2": "-9007199254740993",
                "l3": "12345678901234567890", "l4": "100", "l5": "0.5", "l6": "1e+300",
            ])
        let hits = try await store.retrieve(
            "heat a mug", options: RetrievalOptions(policy: .bm25, labels: ["l1": "9007199254740993"]))
        #expect(hits.map(\.memory.id) == ["n"])
    }

    static let badLines: [(line: String, field: String, reason: String)] = [
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}"#, "(line)",
            "not valid JSON: Unexpected end of file during JSON parse"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": NaN}]}"#, "(line)",
            "not valid JSON: Invalid value around character 46"
        ),
        (#"["id", "x"]"#, "(line)", "must be a JSON object"),
        // Hostile run 22: Foundation's parser took a comma before a closing bracket, which JSON does not allow.
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"},]}"#, "steps",
            JSONSyntax.trailingCommaReason(at: 50)
        ),
        (#"{"task": "t", "steps": [{"action": "a"}]}"#, "id", "is missing"),
        (#"{"id": 7, "task": "t", "steps": [{"action": "a"}]}"#, "id", "must be a string"),
        (#"{"id": "x", "task": "  ", "steps": [{"action": "a"}]}"#, "task", "must not be empty"),
        // Hostile run 12: a task of invisible characters was stored, though no lookup could take it as a task.
        (#"{"id": "x", "task": "\u200b\ufeff", "steps": [{"action": "a"}]}"#, "task", "must not be empty"),
        (#"{"id": "x", "task": "t", "steps": [{"action": "\u00ad"}]}"#, "steps[0].action", "must not be empty"),
        (#"{"id": "x", "task": "t"}"#, "steps", "is missing"),
        (
            #"{"id": "x", "task": "t", "steps": "go north"}"#, "steps",
            "must be an array of {\"action\", \"observation\"} objects"
        ),
        (#"{"id": "x", "task": "t", "steps": []}"#, "steps", "must hold at least one step"),
        (
            #"{"id": "x", "task": "t", "steps": ["go"]}"#, "steps[0]",
            "must be an object with an action and an observation"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}, {"observation": "o"}]}"#,
            "steps[1].action", "is missing"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a", "observation": 3}]}"#,
            "steps[0].observation", "must be a string"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "outcome": {"success": "yes"}}"#,
            "outcome.success", "must be true or false"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "outcome": {"reward": true}}"#,
            "outcome.reward", "must be a number"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "outcome": {}}"#, "outcome",
            "must give success (true/false), reward (a number), or both"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "labels": ["a"]}"#, "labels",
            "must be an object"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "labels": {"k": [1]}}"#, "labels.k",
            "must be a string, a number or a boolean"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "source": ""}"#, "source",
            "must not be empty"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "facts": "hot"}"#, "facts",
            "must be a list of keyword strings or an object of facts"
        ),
        (
            #"{"id": "x", "task": "t", "steps": [{"action": "a"}], "facts": [{"k": 1}]}"#, "facts[0]",
            "must be a string"
        ),
    ]

    @Test(arguments: badLines)
    func namesTheLineAndFieldOfABadRecord(line: String, field: String, reason: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let file = try directory.write(
            try Samples.jsonLines([Samples.heatMug]) + "\n" + line + "\n", to: "bad.jsonl")
        // The blank line still counts, so the bad record is on line 3; batches of 1 commit line 1 first.
        await #expect(
            throws: MemoryError.importStopped(
                committedTrajectories: 1,
                cause: .invalidRecord(path: file, line: 3, field: field, reason: reason))
        ) {
            try await store.importTrajectories(
                from: file, options: ImportOptions(format: .memp, batchSize: 1))
        }
        #expect(try await store.statistics().trajectories == 1)
        #expect(
            try await store.retrieve("heat mug", options: RetrievalOptions(policy: .query)).map(
                \.memory.id) == ["alf-heat-mug-1"])
    }

    @Test func badReferenceRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let cases: [(String, String, String)] = [
            (#"{"query": "q", "trajectory": "> a"}"#, "source", "is missing"),
            (#"{"source": "s", "trajectory": "> a"}"#, "query", "is missing"),
            (
                #"{"source": "s", "query": "\n\nrest", "trajectory": "> a"}"#, "query",
                "its first paragraph is empty"
            ),
            (#"{"source": "s", "query": "q", "trajectory": ["a"]}"#, "trajectory", "must be a string"),
            (
                #"{"source": "s", "query": "q", "trajectory": "Observation: nothing"}"#, "trajectory",
                "holds no actions"
            ),
        ]
        for (line, field, reason) in cases {
            let file = try directory.write(line + "\n", to: "reference.jsonl")
            await #expect(
                throws: MemoryError.invalidRecord(path: file, line: 1, field: field, reason: reason)
            ) {
                try await store.importTrajectories(from: file, options: ImportOptions(format: .reference))
            }
        }
    }

    @Test func skipInvalidImportsTheRestAndCounts() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let good = try Samples.jsonLines([Samples.heatMug, Samples.cleanApple]).split(separator: "\n")
        let text = [String(good[0]), "{not json", #"{"id": "y", "task": "t"}"#, String(good[1])].joined(
            separator: "\n")
        let file = try directory.write(text, to: "mixed.jsonl")
        let report = try await store.importTrajectories(
            from: file, options: ImportOptions(skipInvalid: true))
        #expect(report.linesRead == 4 && report.imported == 2 && report.invalid == 2)
        #expect(
            report.errors == [
                MemoryError.invalidRecord(
                    path: file, line: 2, field: "(line)", reason: "not valid JSON: Invalid value around character 1"
                ).description,
                MemoryError.invalidRecord(path: file, line: 3, field: "steps", reason: "is missing")
                    .description,
            ])
        // A run that skipped the lines says what to fix, not to skip them.
        #expect(report.errors[1] == "\(file), line 3, field steps: is missing. Fix this field of the line.")
    }

    // A directory opens like a file; its first read used to crash the import, the update and every other reader.
    @Test func aDirectoryIsRefusedAsInput() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let folder = directory.file("folder.jsonl")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let refusal = MemoryError.io(path: folder, reason: "is a directory, not a JSON Lines file")
        await #expect(throws: refusal) { try await store.importTrajectories(from: folder) }
        #expect(throws: refusal) { try FinishedTask.read(from: folder) }
        #expect(store.memoryCount == 0)
    }

    @Test func duplicatesAreRefusedSkippedOrReplaced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let first = try directory.write(
            try Samples.jsonLines([Samples.heatMug, Samples.cleanApple]), to: "first.jsonl")
        try await store.importTrajectories(from: first)

        var changed = Samples.heatMug
        changed.task = "heat some cup and put it in coffeemachine"
        let second = try directory.write(
            try Samples.jsonLines([Samples.cookMeal, changed]), to: "second.jsonl")
        await #expect(
            throws: MemoryError.importStopped(
                committedTrajectories: 1,
                cause: .duplicateTrajectory(id: "alf-heat-mug-1", path: second, line: 2))
        ) {
            try await store.importTrajectories(from: second, options: ImportOptions(batchSize: 1))
        }
        #expect(try await store.statistics().trajectories == 3)

        let skipped = try await store.importTrajectories(
            from: second, options: ImportOptions(duplicates: .skip))
        #expect(skipped.imported == 0 && skipped.skippedDuplicates == 2)
        #expect(try await store.memory(id: "alf-heat-mug-1")?.task == Samples.heatMug.task)

        let replaced = try await store.importTrajectories(
            from: second, options: ImportOptions(duplicates: .replace))
        #expect(replaced.imported == 2 && replaced.replaced == 2)
        #expect(try await store.memory(id: "alf-heat-mug-1")?.task == changed.task)
        #expect(try await store.trajectory(id: "alf-heat-mug-1")?.task == changed.task)
        #expect(try await store.statistics().memories == 3)
        #expect(store.memoryCount == 3)
        let history = try await store.history(memoryID: "alf-heat-mug-1")
        #expect(history.map(\.action) == [.add, .replace])
        #expect(
            history[1].before?.task == Samples.heatMug.task && history[1].after?.task == changed.task)
        let hits = try await store.retrieve(
            "heat some cup", options: RetrievalOptions(policy: .query, k: 1))
        #expect(hits.map(\.memory.id) == ["alf-heat-mug-1"])
    }

    /// Fields a record holds beyond its format are named with their first line and how many lines had them (they
    /// used to vanish unseen: a misspelt `sorce` stored the file's name as the source); the record is imported.
    @Test func fieldsBeyondTheFormatAreReportedAndTheRecordsImported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let lines = [
            #"{"id": "a", "task": "heat a mug", "steps": [{"action": "go", "observation": "ok", "time": 1}], "#
                + #""outcome": {"success": true, "rewrd": 1}, "sorce": "x"}"#,
            #"{"id": "b", "task": "cool a mug", "steps": [{"action": "go", "time": 2}, {"action": "b", "time": 3}]}"#,
            #"{"id": "c", "task": "wash a mug", "steps": [{"action": "go"}], "source": "alfworld"}"#,
        ]
        let file = try directory.write(lines.joined(separator: "\n") + "\n", to: "extra.jsonl")
        let report = try await store.importTrajectories(from: file)
        #expect(report.imported == 3)
        #expect(Self.described(report) == ["outcome.rewrd 1 1", "sorce 1 1", "steps[].time 1 2"])
        #expect(
            report.unreadFieldsWarning
                == "3 fields of the input are not in its trajectory format, so nothing of them was stored: "
                + #""outcome.rewrd" (line 1), "sorce" (line 1), "steps[].time" (2 lines from line 1)"#)
        #expect(try await store.trajectory(id: "a")?.source == "extra")
        // A reference-format record reads no `task`; a record of only known fields adds nothing.
        let reference = try directory.write(
            #"{"source": "r-1", "query": "find a key", "trajectory": "Action: look", "task": "t"}"# + "\n",
            to: "reference.jsonl")
        let referenceReport = try await store.importTrajectories(from: reference)
        #expect(Self.described(referenceReport) == ["task 1 1"])
        let plain = try directory.write(try Samples.jsonLines([Samples.heatMug]), to: "plain.jsonl")
        let plainReport = try await store.importTrajectories(from: plain)
        #expect(plainReport.unreadFields.fields.isEmpty && plainReport.unreadFieldsWarning == nil)
    }

    /// Each unread field of `report` as "name firstLine lines".
    static func described(_ report: ImportReport) -> [String] {
        report.unreadFields.fields.map { "\($0.name) \($0.firstLine) \($0.lines)" }
    }

    /// A hostile file of a new field name on every line keeps 100 names, each printable and at most 100 characters.
    @Test func unreadFieldNamesAreBoundedAndPrintable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let long = String(repeating: "x", count: 300)
        let lines =
            (0..<150).map { index in
                #"{"id": "t\#(index)", "task": "heat a mug", "steps": [{"action": "go"}], "f\#(index)": 1}"#
            } + [#"{"id": "esc", "task": "heat a mug", "steps": [{"action": "go"}], "\u001b[31m": 1, "\#(long)": 2}"#]
        let file = try directory.write(lines.joined(separator: "\n") + "\n", to: "many.jsonl")
        let report = try await store.importTrajectories(from: file)
        #expect(report.imported == 151)
        #expect(report.unreadFields.fields.count == UnreadFields.maximumCount)
        #expect(Self.described(report).prefix(2) == ["f0 1 1", "f1 2 1"])
        #expect(report.unreadFieldsWarning?.hasPrefix("100 or more fields of the input are not in its") == true)
        // Past the first 100 names the escape and the long name are not kept; alone, they are shown harmlessly.
        let alone = try directory.write(lines[150] + "\n", to: "alone.jsonl")
        let aloneReport = try await store.importTrajectories(from: alone, options: ImportOptions(duplicates: .skip))
        #expect(
            aloneReport.unreadFields.fields.map(\.name).sorted()
                == ["\\u{1B}[31m", String(repeating: "x", count: 100) + "…"])
    }

    @Test func duplicatesInsideOneFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        var later = Samples.heatMug
        later.task = "heat a mug"
        let file = try directory.write(
            try Samples.jsonLines([Samples.heatMug, Samples.cookMeal, later]), to: "dup.jsonl")
        await #expect(
            throws: MemoryError.repeatedTrajectory(id: "alf-heat-mug-1", path: file, line: 3, firstLine: 1)
        ) {
            try await store.importTrajectories(from: file)
        }
        let skipped = try await store.importTrajectories(
            from: file, options: ImportOptions(duplicates: .skip))
        #expect(skipped.imported == 2 && skipped.skippedDuplicates == 1)
        let store2 = try await TestStoreKind.inMemory.makeStore(in: directory)
        let replaced = try await store2.importTrajectories(
            from: file, options: ImportOptions(duplicates: .replace))
        #expect(replaced.imported == 3 && replaced.replaced == 1)
        #expect(try await store2.memory(id: "alf-heat-mug-1")?.task == "heat a mug")
        #expect(store2.memoryCount == 2)
    }

    @Test func rejectsTasksWithoutADirection() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        var blank = Samples.cookMeal
        blank.id = "blank"
        blank.task = "1234 !!"  // no word the test embedder knows: an all-zero vector
        let file = try directory.write(try Samples.jsonLines([Samples.heatMug, blank]), to: "blank.jsonl")
        let reason = "the embedder gives it an all-zero or non-finite vector, so it can't be ranked"
        await #expect(throws: MemoryError.invalidRecord(path: file, line: 2, field: "task", reason: reason)) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
        let report = try await store.importTrajectories(from: file, options: ImportOptions(skipInvalid: true))
        #expect(report.imported == 1 && report.invalid == 1 && store.memoryCount == 1)
    }

    /// Records every text it is asked to embed.
    final class RecordingEmbedder: Embedder {
        let embedded = Mutex<[String]>([])
        var modelIdentifier: String { WordHashEmbedder().modelIdentifier }
        var dimension: Int { WordHashEmbedder().dimension }
        func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
            embedded.withLock { $0 += texts }
            return try WordHashEmbedder().embed(texts)
        }
    }

    @Test func importEmbedsEachDistinctTaskOnceAcrossBatches() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recording = RecordingEmbedder()
        let store = try await MemoryStore.create(at: directory.file("store"), embedder: recording)
        var failedRetry = Samples.heatMug
        failedRetry.id = "alf-heat-mug-2"
        failedRetry.outcome = Outcome(success: false, reward: 0)
        var laterRetry = Samples.heatMug
        laterRetry.id = "alf-heat-mug-3"
        let runs = [Samples.heatMug, Samples.cleanApple, failedRetry, laterRetry]
        let file = try directory.write(try Samples.jsonLines(runs), to: "runs.jsonl")
        // Batches of two: the retries come in the second batch, after the first attempt was embedded.
        let report = try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 2))
        #expect(report.imported == 4)
        #expect(recording.embedded.withLock { $0 }.filter { $0 == Samples.heatMug.task }.count == 1)
        let hits = try await store.retrieve(
            Samples.heatMug.task, options: RetrievalOptions(policy: .query, k: 4))
        let attempts = hits.filter { $0.memory.task == Samples.heatMug.task }
        #expect(attempts.count == 3)
        #expect(attempts.allSatisfy { abs($0.score - 1) < 1e-6 })
    }

    /// Claims 64 dimensions but returns 32.
    struct ShortEmbedder: Embedder {
        var modelIdentifier: String { "short:v1:64" }
        var dimension: Int { 64 }
        func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
            try WordHashEmbedder().embed(texts).map { Array($0.prefix(32)) }
        }
    }

    @Test func aBrokenEmbedderCommitsNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let store = try await MemoryStore.create(at: path, embedder: ShortEmbedder())
        let file = try directory.write(try Samples.jsonLines(Samples.all), to: "runs.jsonl")
        await #expect(
            throws: MemoryError.embedding(
                reason: EmbeddingError.dimensionMismatch(expected: 64, actual: 32).description)
        ) {
            try await store.importTrajectories(from: file)
        }
        #expect(try await store.statistics().trajectories == 0)
        #expect(try await MemoryStore.open(at: path, embedder: ShortEmbedder()).memoryCount == 0)
    }

    @Test func addValidatesTrajectories() async throws {
        let store = try await TestStoreKind.inMemoryStore()
        var noTask = Samples.cookMeal
        noTask.task = " "
        await #expect(
            throws: MemoryError.invalidTrajectory(id: "tw-cook-0007", field: "task", rule: "must not be empty")
        ) {
            try await store.add([noTask])
        }
        var noSteps = Samples.cookMeal
        noSteps.steps = []
        await #expect(
            throws: MemoryError.invalidTrajectory(
                id: "tw-cook-0007", field: "steps", rule: "must hold at least one step")
        ) { try await store.add([noSteps]) }
        var blankAction = Samples.cookMeal
        blankAction.steps[1].action = " \u{200B}"
        await #expect(
            throws: MemoryError.invalidTrajectory(
                id: "tw-cook-0007", field: "steps[1].action", rule: "must not be empty")
        ) { try await store.add([blankAction]) }
        await #expect(
            throws: MemoryError.repeatedTrajectory(id: "tw-cook-0007", path: "(batch)", line: 3, firstLine: 1)
        ) {
            try await store.add([Samples.cookMeal, Samples.heatMug, Samples.cookMeal])
        }
        #expect(try await store.statistics().trajectories == 0)
    }

    @Test func missingFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let path = directory.file("absent.jsonl")
        await #expect(
            throws: MemoryError.io(path: path, reason: "the file does not exist or is not readable")
        ) { try await store.importTrajectories(from: path) }
    }

    @Test func reportsProgressPerBatch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.inMemory.makeStore(in: directory)
        let text = try Samples.jsonLines(Samples.all)
        let file = try directory.write(text, to: "runs.jsonl")
        let seen = Mutex<[ImportReport]>([])
        try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 3)) {
            progress in
            seen.withLock { $0.append(progress) }
        }
        let progress = seen.withLock { $0 }
        #expect(progress.map(\.imported) == [3, 4] && progress.map(\.linesRead) == [3, 4])
        #expect(
            progress.last?.bytesRead == text.utf8.count && progress.last?.totalBytes == text.utf8.count)
    }
}
