import Foundation
import PostgresNIO
import ProceduralMemory
import Testing

@testable import PostgresMemory

/// What `memory.search_text` holds, and the migrations that bring a store of an earlier schema up to date.
@Suite struct PostgresSchemaTextTests {
    @Test func searchTextIsTheLocalKeywordIndexsTerms() {
        // NFKC and case folding (full-width letters, the ligature, NFD), stop words dropped, Porter2 stems.
        let task = "Heating \u{FF4D}\u{FF55}\u{FF47}\u{FF53} in the \u{FB01}le cafe\u{301}"
        #expect(
            PostgresSchema.searchText(task: task, keywords: ["Microwaves", "\u{130}STANBUL"])
                == "heat mug file caf\u{E9} microwav i\u{307}stanbul")
        #expect(
            PostgresSchema.searchText(task: task, keywords: [])
                == IndexEntry.keywordTokenizer.tokens(IndexEntry.searchText(task: task, keywords: [])).joined(
                    separator: " "))
        #expect(PostgresSchema.searchTerms(of: "the of and").isEmpty)
        #expect(PostgresSchema.searchTerms(of: "open\u{0}\u{301}door") == "open door")
    }

    @Test func theVersionIsTheLastMigrations() {
        #expect(PostgresSchema.migrations.map(\.version) == Array(1...PostgresSchema.version))
        #expect(PostgresSchema.migrations.map(\.name).last == "v7-applied-task-method")
    }
}

/// A store of an earlier schema is migrated when a build opens it; one of a later schema is refused.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs PostgreSQL with pgvector (scripts/pg_server.sh)"))
struct PostgresSchemaMigrationTests {
    /// The schema of the builds before the text search stored the local index's terms.
    static let v3Migrations = Array(PostgresSchema.migrations.prefix { $0.version <= 3 })
    /// The schema of the builds before selections by Normalization Form C had indexes of their own.
    static let v4Migrations = Array(PostgresSchema.migrations.prefix { $0.version <= 4 })
    /// The schema of the builds before updates recorded the tasks they applied.
    static let v5Migrations = Array(PostgresSchema.migrations.prefix { $0.version <= 5 })
    /// The schema of the builds whose records of applied tasks held no policy.
    static let v6Migrations = Array(PostgresSchema.migrations.prefix { $0.version <= 6 })

    /// Runs `body` with a backend on a fresh schema created by `migrations`, then drops the schema.
    static func withBackend(
        migrations: [PostgresSchema.Migration], _ body: (PostgresBackend) async throws -> Void
    ) async throws {
        let backend = try await PostgresBackend.connect(
            to: try PostgresTestServer.freshLocation(), timing: PostgresPool.Timing(), migrations: migrations)
        do {
            try await body(backend)
            try await backend.dropSchema()
            backend.close()
        } catch {
            try? await backend.dropSchema()
            backend.close()
            throw error
        }
    }

    /// The memories matching `query` under the v3 schema's text search: the raw text, the english configuration.
    static func v3Matches(_ query: String, in backend: PostgresBackend) async throws -> Set<String> {
        try await backend.withConnection { connection in
            var ids = Set<String>()
            for try await id in try await connection.query(
                "SELECT id FROM memory WHERE search @@ plainto_tsquery('english', \(query))", logger: backend.logger
            ).decode(String.self) {
                ids.insert(id)
            }
            return ids
        }
    }

    /// Each memory's `(task, keywords, search_text)` by ID.
    static func searchTexts(in backend: PostgresBackend) async throws -> [String: (String, [String], String)] {
        try await backend.withConnection { connection in
            var rows: [String: (String, [String], String)] = [:]
            for try await (id, task, keywords, text) in try await connection.query(
                "SELECT id, task, keywords, search_text FROM memory", logger: backend.logger
            ).decode((String, String, String, String).self) {
                rows[id] = (task, try JSONDecoder().decode([String].self, from: Data(keywords.utf8)), text)
            }
            return rows
        }
    }

