import PostgresNIO
import ProceduralMemory

/// The store's tables in PostgreSQL, created by named, append-only migrations.
///
/// Tables (in the location's schema): `memp_migration` (applied migrations), `store` (one row: settings and
/// generation, since v2 the record of fusion choices, since v3 the source of a copy under way), `trajectory`,
/// `memory`, `history` and, since v6, `applied_task` (an update's record of each task it applied). Labels are `jsonb` with GIN indexes (label filters and scoped deletes use `@>`). Sources
/// and labels that other texts are canonically equivalent to are selected by their Normalization Form C
/// (`normalize(source, NFC)`, `memp_canonical_labels(labels)`), with indexes of their own since v5 in a database
/// encoded in UTF8 (``CanonicalSelection``). A memory's source trajectory IDs are a `text[]` with a GIN index. The
/// vector columns `memory.task_vector` and `memory.keyword_vector` are `vector(N)`, added by
/// ``PostgresBackend/initialize`` once the embedder's dimension N is known, with an HNSW index (`vector_cosine_ops`).
/// `memory.search_text` holds the local keyword index's terms of the task and keywords
/// (``searchText(task:keywords:)``, since v4), and `memory.search` is their stored `tsvector` (the `simple`
/// configuration, which keeps each term as it is) with a GIN index.
enum PostgresSchema {
    /// The schema version this build writes: the last migration's, recorded in `store.schema_version`.
    ///
    /// A store that has applied a migration of a later version is refused (``PostgresBackend`` at connect): this
    /// build would write rows that the newer schema reads differently.
    static var version: Int { migrations[migrations.count - 1].version }

