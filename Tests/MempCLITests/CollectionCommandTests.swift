import ArgumentParser
import Foundation
import HybridSearch
import RetrievalCore
import TestSupport
import Testing

@testable import MempCLI

@Suite struct CollectionCommandTests {
    func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    let documents = [
        #"{"id": "a", "text": "open a file for reading", "vector": [1, 0, 0], "metadata": {"lang": "py"}}"#,
        #"{"id": "b", "text": "parse json lines", "vector": [0, 1, 0], "metadata": {"lang": "swift"}}"#,
        #"{"id": "c", "text": "network sockets and files", "vector": [0, 0, 1], "metadata": {"lang": "py"}}"#,
    ]

    /// Builds a collection of ``documents`` with `memp collection build` and returns its directory.
    func buildDocuments(in directory: TemporaryDirectory) throws -> String {
        let input = directory.file("docs.jsonl")
        try write(documents, to: input)
        let output = directory.file("collection")
        try CollectionCommand.Build.parse(["--input", input, "--output", output]).run()
        return output
    }

    @Test func buildSearchAddRemove() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = try buildDocuments(in: directory)
        let library = try DocumentCollection(contentsOf: output)
        #expect(library.count == 3 && library.configuration.embedder == nil)

        let queries = directory.file("queries.jsonl")
        try write(
            [#"{"qid": "q1", "text": "files", "vector": [0, 0, 1]}"#, #"{"qid": "q2", "text": "json"}"#], to: queries)
        let lines = try CollectionCommand.Search.parse(
            ["--collection", output, "--mode", "bm25", "--queries", queries, "-k", "2"]).resultLines()
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["qid"] as? String == "q1")
        let hits = try #require(first["hits"] as? [[String: Any]])
        // "files" occurs once in each 3-term document: equal scores, the tie goes to the earlier document.
        #expect(hits.compactMap { $0["id"] as? String } == ["a", "c"])

        let vectorQueries = directory.file("vector-queries.jsonl")
        try write([#"{"qid": 7, "text": "files", "vector": [0, 0.2, 1]}"#], to: vectorQueries)
        let hybrid = try CollectionCommand.Search.parse(
            ["--collection", output, "--queries", vectorQueries, "--alpha", "0.5", "--filter", "lang=py"]).resultLines()
        #expect(
            hybrid.count == 1 && hybrid[0].hasPrefix(#"{"hits":[{"id":"c","#) && hybrid[0].hasSuffix(#""qid":"7"}"#))
        #expect(!hybrid[0].contains(#""id":"b""#))

        let more = directory.file("more.jsonl")
        try write([#"{"id": "d", "text": "json schema", "vector": [0, 1, 1]}"#], to: more)
        try CollectionCommand.Add.parse(["--collection", output, "--input", more]).run()
        try CollectionCommand.Remove.parse(["--collection", output, "a"]).run()
        let updated = try DocumentCollection(contentsOf: output)
        #expect(updated.documentIDs == ["b", "c", "d"])
        let explained = try CollectionCommand.Search.parse(
            ["--collection", output, "--mode", "bm25", "--explain", "json"]).resultLines()
        #expect(explained.count == 4 && explained[1].contains("matched: json"))
    }

    @Test func hybridQueryWithoutVectorOrEmbedderFails() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = try buildDocuments(in: directory)
        #expect(throws: CollectionError.queryNeedsVector) {
            try CollectionCommand.Search.parse(["--collection", output, "files"]).resultLines()
        }
    }

    @Test func buildWithHashingEmbedderRecordsIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("docs.jsonl")
        try write([#"{"id": "x", "text": "open a file"}"#, #"{"id": "y", "text": "parse json"}"#], to: input)
        let output = directory.file("collection")
        try CollectionCommand.Build.parse([
            "--input", input, "--output", output, "--embedder", "hashing", "--dimension", "32",
        ]).run()
        #expect(try DocumentCollection.configuration(of: output).embedder == "hashing:v1:32")
        let lines = try CollectionCommand.Search.parse(["--collection", output, "-k", "1", "--json", "parse json"])
            .resultLines()
        #expect(lines.count == 1 && lines[0].contains(#""id":"y""#))
    }

    /// Texts without vectors need an embedder: none is an input error (exit 1, no usage text), an OpenAI embedder
    /// without an HTTP base URL a flag error.
    @Test func textsWithoutVectorsNeedAUsableEmbedder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("docs.jsonl")
        try write([#"{"id": "x", "text": "open a file"}"#], to: input)
        let output = directory.file("collection")
        #expect(
            throws: InputFileError.malformed(
                path: input, line: nil, reason: "no line has a \"vector\"; choose an --embedder to embed the texts")
        ) {
            try CollectionCommand.Build.parse(["--input", input, "--output", output]).run()
        }
        #expect(throws: ValidationError.self) {
            try CollectionCommand.Build.parse([
                "--input", input, "--output", output, "--embedder", "openai", "--base-url", "ftp://example.org",
            ]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func badLineNamesLineAndFieldAndWritesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("docs.jsonl")
        try write([documents[0], #"{"id": "b", "text": "x", "vector": [1, "y", 0]}"#], to: input)
        let output = directory.file("collection")
        #expect(
            throws: CollectionError.malformedInput(
                path: input, line: 2, field: "vector", reason: "must be an array of numbers")
        ) {
            try CollectionCommand.Build.parse(["--input", input, "--output", output]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        try write([documents[0], #"{"id": "b", "text": "x", "vector": [1, 0]}"#], to: input)
        #expect(throws: CollectionError.dimensionMismatch(documentID: "b", expected: 3, actual: 2)) {
            try CollectionCommand.Build.parse(["--input", input, "--output", output]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// Before, the line was read whole and the collection built.
    @Test func aDocumentLineOverTheDefaultLimitIsRefusedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("docs.jsonl")
        let limit = JSONLinesReader.standardMaximumLineBytes
        let long = #"{"id": "b", "text": ""# + String(repeating: "a", count: limit) + #"", "vector": [1, 0, 0]}"#
        try write([documents[0], long], to: input)
        let output = directory.file("collection")
        #expect(
            throws: CollectionError.malformedInput(
                path: input, line: 2, field: "(line)",
                reason: "\(long.utf8.count) bytes, over the limit of \(limit) bytes")
        ) {
            try CollectionCommand.Build.parse(["--input", input, "--output", output]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test(arguments: [
        (["-k", "0", "q"], "-k must be at least 1 (got 0)."),
        (["-k", "-3", "q"], "-k must be at least 1 (got -3)."),
        (["--alpha", "0.5", "--rrf", "q"], "Give either --alpha or --rrf, not both."),
        (["--alpha", "2", "q"], "--alpha must be within 0…1 (got 2)."),
        // The numbers are checked by the search's own rule (`HybridIndex.Query.validate()`), told in flags.
        (["--rank-constant", "0", "q"], "--rank-constant must be a positive number (got 0)."),
        (["--candidates", "0", "q"], "--candidates must be at least 1 (got 0)."),
        // Fusion flags with one side only were ignored; they are refused as `memp query` refuses them.
        (
            ["--mode", "bm25", "--alpha", "0.5", "q"],
            "--alpha sets how --mode hybrid fuses; it has no effect with --mode bm25."
        ),
        (
            ["--mode", "vector", "--candidates", "5", "q"],
            "--candidates sets how --mode hybrid fuses; it has no effect with --mode vector."
        ),
        (["--filter", "novalue", "q"], "--filter takes key=value (got \"novalue\")."),
        // As `memp query` takes its task: any text, one argument; a mistyped option is named.
        (
            ["--explian", "q"],
            #"Unknown option '--explian'. A query that starts with "--" goes after --: memp collection search ... -- "--explian"."#
        ),
        (["heat", "pan"], #"Give the query as one argument, in quotes (got 2: "heat" "pan")."#),
        ([], "Give a query text or --queries FILE (exactly one)."),
        (
            ["--mode", "fuzzy", "q"],
            "The value 'fuzzy' is invalid for '--mode <mode>'. Please provide one of 'vector', 'bm25' or 'hybrid'."
        ),
        // Hostile run 9: flags of the other fusion were ignored without a word.
        (["--normalization", "zScore", "q"], "--normalization sets how --alpha fuses; give --alpha with it."),
        (
            ["--alpha", "0.5", "--rank-constant", "10", "q"],
            "Give --alpha (convex fusion) or --rank-constant (RRF), not both."
        ),
        (
            ["--mode", "bm25", "--rank-constant", "10", "q"],
            "--rank-constant sets how --mode hybrid fuses; it has no effect with --mode bm25."
        ),
    ])
    func badSearchFlagsAreValidationErrors(arguments: [String], message: String) {
        #expect(parseFailure(CollectionCommand.Search.self, ["--collection", "c"] + arguments) == message)
    }

    /// Hostile run 10 (finding 108, of `memp query`): a query starting with "-" was read as short flags.
    @Test func aQueryThatStartsWithADashIsAQuery() throws {
        for text in ["- heat the pan", "-door", "-h is not help here"] {
            #expect(try CollectionCommand.Search.parse(["--collection", "c", "-k", "2", text]).text == text)
        }
        #expect(try CollectionCommand.Search.parse(["--collection", "c", "--", "--dashes"]).text == "--dashes")
    }

    /// Hostile run 12: `memp collection remove --collection c -dash` printed the help and exited 0, removing
    /// nothing (ArgumentParser read the ID as -d -a -s -h), and `-x` was an unknown option.
    @Test func documentIDsToRemoveMayStartWithADash() throws {
        #expect(
            try CollectionCommand.Remove.parse(["--collection", "c", "-dash", "keep", "-x", "--", "--long"]).ids
                == ["-dash", "keep", "-x", "--long"])
        #expect(
            parseFailure(CollectionCommand.Remove.self, ["--collection", "c", "a", "--colection", "d"])
                == #"Unknown option '--colection'. A document ID that starts with "--" goes after --: "#
                + #"memp collection remove ... -- "--colection"."#)
        #expect(parseFailure(CollectionCommand.Remove.self, ["--collection", "c"]) == "Name at least one ID.")
    }

    @Test(arguments: [
        (["--b", "2"], "--b must be within 0…1 (got 2)."),
        // Hostile run 9: --k1 1e39 is infinite as a Float, and every BM25 score was NaN.
        (["--k1", "1e39"], "--k1 must be within 0…1000000 (got 1e+39)."),
        (["--k1=-1"], "--k1 must be within 0…1000000 (got -1)."),
    ])
    func badBuildFlagsAreValidationErrors(arguments: [String], message: String) {
        #expect(parseFailure(CollectionCommand.Build.self, ["--input", "a", "--output", "b"] + arguments) == message)
    }

    @Test func aQueryFileThatRepeatsAQueryIDIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = try buildDocuments(in: directory)
        let queries = directory.file("queries.jsonl")
        try write([#"{"qid": "q1", "text": "files"}"#, #"{"qid": "q1", "text": "json"}"#], to: queries)
        #expect(throws: CollectionError.duplicateQuery(path: queries, queryID: "q1", firstLine: 1, line: 2)) {
            try CollectionCommand.Search.parse(["--collection", output, "--mode", "bm25", "--queries", queries])
                .resultLines()
        }
    }

    /// Concurrent `memp collection add` processes on one collection all keep their documents: each holds the
    /// collection's lock from reading it to saving. (Before, each read without the lock and the last save won; how
    /// many were lost depended on the interleaving, which ``CollectionTests`` pins down in process.)
    @Test func concurrentAddsInSeparateProcessesAllKeepTheirDocuments() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = try buildDocuments(in: directory)
        let writers = 6
        var children: [ChildProcess] = []
        for writer in 0..<writers {
            let input = directory.file("more\(writer).jsonl")
            try write([#"{"id": "w\#(writer)", "text": "writer \#(writer)", "vector": [1, 1, 0]}"#], to: input)
            children.append(
                try ChildProcess(
                    executable: try ChildProcess.mempExecutable(),
                    arguments: ["collection", "add", "--collection", output, "--input", input]))
        }
        for child in children {
            let outcome = await child.finish()
            #expect(outcome.status == 0, "\(outcome.errors)")
        }
        let collection = try DocumentCollection(contentsOf: output)
        #expect(collection.documentIDs == ["a", "b", "c"] + (0..<writers).map { "w\($0)" })
    }
}
