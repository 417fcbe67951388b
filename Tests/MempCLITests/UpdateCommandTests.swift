import ArgumentParser
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing

@testable import MempCLI

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct UpdateCommandTests {
    static func line(_ trajectory: Trajectory, used: [String]) throws -> String {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(trajectory)) as? [String: Any] ?? [:]
        object["usedMemories"] = used
        return String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static let seed = Trajectory(
        id: "seed-coin", task: "take the coin in the bar and put it into the box in the lounge",
        steps: [
            Step(action: "move east", observation: "You are in the bar."),
            Step(action: "take coin", observation: "You take the coin."),
            Step(action: "move west", observation: "You are in the lounge."),
            Step(action: "put coin in box", observation: "You put the coin in the box."),
        ], outcome: Outcome(success: true, reward: 1), source: "demo")

    static let failed = Trajectory(
        id: "run-7", task: "take the coin in the kitchen and put it into the box in the lounge",
        steps: [
            Step(action: "move east", observation: "You are in the bar."),
            Step(action: "take coin", observation: "You don't see that here."),
        ], outcome: Outcome(success: false, reward: 0), source: "demo")

    @Test func validatesFlags() throws {
        #expect(
            parseFailure(FeedbackCommand.self, ["--store", "s", "--success", "true"])
                == "Give at least one --memory ID.")
        #expect(
            parseFailure(FeedbackCommand.self, ["--store", "s", "--memory", "m", "--success", "maybe"])?.hasPrefix(
                "The value 'maybe' is invalid for '--success <true|false>'") == true)
        #expect(
            parseFailure(UpdateCommand.self, ["--store", "s", "--policy", "greedy", "f.jsonl"])
                == "The value 'greedy' is invalid for '--policy <policy>'. "
                + "Please provide one of 'vanilla', 'validation' or 'adjustment'.")
        #expect(
            parseFailure(
                FeedbackCommand.self, ["--store", "s", "--memory", "m", "--success", "true", "--success-reward", "nan"])
                == "--success-reward must be a finite number (got nan).")
        #expect(
            parseFailure(UpdateCommand.self, ["--store", "s", "--policy", "vanilla", "--llm-timeout", "0", "f.jsonl"])
                == "--llm-timeout must be a positive number of seconds, at most 86400 (got 0.0).")
        // Hostile run 7: a timeout of 1e17 seconds or more trapped inside FoundationNetworking.
        #expect(
            parseFailure(
                UpdateCommand.self, ["--store", "s", "--policy", "vanilla", "--llm-timeout", "1e17", "f.jsonl"])
                == "--llm-timeout must be a positive number of seconds, at most 86400 (got 1e+17).")
        // Hostile run 4: both were "The duplicate similarities must be within -1…1 (task) and 0…1 (actions).", which
        // named neither the flag nor the value.
        #expect(
            parseFailure(
                UpdateCommand.self,
                ["--store", "s", "--policy", "vanilla", "--duplicate-task-similarity", "nan", "f.jsonl"])
                == "--duplicate-task-similarity must be a cosine within -1…1 (got nan).")
        #expect(
            parseFailure(
                UpdateCommand.self,
                ["--store", "s", "--policy", "vanilla", "--duplicate-content-similarity", "1.5", "f.jsonl"])
                == "--duplicate-content-similarity must be within 0…1 (got 1.5).")
        #expect(
            parseFailure(
                UpdateCommand.self, ["--store", "s", "--policy", "vanilla", "--llm-url", "localhost:8080", "f.jsonl"])
                == "--llm-url must be an http(s) URL without a query or fragment, such as http://127.0.0.1:8080 (an "
                + "API key goes in the environment variable the settings name) (got localhost:8080).")
        // Hostile run 7: the endpoint's path went into the query (`/?key=K/v1/chat/completions`), and the key into
        // every memory's provenance.
        #expect(
            parseFailure(
                UpdateCommand.self,
                ["--store", "s", "--policy", "vanilla", "--llm-url", "http://127.0.0.1:9/?key=K", "f.jsonl"])?
                .hasPrefix("--llm-url must be an http(s) URL without a query or fragment") == true)
        do {
            _ = try UpdateCommand.parse(["--store", "s", "--policy", "vanilla", "--batch-size", "0", "f.jsonl"])
            Issue.record("expected a validation error")
        } catch {
            #expect(UpdateCommand.message(for: error) == "--batch-size must be at least 1 (got 0).")
        }
        do {
            _ = try FeedbackCommand.parse(["--store", "s", "--memory", "m", "--success", "true", "--min-hits", "0"])
            Issue.record("expected a validation error")
        } catch {
            #expect(FeedbackCommand.message(for: error) == "--min-hits must be at least 1 (got 0).")
        }
    }

    @Test func feedbackUpdateHistoryRevertEndToEnd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        #expect(try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"]).status == 0)
        let seeds = try directory.write(try Self.line(Self.seed, used: []) + "\n", to: "seed.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, seeds]).status == 0)

        let feedback = try await ChildProcess.memp([
            "feedback", "--store", store, "--memory", "seed-coin", "--success", "true",
        ])
        #expect(feedback.status == 0 && feedback.output == "seed-coin: 1 of 1 use succeeded\n")

        let runs = try directory.write(try Self.line(Self.failed, used: ["seed-coin"]) + "\n", to: "runs.jsonl")
        let update = try await ChildProcess.memp(["update", "--store", store, "--policy", "adjustment", runs])
        #expect(update.status == 0)
        #expect(
            update.output
                == "Updated from 1 task in 1 batch (adjustment): 0 added, 0 merged, 1 rewritten, 0 deprecated, "
                + "1 failure not added.\n  rewrote seed-coin\n")
        #expect(update.errors == "batch 1 committed (1 of 1 task)\n")

        let history = try await ChildProcess.memp(["history", "--store", store, "--memory", "seed-coin", "--json"])
        let entries = try history.output.split(separator: "\n").map {
            try JSONDates.decoder().decode(HistoryEntry.self, from: Data($0.utf8))
        }
        #expect(entries.map(\.action) == [.add, .feedback, .feedback, .rewrite])
        // Dates are ISO-8601 UTC strings, not seconds since 2001.
        #expect(history.output.split(separator: "\n").allSatisfy { $0.contains(/"date":"\d{4}-\d\d-\d\dT[\d:.]+Z"/) })
        let rewrite = try #require(entries.last)
        #expect(
            rewrite.after?.script?.hasSuffix(
                "Warning: a failed attempt did \"take coin\" and got \"You don't see that here.\"; avoid it or check it first."
            ) == true)
        let text = try await ChildProcess.memp(["history", "--store", store, "--last", "1"])
        #expect(
            text.output.contains(
                "rewrite seed-coin [adjustment] task of trajectory run-7 failed with it; revised by rule-based-correction/v1"
            ))
        #expect(text.output.contains("    sources seed-coin, run-7\n"))
        // The library's rule for the number of entries, told as the flag.
        let noEntries = try await ChildProcess.memp(["history", "--store", store, "--last", "0"])
        #expect(noEntries.status == 64 && noEntries.errors.contains("--last must be at least 1 (got 0)."))
        #expect(noEntries.output.isEmpty)
        // A usage error of `memp history` (it was told with the usage of `memp <subcommand>`), found before the
        // store is opened.
        #expect(noEntries.errors.contains("Usage: memp history --store <dir|url>"))
        let noStore = try await ChildProcess.memp(["history", "--store", store + "-absent", "--last", "0"])
        #expect(noStore.status == 64 && noStore.errors.contains("--last must be at least 1 (got 0)."))

        let query = try await ChildProcess.memp([
            "query", "--store", store, "take the coin in the attic and put it into the box", "-k", "1", "--json",
        ])
        #expect(query.output.contains("avoid it or check it first"))

        let revert = try await ChildProcess.memp(["revert", "--store", store, String(rewrite.number)])
        #expect(revert.status == 0 && revert.output.hasPrefix("Reverted entry \(rewrite.number) of memory seed-coin"))
        let again = try await ChildProcess.memp(["revert", "--store", store, String(rewrite.number)])
        #expect(again.status == 1 && again.errors.contains("can't be reverted"))
        let restored = try await MemoryStore.open(at: store).memory(id: "seed-coin")
        #expect(restored?.script == entries[2].after?.script && restored?.kind == .built)
    }

    /// A `memp update` killed with SIGKILL keeps exactly the batches it committed: the store opens, passes
    /// SQLite's integrity check, and holds whole batches only.
    #if os(Linux)
        @Test func killDuringUpdateKeepsWholeBatches() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let store = directory.file("store")
            #expect(
                try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing", "--dimension", "64"])
                    .status
                    == 0)
            let file = try directory.write(try generatedTrajectoryLines(count: 5_000), to: "runs.jsonl")
            let child = Process()
            child.executableURL = URL(fileURLWithPath: try ChildProcess.mempExecutable())
            child.arguments = ["update", "--store", store, "--policy", "vanilla", "--no-merge", file]
            let errors = Pipe()
            child.standardError = errors
            child.standardOutput = FileHandle.nullDevice
            try child.run()
            // The wait is on a thread of its own, so it holds no thread of the cooperative pool.
            await onOwnThread {
                var seen = Data()
                while !String(decoding: seen, as: UTF8.self).contains("batch 2 committed") {
                    let chunk = errors.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    seen += chunk
                }
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
            }
            #expect(child.terminationReason == .uncaughtSignal)

            #expect(
                try await SQLiteBackend(path: store + "/" + SQLiteStore.databaseFileName).integrityProblems().isEmpty)
            let reopened = try await MemoryStore.open(at: store)
            let statistics = try await reopened.statistics()
            #expect(statistics.memories >= 20 && statistics.memories < 5_000)
            #expect(statistics.memories % 10 == 0)
            #expect(statistics.trajectories == statistics.memories && statistics.historyEntries == statistics.memories)
            #expect(reopened.memoryCount == statistics.memories)
            #expect(try await reopened.retrieve("put some mug in fridge", options: RetrievalOptions(k: 1)).count == 1)

            // Hostile run 17: the same command could not be run again. It still refuses, and says how to resume;
            // resumed, it applies the rest and each task once.
            let arguments = ["update", "--store", store, "--policy", "vanilla", "--no-merge", file]
            let rerun = try await ChildProcess.memp(arguments)
            #expect(rerun.status == 1 && rerun.errors.contains("line 1: the task of trajectory "))
            #expect(
                rerun.errors.contains(
                    "If an update of this file was interrupted, pass --resume to apply only the tasks it did not."))
            let resumed = try await ChildProcess.memp(arguments + ["--resume"])
            #expect(resumed.status == 0)
            #expect(
                resumed.output.hasPrefix("Updated from \(5_000 - statistics.memories) tasks in ")
                    && resumed.output.contains("; \(statistics.memories) tasks applied before, skipped."))
            let whole = try await MemoryStore.open(at: store).statistics()
            #expect(whole.memories == 5_000 && whole.trajectories == 5_000 && whole.historyEntries == 5_000)
        }
    #endif
}

