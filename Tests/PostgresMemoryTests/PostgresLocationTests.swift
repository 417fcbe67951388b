import Embeddings
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
        ("postgres://memp@db:-5/agents", .invalidPort(-5)),
        ("postgres://db/agents", .missingUser),
        ("postgres://memp@db", .missingDatabase),
        ("postgres://memp@db/a/b", .missingDatabase),
        (
            "postgres://memp@db/agents?sslmode=prefer",
            .invalidPart(part: "parameter sslmode", reason: "must be disable or require (found prefer)")
        ),
        ("postgres://memp@db/agents?password=s3cret", .unsupportedParameter(name: "password")),
        ("postgres://memp@db/agents?schema=Team", .invalidSchema(name: "Team")),
        ("postgres://memp@db/agents?schema=1a", .invalidSchema(name: "1a")),
    ])
    func urlProblemsNameThePart(url: String, problem: MemoryError.DatabaseURLProblem) throws {
        let error = try #require(throws: MemoryError.self) { try PostgresLocation(url: url, password: .none) }
        #expect(error == .invalidDatabaseURL(problem))
        #expect(!error.description.contains("s3cret"))
    }

    /// Hostile run 8: parts that were silently changed (a port of 2⁶³ or an empty one became 5432, a NUL in the
    /// host cut it, a repeated parameter kept the last value, so `sslmode=require&sslmode=disable` turned TLS off,
    /// a fragment and a second slash were dropped, names over 63 bytes were cut by PostgreSQL into one), and
    /// parse failures that blamed the scheme.
    @Test(arguments: [
        (
            "postgres://memp@db:9223372036854775808/agents", "port",
            #""9223372036854775808" is no number within 1–65535"#
        ),
        ("postgres://memp@db:/agents", "port", #""" is no number within 1–65535"#),
        ("postgres://memp@db:6e4/agents", "port", #""6e4" is no number within 1–65535"#),
        (
            "postgres://memp@[::1/agents", "text",
            "is no well-formed URL (an unclosed [ of an IPv6 address, a stray % or space)"
        ),
        (
            "postgres://memp@127.0.0.1%00evil/agents", "host",
            #""127.0.0.1\u{0}evil" is no host name or address (letters, digits, . - _)"#
        ),
        ("postgres://memp@db/agents?sslmode=require&sslmode=disable", "parameter sslmode", "appears twice; keep one"),
        ("postgres://memp@db/agents?schema=a&schema=b", "parameter schema", "appears twice; keep one"),
        ("postgres://memp@db/agents?schema", "parameter schema", "has no value (schema=NAME)"),
        ("postgres://memp@db/agents?&", "query", "has an empty parameter (&& or ?&)"),
        ("postgres://memp@db/agents#main", "fragment", "(#…) is no part of a PostgreSQL location"),
        (
            "postgres://memp@db/" + String(repeating: "a", count: 64), "database",
            "is 64 bytes; PostgreSQL keeps 63 and would cut it"
        ),
        ("postgres://memp@db/we%0Aird", "database", #""we\u{A}ird" holds a control character"#),
    ])
    func partsThatWouldBeChangedOrDroppedAreRefused(url: String, part: String, reason: String) throws {
        #expect(throws: MemoryError.invalidDatabaseURL(.invalidPart(part: part, reason: reason))) {
            try PostgresLocation(url: url, password: .none)
        }
    }

    /// Hostile run 17: a pool of no connection ended the process (a precondition of the pool), before any connection.
    @Test func aPoolOfNoConnectionIsRefusedBeforeConnecting() async throws {
        // Nothing listens on port 1: the check comes first.
        let location = try PostgresLocation(url: "postgres://memp@127.0.0.1:1/agents", password: .none)
        for count in [0, -2] {
            await #expect(
                throws: MemoryError.invalidParameter(
                    name: "maximumConnections", value: Double(count), expected: "at least 1")
            ) { try await PostgresBackend.connect(to: location, maximumConnections: count) }
        }
    }

    /// Hostile run 17: fields set one by one skipped the URL's checks.
    ///
    /// Port 98517 wrapped to 32981 and connected;
    /// an empty host, a NUL in the user or port -1 were "Database unavailable … retry when it is back".
    @Test func fieldsSetOneByOneAreCheckedAsTheURLIsBeforeConnecting() async throws {
        // Nothing listens on port 1: each check comes before any connection.
        let valid = try PostgresLocation(url: "postgres://memp@127.0.0.1:1/agents", password: .none)
        var wrapping = valid
        wrapping.port = 98517
        var negative = valid
        negative.port = -1
        var hostless = valid
        hostless.host = ""
        var spaced = valid
        spaced.host = "db internal"
        var nul = valid
        nul.user = "me\u{0}mp"
        var nameless = valid
        nameless.database = ""
        var longName = valid
        longName.database = String(repeating: "d", count: 64)
        var schema = valid
        schema.schema = "Team-A"
        let cases: [(PostgresLocation, MemoryError.DatabaseURLProblem)] = [
            (wrapping, .invalidPort(98517)), (negative, .invalidPort(-1)), (hostless, .missingHost),
            (
                spaced,
                .invalidPart(
                    part: "host", reason: #""db internal" is no host name or address (letters, digits, . - _)"#)
            ),
            (nul, .invalidPart(part: "user", reason: #""me\u{0}mp" holds a control character"#)),
            (nameless, .missingDatabase),
            (longName, .invalidPart(part: "database", reason: "is 64 bytes; PostgreSQL keeps 63 and would cut it")),
            (schema, .invalidSchema(name: "Team-A")),
        ]
        for (location, problem) in cases {
            #expect(throws: MemoryError.invalidDatabaseURL(problem)) { try location.validate() }
            await #expect(throws: MemoryError.invalidDatabaseURL(problem)) {
                try await PostgresBackend.connect(to: location)
            }
        }
        try valid.validate()
    }

    /// Hostile run 17: a create on PostgreSQL recorded a configuration that doesn't rebuild its embedder too.
    @Test func aCreateRefusesAConfigurationThatDoesNotRebuildItsEmbedderBeforeConnecting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Nothing listens on port 1: the check comes first.
        let location = try PostgresLocation(url: "postgres://memp@127.0.0.1:1/agents", password: .none)
        await #expect(
            throws: MemoryError.configurationMismatch(
                configured: "hashing:v1:128 (128 dimensions)", embedder: "hashing:v1:384 (384 dimensions)")
        ) {
            try await PostgresStore.create(
                at: directory.file("store"), location: location, embedder: HashingEmbedder(),
                configuration: .hashing(dimension: 128))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("store")))
    }

    /// Hostile run 8: a database `we?ird` given as `we%3Fird` was written to the store's descriptor unescaped, and
    /// every later open read `ird?schema` as a parameter.
    @Test func escapedNamesAndIPv6AddressesReadBackAsWritten() throws {
        for url in [
            "postgres://a%40b@db:5432/we%3Fird?schema=x&sslmode=disable", "postgres://memp@[::1]:5433/we%23ird",
            "postgres://memp@db:5432/caf%C3%A9%25",
        ] {
            let location = try PostgresLocation(url: url, password: .none)
            #expect(location.url == url)
            #expect(try PostgresLocation(url: location.url, password: .none) == location)
        }
        let parsed = try PostgresLocation(url: "postgres://a%40b@[::1]/we%3Fird", password: .none)
        #expect(parsed.user == "a@b" && parsed.host == "::1" && parsed.database == "we?ird" && parsed.port == 5432)
        #expect(throws: MemoryError.invalidDatabaseURL(.missingDatabase)) {
            try PostgresLocation(url: "postgres://memp@db//agents", password: .none)
        }
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
