import Foundation
import ProceduralMemory
import TestSupport
import Testing

@testable import PostgresMemory

/// Parsing a PostgreSQL URL names the part that is wrong and never repeats the password (no server needed).
@Suite struct PostgresLocationTests {
    @Test(arguments: [
        ("mysql://memp@db/agents", MemoryError.DatabaseURLProblem.notPostgres(scheme: "mysql")),
        ("db.internal/agents", .notPostgres(scheme: nil)),
        ("postgres://memp:s3cret@db/agents", .containsPassword),
        ("postgres://memp@/agents", .missingHost),
        ("postgres://memp@db:70000/agents", .invalidPort(70000)),
        ("postgres://db/agents", .missingUser),
        ("postgres://memp@db", .missingDatabase),
        ("postgres://memp@db/a/b", .missingDatabase),
        ("postgres://memp@db/agents?sslmode=prefer", .unsupportedParameter(name: "sslmode")),
        ("postgres://memp@db/agents?password=s3cret", .unsupportedParameter(name: "password")),
        ("postgres://memp@db/agents?schema=Team", .invalidSchema(name: "Team")),
        ("postgres://memp@db/agents?schema=1a", .invalidSchema(name: "1a")),
    ])
    func urlProblemsNameThePart(url: String, problem: MemoryError.DatabaseURLProblem) throws {
        let error = try #require(throws: MemoryError.self) { try PostgresLocation(url: url, password: .none) }
        #expect(error == .invalidDatabaseURL(problem))
        #expect(!error.description.contains("s3cret"))
    }

    @Test func aValidURLKeepsEveryPart() throws {
        let location = try PostgresLocation(
            url: "postgresql://memp@db.internal:6543/agents?schema=team_a&sslmode=disable",
            password: .environment("MEMP_TEST_PASSWORD"))
        #expect(location.url == "postgres://memp@db.internal:6543/agents?schema=team_a&sslmode=disable")
        #expect(location.requireTLS == false && location.password == .environment("MEMP_TEST_PASSWORD"))
    }

    @Test func anUnsetPasswordVariableIsNamed() throws {
        let location = try PostgresLocation(
            url: "postgres://memp@db/agents", password: .environment("MEMP_TEST_UNSET_PASSWORD_VARIABLE"))
        #expect(throws: MemoryError.passwordVariableUnset(name: "MEMP_TEST_UNSET_PASSWORD_VARIABLE")) {
            try location.resolvePassword()
        }
    }

    /// A password file is read to its first line; one that isn't a small regular file is refused unread.
    @Test func aPasswordFileThatIsNoSmallRegularFileIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("s3cret\nignored\n", to: "password")
        #expect(
            try PostgresLocation(url: "postgres://memp@db/agents", password: .file(file)).resolvePassword() == "s3cret")
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let huge = directory.file("huge")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil) && truncate(huge, 2 << 30) == 0)
        for (path, reason) in [
            (fifo, "is a FIFO, not a regular file"), (huge, "is 2147483648 bytes, more than the 1048576 it may hold"),
            (directory.file("none"), "is missing"),
        ] {
            let location = try PostgresLocation(url: "postgres://memp@db/agents", password: .file(path))
            #expect(throws: MemoryError.io(path: path, reason: "the PostgreSQL password file " + reason)) {
                try location.resolvePassword()
            }
        }
    }
}
