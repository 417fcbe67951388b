/// The store's tables in PostgreSQL, created by named, append-only migrations.
///
/// Tables (in the location's schema): `memp_migration` (applied migrations), `store` (one row: settings and
/// generation, since v2 the record of fusion choices, since v3 the source of a copy under way), `trajectory`, `memory` and `history`. Labels are `jsonb` with GIN indexes (label filters and scoped
/// deletes use `@>`); a memory's source trajectory IDs are a `text[]` with a GIN index. The vector columns
/// `memory.task_vector` and `memory.keyword_vector` are `vector(N)`, added by ``PostgresBackend/initialize`` once
/// the embedder's dimension N is known, with an HNSW index (`vector_cosine_ops`). `memory.search` is a stored
/// `tsvector` of the task and keywords (English configuration) with a GIN index.
enum PostgresSchema {
    /// The schema version this build writes.
    static let version = 1

    /// A migration: applied once, in order, in one transaction.
    struct Migration {
        var version: Int
        var name: String
        var sql: [String]
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
    ]

    /// The statements that add the vector columns and the HNSW index for `dimension`.
    static func vectorColumns(dimension: Int) -> [String] {
        [
            "ALTER TABLE memory ADD COLUMN task_vector vector(\(dimension)) NOT NULL",
            "ALTER TABLE memory ADD COLUMN keyword_vector vector(\(dimension))",
            "CREATE INDEX memory_task_hnsw ON memory USING hnsw (task_vector vector_cosine_ops)",
        ]
    }
}