extension UpdateCommandTests {
    /// A refusal says what to do with the command's flags: a rerun is told of `--resume`, and so is an update whose
    /// batch another writer kept changing (hostile run 21: it said nothing of the batches committed before it).
    @Test func refusalsHintAtResuming() {
        let applied = MemoryError.alreadyApplied(id: "t", path: "tasks.jsonl", line: 4)
        #expect(UpdateCommand.hint(for: applied, resuming: false, committedTasks: 0)?.contains("pass --resume") == true)
        #expect(UpdateCommand.hint(for: applied, resuming: true, committedTasks: 0) == nil)
        let conflict = MemoryError.revisionConflict(id: "m", expected: 6, actual: 8)
        for resuming in [false, true] {
            #expect(
                UpdateCommand.hint(for: conflict, resuming: resuming, committedTasks: 0)
                    == "Each batch before this one was committed; run the update again with --resume to apply the rest."
            )
        }
        #expect(
            UpdateCommand.hint(
                for: .duplicateTrajectory(id: "t", path: "f", line: 1), resuming: false, committedTasks: 0) == nil)
        #expect(
            UpdateCommand.hint(for: conflict, resuming: false, committedTasks: 3)
                == "Each batch before this one was committed (3 tasks); run the update again with --resume to apply "
                + "the rest.")
        // Finding 219: any other error after committed batches says so, and how to go on.
        #expect(
            UpdateCommand.hint(for: .unknownID("m"), resuming: false, committedTasks: 238)
                == "238 tasks in earlier batches were committed; once the cause is fixed, run the update again with "
                + "--resume to apply the rest.")
        let otherMethod = MemoryError.resumedWithOtherMethod(
            id: "t", path: "tasks.jsonl", line: 2, appliedPolicy: .adjustment, appliedBuild: .script,
            policy: .validation, build: .proceduralization)
        #expect(
            UpdateCommand.hint(for: otherMethod, resuming: true, committedTasks: 0)
                == "To resume the interrupted update, pass --policy adjustment --build script.")
    }

    @Test func exportAndImportBundle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source")
        let target = directory.file("target")
        #expect(try await ChildProcess.memp(["init", "--store", source, "--embedder", "hashing"]).status == 0)
        #expect(
            try await ChildProcess.memp(["init", "--store", target, "--embedder", "hashing", "--dimension", "128"])
                .status
                == 0)
        let seeds = try directory.write(try Self.line(Self.seed, used: []) + "\n", to: "seed.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", source, seeds]).status == 0)
        let bundle = directory.file("bundle")
        let exported = try await ChildProcess.memp(["export", "--store", source, "--output", bundle])
        #expect(exported.output == "Exported 1 memory and 1 trajectory to \(bundle) (embedder hashing:v1:384).\n")
        let imported = try await ChildProcess.memp(["import-bundle", "--store", target, bundle])
        #expect(
            imported.output == "Imported 1 memory and 1 trajectory from \(bundle); 0 already stored were skipped; "
                + "embedded again with hashing:v1:128.\n")
        let memories = bundle + "/memories.jsonl"
        try (try String(contentsOfFile: memories, encoding: .utf8) + "\n{}").write(
            toFile: memories, atomically: true, encoding: .utf8)
        let refused = try await ChildProcess.memp(["import-bundle", "--store", target, bundle, "--duplicates", "skip"])
        #expect(refused.status == 1)
        #expect(
            refused.errors.contains(
                "memories.jsonl differs from the manifest (size or SHA-256): it was changed after the export"))
    }

    /// A store made with a raised text limit exports texts over the default one: `import-bundle` takes the same
    /// limit flags as `import`, so the bundle can be imported as its store was.
    @Test func importBundleTakesTheImportsTextLimits() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source")
        let target = directory.file("target")
        for store in [source, target] {
            #expect(try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"]).status == 0)
        }
        let task = "put the mug in the fridge " + String(repeating: "and then check the shelf again ", count: 700)
        let line = #"{"id": "long", "task": "\#(task)", "steps": [{"action": "go to fridge"}]}"#
        let file = try directory.write(line + "\n", to: "long.jsonl")
        let flag = ["--max-task-bytes", "30000"]
        #expect(try await ChildProcess.memp(["import", "--store", source, file] + flag).status == 0)
        let bundle = directory.file("bundle")
        // The export says so: a bundle made silently, then refused by the default import, was the trap.
        let exported = try await ChildProcess.memp(["export", "--store", source, "--output", bundle])
        #expect(exported.status == 0)
        #expect(
            exported.errors
                == "warning: an import with the default text limits refuses this bundle: memories.jsonl line 1, field "
                + "memory.task: \(task.utf8.count) bytes, over the default limit of 16384 bytes; import it with a larger "
                + "text limit (2 records in all).\n")
        let refused = try await ChildProcess.memp(["import-bundle", "--store", target, bundle])
        #expect(refused.status == 1)
        #expect(
            refused.errors.contains(
                "memories.jsonl line 1, field memory.task: \(task.utf8.count) bytes, over this store's limit of 16384 "
                    + "bytes"))
        let imported = try await ChildProcess.memp(["import-bundle", "--store", target, bundle] + flag)
        #expect(imported.status == 0)
        #expect(imported.output.hasPrefix("Imported 1 memory and 1 trajectory from \(bundle)"))
    }
}

