import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import SQLiteMemory
import TestSupport
import Testing

@testable import PostgresMemory

/// Both backends refuse records over the limits every store shares alike, before writing.
///
/// Hostile run 10: a SQLite store took records a PostgreSQL store refused with a raw SQLSTATE 54000 (a 3,000-byte
/// ID, a 9,000-byte source, facts of about 1 MB of distinct words), which skipped invalid lines did not skip and
/// migrations met half-way.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct StoreLimitTests {
    static let embedder = HashingEmbedder(dimension: 16)

    /// `count` seeded random lower-case words of `length` letters.
    static func words(_ count: Int, length: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(seed: seed)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        return (0..<count).map { _ in
            String((0..<length).map { _ in letters[Int.random(in: 0..<letters.count, using: &generator)] })
        }
    }

    static func line(id: String, source: String? = nil, facts: [String]? = nil) throws -> Data {
        var object: [String: Any] = [
            "id": id, "task": "close the lid", "steps": [["action": "close lid"]], "outcome": ["success": true],
        ]
        if let source { object["source"] = source }
        if let facts { object["facts"] = facts }
        return try JSONSerialization.data(withJSONObject: object) + Data("\n".utf8)
    }

    static let longID = "id3k-" + words(1, length: 3000, seed: 1)[0]
    static let longSource = words(1, length: 9000, seed: 2)[0]
    /// 90,000 distinct words, 100 a fact: about 1 MB, within the line and fact limits.
    static let manyFacts: [String] = {
        let all = words(90_000, length: 10, seed: 3)
        return stride(from: 0, to: all.count, by: 100).map { all[$0..<$0 + 100].joined(separator: " ") }
    }()

    static func file() throws -> Data {
        try line(id: "ok") + line(id: longID) + line(id: "long-source", source: longSource)
            + line(id: "many-facts", facts: manyFacts)
    }

    /// Each refused line as the import names it.
    static func refusals(path: String) -> [MemoryError] {
        let factBytes = "close the lid".utf8.count + manyFacts.reduce(0) { $0 + $1.utf8.count + 1 }
        return [
            .invalidRecord(
                path: path, line: 2, field: "id",
                reason: "is \(longID.utf8.count) bytes, more than the 1024 bytes an ID may have in any store "
                    + "(PostgreSQL indexes it, and an index entry holds at most 2,704 bytes); shorten it"),
            .invalidRecord(
                path: path, line: 3, field: "source",
                reason: "is 9000 bytes, more than the 1024 bytes a source may have in any store (PostgreSQL indexes "
                    + "it, and an index entry holds at most 2,704 bytes); shorten it"),
            .invalidRecord(
                path: path, line: 4, field: "facts",
                reason: "the task and facts are \(factBytes) bytes together, more than the 131072 bytes of keyword "
                    + "text any store can search (PostgreSQL's text search holds at most 1 MiB of words and "
                    + "positions); give fewer or shorter ones"),
        ]
    }

    /// Imports into a SQLite store on disk and a PostgreSQL store alike: each line over a limit every store shares
    /// is refused by name, or skipped when skipping invalid lines.
    @Test func bothBackendsRefuseAndSkipTheSameRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("records.jsonl")
        try Self.file().write(to: URL(fileURLWithPath: path))
        let refusals = Self.refusals(path: path)
        let local = try await MemoryStore.create(at: directory.file("local"), embedder: Self.embedder)
        try await PostgresTestServer.withBackend { postgres in
            let remote = try await MemoryStore.open(backend: postgres, embedder: Self.embedder, cacheDirectory: nil)
            for store in [local, remote] {
                // Alone, each refused line stops the import with its error before anything is written.
                for (index, refusal) in refusals.enumerated() {
                    let single = directory.file("line\(index).jsonl")
                    let lines = try Self.file().split(separator: UInt8(ascii: "\n"))
                    try (Data(lines[0]) + Data("\n".utf8) + Data(lines[index + 1]) + Data("\n".utf8)).write(
                        to: URL(fileURLWithPath: single))
                    guard case .invalidRecord(_, _, let field, let reason) = refusal else { continue }
                    await #expect(
                        throws: MemoryError.invalidRecord(path: single, line: 2, field: field, reason: reason)
                    ) { try await store.importTrajectories(from: single) }
                }
                #expect(try await store.statistics().trajectories == 0)
                let report = try await store.importTrajectories(from: path, options: ImportOptions(skipInvalid: true))
                #expect(report.imported == 1 && report.invalid == 3)
                #expect(report.errors == refusals.map(\.description))
            }
        }
    }

    /// A store holding records over those limits (written before they were checked) is refused by a migration
    /// before anything is written; and a write the checks let through is refused as too large, not as a failure.
    @Test func aMigrationNamesTheFirstRecordNoStoreCanHoldBeforeWriting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let local = try SQLiteBackend(path: directory.file("local.sqlite"))
        let vector = [Float](repeating: 0.25, count: 16)
        try await local.initialize(embedderID: Fixtures.embedderID, dimension: 16, configuration: nil)
        let trajectories = [
            Fixtures.trajectory("ok", task: "close the lid", source: "s", labels: [:]),
            Fixtures.trajectory(Self.longID, task: "close the lid", source: "s", labels: [:]),
        ]
        _ = try await local.write(Fixtures.batch(adding: trajectories, vector: vector))
        try await PostgresTestServer.withBackend { postgres in
            let shown = "\(Self.longID.prefix(64))… (\(Self.longID.utf8.count) bytes)"
            await #expect(
                throws: MemoryError.database(
                    reason: "local: trajectory \(shown) can't be copied, field id: is \(Self.longID.utf8.count) "
                        + "bytes, more than the 1024 bytes an ID may have in any store (PostgreSQL indexes it, and an "
                        + "index entry holds at most 2,704 bytes); shorten it")
            ) {
                try await StoreMigration.copy(
                    from: local, sourceName: "local", to: postgres, destinationName: "postgres", reason: "migrate")
            }
            #expect(try await postgres.storeInfo() == nil)
            try await postgres.initialize(embedderID: Fixtures.embedderID, dimension: 16, configuration: nil)
            let refusal = await #expect(throws: MemoryError.self) {
                try await postgres.write(Fixtures.batch(adding: [trajectories[1]], vector: vector))
            }
            if case .recordTooLarge(let reason)? = refusal {
                #expect(reason.hasSuffix("(SQLSTATE 54000)"))
            } else {
                Issue.record("expected recordTooLarge, got \(String(describing: refusal))")
            }
            #expect(try await postgres.statistics().trajectories == 0)
        }
    }
}
