#if PostgreSQL
    import Embeddings
    import Foundation
    import MemoryLocation
    import MempService
    import PostgresMemory
    import ProceduralMemory
    import TestSupport
    import Testing

    /// MemoryLocation resolves directories made for PostgreSQL and `postgres://` URLs to the PostgreSQL backend, with
    /// the same calls a SQLite directory takes (compiled with the package trait `PostgreSQL` only).
    @Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
    struct LocationTests {
        static let embedder = HashingEmbedder(dimension: 48)

        /// `location` as MemoryLocation names it.
        static func database(_ location: PostgresLocation) -> DatabaseLocation {
            switch location.password {
            case .file(let file): DatabaseLocation(url: location.url, passwordFile: file)
            case .environment(let name): DatabaseLocation(url: location.url, passwordVariable: name)
            case .none: DatabaseLocation(url: location.url)
            }
        }

        /// Hostile run 10: a migration from a reachable schema without a store created the destination's SQLite
        /// database (tables, no settings), which every later command refused, and its error spoke of "a PostgreSQL
        /// store's descriptor" instead of naming the URL.
        @Test func aMigrationFromASchemaWithoutAStoreCreatesNothing() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let destination = directory.file("copy")
            try await PostgresTestServer.withBackend { empty in
                let url = empty.location.url
                await #expect(throws: MemoryError.notAStore(path: url)) {
                    try await MemoryStore.copy(
                        from: .database(Self.database(empty.location)), to: .directory(destination))
                }
                #expect(!FileManager.default.fileExists(atPath: destination))
                #expect(
                    MemoryError.notAStore(path: url).description
                        == "The PostgreSQL database at \(url) holds no memory store in the URL's schema (the database "
                        + "answered, but the schema has no store's settings). Check the URL's database and schema, or "
                        + "create a store there first.")
            }
        }

        @Test func opensADirectoryMadeForPostgreSQLAndItsURLAlike() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let location = try PostgresTestServer.freshLocation()
            let path = directory.file("shared")
            let (created, attached, url) = try await MemoryStore.create(
                at: path, database: Self.database(location), embedder: Self.embedder,
                configuration: .hashing(dimension: 48))
            #expect(!attached && url == location.url)
            try await created.add(Fixtures.randomBatch(count: 30, dimension: 48, seed: 9).trajectories)

            let byDirectory = try await MemoryStore.open(at: StoreLocation(path))
            let backend = try #require(byDirectory.backend as? PostgresBackend)
            #expect(backend.databaseSearch == .standard)
            let byURL = try await MemoryStore.open(
                at: .database(Self.database(location)), options: StoreOpenOptions(databaseSearch: .indexCaches))
            #expect((byURL.backend as? PostgresBackend)?.databaseSearch == nil)
            // In the database, lookups run there and the caches wait; with index caches, they are loaded at open.
            #expect(byDirectory.cacheState == .deferred && byDirectory.memoryCount == 0)
            #expect(byURL.memoryCount == 30 && byURL.embedder.modelIdentifier == Self.embedder.modelIdentifier)
            let options = RetrievalOptions(policy: .bm25, k: 3)
            let expected = try await created.retrieve("heat mug", options: options).map(\.memory.id)
            #expect(expected.count == 3)
            #expect(try await byDirectory.retrieve("heat mug", options: options).map(\.memory.id) == expected)
            // The service serves it by URL, as `memp serve --store URL` does (it took the URL for a directory).
            let served = try await StoreRegistry(layout: .single(.database(Self.database(location)))).store(named: nil)
            #expect(try await served.store.retrieve("heat mug", options: options).map(\.memory.id) == expected)
            #expect(try await MemoryStore.statistics(at: path).memories == 30)
            #expect(try await MemoryStore.info(at: path).embedderConfiguration == .hashing(dimension: 48))
            let report = try await MemoryStore.verify(at: path)
            #expect(report.problems == [] && report.memories == 30)

            // The directory holds a store now: neither backend creates another there.
            await #expect(throws: MemoryError.storeExists(path: path)) {
                try await MemoryStore.create(at: path, embedder: Self.embedder)
            }
            try await PostgresBackend.connect(to: location).dropSchema()
            // The descriptor leads to a database without the store: the database is named, not the directory
            // (which was said to hold no descriptor).
            await #expect(throws: MemoryError.notAStore(path: location.url)) { try await MemoryStore.info(at: path) }
            await #expect(throws: MemoryError.notAStore(path: location.url)) {
                try await MemoryStore.statistics(at: path)
            }
            await #expect(throws: MemoryError.notAStore(path: location.url)) {
                try await MemoryStore.open(at: StoreLocation(path))
            }
        }

        /// Hostile run 8: a password variable named with `--password-variable` that was not set (a typo) was taken
        /// for "no password", and a relative password file was stored as given, so the store opened only from the
        /// directory it was created in.
        @Test func aNamedPasswordVariableMustBeSetAndAPasswordFileIsStoredWhole() async throws {
            let location = try PostgresTestServer.freshLocation()
            await #expect(throws: MemoryError.passwordVariableUnset(name: "MEMP_TEST_UNSET_PASSWORD_VARIABLE")) {
                try await MemoryStore.open(
                    at: StoreLocation(location.url, passwordVariable: "MEMP_TEST_UNSET_PASSWORD_VARIABLE"))
            }
            guard case .file(let passwordFile) = location.password else { return }  // a server without a password
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            // The same file, named relative to the working directory.
            let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
            let relative = String(repeating: "../", count: depth) + passwordFile.drop { $0 == "/" }
            let path = directory.file("relative")
            _ = try await MemoryStore.create(
                at: path, database: DatabaseLocation(url: location.url, passwordFile: relative),
                embedder: Self.embedder, configuration: .hashing(dimension: 48))
            let descriptor = try JSONDecoder().decode(
                [String: String].self,
                from: Data(contentsOf: URL(fileURLWithPath: path + "/" + PostgresStore.descriptorFileName)))
            #expect(descriptor["passwordFile"] == URL(fileURLWithPath: passwordFile).standardizedFileURL.path)
            #expect(try await MemoryStore.statistics(at: path).memories == 0)
            try await PostgresBackend.connect(to: location).dropSchema()
        }

        @Test func migratesADirectoryIntoADatabaseByURL() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let location = try PostgresTestServer.freshLocation()
            let local = directory.file("local")
            let store = try await MemoryStore.create(
                at: local, embedder: Self.embedder, configuration: .hashing(dimension: 48))
            try await store.add(Fixtures.randomBatch(count: 25, dimension: 48, seed: 4).trajectories)
            let database = StoreLocation.database(Self.database(location))
            let digest = try await MemoryStore.copy(from: .directory(local), to: database, batchSize: 10)
            #expect(digest.trajectories == 25 && digest.memories == 25)
            #expect(try await StoreDigest(of: store.backend) == digest)
            #expect(try await MemoryStore.statistics(at: database).memories == 25)
            // And back into a new directory, which becomes a SQLite store.
            let back = directory.file("back")
            #expect(try await MemoryStore.copy(from: database, to: .directory(back)) == digest)
            #expect(try await MemoryStore.verify(at: back).problems == [])
            try await PostgresBackend.connect(to: location).dropSchema()
        }
    }
#endif
