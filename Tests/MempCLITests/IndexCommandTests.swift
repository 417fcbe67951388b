import ArgumentParser
import Foundation
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

@testable import MempCLI

@Suite struct IndexCommandTests {
    /// Writes `count` small-integer vectors as .fvecs and returns the path.
    func writeVectors(_ count: Int, dimension: Int, seed: UInt64, in directory: TemporaryDirectory, name: String)
        throws -> (path: String, vectors: VectorSet)
    {
        var rng = SplitMix64(seed: seed)
        let values = (0..<count * dimension).map { _ in Float(Int.random(in: -5...5, using: &rng)) }
        let set = try VectorSet(dimension: dimension, values: values)
        let path = directory.file(name)
        try VectorFile.write(set, to: path)
        return (path, set)
    }

    /// Builds an index (`base.mvi`, with `options`) over `count` vectors written as `base.fvecs`; returns both paths.
    func buildIndex(
        _ count: Int, dimension: Int, seed: UInt64, options: [String] = [], in directory: TemporaryDirectory
    ) throws -> (vectors: String, index: String) {
        let base = try writeVectors(count, dimension: dimension, seed: seed, in: directory, name: "base.fvecs")
        let index = directory.file("base.mvi")
        try IndexCommand.Build.parse(["--input", base.path, "--output", index] + options).run()
        return (base.path, index)
    }

    @Test(arguments: ["1", nil] as [String?])
    func buildSearchVerifyAndInfo(batchSize: String?) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let base = try writeVectors(500, dimension: 16, seed: 1, in: directory, name: "base.fvecs")
        let queries = try writeVectors(12, dimension: 16, seed: 2, in: directory, name: "queries.fvecs")
        let index = directory.file("base.mvi")
        try IndexCommand.Build.parse(["--input", base.path, "--output", index, "--metric", "l2"]).run()
        let result = directory.file("result.ivecs")
        var arguments = ["--index", index, "--queries", queries.path, "-k", "7", "--output", result, "--json"]
        if let batchSize { arguments += ["--batch-size", batchSize] }
        try IndexCommand.Search.parse(arguments).run()
        let library = try FlatIndex(contentsOf: index)
        #expect(library.metric == .l2 && library.count == 500)
        let expected = try (0..<queries.vectors.count).map { row in
            try library.search(Array(queries.vectors[row]), k: 7).map { Int32($0.id.rawValue) }
        }
        #expect(try VectorFile.readIntegers(result) == expected)
        try IndexCommand.Verify.parse([index]).run()
        try IndexCommand.Info.parse([index, "--json"]).run()
    }

    @Test func rowsHoldAtMostTheIndexCount() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (base, index) = try buildIndex(
            3, dimension: 4, seed: 3, options: ["--metric", "ip", "--storage", "int8"], in: directory)
        let result = directory.file("result.ivecs")
        try IndexCommand.Search.parse(["--index", index, "--queries", base, "-k", "5", "--output", result]).run()
        let rows = try VectorFile.readIntegers(result)
        #expect(rows.count == 3 && rows.allSatisfy { $0.count == 3 && Set($0) == [0, 1, 2] })
    }

    /// `--rescore-factor` on an f32 index, which it can't change, is refused rather than ignored.
    @Test func rescoreFactorIsForInt8IndexesOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (base, index) = try buildIndex(3, dimension: 4, seed: 3, in: directory)
        let search = try IndexCommand.Search.parse(
            ["--index", index, "--queries", base, "-k", "2", "--rescore-factor", "4"])
        let error = try #require(throws: ValidationError.self) { try search.run() }
        #expect(
            error.message == "--rescore-factor applies to int8 indexes; \(index) stores f32 vectors, which are scored "
                + "exactly.")
    }

    /// Queries of another dimension than the index are refused naming both files (the error named neither).
    @Test func queriesOfAnotherDimensionNameBothFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, index) = try buildIndex(3, dimension: 4, seed: 3, in: directory)
        let queries = try writeVectors(2, dimension: 3, seed: 4, in: directory, name: "queries.fvecs")
        let search = try IndexCommand.Search.parse(["--index", index, "--queries", queries.path, "-k", "1"])
        #expect(
            throws: InputFileError.malformed(
                path: queries.path, line: nil,
                reason: "its vectors have 3 dimensions, those of \(index) 4; search it with queries embedded by the "
                    + "model that built it")
        ) { try search.run() }
    }

    /// A flag refused from `run()` is told with the usage of the command run (it was `memp <subcommand>`'s).
    @Test func aFlagRefusedWhileRunningShowsItsCommandsUsage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (base, index) = try buildIndex(3, dimension: 4, seed: 3, in: directory)
        let refused = try await ChildProcess.memp(
            ["index", "search", "--index", index, "--queries", base, "--rescore-factor", "4"])
        #expect(refused.status == 64)
        #expect(refused.errors.hasPrefix("Error: --rescore-factor applies to int8 indexes; "))
        #expect(refused.errors.contains("\nUsage: memp index search --index <index> --queries <queries> "))
        #expect(refused.errors.hasSuffix("\n  See 'memp index search --help' for more information.\n"))
    }

    @Test func badFlagsAreValidationErrors() {
        #expect(
            parseFailure(IndexCommand.Search.self, ["--index", "a", "--queries", "b", "-k", "0"])
                == "-k must be at least 1 (got 0).")
        #expect(
            parseFailure(IndexCommand.Search.self, ["--index", "a", "--queries", "b", "--batch-size", "0"])
                == "--batch-size must be at least 1 (got 0).")
        #expect(
            parseFailure(IndexCommand.Build.self, ["--input", "a", "--output", "b", "--metric", "dot"])
                == "The value 'dot' is invalid for '--metric <metric>'. Please provide one of 'cosine', 'ip' or 'l2'.")
    }

    @Test func verifyNamesTheDamagedSection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = try buildIndex(50, dimension: 8, seed: 4, in: directory).index
        var bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        bytes[bytes.count - 3] ^= 1  // inside the vector block, the last section
        try bytes.write(to: URL(fileURLWithPath: index))
        #expect(throws: IndexError.corrupted(path: index, section: "VECS", reason: "checksum mismatch")) {
            try IndexCommand.Verify.parse([index]).run()
        }
    }

    @Test func buildNamesTheBadVector() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.fvecs")
        try VectorFile.write(try VectorSet([[1, 2], [.nan, 0]]), to: path)
        // A bad data file is not a bad flag: its own error, without the usage text.
        #expect(
            throws: InputFileError.malformed(
                path: path, line: nil,
                reason: "vector 1 has a NaN or infinite component at position 0")
        ) {
            try IndexCommand.Build.parse(["--input", path, "--output", directory.file("x.mvi")]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.mvi")))
        #expect(
            InputFileError.malformed(
                path: path, line: nil, reason: "vector 1 has a NaN or infinite component at position 0"
            )
            .description == "\(path): vector 1 has a NaN or infinite component at position 0.")
    }

    @Test func doctorReportsTheKernelLevelAndBLAS() throws {
        let report = RuntimeReport.current()
        #expect(report.kernelLevel == SIMDLevel.detected.rawValue)
        #expect(report.blasLibrary != nil)
        try DoctorCommand.parse([]).run()
    }
}
