import Foundation
import TestSupport
import Testing

@testable import MempCLI

@Suite struct OutputTests {
    /// Every key of every object in `value`, nested ones included, except the keys of the maps whose keys are
    /// data (sources, build policies, metadata), not field names.
    static func fieldNames(in value: Any) -> Set<String> {
        switch value {
        case let object as [String: Any]:
            object.reduce(into: Set(object.keys)) { names, field in
                guard !["trajectoriesBySource", "memoriesByBuildPolicy", "metadata"].contains(field.key) else { return }
                names.formUnion(fieldNames(in: field.value))
            }
        case let array as [Any]: array.reduce(into: []) { $0.formUnion(fieldNames(in: $1)) }
        default: []
        }
    }

    /// The vector index, collection, doctor and store commands name their JSON fields alike: camelCase, as
    /// `memp query`, `memp show`, the bundle manifest and the HTTP API do (`formatVersion`, not `format_version`).
    /// Hostile run 13: past 103% (a file that grew while imported) the bar's unfilled part had a negative length,
    /// and `memp import` on a terminal trapped ("Negative count not allowed").
    @Test func theProgressBarStopsAtAFullBar() {
        #expect(ProgressBar.percent(1_613_083, of: 1_565_876) == 100)
        #expect(
            ProgressBar.line(label: "importing", done: 1_613_083, total: 1_565_876)
                == "\rimporting [" + String(repeating: "#", count: 30) + "] 100% (1613083/1565876)")
        #expect(
            ProgressBar.line(label: "indexing", done: 5, total: 10)
                == "\rindexing [" + String(repeating: "#", count: 15) + String(repeating: ".", count: 15)
                + "] 50% (5/10)")
        #expect(ProgressBar.percent(3, of: 0) == 100 && ProgressBar.percent(-1, of: 10) == 0)
    }

    @Test func everyCommandNamesItsJSONFieldsInCamelCase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Three 4-dimensional vectors in .fvecs: each row is its dimension (Int32), then its floats.
        var rows = Data()
        for row in 0..<3 {
            withUnsafeBytes(of: Int32(4).littleEndian) { rows.append(contentsOf: $0) }
            for column in 0..<4 {
                withUnsafeBytes(of: Float(row * 4 + column + 1).bitPattern.littleEndian) { rows.append(contentsOf: $0) }
            }
        }
        let vectors = directory.file("vectors.fvecs")
        try rows.write(to: URL(fileURLWithPath: vectors))
        let index = directory.file("vectors.mvi")
        let documents = try directory.write(
            #"{"id": "a", "text": "open the file", "metadata": {"kind": "io"}}"# + "\n", to: "documents.jsonl")
        let collection = directory.file("collection")
        let store = try await MemoryCommandTests.initHashingStore(in: directory)
        let commands = [
            ["doctor", "--json"],
            ["index", "build", "--input", vectors, "--output", index, "--json"],
            ["index", "search", "--index", index, "--queries", vectors, "-k", "2", "--json"],
            ["index", "info", index, "--json"],
            [
                "collection", "build", "--input", documents, "--output", collection, "--embedder", "hashing",
                "--dimension", "8", "--json",
            ],
            ["collection", "search", "--collection", collection, "--explain", "--json", "open a file"],
            ["stats", "--store", store, "--json"],
        ]
        for arguments in commands {
            let run = try await ChildProcess.memp(arguments)
            #expect(run.status == 0, "memp \(arguments.joined(separator: " ")): \(run.errors)")
            for line in run.output.split(separator: "\n") {
                let names = Self.fieldNames(in: try JSONSerialization.jsonObject(with: Data(line.utf8)))
                let others = names.filter { $0.wholeMatch(of: /[a-z][A-Za-z0-9]*/) == nil }
                #expect(others.isEmpty, "memp \(arguments.prefix(2).joined(separator: " ")): \(others.sorted())")
            }
        }
    }
}