extension UpdateCommandTests {
    @Test func coldStartKeepsTheBestPerTaskType() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        #expect(try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"]).status == 0)
        var failedSeed = Self.seed
        failedSeed.id = "seed-failed"
        failedSeed.outcome = Outcome(success: false, reward: 0)
        var labelled = [Self.seed, failedSeed, Self.failed]
        for index in labelled.indices { labelled[index].labels = ["taskType": index == 2 ? "other" : "coin"] }
        let file = try directory.write(
            try labelled.map { try Self.line($0, used: []) }.joined(separator: "\n") + "\n", to: "explore.jsonl")
        let result = try await ChildProcess.memp([
            "cold-start", "--store", store, "--keep", "1", file, "--step-limit", "10",
        ])
        #expect(result.status == 0)
        #expect(
            result.output
                == "coin  seed-coin  9.60  success, reward 1.0, 4 steps\nother  run-7  0.80  failure, reward 0.0, 2 steps\n"
        )
        #expect(result.errors == "Kept 2 of 3 trajectories; added 2 memories (0 already stored).\n")
        // Hostile run 8: a label no trajectory has made one group of all, without a word.
        let misspelt = try await ChildProcess.memp([
            "cold-start", "--store", store, "--keep", "1", file, "--task-type-label", "tasktype",
        ])
        #expect(misspelt.status == 0)
        #expect(
            misspelt.errors.hasPrefix(
                "Warning: No trajectory has the label tasktype, so all 3 form one task type and the best 1 of them "
                    + "are kept; check the name of the task-type label.\n"))
    }
}

