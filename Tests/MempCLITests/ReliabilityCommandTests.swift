import ArgumentParser
import Foundation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing
import VectorIndex

@testable import MempCLI

/// Command-level regression tests for the findings of the adversarial run (issue 17).
@Suite struct ReliabilityCommandTests {
    /// A hashing store holding the four-line sample below, made through the commands.
    static func sampleStore(_ directory: TemporaryDirectory) async throws -> String {
        let store = try await MemoryCommandTests.initHashingStore(in: directory)
        let lines = [
            #"{"id": "a", "task": "take the coin from the table", "steps": [{"action": "take coin"}]}"#,
            #"{"id": "b", "task": "open the door with the key", "steps": [{"action": "open door"}]}"#,
            #"{"id": "c", "task": "heat the soup in the microwave", "steps": [{"action": "heat soup"}]}"#,
        ]
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        #expect(try await ChildProcess.memp(["import", "--store", store, file]).status == 0)
        return store
    }

    // Finding 5: a huge k padded every output row to k IDs.
    @Test func indexSearchWithHugeKWritesRowsAsWideAsTheIndex() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var rng = SplitMix64(seed: 17)
        let base = try VectorSet(
            dimension: 8, values: (0..<200 * 8).map { _ in Float(Int.random(in: -5...5, using: &rng)) })
        try VectorFile.write(base, to: directory.file("base.fvecs"))
        let index = directory.file("base.mvi")
        try IndexCommand.Build.parse(["--input", directory.file("base.fvecs"), "--output", index]).run()
        let result = directory.file("result.ivecs")
        try IndexCommand.Search.parse([
            "--index", index, "--queries", directory.file("base.fvecs"), "-k", "1000000000", "--output", result,
        ]).run()
        let rows = try VectorFile.readIntegers(result)
        // Every query ranks the whole index, itself first (cosine 1).
        #expect(rows.count == 200 && rows.allSatisfy { Set($0) == Set(0..<200) })
        #expect(rows.enumerated().allSatisfy { $0.element.first == Int32($0.offset) })
    }

    // Hostile run 4: `memp import` on a full disk stored every trajectory, then exited 1 because the index cache
    // could not be written, so its rerun was refused as "already stored".
    @Test func importWhoseCacheCannotBeSavedSucceedsAndWarns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(directory)
        try FileManager.default.removeItem(atPath: store + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: store + "/index"))
        let file = try directory.write(
            #"{"id": "d", "task": "water the plant", "steps": [{"action": "pour water"}]}"#, to: "more.jsonl")
        let result = try await ChildProcess.memp(["import", "--store", store, file])
        #expect(result.status == 0)
        #expect(result.errors.contains("the changes are stored, but the index cache was not saved (\(store)/index"))
        let stats = try await ChildProcess.memp(["stats", "--store", store, "--json"])
        #expect(stats.status == 0 && stats.output.contains(#""trajectories":4"#))
    }

    /// Every command that writes says so too, as `memp import` does; delete, revert, import-bundle and cold-start
    /// succeeded without a word that the index cache was not saved.
    @Test(arguments: ["delete", "revert", "import-bundle", "cold-start"])
    func aWriteWhoseCacheCannotBeSavedWarns(command: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store = try await Self.sampleStore(directory)
        let arguments: [String]
        switch command {
        case "delete": arguments = ["--id", "a"]
        case "revert": arguments = ["1"]
        case "cold-start":
            let file = try directory.write(
                #"{"id": "d", "task": "water the plant", "steps": [{"action": "pour water"}]}"#, to: "more.jsonl")
            arguments = [file, "--keep", "1"]
        default:
            let bundle = directory.file("bundle")
            #expect(try await ChildProcess.memp(["export", "--store", store, "--output", bundle]).status == 0)
            store = directory.file("other")
            let created = try await ChildProcess.memp(["init", "--store", store, "--embedder", "hashing"])
            #expect(created.status == 0)
            arguments = [bundle]
        }
        try? FileManager.default.removeItem(atPath: store + "/index")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: store + "/index"))
        let result = try await ChildProcess.memp([command, "--store", store] + arguments)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.errors.contains("the changes are stored, but the index cache was not saved (\(store)/index"))
    }

    /// Feedback that deprecates moves the cache's manifest; when it can't (an immutable index folder), it says so as
    /// the other writes do. Needs `chattr`, which only root can run.
    @Test(.enabled(if: getuid() == 0, "chattr +i needs root"))
    func feedbackWhoseManifestCannotMoveWarns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(directory)
        let index = store + "/index"
        try #require(try await ChildProcess.run("/usr/bin/chattr", ["+i", index]).status == 0)
        defer { _ = try? ChildProcess(executable: "/usr/bin/chattr", arguments: ["-i", index]).waitForExit() }
        let result = try await ChildProcess.memp([
            "feedback", "--store", store, "--memory", "a", "--success", "false", "--min-hits", "1",
        ])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "a: 0 of 1 use succeeded; deprecated, it will no longer be offered\n")
        #expect(
            result.errors.contains("the changes are stored, but the index cache was not saved (\(index)/manifest.json"))
    }

    // Finding 6: one bad query ended a batch; finding 11: an empty query is one error in every mode.
    @Test(arguments: ["hybrid", "query", "bm25"])
    func batchAnswersEveryGoodQueryAndNamesTheBadOnes(mode: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(directory)
        // Line 4 was "field : must be a string."; line 5, over 4 MiB, was read into memory whole.
        let long = #"{"qid": "long", "query": ""# + String(repeating: "a", count: MemoryStore.maximumQueryLineBytes)
        let queries = try directory.write(
            [
                #"{"qid": "q1", "query": "take the coin"}"#, #"{"qid": "q2", "query": "  "}"#, "not json",
                "[1, 2, 3]", long, #"{"qid": "q3", "query": "open the door"}"#,
            ].joined(separator: "\n"), to: "queries.jsonl")
        let result = try await ChildProcess.memp([
            "query", "--store", store, "--queries", queries, "--mode", mode, "-k", "1", "--json",
        ])
        #expect(result.status == 1)
        let lines = try MemoryCommandTests.batchLines(result.output)
        #expect(lines.map(\.qid) == ["q1", "q2", "q3"])
        #expect(lines[0].hits.map(\.id) == ["a"] && lines[2].hits.map(\.id) == ["b"])
        #expect(lines[1].hits.isEmpty && lines[1].error == MemoryError.emptyTask.description)
        #expect(
            result.errors.contains(
                "\(queries), line 3, field \"(line)\": not valid JSON: Invalid value around character 1."))
        #expect(result.errors.contains("\(queries), line 4, field \"(line)\": must be a JSON object."))
        let limit = MemoryStore.maximumQueryLineBytes
        #expect(
            result.errors.contains(
                "line 5, field \"(line)\": \(long.utf8.count) bytes, over the limit of \(limit) bytes."))
        #expect(result.errors.contains("4 of the queries failed"))
    }

    // Finding 12: `memp verify`.
    @Test func verifyExitsZeroOnASoundStoreAndOneOnADamagedOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.sampleStore(directory)
        let sound = try await ChildProcess.memp(["verify", "--store", store, "--json"])
        #expect(sound.status == 0)
        let report = try JSONDecoder().decode(StoreVerification.self, from: Data(sound.output.utf8))
        #expect(report.problems.isEmpty && report.memories == 3 && report.trajectories == 3)
        // The last process closed the database, so it is checkpointed: scramble every page but the header.
        let databasePath = store + "/" + SQLiteStore.databaseFileName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        for offset in stride(from: 4096 + 8, to: bytes.count, by: 97) { bytes[offset] ^= 0x5A }
        try bytes.write(to: URL(fileURLWithPath: databasePath))
        let damaged = try await ChildProcess.memp(["verify", "--store", store])
        #expect(damaged.status == 1)
        #expect(damaged.output.contains("PROBLEM: "))
        let problems = damaged.output.components(separatedBy: "PROBLEM: ").count - 1
        #expect(damaged.output.hasSuffix("\n\(problems == 1 ? "1 problem" : "\(problems) problems") found\n"))
    }

    // Finding 8: the limits can be raised from the command line.
    @Test func importLimitFlagsReachTheLibrary() throws {
        let command = try ImportCommand.parse([
            "--store", "s", "f.jsonl", "--max-line-bytes", "10", "--max-task-bytes", "11", "--max-step-bytes", "12",
            "--max-observation-bytes", "13",
        ])
        #expect(
            command.textLimits.limits
                == TextLimits(
                    maximumLineBytes: 10, maximumTaskBytes: 11, maximumStepTextBytes: 12, maximumObservationBytes: 13))
        do {
            _ = try ImportCommand.parse(["--store", "s", "f.jsonl", "--max-task-bytes", "0"])
            Issue.record("expected a validation error")
        } catch {
            #expect(ImportCommand.message(for: error) == "--max-task-bytes must be at least 1 (got 0).")
        }
    }

    /// A negative number given as its own argument is the flag's value, refused by the flag's rule: ArgumentParser
    /// read `--min-hits -1` as a flag without its value ("Missing value") and `-1` as a short flag (hostile run 11);
    /// and `history --memory ""` found nothing and exited 0 ("No history entry is about memory .").
    @Test(arguments: [
        (
            ServeCommand.self as any ParsableCommand.Type, ["--store", "s", "--min-hits", "-1"],
            "--min-hits must be at least 1 (got -1)."
        ),
        (ServeCommand.self, ["--store", "s", "--port", "-5"], "--port must be within 0…65535 (got -5)."),
        (HistoryCommand.self, ["--store", "s", "--last", "-2"], "--last must be at least 1 (got -2)."),
        (HistoryCommand.self, ["--store", "s", "--memory", ""], "--memory must be a memory ID, not empty."),
        (
            ImportCommand.self, ["--store", "s", "f.jsonl", "--max-task-bytes", "-1"],
            "--max-task-bytes must be at least 1 (got -1)."
        ),
        (
            CollectionCommand.Search.self, ["--collection", "c", "--candidates", "-3", "q"],
            "--candidates must be at least 1 (got -3)."
        ),
    ])
    func aNegativeNumberIsTheFlagsValue(command: any ParsableCommand.Type, arguments: [String], message: String) {
        #expect(parseFailure(command, arguments) == message)
    }

    /// An empty path is refused as the flag or argument it was given to: it was met deep inside each command and told
    /// as "Error: : No such file or directory" or "Error:  is not a memory store".
    @Test(
        arguments: [
            (QueryCommand.self, ["--store", "", "open the door"], "'--store <dir|url>'"),
            (QueryCommand.self, ["--store", "s", "--queries", ""], "'--queries <queries>'"),
            (ImportCommand.self, ["--store", "s", ""], "'<file>'"),
            (EvalCommand.self, ["--store", "s", "--store", "", "--queries", "q.jsonl"], "'--store <dir|url>'"),
            (EvalCommand.self, ["--store", "s", "--queries", "q.jsonl", "--report", ""], "'--report <report.html>'"),
            (IndexCommand.Build.self, ["--input", "v.fvecs", "--output", ""], "'--output <output>'"),
            (ExportCommand.self, ["--store", "s", "--output", ""], "'--output <output>'"),
            (ServeCommand.self, ["--store-root", ""], "'--store-root <dir>'"),
        ] as [(any ParsableCommand.Type, [String], String)])
    func anEmptyPathIsRefusedAsItsFlag(command: any ParsableCommand.Type, arguments: [String], flag: String) {
        #expect(
            parseFailure(command, arguments)
                == "The value '' is invalid for \(flag): an empty path names no file or directory")
    }

    /// A `--source` a record's own source could not be is refused as the flag, not blamed on the file's first line.
    @Test func aSourceThatNoRecordCouldHaveIsAFlagError() {
        #expect(
            parseFailure(ImportCommand.self, ["--store", "s", "f.jsonl", "--source", "a\nb"])
                == "--source contains the control character U+000A, which a source can't hold.")
        #expect(
            parseFailure(
                UpdateCommand.self,
                ["--store", "s", "--policy", "vanilla", "f.jsonl", "--source", String(repeating: "s", count: 1025)])
                == "--source is 1025 bytes, more than the 1024 bytes a source may have in any store (PostgreSQL "
                + "indexes it, and an index entry holds at most 2,704 bytes); shorten it.")
    }

    // Hostile run 13: every diagnostic went through Foundation's non-throwing `FileHandle.write(_:)`, which traps when
    // the write fails: with standard error closed or a full device, `memp import --progress json` died with SIGILL at
    // its first progress line, one batch of several committed.
    @Test(arguments: ["2>&-", "2>/dev/full"])
    func anUnwritableStandardErrorNeverStopsACommand(redirection: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await MemoryCommandTests.initHashingStore(in: directory)
        let lines = (0..<4).map { #"{"id": "t\#($0)", "task": "task \#($0)", "steps": [{"action": "act"}]}"# }
        let file = try directory.write(lines.joined(separator: "\n"), to: "runs.jsonl")
        let imported = try await ChildProcess.run(
            "/bin/sh",
            [
                "-c", #""$0" import --store "$1" "$2" --batch-size 1 --progress json "# + redirection,
                try ChildProcess.mempExecutable(), store, file,
            ])
        #expect(imported.status == 0)
        let stats = try await ChildProcess.memp(["stats", "--store", store, "--json"])
        let counts = try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Any]
        #expect(counts?["trajectories"] as? Int == 4)
        // A failure is still told by the exit status when its message can't be.
        let failed = try await ChildProcess.run(
            "/bin/sh",
            [
                "-c", #""$0" stats --store "$1" "# + redirection, try ChildProcess.mempExecutable(),
                directory.file("missing"),
            ])
        #expect(failed.status == 1)
    }

    // Hostile run 13: `print` drops the errors of its writes, so a command whose standard output was a full device or
    // closed printed nothing and exited 0.
    @Test func anUnwritableStandardOutputIsAFailure() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await MemoryCommandTests.initHashingStore(in: directory)
        let full = try await ChildProcess.run(
            "/bin/sh", ["-c", #""$0" stats --store "$1" --json >/dev/full"#, try ChildProcess.mempExecutable(), store])
        #expect(full.status == 1)
        #expect(
            full.errors
                == "Error: standard output could not be written (No space left on device), so what the command "
                + "printed is lost or cut short; the command itself finished.\n")
        let closed = try await ChildProcess.run(
            "/bin/sh", ["-c", #""$0" stats --store "$1" >&-"#, try ChildProcess.mempExecutable(), store])
        #expect(closed.status == 1)
        #expect(closed.errors.hasPrefix("Error: standard output could not be written ("))
        #expect(try await ChildProcess.memp(["stats", "--store", store]).status == 0)
    }

    // Hostile run 13: Swift puts U+FFFD in place of bytes that are not UTF-8, so a Latin-1 file name was "does not
    // exist", and `init --store st$'\xff'/x` made the store in another directory, `st\u{FFFD}`.
    @Test func anArgumentThatIsNotUTF8IsRefusedAndNothingIsMade() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let made = try await ChildProcess.run(
            "/bin/sh",
            [
                "-c", #"cd "$1" && "$0" init --store "$(printf 'st\377')/x" --embedder hashing"#,
                try ChildProcess.mempExecutable(), directory.path,
            ])
        #expect(made.status == ExitCode.validationFailure.rawValue)
        #expect(
            made.errors
                == #"Error: argument 3 (st\xFF/x) is not valid UTF-8; memp reads file names and texts as UTF-8 and "#
                + "would use another name. Rename the file to a UTF-8 name, or give its path through a link that has "
                + "one.\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        #expect(Memp.argumentNotInUTF8([Array("memp".utf8), Array("café".utf8), Array("ü".utf8)]) == nil)
        #expect(
            Memp.argumentNotInUTF8([Array("memp".utf8), Array("import".utf8), [0x63, 0x61, 0x66, 0xE9]])?
                .hasPrefix(#"argument 2 (caf\xE9) is not valid UTF-8"#) == true)
    }

    // Hostile run 13: `memp index build` killed by SIGXFSZ (past `ulimit -f`; the test runner ignores the signal, so a
    // killed build's temporary is planted here) left `.NAME.tmp-PID-N` as large as what it had written, and later
    // builds of the same file left it there.
    @Test func aBuildRemovesTheTemporaryOfAKilledBuildOfTheSameFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("base.fvecs")
        try VectorFile.write(try VectorSet(dimension: 4, values: (0..<40).map { Float($0 % 7) + 1 }), to: input)
        try Data(count: 204_800).write(to: URL(fileURLWithPath: directory.file(".base.mvi.tmp-4332-633502574")))
        let built = try await ChildProcess.memp(
            ["index", "build", "--input", input, "--output", directory.file("base.mvi")])
        #expect(built.status == 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["base.fvecs", "base.mvi"])
    }

    // Hostile run 13: with TMPDIR naming a missing directory, every write into a device or pipe (whose bytes go
    // through a temporary file) failed as "/dev/null: No such file or directory".
    @Test func aMissingTemporaryDirectoryDoesNotStopWritesIntoADevice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let environment = ["TMPDIR": directory.file("missing")]
        let vectors = directory.file("base.fvecs")
        try VectorFile.write(try VectorSet(dimension: 4, values: (0..<40).map { Float($0 % 7) + 1 }), to: vectors)
        let built = try await ChildProcess.memp(
            ["index", "build", "--input", vectors, "--output", "/dev/null"], environment: environment)
        #expect(built.status == 0 && built.errors.isEmpty)
        let texts = try directory.write(#"{"text": "open the door"}"# + "\n" + #"{"text": "go north"}"#, to: "t.jsonl")
        let embedding = ["embed", "--embedder", "hashing", "--dimension", "4", "--input", texts]
        let throughDevice = try await ChildProcess.memp(
            embedding + ["--output", "/dev/stdout"], environment: environment)
        let direct = try await ChildProcess.memp(embedding)
        #expect(throughDevice.status == 0 && direct.status == 0)
        #expect(throughDevice.output == direct.output && direct.output.split(separator: "\n").count == 2)
    }

    // Hostile run 13: `index build --output /dev/stdout > base.mvi` printed its summary after the index, on the same
    // standard output, so the file ended in "Indexed 10 vectors …".
    @Test func anIndexWrittenToStandardOutputIsFollowedByNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let vectors = directory.file("base.fvecs")
        try VectorFile.write(try VectorSet(dimension: 4, values: (0..<40).map { Float($0 % 7) + 1 }), to: vectors)
        let piped = directory.file("piped.mvi")
        let built = try await ChildProcess.run(
            "/bin/sh",
            [
                "-c", #""$0" index build --input "$1" --output /dev/stdout > "$2""#,
                try ChildProcess.mempExecutable(), vectors, piped,
            ])
        #expect(built.status == 0)
        #expect(built.errors.hasPrefix("Indexed 10 vectors of dimension 4 (cosine, f32) into /dev/stdout in "))
        let direct = directory.file("direct.mvi")
        #expect(try await ChildProcess.memp(["index", "build", "--input", vectors, "--output", direct]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: piped)) == Data(contentsOf: URL(fileURLWithPath: direct)))
        #expect(try FlatIndex(contentsOf: piped).count == 10)
    }
}
