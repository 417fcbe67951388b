import ArgumentParser
import Embeddings
import Foundation
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

@testable import MempCLI

@Suite struct EmbedCommandTests {
    func lines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func addsAnEmbeddingToEveryLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("in.jsonl")
        try """
        {"id": "a", "body": "open the fridge", "tags": ["x"]}

        {"id": "b", "body": "go north", "embedding": [1]}
        """.write(toFile: input, atomically: true, encoding: .utf8)
        let output = directory.file("out.jsonl")
        var command = try EmbedCommand.parse([
            "--embedder", "hashing", "--dimension", "64", "--input", input, "--output", output, "--text-field", "body",
        ])
        try await command.run()
        let written = try lines(output)
        let expected = try await HashingEmbedder(dimension: 64).embed(["open the fridge", "go north"])
        #expect(written.count == 2)
        #expect(written.map { $0["id"] as? String } == ["a", "b"])
        #expect(written[0]["tags"] as? [String] == ["x"])
        for (line, vector) in zip(written, expected) {
            #expect((line["embedding"] as? [NSNumber])?.map(\.floatValue) == vector)
        }
        command = try EmbedCommand.parse(["--model", "hashing", "--input", input, "--output", output])
        await #expect(
            throws: EmbeddingError.malformedInput(path: input, line: 1, reason: "no string field \"text\"")
        ) { try await command.run() }
        // The failed run left the earlier output as it was, and no temporary file beside it.
        #expect(try lines(output).count == 2)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["in.jsonl", "out.jsonl"])
    }

    /// Before, the line was read whole (a 100 MB line held 333 MB) and embedded.
    @Test func aLineOverTheLimitIsRefusedAndAnExistingOutputKept() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("in.jsonl")
        let limit = JSONLinesReader.standardMaximumLineBytes
        let long = #"{"text": ""# + String(repeating: "a ", count: limit / 2) + #""}"#
        try (#"{"text": "go north"}"# + "\n" + long + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let output = directory.file("out.jsonl")
        try "kept\n".write(toFile: output, atomically: true, encoding: .utf8)
        let command = try EmbedCommand.parse(["--model", "hashing", "--input", input, "--output", output])
        await #expect(
            throws: EmbeddingError.lineTooLong(path: input, line: 2, bytes: long.utf8.count, limit: limit)
        ) { try await command.run() }
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "kept\n")
    }

    // Hostile run 4: a line that repeated its text field had one of the two embedded, silently.
    @Test func aLineThatRepeatsAFieldIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("in.jsonl")
        try #"{"text": "go north", "text": "go south"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let command = try EmbedCommand.parse(["--model", "hashing", "--input", input, "--output", input + ".out"])
        await #expect(
            throws: EmbeddingError.malformedInput(
                path: input, line: 1, reason: "field text appears twice in its object; keep one of the values")
        ) { try await command.run() }
    }

    /// Hostile run 12: `memp embed "- heat the pan"` printed the help and exited 0 (ArgumentParser read the text
    /// as short flags, -h among them), embedding nothing.
    @Test func aTextThatStartsWithADashIsEmbedded() throws {
        let command = try EmbedCommand.parse(["--embedder", "hashing", "- heat the pan", "-door", "--", "--x"])
        #expect(command.texts == ["- heat the pan", "-door", "--x"])
        #expect(
            parseFailure(EmbedCommand.self, ["--embedder", "hashing", "a", "--dimensoin", "8"])
                == #"Unknown option '--dimensoin'. A text that starts with "--" goes after --: memp embed ... -- "--dimensoin"."#
        )
    }

    @Test func rejectsBadFlagCombinations() {
        let either = "Give texts as arguments or --input FILE, not both and not neither."
        #expect(parseFailure(EmbedCommand.self, []) == either)
        #expect(parseFailure(EmbedCommand.self, ["text", "--input", "x.jsonl"]) == either)
        #expect(parseFailure(EmbedCommand.self, ["text", "--output", "x.jsonl"]) == "--output needs --input.")
        #expect(
            parseFailure(EmbedCommand.self, ["text", "--embedder", "bogus"])
                == "The value 'bogus' is invalid for '--embedder <embedder>'. Please provide one of 'hashing', 'minilm' or 'openai'."
        )
        #expect(
            parseFailure(EmbedCommand.self, ["text", "--embedder", "hashing", "--dimension", "0"])
                == "--dimension must be 1…4096 (got 0).")
    }

    @Test func reduceWritesASmallerIndexAndItsPCAModel() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var rng = SplitMix64(seed: 3)
        let values = (0..<300 * 24).map { index in Float(Int.random(in: -20...20, using: &rng)) * Float(1 + index % 3) }
        var index = try FlatIndex(dimension: 24, metric: .l2)
        try index.add(
            contentsOf: try VectorSet(dimension: 24, values: values), ids: (0..<300).map { DocumentID(UInt64($0 * 2)) })
        try index.save(to: directory.file("full.mvi"))
        try IndexCommand.Reduce.parse([
            "--index", directory.file("full.mvi"), "--output", directory.file("small.mvi"), "--dims", "6",
        ]).run()
        let reduced = try FlatIndex(contentsOf: directory.file("small.mvi"))
        let pca = try PrincipalComponents(contentsOf: directory.file("small.mvi.pca"))
        #expect(reduced.dimension == 6 && reduced.count == 300 && reduced.metric == .l2)
        #expect(pca.inputDimension == 24 && pca.outputDimension == 6)
        let id = DocumentID(UInt64(10))
        let original = try #require(index.vector(for: id))
        let stored = try #require(reduced.vector(for: id))
        #expect(zip(stored, pca.project(original)).allSatisfy { abs($0 - $1) < 1e-3 })
        // More dimensions than the index has is a flag this index refuses (hostile run 11: the message named the
        // library's "components").
        let tooMany = try #require(throws: ValidationError.self) {
            try IndexCommand.Reduce.parse([
                "--index", directory.file("full.mvi"), "--output", directory.file("x.mvi"), "--dims", "25",
            ]).run()
        }
        #expect(tooMany.message == "--dims must be within 1...24 (got 25).")
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.mvi")))
        // Hostile run 9: --pca naming the index overwrote it with the model; naming the output, the model was
        // overwritten by the index and no model was left.
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.file("full.mvi")))
        for (pca, output, role) in [
            (directory.file("full.mvi"), directory.file("y.mvi"), "the index to reduce"),
            (directory.file("./y.mvi"), directory.file("y.mvi"), "the reduced index"),
        ] {
            #expect(
                throws: IndexError.io(path: pca, reason: "is \(role); the PCA model needs a path of its own")
            ) {
                try IndexCommand.Reduce.parse([
                    "--index", directory.file("full.mvi"), "--output", output, "--dims", "6", "--pca", pca,
                ]).run()
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("full.mvi"))) == before)
        #expect(!FileManager.default.fileExists(atPath: directory.file("y.mvi")))
    }

    /// Finite vectors whose covariance overflows a Float are refused as such.
    ///
    /// Hostile run 9: they were "Vector 0 has a NaN or infinite component … Check the embedding source."
    @Test func vectorsWhoseCovarianceOverflowsAreRefusedSayingSo() throws {
        // ±2⁶⁸ around a mean of 0: each square, 2¹³⁶, is beyond a Float (below 2¹²⁸), though every value is not.
        let large = Float(sign: .plus, exponent: 68, significand: 1)
        let vectors = (0..<10).map { row in [row % 2 == 0 ? large : -large, Float(row % 3), 1] }
        #expect(throws: IndexError.covarianceOverflow(largest: large)) {
            try PrincipalComponents.fit(vectors, components: 2)
        }
    }

    /// `memp index search` on a reduced index projects full-size queries with the index's PCA model: each base
    /// vector, as a query, finds itself.
    @Test func searchProjectsQueriesWithTheReducedIndexsModel() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var rng = SplitMix64(seed: 4)
        let values = (0..<200 * 16).map { _ in Float.random(in: -1...1, using: &rng) }
        var index = try FlatIndex(dimension: 16, metric: .l2)
        try index.add(
            contentsOf: try VectorSet(dimension: 16, values: values), ids: (0..<200).map { DocumentID(UInt64($0)) })
        try index.save(to: directory.file("full.mvi"))
        try IndexCommand.Reduce.parse([
            "--index", directory.file("full.mvi"), "--output", directory.file("small.mvi"), "--dims", "8",
        ]).run()
        let queries = try VectorSet(dimension: 16, values: Array(values[0..<20 * 16]))
        try VectorFile.write(queries, to: directory.file("queries.fvecs"))
        try IndexCommand.Search.parse([
            "--index", directory.file("small.mvi"), "--queries", directory.file("queries.fvecs"), "-k", "1",
            "--output", directory.file("top.ivecs"),
        ]).run()
        let top = try VectorFile.read(directory.file("top.ivecs"))
        #expect(top.count == 20 && top.values == (0..<20).map(Float.init))
        // Projected queries that no longer fit the index searched are refused, with the dimensions named.
        #expect(
            throws: InputFileError.malformed(
                path: directory.file("queries.fvecs"), line: nil,
                reason: "its vectors have 16 dimensions, 8 once projected by the PCA model, those of "
                    + "\(directory.file("full.mvi")) 16; search it with queries embedded by the model that built it")
        ) {
            try IndexCommand.Search.parse([
                "--index", directory.file("full.mvi"), "--queries", directory.file("queries.fvecs"),
                "--pca", directory.file("small.mvi.pca"),
            ]).run()
        }
    }
}
