import ArgumentParser
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import Synchronization
import TestSupport
import Testing

@testable import MempCLI

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct MemoryCommandTests {
    static var sampleTrajectories: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(
                "data/textworld-sample/trajectories.jsonl"
            ).path
    }

    /// Creates `directory/store` with `memp init` on the hashing embedder of `dimension` and returns its path.
    static func initHashingStore(in directory: TemporaryDirectory, dimension: Int = 64) async throws -> String {
        let store = directory.file("store")
        try await InitCommand.parse(["--store", store, "--embedder", "hashing", "--dimension", String(dimension)]).run()
        return store
    }

    /// Follows `importer`'s progress lines (`--progress json`, one per committed batch, on `progress`) on a thread of
    /// its own (``onOwnThread(_:)``) and kills it with SIGKILL at the first that reports at least `threshold`
    /// committed trajectories; returns that count (0 if the import ended first).
    ///
    /// The thread blocks on the pipe, so it acts on the importer's own report, not on a poll; being an OS thread, it
    /// cannot be starved by other tests on the cooperative pool, nor hold one of its threads.
    static func killWhenCommitted(atLeast threshold: Int, progress: Pipe, importer: Process) async -> Int {
        await onOwnThread {
            var pending = Data()
            while true {
                let chunk = progress.fileHandleForReading.availableData
                if chunk.isEmpty { return 0 }  // the importer ended
                pending += chunk
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[pending.startIndex..<newline])
                    pending = Data(pending[(newline + 1)...])
                    guard let step = try? JSONDecoder().decode([String: Int].self, from: line),
                        let committed = step["committed"], committed >= threshold
                    else { continue }
                    kill(importer.processIdentifier, SIGKILL)
                    return committed
                }
            }
        }
    }

    /// The lines `memp query --queries … --json` printed, read back through the type the command writes them with.
    static func batchLines(_ output: String) throws -> [QueryCommand.BatchLine] {
        try output.split(separator: "\n").map {
            try JSONDecoder().decode(QueryCommand.BatchLine.self, from: Data($0.utf8))
        }
    }

    /// The distinct key sets of the hits of `memp query --queries … --json` output, over all its lines.
    static func hitKeys(_ output: String) throws -> Set<Set<String>> {
        var keys: Set<Set<String>> = []
        for line in output.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            for hit in object?["hits"] as? [[String: Any]] ?? [] { keys.insert(Set(hit.keys)) }
        }
        return keys
    }

    @Test func deleteUsageNamesOneScope() {
        // The generated usage showed `[--id <id> ...] [--source <source> ...] [--label <key=value> ...]`, each
        // repeatable and all optional, for a command that takes exactly one of them once.
        let usage =
            "memp delete --store <dir|url> (--id <id> | --source <source> | --label <key=value>) [--dry-run] [--json]"
        #expect(DeleteCommand.helpMessage().contains("USAGE: " + usage + "\n"))
        #expect(DeleteCommand.usageString() == usage)
    }

    @Test func validatesFlags() throws {
        let oneScope =
            "Give exactly one of --id, --source and --label, once: a delete is one scope (run one per scope)."
        // Hostile run 8: `--id a --id b` deleted b alone.
        for arguments in [
            ["--id", "a", "--source", "b"], ["--id", "a", "--id", "b"], ["--label", "k=v", "--label", "k=w"],
        ] {
            #expect(parseFailure(DeleteCommand.self, ["--store", "s"] + arguments) == oneScope)
        }
        do {
            _ = try DeleteCommand.parse(["--store", "s"])
            Issue.record("expected a validation error")
        } catch {
            #expect(DeleteCommand.message(for: error) == oneScope)
        }
        // Hostile run 20: an empty ID was looked up ("No memory or trajectory has ID .").
        #expect(
            parseFailure(DeleteCommand.self, ["--store", "s", "--id", " "])
                == "--id must be a trajectory or memory ID, not empty.")
        #expect(
            parseFailure(DeleteCommand.self, ["--store", "s", "--source", ""])
                == "--source must be a source, not empty.")
        #expect(parseFailure(ShowCommand.self, ["--store", "s", ""]) == "The memory ID must not be empty.")
        // Finding 210: the same directory spelled otherwise was opened, and so upgraded, before it was refused.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: store)
        for spelling in [
            store + "/", store + "/./", directory.file("link"),
            directory.path + "/../" + URL(fileURLWithPath: directory.path).lastPathComponent + "/store",
        ] {
            #expect(
                parseFailure(MigrateCommand.self, ["--from", store, "--to", spelling])
                    == "--from and --to are the same store.", "\(spelling)")
        }
        #expect(parseFailure(MigrateCommand.self, ["--from", store, "--to", directory.file("other")]) == nil)
        do {
            _ = try QueryCommand.parse(["--store", "s", "task", "--queries", "q.jsonl"])
            Issue.record("expected a validation error")
        } catch {
            #expect(QueryCommand.message(for: error) == "Give either a task or --queries FILE.")
        }
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "-k", "0", "task"]) == "-k must be at least 1 (got 0).")
        // Hostile run 10: a task starting with "-" was read as short flags: "- heat the pan" (an "h") printed the help
        // and exited 0, "-door" vanished.
        for task in ["- heat the pan", "-door", "-h is not help here"] {
            #expect(try QueryCommand.parse(["--store", "s", "-k", "2", task]).task == task)
        }
        #expect(try QueryCommand.parse(["--store", "s", "--", "--dashes"]).task == "--dashes")
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "--explian", "t"])
                == #"Unknown option '--explian'. A task that starts with "--" goes after --: memp query ... -- "--explian"."#
        )
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "heat", "the", "pan"])
                == #"Give the task as one argument, in quotes (got 3: "heat" "the" "pan")."#)
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "-k", "-3", "task"]) == "-k must be at least 1 (got -3).")
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "--mode", "nearest", "task"])
                == "The value 'nearest' is invalid for '--mode <mode>'. "
                + "Please provide one of 'random', 'query', 'keyword', 'bm25' or 'hybrid'.")
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "--label", "novalue", "task"])
                == "A label is key=value (got \"novalue\").")
        // Infinity passed the positivity check and reached the library, which named its own parameter.
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "--rank-constant", "inf", "task"])
                == "--rank-constant must be a positive number (got inf).")
        for timeout in ["inf", "1e300", "nan", "0"] {
            #expect(
                parseFailure(ServeCommand.self, ["--store", "s", "--lookup-timeout", timeout])
                    == "--lookup-timeout must be more than 0 and at most 86400 seconds (got \(Double(timeout) ?? 0)).")
        }
        // Hostile run 20: under a millisecond, every connection was closed unanswered.
        for flag in ["--idle-timeout", "--request-timeout"] {
            for timeout in ["inf", "1e300", "nan", "0", "1e-10", "0.000999"] {
                #expect(
                    parseFailure(ServeCommand.self, ["--store", "s", flag, timeout])
                        == "\(flag) must be from 0.001 to 86400 seconds (got \(Double(timeout) ?? 0))."
                )
            }
        }
        #expect(
            parseFailure(ServeCommand.self, ["--store", "s", "--max-k", "0"]) == "--max-k must be at least 1 (got 0).")
        #expect(
            parseFailure(ServeCommand.self, ["--store", "s", "--min-success-rate", "1.5"])
                == "--min-success-rate must be within 0…1 (got 1.5).")
        for score in ["nan", "11"] {
            #expect(
                parseFailure(ColdStartCommand.self, ["--store", "s", "f.jsonl", "--keep", "1", "--min-score", score])
                    == "--min-score must be within 0…10 (got \(score)).")
        }
        #expect(
            parseFailure(ColdStartCommand.self, ["--store", "s", "f.jsonl", "--keep", "0"])
                == "--keep must be at least 1 (got 0).")
        #expect(
            parseFailure(ColdStartCommand.self, ["--store", "s", "f.jsonl", "--keep", "1", "--step-limit", "0"])
                == "--step-limit must be at least 1 (got 0).")
        #expect(
            parseFailure(InitCommand.self, ["--store", "s", "--embedder", "word2vec"])
                == "The value 'word2vec' is invalid for '--embedder <embedder>'. "
                + "Please provide one of 'hashing', 'minilm' or 'openai'.")
        #expect(
            parseFailure(InitCommand.self, ["--store", "s", "--dimension", "0"])
                == "--dimension must be 1…4096 (got 0).")
        #expect(
            parseFailure(ImportCommand.self, ["--store", "s", "f.jsonl", "--build", "scripts"])
                == "The value 'scripts' is invalid for '--build <build>'. "
                + "Please provide one of 'trajectory', 'script' or 'proceduralization'.")
        let query = try QueryCommand.parse([
            "--store", "s", "--mode", "bm25", "-k", "3", "--label", "fold=train", "heat milk",
        ])
        let options = try query.options
        #expect(options.policy == .bm25 && options.k == 3 && options.filter.labels == ["fold": "train"])
        #expect(options.procedureWeight == 0)
        let weighted = try QueryCommand.parse(["--store", "s", "--procedure-weight", "1.5", "t"])
        #expect(try weighted.options.procedureWeight == 1.5)
        #expect(
            parseFailure(QueryCommand.self, ["--store", "s", "--procedure-weight=-1", "task"])
                == "--procedure-weight must be a number of at least 0 (got -1).")
    }

    @Test func initImportQueryDeleteStatsEndToEnd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory, dimension: 128)
        #expect(try await MemoryStore.info(at: store).embedderConfiguration == .hashing(dimension: 128))

        let imported = try await ChildProcess.memp([
            "import", "--store", store, Self.sampleTrajectories, "--build", "script", "--json",
        ])
        #expect(imported.status == 0)
        let report = try JSONDecoder().decode(ImportReport.self, from: Data(imported.output.utf8))
        #expect(report.imported == 640 && report.invalid == 0)

        let queries = try directory.write(
            #"{"qid": "q1", "query": "Your task is to cook a meal following the recipe in the kitchen"}"#
                + "\n"
                + #"{"qid": "q2", "query": "Your task is to pick up objects and put them in their usual locations"}"#
                + "\n",
            to: "queries.jsonl")
        let answered = try await ChildProcess.memp([
            "query", "--store", store, "--queries", queries, "--mode", "bm25", "-k", "10", "--json",
        ])
        #expect(answered.status == 0)
        let lines = try Self.batchLines(answered.output)
        // Every hit has exactly the keys docs/procedural-memory.md lists.
        #expect(
            try Self.hitKeys(answered.output) == [["id", "sources", "score", "outcome", "hitCount", "successCount"]])
        #expect(lines.map(\.qid) == ["q1", "q2"] && lines.allSatisfy { $0.hits.count == 10 })
        #expect(lines.allSatisfy { $0.hits.allSatisfy { $0.sources == [$0.id] } })
        #expect(lines[0].hits.allSatisfy { $0.id.hasPrefix("tw-cookingworld") })
        #expect(lines[1].hits.allSatisfy { $0.id.hasPrefix("tw-twc") })
        // Every hit says how its source trajectory ended, as the sample file records it, and its counters.
        struct Recorded: Decodable {
            var id: String
            var outcome: Outcome
        }
        let recorded = try String(contentsOfFile: Self.sampleTrajectories, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Recorded.self, from: Data($0.utf8)) }
        let outcomes = Dictionary(uniqueKeysWithValues: recorded.map { ($0.id, $0.outcome) })
        #expect(lines.allSatisfy { $0.hits.allSatisfy { $0.outcome != nil && $0.outcome == outcomes[$0.id] } })
        #expect(lines.allSatisfy { $0.hits.allSatisfy { $0.hitCount == 0 && $0.successCount == 0 } })
        let hybrid = try await ChildProcess.memp([
            "query", "--store", store, "--queries", queries, "-k", "10", "--json",
        ])
        #expect(hybrid.status == 0 && hybrid.output.split(separator: "\n").count == 2)
        // --contents hands an agent what it follows: the script-built memories carry a script and no steps.
        let withContents = try await ChildProcess.memp([
            "query", "--store", store, "--queries", queries, "--mode", "bm25", "-k", "2", "--json", "--contents",
        ])
        #expect(withContents.status == 0)
        let contentLines = try Self.batchLines(withContents.output)
        #expect(
            try Self.hitKeys(withContents.output)
                == [["id", "sources", "score", "outcome", "hitCount", "successCount", "task", "script"]])
        #expect(contentLines.count == 2 && contentLines.allSatisfy { $0.hits.count == 2 })
        #expect(contentLines[0].hits.allSatisfy { $0.script?.hasPrefix("Task: ") == true && $0.steps == nil })
        #expect(contentLines[0].hits.map(\.id) == lines[0].hits.prefix(2).map(\.id))
        #expect(!answered.output.contains("\"script\""))
        let contentsWithoutQueries = try await ChildProcess.memp(["query", "--store", store, "--contents", "cook"])
        #expect(contentsWithoutQueries.status == 64)
        let blank = try directory.write("\n\n", to: "blank.jsonl")
        let nothingAsked = try await ChildProcess.memp(["query", "--store", store, "--queries", blank])
        #expect(nothingAsked.status == 1 && nothingAsked.output == "")
        #expect(nothingAsked.errors == "Error: \(blank) holds no query: it is empty, or every line is blank.\n")

        let single = try await ChildProcess.memp([
            "query", "--store", store, "--mode", "bm25", "-k", "2", "--explain", "cook the meal",
        ])
        #expect(single.status == 0 && single.output.contains("why: BM25"))
        #expect(single.output.contains("; not used yet]"))

        let deleted = try await ChildProcess.memp(["delete", "--store", store, "--label", "taskType=cookingworld"])
        #expect(
            deleted.status == 0
                && deleted.output
                    == "Deleted 80 trajectories and 80 memories (label taskType=cookingworld).\n"
        )
        let statistics = try await MemoryStore.statistics(at: store)
        #expect(
            statistics.trajectories == 560 && statistics.memories == 560
                && statistics.memoriesByBuildPolicy == ["script": 560])
        let stats = try await ChildProcess.memp(["stats", "--store", store])
        #expect(stats.status == 0 && stats.output.contains("Trajectories: 560"))

        let missing = try await ChildProcess.memp(["query", "--store", directory.file("nowhere"), "task"])
        #expect(missing.status == 1 && missing.errors.contains("is not a memory store"))
        let badFlag = try await ChildProcess.memp(["delete", "--store", store])
        #expect(badFlag.status == 64)
    }

    @Test func storesOnAnOpenAICompatibleServer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await LoopbackServer(script: "embedding_stub_server.py")
        defer { server.stop() }
        let baseURL = server.baseURL.absoluteString
        let store = directory.file("store")
        let created = try await ChildProcess.memp([
            "init", "--store", store, "--embedder", "openai", "--base-url", baseURL + "/ok", "--model", "stub",
        ])
        #expect(created.status == 0, "\(created.errors)")
        #expect(
            try await MemoryStore.info(at: store).embedderConfiguration
                == .openAICompatible(
                    baseURL: baseURL + "/ok", model: "stub", apiKeyEnvironmentVariable: "OPENAI_API_KEY", dimension: 4))
        let file = Self.sampleTrajectories
        #expect(try await ChildProcess.memp(["import", "--store", store, file, "--build", "trajectory"]).status == 0)
        let answered = try await ChildProcess.memp([
            "query", "--store", store, "--mode", "query", "-k", "3", "--json", "cook",
        ])
        #expect(answered.status == 0 && answered.output.split(separator: "\n").count == 3)
        #expect(try await MemoryStore.info(at: store).embedderID == "openai:stub")
    }

    /// `memp import` warns about fields beyond the trajectory format on standard error, lists them in `--json`, and
    /// imports the records.
    @Test func importWarnsAboutFieldsItDoesNotStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let file = try directory.write(
            #"{"id": "a", "task": "heat a mug", "steps": [{"action": "go"}], "sorce": "x"}"# + "\n"
                + #"{"id": "b", "task": "cool a mug", "steps": [{"action": "go"}], "sorce": "y"}"# + "\n",
            to: "runs.jsonl")
        let imported = try await ChildProcess.memp(["import", "--store", store, file, "--json"])
        #expect(imported.status == 0)
        #expect(
            imported.errors
                == "Warning: 1 field of the input is not in its trajectory format, so nothing of it was stored: "
                + "\"sorce\" (2 lines from line 1).\n")
        let report = try JSONDecoder().decode(ImportReport.self, from: Data(imported.output.utf8))
        #expect(report.imported == 2 && report.unreadFields.fields.map(\.name) == ["sorce"])
    }

    /// A query file's fields outside the query schema are named in one warning.
    ///
    /// A per-line `"k"` or `"filter"`, which a line cannot set, used to be ignored unseen; the batch still answers
    /// every line. Collections warn the same way about their documents' and queries' fields (a misspelt `metdata`
    /// lost a document's metadata).
    @Test func queryBatchesAndCollectionsWarnAboutFieldsTheyDoNotRead() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let runs = try directory.write(
            #"{"id": "a", "task": "heat a mug", "steps": [{"action": "go"}]}"# + "\n"
                + #"{"id": "b", "task": "cool a mug", "steps": [{"action": "go"}]}"# + "\n",
            to: "runs.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, runs]).status == 0)
        let queries = try directory.write(
            #"{"qid": "q1", "query": "heat a mug", "k": 1}"# + "\n"
                + #"{"qid": "q2", "query": "cool a mug", "k": 2, "filter": {"source": "x"}}"# + "\n",
            to: "queries.jsonl")
        let answered = try await ChildProcess.memp([
            "query", "--store", store, "--queries", queries, "--mode", "bm25", "-k", "2", "--json",
        ])
        #expect(answered.status == 0)
        #expect(try Self.batchLines(answered.output).map { $0.hits.count } == [2, 2])
        #expect(
            answered.errors
                == "Warning: 2 fields of the query file \(queries) are not in the query schema (qid, query or text, "
                + #"vector), so nothing of them was read: "k" (2 lines from line 1), "filter" (line 2)."# + "\n")

        let documents = try directory.write(
            #"{"id": "d1", "text": "heat a mug", "vector": [1, 0], "metdata": {"lang": "en"}}"# + "\n"
                + #"{"id": "d2", "text": "cool a mug", "vector": [0, 1], "metadata": {"lang": "en"}}"# + "\n",
            to: "documents.jsonl")
        let collection = directory.file("collection")
        let built = try await ChildProcess.memp(["collection", "build", "--input", documents, "--output", collection])
        #expect(built.status == 0)
        #expect(
            built.errors
                == "Warning: 1 field of the documents file \(documents) is not in the document schema (id, text, "
                + #"vector, metadata), so nothing of it was stored: "metdata" (line 1)."# + "\n")
        let searched = try await ChildProcess.memp([
            "collection", "search", "--collection", collection, "--mode", "bm25", "--queries", queries,
        ])
        #expect(searched.status == 0 && searched.output.split(separator: "\n").count == 2)
        #expect(searched.errors.hasPrefix("Warning: 2 fields of the query file \(queries) are not in the query schema"))
        let plain = try directory.write(#"{"qid": "q1", "query": "heat a mug"}"# + "\n", to: "plain.jsonl")
        let quiet = try await ChildProcess.memp(["query", "--store", store, "--queries", plain, "--mode", "bm25"])
        #expect(quiet.status == 0 && quiet.errors == "")
    }

    @Test func showPrintsOneMemoryWhole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        #expect(try await ChildProcess.memp(["import", "--store", store, Self.sampleTrajectories]).status == 0)
        let id = "tw-twc-0654-gold"
        let expected = try await MemoryStore.open(at: store).details(ofMemory: id)

        let json = try await ChildProcess.memp(["show", "--store", store, id, "--json"])
        #expect(json.status == 0)
        var shown = try JSONDates.decoder().decode(MemoryDetails.self, from: Data(json.output.utf8))
        // ISO-8601 text keeps the dates to the microsecond or better, not to the bit.
        #expect(abs(shown.memory.createdAt.timeIntervalSince(expected.memory.createdAt)) < 1e-5)
        #expect(abs(shown.memory.updatedAt.timeIntervalSince(expected.memory.updatedAt)) < 1e-5)
        (shown.memory.createdAt, shown.memory.updatedAt) = (expected.memory.createdAt, expected.memory.updatedAt)
        #expect(shown == expected && shown.historyEntries == 1 && shown.sourceOutcome?.success == true)

        let text = try await ChildProcess.memp(["show", "--store", store, id])
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(text.status == 0)
        #expect(lines.first == "\(id)  active, revision 1, built by proceduralization")
        #expect(lines.contains("Task: \(expected.memory.task)"))
        #expect(lines.contains("Outcome: source succeeded; not used yet"))
        #expect(lines.contains("History: 1 entry (memp history --memory \(id))"))
        #expect(lines.contains("  1. look around") && lines.contains("Script:"))

        let missing = try await ChildProcess.memp(["show", "--store", store, "no-such-memory"])
        #expect(missing.status == 1 && missing.errors == "Error: No memory or trajectory has ID no-such-memory.\n")
    }

    /// Hostile run 10: stored text reached the terminal raw.
    ///
    /// Text output shows control characters as `\u{…}`; `--json` keeps them, escaped as JSON escapes them.
    @Test func storedControlCharactersNeverReachTheTerminal() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let input = try directory.write(
            #"{"id": "w-ctrl", "task": "open the door\r erase \u001b[2J ring \u0007", "#
                + #""steps": [{"action": "go \u001b]52;c;aGk=\u0007 north", "observation": "\u001b[31mred"}], "#
                + #""outcome": {"success": true}}"# + "\n", to: "control.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, input]).status == 0)
        let controls = CharacterSet.controlCharacters.subtracting(CharacterSet(charactersIn: "\n"))
        for arguments in [["show", "w-ctrl"], ["query", "open the door", "-k", "1", "--explain"]] {
            let result = try await ChildProcess.memp(arguments + ["--store", store])
            #expect(result.status == 0, "\(arguments)")
            #expect(result.output.rangeOfCharacter(from: controls) == nil, "\(arguments)")
            #expect(result.output.contains(#"open the door\u{D} erase \u{1B}[2J ring \u{7}"#), "\(arguments)")
        }
        // A history entry's reason names the file imported, whose name is the user's.
        let other = try directory.write(
            #"{"id": "w-other", "task": "close the door", "steps": [{"action": "go"}], "source": "test"}"# + "\n",
            to: "other\u{1B}[2J.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, other]).status == 0)
        let history = try await ChildProcess.memp(["history", "--store", store, "--memory", "w-other"])
        #expect(history.status == 0 && history.output.rangeOfCharacter(from: controls) == nil)
        #expect(history.output.contains(#"other\u{1B}[2J.jsonl"#))
        let shown = try await ChildProcess.memp(["show", "--store", store, "w-ctrl"])
        #expect(shown.output.contains(#"  1. go \u{1B}]52;c;aGk=\u{7} north"#))
        #expect(shown.output.contains(#"     → \u{1B}[31mred"#))
        let json = try await ChildProcess.memp(["show", "--store", store, "w-ctrl", "--json"])
        let details = try JSONDates.decoder().decode(MemoryDetails.self, from: Data(json.output.utf8))
        #expect(details.memory.task == "open the door\r erase \u{1B}[2J ring \u{7}")
    }

    /// `show`, `history`, `export` and `feedback` read and count in the database only: they neither load the index
    /// caches (so don't rebuild missing ones) nor, in a store that records its embedder, build the model.
    @Test func readingCommandsLeaveTheIndexCachesAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        #expect(try await ChildProcess.memp(["import", "--store", store, Self.sampleTrajectories]).status == 0)
        let index = store + "/index"
        try FileManager.default.removeItem(atPath: index)
        let id = "tw-twc-0654-gold"
        for arguments in [
            ["show", "--store", store, id], ["history", "--store", store, "--memory", id],
            ["export", "--store", store, "--output", directory.file("bundle")],
            ["feedback", "--store", store, "--memory", id, "--success", "true"],
        ] {
            let outcome = try await ChildProcess.memp(arguments)
            #expect(outcome.status == 0, "\(arguments[0]): \(outcome.errors)")
            #expect(!FileManager.default.fileExists(atPath: index), "\(arguments[0]) rebuilt the caches")
        }
        let query = try await ChildProcess.memp(["query", "--store", store, "-k", "1", "--json", "cook"])
        #expect(query.status == 0 && FileManager.default.fileExists(atPath: index + "/manifest.json"))
    }

    /// A memory used once with success, a failed attempt kept without a memory, and a memory with no history, as
    /// `memp query`, `memp show` and `memp history` tell them.
    @Test func countersTrajectoriesAndEmptyHistoriesAreToldAsTheyAre() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let built = try directory.write(
            #"{"id": "m1", "task": "open the red door", "steps": [{"action": "open door"}], "outcome": {"success": true}}"#
                + "\n", to: "built.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, built]).status == 0)
        // One of each, in the singular ("1 memories", "1 entries" before).
        let verified = try await ChildProcess.memp(["verify", "--store", store])
        #expect(verified.status == 0 && verified.output.hasPrefix("\(store): 1 memory, 1 trajectory, generation "))
        let stats = try await ChildProcess.memp(["stats", "--store", store])
        #expect(stats.status == 0 && stats.output.contains("History:      1 entry\n"))
        // A dry run says which memories would go, not only how many.
        let dryRun = try await ChildProcess.memp([
            "delete", "--store", store, "--source", "built", "--dry-run", "--json",
        ])
        let wouldGo = try #require(try JSONSerialization.jsonObject(with: Data(dryRun.output.utf8)) as? [String: Any])
        #expect(dryRun.status == 0 && wouldGo["memoryIDs"] as? [String] == ["m1"] && wouldGo["memories"] as? Int == 1)
        #expect(
            try await ChildProcess.memp(["feedback", "--store", store, "--memory", "m1", "--success", "true"]).status
                == 0)
        let query = try await ChildProcess.memp(["query", "--store", store, "-k", "1", "open the door"])
        #expect(
            query.status == 0 && query.output.contains("  [source succeeded; 1 of 1 use succeeded]  "),
            "\(query.output)")
        let show = try await ChildProcess.memp(["show", "--store", store, "m1"])
        #expect(show.status == 0 && show.output.contains("Outcome: source succeeded; 1 of 1 use succeeded\n"))

        // Adjustment keeps a failed attempt as a source of the memory it used: `memp show` says so instead of "no
        // memory or trajectory has this ID".
        let failed = try directory.write(
            #"{"id": "r1", "task": "open the blue door", "steps": [{"action": "kick door"}], "outcome": {"success": false}, "usedMemories": ["m1"]}"#
                + "\n", to: "failed.jsonl")
        #expect(
            try await ChildProcess.memp(["update", "--store", store, "--policy", "adjustment", failed]).status == 0)
        let trajectory = try await ChildProcess.memp(["show", "--store", store, "r1"])
        #expect(
            trajectory.status == 1
                && trajectory.errors
                    == "Error: r1 is a stored trajectory, not a memory; it is a source of memory m1. Give a memory's ID.\n"
        )

        let history = try await ChildProcess.memp(["history", "--store", store, "--memory", "m2"])
        #expect(history.status == 0 && history.output.isEmpty)
        #expect(history.errors == "No history entry is about memory m2.\n")
    }

    /// `memp stats --json` names the embedder and dimension that the text shows, as `GET /v1/stats` does.
    @Test func statsJSONNamesTheEmbedder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory, dimension: 48)
        let stats = try await ChildProcess.memp(["stats", "--store", store, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Any])
        #expect(stats.status == 0 && object["embedder"] as? String == "hashing:v1:48")
        #expect(object["dimension"] as? Int == 48 && object["memories"] as? Int == 0)
    }

    /// `memp query` refuses flags its mode or its other flags make meaningless, naming them, instead of ignoring them.
    @Test(arguments: [
        (
            ["--alpha", "0.5", "--rank-constant", "10", "t"],
            "Give --alpha (convex fusion) or --rank-constant (RRF), not both."
        ),
        (
            ["--mode", "bm25", "--alpha", "0.5", "t"],
            "--alpha sets how --mode hybrid fuses; it has no effect with --mode bm25."
        ),
        (
            ["--mode", "query", "--rank-constant", "10", "t"],
            "--rank-constant sets how --mode hybrid fuses; it has no effect with --mode query."
        ),
        (
            ["--mode", "random", "--procedure-weight", "1", "t"],
            "--procedure-weight sets how --mode hybrid fuses; it has no effect with --mode random."
        ),
        // The library refused this too, but named its own option (`minimumSimilarity`) instead of the flag.
        (
            ["--mode", "bm25", "--min-similarity", "0.3", "t"],
            "--min-similarity has no effect with --mode bm25: BM25 scores and random draws are not "
                + "similarities. Leave it out, or choose --mode query, keyword or hybrid."
        ),
        (["--min-similarity", "2", "t"], "--min-similarity must be a cosine similarity within -1…1 (got 2)."),
        (["--min-similarity", "nan", "t"], "--min-similarity must be a cosine similarity within -1…1 (got nan)."),
        (["--outcome-prior", "1.5", "t"], "--outcome-prior must be within 0…1 (got 1.5)."),
        (["--alpha=-0.5", "t"], "--alpha must be within 0…1 (got -0.5)."),
        (
            ["--queries", "q.jsonl", "--explain"],
            "--explain explains the hits of one task; --queries prints hits without reasons."
        ),
    ])
    func queryRefusesFlagsThatWouldBeIgnored(arguments: [String], message: String) {
        #expect(parseFailure(QueryCommand.self, ["--store", "s"] + arguments) == message)
    }

    /// The hybrid mode's fusion and a minimum similarity go together.
    @Test func queryAcceptsAlphaWithMinimumSimilarityInHybridMode() {
        let arguments = ["--store", "s", "--mode", "hybrid", "--alpha", "0.5", "--min-similarity", "0.2", "t"]
        #expect(parseFailure(QueryCommand.self, arguments) == nil)
    }

    /// `memp init` and `memp embed` name the embedder and an OpenAI-compatible server's flags as `memp collection`
    /// does; the earlier names still parse.
    @Test func initAndEmbedNameTheEmbedderAlike() throws {
        #expect(
            parseFailure(InitCommand.self, ["--store", "s", "--model", "minilm"])
                == "--openai-model names a model on an OpenAI-compatible server; to embed with minilm, pass "
                + "--embedder minilm.")
        let named = try InitCommand.parse([
            "--store", "s", "--embedder", "openai", "--base-url", "http://127.0.0.1:1", "--openai-model", "m",
            "--api-key-variable", "KEY",
        ])
        let earlier = try InitCommand.parse([
            "--store", "s", "--embedder", "openai", "--base-url", "http://127.0.0.1:1", "--model", "m",
            "--api-key-environment-variable", "KEY",
        ])
        #expect(named.serverOptions.model == "m" && named.serverOptions.apiKeyEnvironmentVariable == "KEY")
        #expect(
            earlier.serverOptions.model == named.serverOptions.model
                && earlier.serverOptions.apiKeyEnvironmentVariable == named.serverOptions.apiKeyEnvironmentVariable)
        #expect(try EmbedCommand.parse(["--embedder", "hashing", "t"]).embedder == .hashing)
        #expect(try EmbedCommand.parse(["--model", "hashing", "t"]).embedder == .hashing)
    }

    /// A new user found the chosen embedder named above the error of a directory that already holds a store.
    @Test func initSaysWhichEmbedderOnlyWhenItCreatesAStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        let created = try await ChildProcess.memp(
            ["init", "--store", store], environment: ["MEMP_HOME": directory.path])
        #expect(created.status == 0, "\(created.errors)")
        #expect(
            created.errors.hasPrefix("No embedding model is installed")
                && created.output.hasPrefix("Created a memory store"))
        let again = try await ChildProcess.memp(["init", "--store", store], environment: ["MEMP_HOME": directory.path])
        #expect(again.status == 1)
        #expect(
            again.errors
                == "Error: \(store) already holds a memory store; open it instead, or choose another directory.\n")
    }

    @Test func importReportsEachCommittedBatchAsJSONOnStandardError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let imported = try await ChildProcess.memp([
            "import", "--store", store, Self.sampleTrajectories, "--batch-size", "200", "--progress", "json",
        ])
        #expect(imported.status == 0)
        let steps = try imported.errors.split(separator: "\n").map {
            try JSONDecoder().decode([String: Int].self, from: Data($0.utf8))
        }
        let size = try #require(
            try FileManager.default.attributesOfItem(atPath: Self.sampleTrajectories)[.size] as? Int)
        #expect(steps.allSatisfy { Set($0.keys) == ["committed", "linesRead", "bytesRead", "totalBytes"] })
        #expect(steps.map { $0["committed"] } == [200, 400, 600, 640])
        #expect(steps.map { $0["linesRead"] } == [200, 400, 600, 640])
        #expect(steps.allSatisfy { $0["totalBytes"] == size } && steps.last?["bytesRead"] == size)
        #expect(zip(steps, steps.dropFirst()).allSatisfy { ($0["bytesRead"] ?? 0) < ($1["bytesRead"] ?? 0) })
    }

    @Test func killDuringImportLosesNoCommittedBatch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.initHashingStore(in: directory)
        let file = try directory.write(try generatedTrajectoryLines(count: 20_000), to: "big.jsonl")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ChildProcess.mempExecutable())
        // Small batches: many commits (each synced) keep the import long enough to be caught in the middle.
        process.arguments = ["import", "--store", store, file, "--batch-size", "25", "--progress", "json"]
        process.standardOutput = FileHandle.nullDevice
        let progress = Pipe()
        process.standardError = progress
        try process.run()
        // Once the importer reports a few committed batches, kill it without warning.
        let committedBeforeKill = await Self.killWhenCommitted(atLeast: 100, progress: progress, importer: process)
        await onOwnThread { process.waitUntilExit() }
        #expect(
            process.terminationReason == .uncaughtSignal, "the import finished before it could be killed")
        #expect(committedBeforeKill >= 100)

        let reopened = try await MemoryStore.open(at: store)
        let statistics = try await reopened.statistics()
        #expect(statistics.trajectories >= committedBeforeKill && statistics.trajectories < 20_000)
        #expect(statistics.trajectories % 25 == 0 && statistics.memories == statistics.trajectories)
        #expect(reopened.memoryCount == statistics.memories)
        #expect(
            try await SQLiteBackend(path: store + "/memp.sqlite", readOnly: true).integrityProblems().isEmpty)
        guard case .rebuilt = reopened.cacheState else {
            Issue.record(
                "the caches predate the killed import and must be rebuilt, got \(reopened.cacheState)")
            return
        }
        let hits = try await reopened.retrieve(
            "put some mug in fridge", options: RetrievalOptions(k: 3))
        #expect(hits.count == 3)

        let resumed = try await ChildProcess.memp([
            "import", "--store", store, file, "--duplicates", "skip", "--json",
        ])
        #expect(resumed.status == 0)
        let report = try JSONDecoder().decode(ImportReport.self, from: Data(resumed.output.utf8))
        #expect(
            report.imported + report.skippedDuplicates == 20_000
                && report.skippedDuplicates == statistics.trajectories)
        #expect(try await MemoryStore.statistics(at: store).memories == 20_000)
    }
}
