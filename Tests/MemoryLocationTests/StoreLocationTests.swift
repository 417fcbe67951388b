import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import SQLiteMemory
import TestSupport
import Testing

/// The one place that decides which backend a store location holds: directories, URLs, and what is refused.
@Suite struct StoreLocationTests {
    static let embedder = HashingEmbedder(dimension: 32)

    static func trajectory(_ id: String, _ task: String) -> Trajectory {
        Trajectory(
            id: id, task: task,
            steps: [
                Step(action: "go to stove 1", observation: "On the stove 1, you see a pot 1."),
                Step(action: "take pot 1 from stove 1", observation: "You pick up the pot 1."),
            ], outcome: Outcome(success: true, reward: 1), source: "kitchen", labels: [:])
    }

    /// A SQLite store in `path` holding three trajectories.
    static func makeStore(at path: String) async throws -> MemoryStore {
        let store = try await MemoryStore.create(
            at: path, embedder: embedder, configuration: .hashing(dimension: 32))
        try await store.add([
            trajectory("t1", "heat some milk in a pot"), trajectory("t2", "boil water for tea"),
            trajectory("t3", "fry an egg in a pan"),
        ])
        return store
    }

    @Test func readsPostgresURLsAsDatabasesAndAnythingElseAsDirectories() {
        #expect(
            StoreLocation("postgres://memp@db:5432/agents", passwordFile: "/run/pw")
                == .database(DatabaseLocation(url: "postgres://memp@db:5432/agents", passwordFile: "/run/pw")))
        #expect(
            StoreLocation("postgresql://memp@db/agents", passwordVariable: "PGPASS")
                == .database(DatabaseLocation(url: "postgresql://memp@db/agents", passwordVariable: "PGPASS")))
        #expect(StoreLocation("memory") == .directory("memory"))
        #expect(StoreLocation("./postgres/store") == .directory("./postgres/store"))
        #expect(StoreLocation("postgres://memp@db/agents").description == "postgres://memp@db/agents")
        // No variable named: MEMP_PG_PASSWORD is read when it is set.
        #expect(DatabaseLocation(url: "postgres://u@h/d").passwordVariable == nil)
        #expect(DatabaseLocation.defaultPasswordVariable == "MEMP_PG_PASSWORD")
    }

    @Test func opensASQLiteDirectoryWithTheEmbedderItRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("memory")
        _ = try await Self.makeStore(at: path)
        #expect(StoreLocation.isStore(path))

        let store = try await MemoryStore.open(at: StoreLocation(path))
        #expect(store.backend is SQLiteBackend)
        #expect(store.embedder.modelIdentifier == Self.embedder.modelIdentifier)
        #expect(store.memoryCount == 3)
        let hits = try await store.retrieve("boil water", options: RetrievalOptions(policy: .bm25, k: 1))
        #expect(hits.map(\.memory.id) == ["t2"])

        let info = try await MemoryStore.info(at: .directory(path))
        #expect(info.embedderID == Self.embedder.modelIdentifier && info.dimension == 32)
        #expect(info.embedderConfiguration == .hashing(dimension: 32))
        let statistics = try await MemoryStore.statistics(at: path)
        #expect(statistics.trajectories == 3 && statistics.memories == 3)
        let report = try await MemoryStore.verify(at: path)
        #expect(report.problems == [] && report.memories == 3 && report.trajectories == 3)
    }

    @Test func refusesADirectoryWithoutAStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let empty = directory.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(!StoreLocation.isStore(empty))
        await #expect(throws: MemoryError.notAStore(path: empty)) { try await MemoryStore.open(at: empty) }
        await #expect(throws: MemoryError.notAStore(path: empty)) { try await MemoryStore.info(at: empty) }
        await #expect(throws: MemoryError.notAStore(path: empty)) { try await MemoryStore.statistics(at: empty) }
        await #expect(throws: MemoryError.notAStore(path: empty)) { try await MemoryStore.verify(at: empty) }
        // Opening looks and changes nothing: the directory is still empty.
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty) == [])
    }

    /// Before, a regular file given as the store was "not a memory store: it holds neither a SQLite store nor …".
    @Test func aFileGivenAsTheStoreIsNamedAsAFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("plain")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let refusal = MemoryError.io(path: file, reason: "is a file, not a store directory")
        await #expect(throws: refusal) { try await MemoryStore.open(at: file) }
        await #expect(throws: refusal) { try await MemoryStore.info(at: file) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "x")
    }

    /// A FIFO given as the store was "a file", a symbolic link in a loop or to nothing "not a memory store".
    @Test func aStorePathThatIsNoDirectoryIsNamedForWhatItIs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let loop = directory.file("loop")
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        let dangling = directory.file("dangling")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "nowhere")
        let refusals: [(String, String)] = [
            (fifo, "is a FIFO, not a store directory"),
            (loop, "is a symbolic link in a loop (it points to loop, which leads back round to it)"),
            (dangling, "is a symbolic link to nowhere, which can't be reached (No such file or directory)"),
        ]
        for (path, reason) in refusals {
            await #expect(throws: MemoryError.io(path: path, reason: reason)) { try await MemoryStore.open(at: path) }
            await #expect(throws: MemoryError.io(path: path, reason: reason)) { try await MemoryStore.info(at: path) }
        }
    }

    /// A PostgreSQL URL is not taken for a SQLite store's directory (it became a directory named `postgres:`).
    @Test func aDatabaseURLIsNoDirectoryForASQLiteStore() async throws {
        let url = "postgres://memp@db.internal/agents"
        await #expect(throws: MemoryError.databaseURLAsDirectory(url: url)) {
            try await MemoryStore.create(at: url, embedder: Self.embedder)
        }
        #expect(!FileManager.default.fileExists(atPath: "postgres:"))
    }

    /// A store path below a regular file names that file, not a numbered Foundation error.
    @Test func createBelowAFileNamesTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("plain")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let store = file + "/sub/store"
        await #expect(
            throws: MemoryError.io(
                path: store, reason: "can't create the store directory: \(file) is a file, not a directory")
        ) { try await MemoryStore.create(at: store, embedder: Self.embedder) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "x")
        // Hostile run 8: a FIFO was "a file".
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        await #expect(
            throws: MemoryError.io(
                path: fifo + "/store", reason: "can't create the store directory: \(fifo) is a FIFO, not a directory")
        ) { try await MemoryStore.create(at: fifo + "/store", embedder: Self.embedder) }
    }

    /// Before, a symbolic link in a loop, or to nothing, was "A file with the same name already exists".
    @Test func createThroughABrokenSymbolicLinkSaysWhatIsWrongWithIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let loop = directory.file("loop")
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        let looping =
            "can't create the store directory: \(loop) is a symbolic link in a loop (it points to loop, which leads "
            + "back round to it); remove it, or point it at a directory"
        await #expect(throws: MemoryError.io(path: loop, reason: looping)) {
            try await MemoryStore.create(at: loop, embedder: Self.embedder)
        }
        await #expect(throws: MemoryError.io(path: loop + "/sub/store", reason: looping)) {
            try await MemoryStore.create(at: loop + "/sub/store", embedder: Self.embedder)
        }
        let dangling = directory.file("dangling")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "nowhere")
        await #expect(
            throws: MemoryError.io(
                path: dangling,
                reason: "can't create the store directory: \(dangling) is a symbolic link to nowhere, which does not "
                    + "exist; create that directory, or remove the link")
        ) { try await MemoryStore.create(at: dangling, embedder: Self.embedder) }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dangling) == "nowhere")
    }

    /// Before, an empty `memp.sqlite` was "not a memory store: it holds neither a SQLite store nor …", and a write
    /// (an import) migrated it into a database with Memp's tables but no settings, which no open could use.
    @Test func anEmptyDatabaseFileIsNamedAndLeftEmpty() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let file = store + "/memp.sqlite"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let empty = MemoryError.emptyDatabaseFile(path: file)
        await #expect(throws: empty) { try await MemoryStore.open(at: store) }
        await #expect(throws: empty) { try await MemoryStore.open(at: store, embedder: Self.embedder) }
        await #expect(throws: empty) { try await MemoryStore.info(at: store) }
        await #expect(throws: empty) { try await MemoryStore.statistics(at: store) }
        await #expect(throws: empty) { try await MemoryStore.create(at: store, embedder: Self.embedder) }
        let report = try await MemoryStore.verify(at: store)
        #expect(report.problems == ["the database can't be checked: \(empty)"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)).isEmpty)
        #expect(empty.description.hasPrefix("\(file) is an empty file (0 bytes), not a SQLite database"))
    }

    /// Before, a directory in the database file's place was "disk I/O error (SQLite code 10)" (and creating a store
    /// there "already holds a memory store"), and a FIFO made every open wait forever.
    @Test func aDatabaseFileThatIsADirectoryOrAFIFOIsNamedAsSuch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, kind) in [("folder", "a directory"), ("fifo", "a FIFO")] {
            let store = directory.file(name)
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            let file = store + "/memp.sqlite"
            if kind == "a directory" {
                try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
            } else {
                #expect(mkfifo(file, 0o600) == 0)
            }
            let refusal = MemoryError.io(
                path: file, reason: "is \(kind), not a database file; move it away and create the store again")
            await #expect(throws: refusal) { try await MemoryStore.open(at: store) }
            await #expect(throws: refusal) { try await MemoryStore.info(at: store) }
            await #expect(throws: refusal) { try await MemoryStore.create(at: store, embedder: Self.embedder) }
        }
    }

    /// Hostile run 10: a FIFO as `memp.sqlite-wal` made lookups fail with "disk I/O error (SQLite code 10)", a
    /// directory as `memp.sqlite-shm` writes with "attempt to write a readonly database (SQLite code 8)", and
    /// `memp verify` passed both stores.
    @Test(.hangGuard) func aWriteAheadLogOrSharedMemoryFileThatIsNoFileIsNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let damages = [("-wal", "a FIFO", "write-ahead log"), ("-shm", "a directory", "shared-memory file")]
        for (suffix, kind, role) in damages {
            let store = directory.file("store" + suffix)
            _ = try await Self.makeStore(at: store)
            let file = store + "/" + SQLiteStore.databaseFileName + suffix
            try? FileManager.default.removeItem(atPath: file)
            if kind == "a FIFO" {
                try #require(mkfifo(file, 0o600) == 0)
            } else {
                try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
            }
            let refusal = MemoryError.io(
                path: file,
                reason: "is \(kind), but SQLite keeps the database's \(role) there, which must be a regular file or "
                    + "absent; move it away (it holds none of the store's data) and open the store again")
            await #expect(throws: refusal) { try await MemoryStore.open(at: store) }
            await #expect(throws: refusal) { try await MemoryStore.statistics(at: store) }
            let report = try await MemoryStore.verify(at: store)
            #expect(report.problems == ["the database can't be checked: \(refusal)"])
            // Moved away, the store opens with every trajectory.
            try FileManager.default.removeItem(atPath: file)
            #expect(try await MemoryStore.statistics(at: store).trajectories == 3)
        }
    }

    /// Before, "Database: …/memp.sqlite: file is not a database (SQLite code 26)".
    @Test func aDatabaseFileThatIsNotSQLiteIsRefusedByName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let garbled = directory.file("garbled")
        try FileManager.default.createDirectory(atPath: garbled, withIntermediateDirectories: true)
        try Data(repeating: 0x61, count: 8192).write(to: URL(fileURLWithPath: garbled + "/memp.sqlite"))
        await #expect(throws: MemoryError.notSQLiteDatabase(path: garbled + "/memp.sqlite")) {
            try await MemoryStore.open(at: garbled, embedder: Self.embedder)
        }
    }

    @Test func createRefusesADirectoryHoldingAStoreOfEitherBackend() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let local = directory.file("local")
        _ = try await Self.makeStore(at: local)
        await #expect(throws: MemoryError.storeExists(path: local)) {
            try await MemoryStore.create(at: local, embedder: Self.embedder)
        }
        // A directory made by `memp init --backend postgres` holds only its descriptor (and caches).
        let remote = directory.file("remote")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        try Data(#"{"url":"postgres://memp@127.0.0.1:1/none"}"#.utf8).write(
            to: URL(fileURLWithPath: remote + "/postgres.json"))
        #expect(StoreLocation.isStore(remote))
        await #expect(throws: MemoryError.storeExists(path: remote)) {
            try await MemoryStore.create(at: remote, embedder: Self.embedder)
        }
        await #expect(throws: MemoryError.storeExists(path: local)) {
            try await MemoryStore.create(
                at: local, database: DatabaseLocation(url: "postgres://memp@127.0.0.1:1/none"), embedder: Self.embedder,
                configuration: nil)
        }
        #expect(!FileManager.default.fileExists(atPath: remote + "/" + SQLiteStore.databaseFileName))
    }

    @Test func migratesBetweenTwoDirectoriesVerified() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source")
        let original = try await Self.makeStore(at: source)
        _ = try await original.delete(.id("t3"))
        let copy = directory.file("nested/copy")
        let digest = try await MemoryStore.copy(from: .directory(source), to: .directory(copy), batchSize: 1)
        #expect(digest.trajectories == 2 && digest.memories == 2 && digest.historyEntries == 4)
        let copied = try await MemoryStore.open(at: copy)
        #expect(try await copied.history() == (try await original.history()))
        #expect(try await MemoryStore.verify(at: copy).problems == [])
        // A second copy into the same, now full, directory is refused and changes nothing there.
        await #expect(throws: MemoryError.storeExists(path: copy)) {
            try await MemoryStore.copy(from: .directory(source), to: .directory(copy))
        }
        await #expect(throws: MemoryError.notAStore(path: directory.file("missing"))) {
            try await MemoryStore.copy(from: .directory(directory.file("missing")), to: .directory(copy))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("missing")))
    }

    /// At every limit of open files, from none free to plenty, a copy into a new directory succeeds, or fails and
    /// leaves nothing there, so that the same copy, the limit raised, succeeds.
    ///
    /// Hostile run 17: `memp migrate` under `ulimit -n 16` made its SQLite destination, failed, and left a database
    /// without settings, which the rerun ("Move it away") and `memp init` ("already holds a memory store") refused.
    @Test func aCopyThatFailsForWantOfFileDescriptorsLeavesNoStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source")
        _ = try await Self.makeStore(at: source)
        await #expect(processExitsWith: .success) { [root = directory.path as String, source = source as String] in
            let (failures, successes) = await attemptUnderEachFileLimit(spares: 40) { spare in
                try await MemoryStore.copy(from: .directory(source), to: .directory("\(root)/copy-\(spare)"))
            } afterFailure: { spare, _ in
                let destination = "\(root)/copy-\(spare)"
                // Hostile run 18: the directory the copy made was left, empty.
                if FileManager.default.fileExists(atPath: destination) { exit(3) }
                guard (try? await MemoryStore.copy(from: .directory(source), to: .directory(destination))) != nil
                else { exit(5) }
            }
            exit(failures > 0 && successes > 0 ? 0 : 4)
        }
    }

    /// Hostile run 8: a migration killed half-way left a copy that `memp verify` passed and lookups answered from,
    /// and its rerun (like `memp init` there) was told the directory "already holds a memory store"; a migration
    /// into a store whose memories were all deleted replaced its history, and kept its fusion record.
    @Test func aCopyThatDidNotFinishIsRefusedUntilRemovedAndOnlyAnEmptyStoreIsADestination() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source")
        _ = try await Self.makeStore(at: source)
        // A copy stopped after its first batch: marked, and holding part of its source.
        let partial = directory.file("partial")
        let stopped = try await MemoryStore.create(
            at: partial, embedder: Self.embedder, configuration: .hashing(dimension: 32))
        try await stopped.backend.beginCopy(from: source)
        try await stopped.add([Self.trajectory("t1", "heat some milk in a pot")])
        await #expect(throws: MemoryError.incompleteCopy(source: source)) { try await MemoryStore.open(at: partial) }
        // Hostile run 18: its counts were given as any store's, and passed for the source's.
        await #expect(throws: MemoryError.incompleteCopy(source: source)) {
            try await MemoryStore.statistics(at: partial)
        }
        #expect(
            try await MemoryStore.verify(at: partial).problems.contains(
                MemoryError.incompleteCopy(source: source).description))
        await #expect(throws: MemoryError.incompleteCopy(source: source)) {
            try await MemoryStore.copy(from: .directory(source), to: .directory(partial))
        }
        // Hostile run 20: an empty store of another embedder was said to "hold vectors" of it, with advice for an
        // open.
        let other = directory.file("other")
        _ = try await MemoryStore.create(
            at: other, embedder: HashingEmbedder(dimension: 16), configuration: .hashing(dimension: 16))
        let source32 = try await MemoryStore.info(at: source).embedderID
        let other16 = try await MemoryStore.info(at: other).embedderID
        await #expect(
            throws: MemoryError.copyEmbedderMismatch(
                destination: other, destinationEmbedder: other16, sourceEmbedder: source32)
        ) {
            try await MemoryStore.copy(from: .directory(source), to: .directory(other))
        }
        // Hostile run 20: copied from, it gave an ordinary store, verified, holding part of the source at most.
        await #expect(throws: MemoryError.incompleteCopy(source: source)) {
            try await MemoryStore.copy(from: .directory(partial), to: .directory(directory.file("from-partial")))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("from-partial")))
        // `memp init` there said only that the directory "already holds a memory store", as if it were one to open.
        await #expect(throws: MemoryError.incompleteCopy(source: source)) {
            try await MemoryStore.create(at: partial, embedder: Self.embedder, configuration: .hashing(dimension: 32))
        }
        try await stopped.backend.endCopy()
        await #expect(throws: MemoryError.storeExists(path: partial)) {
            try await MemoryStore.create(at: partial, embedder: Self.embedder, configuration: .hashing(dimension: 32))
        }
        #expect(try await MemoryStore.open(at: partial).memoryCount == 1)

        // A store that holds only history, or only a fusion record, is no empty destination.
        let emptied = try await Self.makeStore(at: directory.file("emptied"))
        for id in ["t1", "t2", "t3"] { _ = try await emptied.delete(.id(id)) }
        let tuned = try await MemoryStore.create(
            at: directory.file("tuned"), embedder: Self.embedder, configuration: .hashing(dimension: 32))
        _ = try await tuned.recordFusion(
            .reciprocalRank(rankConstant: 10),
            evidence: FusionTuningEvidence(
                origin: "test", queries: 5, folds: 5, metric: "nDCG@10", chosenScore: 1, defaultScore: 0.5,
                crossValidatedScore: 0.75))
        for destination in [directory.file("emptied"), directory.file("tuned")] {
            let before = try await MemoryStore.open(at: destination).history()
            await #expect(throws: MemoryError.storeExists(path: destination)) {
                try await MemoryStore.copy(from: .directory(source), to: .directory(destination))
            }
            #expect(try await MemoryStore.open(at: destination).history() == before)
        }
    }

    #if !PostgreSQL
        @Test func namesTheMissingBackendInABuildWithoutPostgreSQL() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let remote = directory.file("remote")
            try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
            try Data(#"{"url":"postgres://memp@127.0.0.1:1/none"}"#.utf8).write(
                to: URL(fileURLWithPath: remote + "/postgres.json"))
            await #expect(throws: MemoryError.backendNotBuilt(backend: "PostgreSQL", location: remote)) {
                try await MemoryStore.open(at: remote)
            }
            let url = "postgres://memp@127.0.0.1:1/none"
            await #expect(throws: MemoryError.backendNotBuilt(backend: "PostgreSQL", location: url)) {
                try await MemoryStore.info(at: url)
            }
        }
    #endif
}
