import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import TestSupport
import Testing

/// The `postgres.json` a store directory made by the first release holds keeps naming the same server, schema and
/// password source; it is read without connecting (see `GoldenFiles/README.md`).
@Suite struct DescriptorGoldenFileTests {
    @Test func version1DescriptorNamesItsServerWithoutConnecting() throws {
        let directory = try #require(
            Bundle.module.path(forResource: "postgres-store-v1", ofType: nil, inDirectory: "GoldenFiles"))
        #expect(PostgresStore.isPostgresStore(at: directory))
        let location = try PostgresStore.location(at: directory)
        #expect(location.host == "127.0.0.1" && location.port == 41417)
        #expect(location.user == "postgres" && location.database == "memp" && location.schema == "golden_v1")
        #expect(location.password == .file("/tmp/pg-golden-18913/password") && !location.requireTLS)
        #expect(location.url == "postgres://postgres@127.0.0.1:41417/memp?schema=golden_v1&sslmode=disable")
    }

    @Test func aDirectoryWithoutOrWithABrokenDescriptorSaysWhich() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: MemoryError.notAStore(path: directory.path)) { try PostgresStore.location(at: directory.path) }
        let path = directory.file(PostgresStore.descriptorFileName)
        // Hostile run 8: every fault was blamed on field url, and a repeated url was read with its first value.
        for (text, error) in [
            (
                #"{"passwordFile": "/tmp/x"}"#,
                MemoryError.invalidRecord(path: path, line: 1, field: "url", reason: "is missing")
            ),
            (
                #"{"url": "postgres://u@h/d", "passwordFile": 5}"#,
                .invalidRecord(path: path, line: 1, field: "passwordFile", reason: "must be a string")
            ),
            (
                #"{"url": "postgres://u@h/d", "url": "postgres://u@h/e"}"#,
                .invalidRecord(path: path, line: 1, field: "url", reason: JSONSyntax.repeatedKeyReason)
            ),
            ("[]", .io(path: path, reason: "is not a PostgreSQL store descriptor: it must be a JSON object")),
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: error, "\(text)") { try PostgresStore.location(at: directory.path) }
        }
    }
}
