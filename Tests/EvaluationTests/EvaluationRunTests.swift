import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

@testable import Evaluation

@Suite struct EvaluationRunTests {
    /// The fixture's queries as a JSON Lines file in `directory`.
    static func queryFile(in directory: TemporaryDirectory) throws -> String {
        let lines = try Fixture.queries.map { query in
            let object: [String: Any] = ["qid": query.id, "query": query.text, "relevant": query.relevant.sorted()]
            return String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: .sortedKeys), as: UTF8.self)
        }
        return try directory.write(lines.joined(separator: "\n") + "\n", to: "queries.jsonl")
    }

    static var plan: EvaluationPlan { get throws { try EvaluationPlan(modes: [.bm25, .hybrid], k: 2) } }

    @Test func evaluatesExistingStoresWithTheEmbedderEachRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Fixture.store(in: directory)
        let queries = try Self.queryFile(in: directory)
        let run = EvaluationRun(
            stores: .existing([directory.file("store")]), queries: queries, plan: try Self.plan,
            command: ["memp", "eval"])
        var events: [EvaluationRun.Progress] = []
        let report = try await run.run { events.append($0) }
        #expect(events.isEmpty)
        #expect(try report.command == ["memp", "eval"] && report.plan == Self.plan && report.trajectories == nil)
        #expect(report.queries == DataSetFile(path: queries, sha256: try fileSHA256(queries), records: 4))
        #expect(report.stores.map(\.store.label) == ["store"])
        #expect(report.stores.map(\.store.memoryCount) == [6])
        #expect(report.stores[0].cachedQueryEmbeddings)
        #expect(report.stores[0].runs.map(\.setting.policy) == [.bm25, .hybrid])
        #expect(report.stores[0].runs.map(\.judgedQueries) == [3, 3])
    }

    @Test func buildsOneStorePerPolicyAndWritesTheHTMLReport() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let trajectories = try directory.write(
            Fixture.trajectories.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined(),
            to: "trajectories.jsonl")
        let work = directory.file("stores")
        let html = directory.file("report.html")
        let run = EvaluationRun(
            stores: .built(
                trajectories: trajectories, policies: [.trajectory, .script], embedder: .hashing(dimension: 64),
                workDirectory: work),
            queries: try Self.queryFile(in: directory), plan: try Self.plan, cachesQueryEmbeddings: false,
            htmlReport: html)
        var events: [EvaluationRun.Progress] = []
        let report = try await run.run { events.append($0) }
        #expect(
            events == [
                .building(policy: .trajectory, directory: work + "/trajectory"),
                .building(policy: .script, directory: work + "/script"), .wroteReport(path: html),
            ])
        #expect(report.stores.map(\.store.label) == ["trajectory", "script"])
        #expect(report.stores.map(\.store.path) == [work + "/trajectory", work + "/script"])
        #expect(report.stores.map(\.store.memoryCount) == [6, 6])
        #expect(report.stores.allSatisfy { !$0.cachedQueryEmbeddings })
        #expect(
            report.trajectories
                == DataSetFile(path: trajectories, sha256: try fileSHA256(trajectories), records: 6))
        #expect(try await MemoryStore.info(at: work + "/script").embedderConfiguration == .hashing(dimension: 64))
        #expect(try String(contentsOfFile: html, encoding: .utf8) == (try HTMLReport.render(report)))
    }

    /// Hostile run 9: a report that could not be written was found out after the whole evaluation.
    ///
    /// The evaluation's tables were then lost. It is checked first: here the stores would be built, and nothing is.
    @Test func aReportThatCanNotBeWrittenIsRefusedBeforeTheWork() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let work = directory.file("stores")
        for (html, reason) in [
            (
                directory.file("missing/report.html"),
                "can't create a file in \(directory.file("missing")): No such file or directory"
            ),
            (directory.path, "it is a directory"),
        ] {
            let run = EvaluationRun(
                stores: .built(
                    trajectories: directory.file("none.jsonl"), policies: [.trajectory],
                    embedder: .hashing(dimension: 64),
                    workDirectory: work),
                queries: directory.file("none-queries.jsonl"), plan: try Self.plan, htmlReport: html)
            await #expect(throws: EvaluationError.io(path: html, reason: "can't write the report: " + reason)) {
                try await run.run()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: work))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func aStoreThatRecordsNoEmbedderIsNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bare")
        _ = try await MemoryStore.create(at: path, embedder: HashingEmbedder())
        let run = EvaluationRun(
            stores: .existing([path]), queries: try Self.queryFile(in: directory), plan: try Self.plan)
        await #expect(throws: EvaluationError.storeWithoutEmbedder(path: path)) { try await run.run() }
        #expect(
            EvaluationError.storeWithoutEmbedder(path: path).description
                == "The store in \(path) doesn't record its embedder, so it can't be opened for an evaluation. "
                + "Evaluate a store created with a recorded embedder, or build one from its trajectories.")
    }

    @Test func aMissingStoreIsAMemoryError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("none")
        let run = EvaluationRun(
            stores: .existing([path]), queries: try Self.queryFile(in: directory), plan: try Self.plan)
        await #expect(throws: EvaluationError.memory(.notAStore(path: path))) { try await run.run() }
    }
}