extension UpdateCommandTests {
    @Test func languageModelFlagsReachTheReviserAndTheJudge() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        let url = server.baseURL.appendingPathComponent("json").absoluteString
        let store = directory.file("store")
        #expect(try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"]).status == 0)
        let seeds = try directory.write(try Self.line(Self.seed, used: []) + "\n", to: "seed.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, seeds]).status == 0)
        let runs = try directory.write(try Self.line(Self.failed, used: ["seed-coin"]) + "\n", to: "runs.jsonl")
        let update = try await ChildProcess.memp([
            "update", "--store", store, "--policy", "adjustment", runs, "--llm-url", url, "--llm-model", "stub",
        ])
        #expect(update.status == 0 && update.output.contains("1 rewritten"))
        let memory = try await MemoryStore.open(at: store).memory(id: "seed-coin")
        #expect(
            memory?.script
                == "Task: \(Self.seed.task)\n1. check the object first\n2. take it\nLesson: It took the wrong object.")
        #expect(memory?.provenance.scriptWriter == "llm-reflection/v1 stub@\(url)/v1/chat/completions")

        // Import builds scripts with the model too.
        let scripted = directory.file("scripted")
        #expect(try await ChildProcess.memp(["init", "--store", scripted, "--embedder", "hashing"]).status == 0)
        #expect(
            try await ChildProcess.memp(["import", "--store", scripted, seeds, "--build", "script", "--llm-url", url])
                .status
                == 0)
        let built = try await MemoryStore.open(at: scripted).memory(id: "seed-coin")
        #expect(built?.script == "Task: \(Self.seed.task)\n1. go to the [OBJECT2]\n2. take the [OBJECT1]")

        let config = try directory.write("{\"url\": \"\(url)\", \"model\": \"stub\"}", to: "llm.json")
        let judged = try await ChildProcess.memp([
            "cold-start", "--store", directory.file("other"), "--keep", "1", runs, "--scorer", "llm", "--llm-config",
            config,
        ])
        #expect(judged.status == 1 && judged.errors.contains("is not a memory store"))
        #expect(
            try await ChildProcess.memp(["init", "--store", directory.file("other"), "--embedder", "hashing"]).status
                == 0)
        let kept = try await ChildProcess.memp([
            "cold-start", "--store", directory.file("other"), "--keep", "1", runs, "--scorer", "llm", "--llm-config",
            config,
        ])
        #expect(kept.output == "-  run-7  7.00  reached the goal\n")
        do {
            _ = try ColdStartCommand.parse(["--store", "s", "--keep", "1", "f.jsonl", "--scorer", "llm"])
            Issue.record("expected a validation error")
        } catch {
            #expect(ColdStartCommand.message(for: error) == "--scorer llm needs --llm-url (or --llm-config).")
        }
    }
}