    /// A migration: applied once, in order, in one transaction, and recorded in `memp_migration` in it.
    struct Migration: Sendable {
        var version: Int
        var name: String
        var sql: [String]
        /// A step that rewrites stored rows in Swift after `sql` (what SQL alone can't compute), in the same
        /// transaction; `nil` for a change of schema only.
        var rewrite: (@Sendable (WatchedConnection, Logger) async throws -> Void)? = nil
    }

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "v1-tables",
            sql: [
                "CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public",
                """
                CREATE TABLE store (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    schema_version integer NOT NULL,
                    embedder text NOT NULL,
                    dimension integer NOT NULL,
                    embedder_configuration text,
                    generation bigint NOT NULL DEFAULT 0)
                """,
                """
                CREATE TABLE trajectory (
                    number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    task text NOT NULL,
                    steps text NOT NULL,
                    success boolean,
                    reward double precision,
                    source text NOT NULL,
                    labels jsonb NOT NULL,
                    producer text,
                    created_at double precision NOT NULL)
                """,
                "CREATE INDEX trajectory_by_source ON trajectory (source)",
                "CREATE INDEX trajectory_by_label ON trajectory USING gin (labels jsonb_path_ops)",
                """
                CREATE TABLE memory (
                    number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    task text NOT NULL,
                    kind text NOT NULL,
                    build_policy text NOT NULL,
                    steps text,
                    script text,
                    keywords text NOT NULL,
                    sources text[] NOT NULL,
                    source text NOT NULL,
                    labels jsonb NOT NULL,
                    hit_count bigint NOT NULL DEFAULT 0,
                    success_count bigint NOT NULL DEFAULT 0,
                    status text NOT NULL DEFAULT 'active',
                    embedder text NOT NULL,
                    provenance text NOT NULL,
                    revision bigint NOT NULL DEFAULT 1,
                    created_at double precision NOT NULL,
                    updated_at double precision NOT NULL,
                    search_text text NOT NULL,
                    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, search_text)) STORED)
                """,
                "CREATE INDEX memory_by_source ON memory (source)",
                "CREATE INDEX memory_by_label ON memory USING gin (labels jsonb_path_ops)",
                "CREATE INDEX memory_by_trajectory ON memory USING gin (sources)",
                "CREATE INDEX memory_search ON memory USING gin (search)",
                """
                CREATE TABLE history (
                    number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    memory_id text NOT NULL,
                    action text NOT NULL,
                    policy text NOT NULL,
                    reason text NOT NULL,
                    before text,
                    after text,
                    revision bigint,
                    generation bigint NOT NULL,
                    date double precision NOT NULL,
                    reverts bigint)
                """,
                "CREATE INDEX history_by_memory ON history (memory_id)",
                "CREATE INDEX history_by_reverted ON history (reverts) WHERE reverts IS NOT NULL",
            ]),
        // The record of fusion choices (ProceduralMemory's FusionTuning, JSON); NULL until the first choice.
        Migration(version: 2, name: "v2-fusion-tuning", sql: ["ALTER TABLE store ADD COLUMN fusion_tuning text"]),
        // The source of a copy into the store that is under way or did not finish (`PostgresBackend.beginCopy`).
        Migration(
            version: 3, name: "v3-incomplete-copy", sql: ["ALTER TABLE store ADD COLUMN incomplete_copy_of text"]),
        // The text search matches what the local keyword index matches: `search_text` holds the local tokenizer's
        // terms (normalized, case-folded, stemmed, without stop words), which the `simple` configuration keeps as
        // they are; until v3 it held the raw task and keywords, parsed and stemmed by the `english` configuration.
        // The generated column can't change its expression in place before PostgreSQL 17, so it is made anew.
        Migration(
            version: 4, name: "v4-search-terms",
            sql: [
                "ALTER TABLE memory DROP COLUMN search",
                """
                ALTER TABLE memory ADD COLUMN search tsvector
                    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED
                """,
                "CREATE INDEX memory_search ON memory USING gin (search)",
                "UPDATE store SET schema_version = 4",
            ],
            rewrite: { connection, logger in try await rewriteSearchText(connection, logger: logger) }),
        // Selections by a source or label that other texts are canonically equivalent to (`CanonicalSelection`)
        // compare Normalization Form C, through indexes of their own; until v4 they scanned every row. Only a
        // database encoded in UTF8 can normalize, so only there are the indexes made (elsewhere texts compare by
        // bytes); the function is made in every store, and called only there. Labels whose JSON text is in NFC
        // are so key by key (escapes stand only for characters that compose with nothing), and are returned as
        // they are, which saves most rows the split and the rebuild.
        Migration(
            version: 5, name: "v5-canonical-selection",
            sql: [
                """
                CREATE FUNCTION memp_canonical_labels(labels jsonb) RETURNS jsonb
                    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                    AS $$
                        SELECT CASE WHEN labels::text IS NFC NORMALIZED THEN labels ELSE (
                            SELECT coalesce(jsonb_object_agg(normalize(key, NFC), normalize(value, NFC)), '{}'::jsonb)
                            FROM jsonb_each_text(labels)) END
                    $$
                """,
                """
                DO $$
                BEGIN
                    IF current_setting('server_encoding') = 'UTF8' THEN
                        CREATE INDEX trajectory_by_canonical_source ON trajectory (normalize(source, NFC));
                        CREATE INDEX trajectory_by_canonical_label ON trajectory
                            USING gin (memp_canonical_labels(labels) jsonb_path_ops);
                        CREATE INDEX memory_by_canonical_source ON memory (normalize(source, NFC));
                        CREATE INDEX memory_by_canonical_label ON memory
                            USING gin (memp_canonical_labels(labels) jsonb_path_ops);
                    END IF;
                END
                $$
                """,
                "UPDATE store SET schema_version = 5",
            ]),
        // `applied_task`, an update's record of each task it applied. A store written before it knew a task as
        // applied by its stored trajectory, or by a feedback row naming a failure; both become records, so that a
        // resumed update skips what it skipped before.
        Migration(
            version: 6, name: "v6-applied-tasks",
            sql: [
                """
                CREATE TABLE applied_task (
                    number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    trajectory_id text NOT NULL UNIQUE,
                    success boolean,
                    reward double precision,
                    source text NOT NULL,
                    line bigint,
                    applied_at double precision NOT NULL)
                """,
                """
                INSERT INTO applied_task (trajectory_id, success, reward, source, applied_at)
                SELECT id, success, reward, '\(AppliedTask.legacySource)', created_at FROM trajectory ORDER BY number
                """,
                "UPDATE store SET schema_version = 6",
            ],
            rewrite: { connection, logger in try await recordLegacyFailures(connection, logger: logger) }),
        // `applied_task.policy` and `.build`, the update's policy and build policy, which a resume must repeat
        // (finding 206). Records written before hold neither, and admit a resume of any.
        Migration(
            version: 7, name: "v7-applied-task-method",
            sql: [
                "ALTER TABLE applied_task ADD COLUMN policy text, ADD COLUMN build text",
                "UPDATE store SET schema_version = 7",
            ]),
    ]

    /// Records as applied the failures that feedback rows name (``ProceduralMemory/AppliedTask/legacyFailure(of:)``)
    /// and no record holds yet (v6's rewrite).
    static func recordLegacyFailures(_ connection: WatchedConnection, logger: Logger) async throws {
        var failures: [AppliedTask] = []
        for try await columns in try await connection.query(
            "SELECT \(unescaped: PostgresBackend.historyColumns) FROM history WHERE action = 'feedback' ORDER BY number",
            logger: logger
        ).decode(PostgresBackend.HistoryRow.self) {
            if let failure = AppliedTask.legacyFailure(of: try PostgresBackend.historyEntry(columns)) {
                failures.append(failure)
            }
        }
        try await PostgresBackend.insertAppliedTasks(
            failures, ignoringRecorded: true, connection, logger: logger, schemaVersion: 6)
    }

    /// What `memory.search_text` holds for a memory: the terms the local keyword index makes of its task and
    /// keywords (``ProceduralMemory/IndexEntry/searchText(task:keywords:)``), separated by spaces.
    static func searchText(task: String, keywords: [String]) -> String {
        searchTerms(of: IndexEntry.searchText(task: task, keywords: keywords))
    }

    /// The terms the local keyword index makes of `text` (``ProceduralMemory/IndexEntry/keywordTokenizer``: NFKC
    /// and case folding, words split as the index splits them, CJK bigrams, stop words dropped, Porter2 stems),
    /// separated by spaces; what a stored memory's text and a lookup's task both become for the text search.
    ///
    ///     PostgresSchema.searchTerms(of: "Heating ｍｕｇｓ in the café")  // "heat mug café"
    static func searchTerms(of text: String) -> String {
        IndexEntry.keywordTokenizer.tokens(text).joined(separator: " ")
    }

    /// Recomputes `memory.search_text` of every stored memory from its task and keywords (v4's rewrite), a batch
    /// of rows at a time in number order.
    ///
    /// - Complexity: O(*n*) in the number of memories, in ⌈*n* / 1000⌉ reads and as many writes.
    static func rewriteSearchText(_ connection: WatchedConnection, logger: Logger) async throws {
        struct Row: Encodable {
            var number: Int64
            var search_text: String
        }
        var last: Int64 = 0
        while true {
            var rows: [Row] = []
            for try await (number, task, keywords) in try await connection.query(
                "SELECT number, task, keywords FROM memory WHERE number > \(last) ORDER BY number LIMIT 1000",
                logger: logger
            ).decode((Int64, String, String).self) {
                let keywords = try decodeJSON([String].self, keywords)
                rows.append(Row(number: number, search_text: searchText(task: task, keywords: keywords)))
            }
            guard let final = rows.last else { return }
            let json = try encodeJSON(rows)
            try await connection.query(
                """
                UPDATE memory m SET search_text = x.search_text
                FROM jsonb_to_recordset(\(json)::jsonb) AS x(number bigint, search_text text)
                WHERE m.number = x.number
                """, logger: logger)
            last = final.number
        }
    }

    /// The statements that add the vector columns and the HNSW index for `dimension`.
    static func vectorColumns(dimension: Int) -> [String] {
        [
            "ALTER TABLE memory ADD COLUMN task_vector vector(\(dimension)) NOT NULL",
            "ALTER TABLE memory ADD COLUMN keyword_vector vector(\(dimension))",
            "CREATE INDEX memory_task_hnsw ON memory USING hnsw (task_vector vector_cosine_ops)",
        ]
    }
}