    /// A v3 store's memories, written as builds before v4 wrote them (the raw task and keywords in `search_text`),
    /// match by the local index's terms once a build of v4 opens the store; every row is rewritten, in batches.
    @Test func aV3StoreIsMigratedAndThenMatchesByTheLocalTerms() async throws {
        try await Self.withBackend(migrations: Self.v3Migrations) { old in
            // More memories than one batch of the rewrite (1,000), so that it runs three.
            var batch = Fixtures.randomBatch(count: 2_100, dimension: 2, seed: 11)
            for (id, task) in [("nfc", "order a caf\u{E9} au lait"), ("turkish", "fly to \u{130}STANBUL")] {
                let trajectory = Fixtures.trajectory(id, task: task, source: "s", labels: [:])
                batch.trajectories.append(trajectory)
                batch.memories.append(Fixtures.record(trajectory, vector: [0, 1], keywords: ["Travel"]))
            }
            try await old.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            _ = try await old.write(batch)
            // What builds before v4 wrote: the task and keywords as given, and schema version 1 (their
            // `PostgresSchema.version`).
            try await old.withConnection { connection in
                _ = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            UPDATE memory SET search_text = task || CASE WHEN keywords = '[]' THEN '' ELSE E'\\n'
                                || array_to_string(ARRAY(SELECT jsonb_array_elements_text(keywords::jsonb)), ' ') END
                            """), logger: old.logger)
                _ = try await connection.query("UPDATE store SET schema_version = 1", logger: old.logger)
            }
            let before = try await Self.searchTexts(in: old)
            #expect(before.count == 2_102)
            #expect(before.values.allSatisfy { $0.2 == IndexEntry.searchText(task: $0.0, keywords: $0.1) })
            // What v3 matched: NFD missed NFC, and "istanbul" found "İSTANBUL".
            #expect(try await Self.v3Matches("cafe\u{301}", in: old).isEmpty)
            #expect(try await Self.v3Matches("istanbul", in: old) == ["turkish"])

            let migrated = try await PostgresBackend.connect(to: old.location)
            defer { migrated.close() }
            let after = try await Self.searchTexts(in: migrated)
            #expect(after.count == 2_102)
            #expect(
                after.values.allSatisfy { $0.2 == PostgresSchema.searchText(task: $0.0, keywords: $0.1) })
            #expect(after["nfc"]?.2 == "order caf\u{E9} au lait travel")
            #expect(try await migrated.searchKeywords("cafe\u{301}", k: 5).count == 1)
            #expect(try await migrated.searchKeywords("istanbul", k: 5).isEmpty)
            #expect(try await migrated.searchKeywords("\u{130}stanbul TRAVELLING", k: 5).count == 2)
            let versions = try await migrated.withConnection { connection in
                var versions: [Int] = []
                for try await (version, name) in try await connection.query(
                    "SELECT version, name FROM memp_migration ORDER BY version", logger: migrated.logger
                ).decode((Int, String).self) {
                    versions.append(version)
                    #expect(name == PostgresSchema.migrations[version - 1].name)
                }
                return versions
            }
            #expect(versions == Array(1...PostgresSchema.version))
            #expect(try await migrated.storeInfo()?.schemaVersion == PostgresSchema.version)
        }
    }

    /// The plan PostgreSQL makes for `SELECT number FROM table WHERE condition` with sequential scans off, so that
    /// it takes any index that can serve the condition.
    static func plan(
        of table: String, where condition: String, _ bindings: PostgresBindings, in backend: PostgresBackend
    ) async throws -> String {
        try await backend.inTransaction(commit: false) { connection in
            _ = try await connection.query("SET LOCAL enable_seqscan = off", logger: backend.logger)
            var lines: [String] = []
            for try await line in try await connection.query(
                PostgresQuery(unsafeSQL: "EXPLAIN SELECT number FROM \(table) WHERE \(condition)", binds: bindings),
                logger: backend.logger
            ).decode(String.self) {
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }

    /// A v4 store gains indexes on the Normalization Form C of its sources and labels, which selections by a text
    /// that other texts are equivalent to then use; an ASCII text still uses the indexes of the bytes.
    @Test func aV4StoreGainsIndexesThatServeCanonicalSelections() async throws {
        try await Self.withBackend(migrations: Self.v4Migrations) { old in
            var batch = Fixtures.randomBatch(count: 300, dimension: 2, seed: 5)
            let decomposed = Fixtures.trajectory(
                "decomposed", task: "brew tea", source: "cafe\u{301}", labels: ["fold": "e\u{301}te\u{301}"])
            batch.trajectories.append(decomposed)
            batch.memories.append(Fixtures.record(decomposed, vector: [0, 1]))
            try await old.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            let numbers = try await old.write(batch).numbers

            let migrated = try await PostgresBackend.connect(to: old.location)
            defer { migrated.close() }
            #expect(migrated.canonicalSelection == CanonicalSelection(normalizes: true))
            #expect(try await migrated.storeInfo()?.schemaVersion == PostgresSchema.version)
            for table in ["trajectory", "memory"] {
                // A label's key, or nil for a source, and the text selected.
                for (name, key, text) in [
                    ("canonical_source", nil, "caf\u{E9}"), ("canonical_label", "fold", "\u{E9}t\u{E9}"),
                    ("source", nil, "alfworld"), ("label", "fold", "train"),
                ] {
                    var bindings = PostgresBindings()
                    let sql =
                        key.map { migrated.canonicalSelection.label(key: $0, value: text, &bindings) }
                        ?? migrated.canonicalSelection.source(in: [text], &bindings)
                    let plan = try await Self.plan(of: table, where: sql, bindings, in: migrated)
                    #expect(plan.contains("\(table)_by_\(name) "), "\(table) \(name): \(plan)")
                }
            }
            // The labels in NFC: rebuilt where their text is not in NFC (a Kelvin sign, a decomposed é, marks out
            // of order), as they are otherwise.
            let canonical = try await migrated.withConnection { connection in
                var rows: [String] = []
                for try await row in try await connection.query(
                    """
                    SELECT memp_canonical_labels(x)::text FROM unnest(ARRAY[
                        '{"\u{212A}": "e\u{301}", "b": "a\u{302}\u{323}"}', '{"K": "\u{E9}"}', '{}']::jsonb[]) AS x
                    """, logger: migrated.logger
                ).decode(String.self) {
                    rows.append(row)
                }
                return rows
            }
            #expect(canonical == [#"{"K": "\#u{E9}", "b": "\#u{1EAD}"}"#, #"{"K": "\#u{E9}"}"#, "{}"])
            let filter = PostgresSearchFilter(sources: ["caf\u{E9}"], labels: ["fold": "\u{E9}t\u{E9}"])
            for mode in [PostgresVectorSearch.exact, .hnsw(efSearch: 40)] {
                let hits = try await migrated.searchVectors([0, 1], k: 5, mode: mode, filter: filter)
                #expect(hits.map(\.id) == [numbers["decomposed"]].compactMap { $0 }, "\(mode)")
            }
        }
    }

    /// A v5 store knew a task as applied by its stored trajectory, or by a feedback row naming a failure: v6
    /// records each as applied, with the trajectory's outcome, or none for a failure (its reward is not known),
    /// and no success that a feedback row names.
    @Test func aV5StoreRecordsWhatItKnewAsApplied() async throws {
        try await Self.withBackend(migrations: Self.v5Migrations) { old in
            let kept = Fixtures.trajectory("kept", task: "brew tea", source: "s", labels: [:])
            let batch = WriteBatch(
                trajectories: [kept], memories: [Fixtures.record(kept, vector: [0, 1])], replacing: false,
                policy: "validation", reason: "validation update from tasks.jsonl")
            try await old.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            _ = try await old.write(batch)
            for (trajectory, successes) in [("lost", 0), ("won", 1), ("kept", 0)] {
                let outcome = successes == 1 ? "succeeded" : "failed"
                _ = try await old.recordFeedback(
                    [CounterIncrement(memoryID: "kept", hits: 1, successes: successes)], settings: UpdateSettings(),
                    reason: "task of trajectory \(trajectory) \(outcome)")
            }

            let migrated = try await PostgresBackend.connect(to: old.location)
            defer { migrated.close() }
            #expect(try await migrated.storeInfo()?.schemaVersion == PostgresSchema.version)
            let records = try await migrated.appliedTasks(among: nil)
            #expect(records.map(\.trajectoryID) == ["kept", "lost"])
            #expect(records.map(\.outcome) == [Outcome(success: true, reward: 1), Outcome(success: false)])
            #expect(records.allSatisfy { $0.source == AppliedTask.legacySource && $0.line == nil })
            #expect(records.allSatisfy { $0.method == nil })
        }
    }

    /// A v6 record of an applied task holds no policy: v7 keeps it without one, and records written after hold the
    /// update's policy and build.
    @Test func aV6RecordKeepsNoMethodAndNewRecordsHoldOne() async throws {
        try await Self.withBackend(migrations: Self.v6Migrations) { old in
            try await old.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            try await old.withConnection { connection in
                _ = try await connection.query(
                    """
                    INSERT INTO applied_task (trajectory_id, success, reward, source, line, applied_at)
                    VALUES ('old', true, 1, 'tasks.jsonl', 1, 0)
                    """, logger: old.logger)
            }
            let migrated = try await PostgresBackend.connect(to: old.location)
            defer { migrated.close() }
            #expect(try await migrated.storeInfo()?.schemaVersion == 7)
            let method = UpdateMethod(policy: .adjustment, build: .script)
            try await migrated.transaction(commit: true) { (transaction) throws(MemoryError) in
                try await transaction.recordAppliedTasks([
                    AppliedTask(
                        trajectoryID: "new", outcome: Outcome(success: false), source: "api", line: 2,
                        date: Date(timeIntervalSince1970: 5), method: method)
                ])
            }
            let records = try await migrated.appliedTasks(among: nil)
            #expect(records.map(\.trajectoryID) == ["old", "new"])
            #expect(records.map(\.method) == [nil, method])
        }
    }

    /// A store that a later build migrated past this build's version is refused at connect, before anything is
    /// written to it; one this build created records its version.
    @Test func aStoreOfALaterSchemaIsRefused() async throws {
        try await PostgresTestServer.withBackend { backend in
            try await backend.initialize(embedderID: Fixtures.embedderID, dimension: 2, configuration: nil)
            #expect(try await backend.storeInfo()?.schemaVersion == PostgresSchema.version)
            try await backend.withConnection { connection in
                _ = try await connection.query(
                    "INSERT INTO memp_migration (version, name) VALUES (8, 'v8-later')", logger: backend.logger)
            }
            let refusal = MemoryError.database(
                reason: "PostgreSQL at \(backend.location): the store has schema version 8, newer than the version 7 "
                    + "this build reads and writes; open it with a build as recent as the one that upgraded it")
            await #expect(throws: refusal) { try await PostgresBackend.connect(to: backend.location) }
            // The version refused is the last of the migrations a build knows: with v1 to v6 only, v7 is later.
            // (Builds before v4 had no such check: they open a later store and write `search_text` as v3 did.)
            try await backend.withConnection { connection in
                _ = try await connection.query("DELETE FROM memp_migration WHERE version = 8", logger: backend.logger)
            }
            let earlier = MemoryError.database(
                reason: "PostgreSQL at \(backend.location): the store has schema version 7, newer than the version 6 "
                    + "this build reads and writes; open it with a build as recent as the one that upgraded it")
            await #expect(throws: earlier) {
                try await PostgresBackend.connect(
                    to: backend.location, timing: PostgresPool.Timing(), migrations: Self.v6Migrations)
            }
        }
    }
}
