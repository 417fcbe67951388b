import Foundation
import GRDB
import ProceduralMemory

// The SQLite schema's migrations, all in this one place: named, append-only (a published migration is never
// edited; a change of schema is a new migration), applied in order by GRDB's `DatabaseMigrator` when a database is
// opened for writing. ``SQLiteBackend/schemaVersion`` counts them.
extension SQLiteBackend {
    /// Every migration, in order: a store is brought up to date by applying those it has not applied yet.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // v1: the tables.
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE trajectory (
                        number INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        task TEXT NOT NULL,
                        steps TEXT NOT NULL,
                        success INTEGER,
                        reward REAL,
                        source TEXT NOT NULL,
                        labels TEXT NOT NULL,
                        producer TEXT,
                        createdAt REAL NOT NULL);
                    CREATE INDEX trajectory_by_source ON trajectory(source);
                    CREATE TABLE trajectory_label (
                        trajectory INTEGER NOT NULL REFERENCES trajectory(number) ON DELETE CASCADE,
                        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (trajectory, key));
                    CREATE INDEX trajectory_label_by_value ON trajectory_label(key, value);
                    CREATE TABLE memory (
                        number INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        task TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        buildPolicy TEXT NOT NULL,
                        steps TEXT,
                        script TEXT,
                        keywords TEXT NOT NULL,
                        source TEXT NOT NULL,
                        labels TEXT NOT NULL,
                        hitCount INTEGER NOT NULL DEFAULT 0,
                        successCount INTEGER NOT NULL DEFAULT 0,
                        status TEXT NOT NULL DEFAULT 'active',
                        embedder TEXT NOT NULL,
                        provenance TEXT NOT NULL,
                        revision INTEGER NOT NULL DEFAULT 1,
                        createdAt REAL NOT NULL,
                        updatedAt REAL NOT NULL);
                    CREATE INDEX memory_by_source ON memory(source);
                    CREATE TABLE memory_label (
                        memory INTEGER NOT NULL REFERENCES memory(number) ON DELETE CASCADE,
                        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (memory, key));
                    CREATE INDEX memory_label_by_value ON memory_label(key, value);
                    CREATE TABLE memory_source (
                        memory INTEGER NOT NULL REFERENCES memory(number) ON DELETE CASCADE,
                        trajectory INTEGER NOT NULL REFERENCES trajectory(number) ON DELETE CASCADE,
                        position INTEGER NOT NULL,
                        PRIMARY KEY (memory, trajectory));
                    CREATE INDEX memory_source_by_trajectory ON memory_source(trajectory);
                    CREATE TABLE memory_vector (
                        memory INTEGER PRIMARY KEY NOT NULL REFERENCES memory(number) ON DELETE CASCADE,
                        embedder TEXT NOT NULL,
                        task BLOB NOT NULL,
                        keywords BLOB);
                    CREATE TABLE history (
                        number INTEGER PRIMARY KEY AUTOINCREMENT,
                        memoryID TEXT NOT NULL,
                        action TEXT NOT NULL,
                        policy TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        before TEXT,
                        after TEXT,
                        revision INTEGER,
                        generation INTEGER NOT NULL,
                        date REAL NOT NULL);
                    CREATE INDEX history_by_memory ON history(memoryID);
                    """)
        }
        // v2: `history.reverts`, the entry a revert undid.
        migrator.registerMigration("v2-history-reverts") { db in
            try db.execute(
                sql: """
                    ALTER TABLE history ADD COLUMN reverts INTEGER;
                    CREATE INDEX history_by_reverted ON history(reverts) WHERE reverts IS NOT NULL;
                    UPDATE meta SET value = '2' WHERE key = 'schemaVersion';
                    """)
        }
        // v3: `applied_task`, an update's record of each task it applied. A store written before it knew a task
        // as applied by its stored trajectory, or by a feedback row naming a failure; both become records, so that
        // a resumed update skips what it skipped before.
        migrator.registerMigration("v3-applied-tasks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE applied_task (
                        number INTEGER PRIMARY KEY AUTOINCREMENT,
                        trajectoryID TEXT NOT NULL UNIQUE,
                        success INTEGER,
                        reward REAL,
                        source TEXT NOT NULL,
                        line INTEGER,
                        appliedAt REAL NOT NULL);
                    UPDATE meta SET value = '3' WHERE key = 'schemaVersion';
                    """)
            try insertAppliedTasks(try legacyAppliedTasks(db), db, schemaVersion: 3)
        }
        // v4: `applied_task.policy` and `.build`, the update's policy and build policy, which a resume must repeat
        // (finding 206). Records written before hold neither, and admit a resume of any.
        migrator.registerMigration("v4-applied-task-method") { db in
            try db.execute(
                sql: """
                    ALTER TABLE applied_task ADD COLUMN policy TEXT;
                    ALTER TABLE applied_task ADD COLUMN build TEXT;
                    UPDATE meta SET value = '4' WHERE key = 'schemaVersion';
                    """)
        }
        return migrator
    }

    /// The records that a store of schema 2 implies (``ProceduralMemory/AppliedTask/legacySource``).
    ///
    /// One per stored trajectory, in storage order, with its outcome, then one per failure that a feedback row
    /// names and no trajectory holds (``ProceduralMemory/AppliedTask/legacyFailure(of:)``), in history order.
    /// Version 3's migration records them; a store of schema 2 opened read-only (the source of a copy) reads them
    /// as its records.
    static func legacyAppliedTasks(_ db: Database) throws -> [AppliedTask] {
        var records: [AppliedTask] = []
        var recorded = Set<String>()
        for row in try Row.fetchAll(db, sql: "SELECT id, success, reward, createdAt FROM trajectory ORDER BY number") {
            let id: String = row["id"]
            recorded.insert(id)
            records.append(
                AppliedTask(
                    trajectoryID: id, outcome: outcome(of: row), source: AppliedTask.legacySource, line: nil,
                    date: Date(timeIntervalSince1970: row["createdAt"])))
        }
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM history WHERE action = 'feedback' ORDER BY number")
        while let row = try cursor.next() {
            guard let failure = AppliedTask.legacyFailure(of: try historyEntry(from: row)),
                recorded.insert(failure.trajectoryID).inserted
            else { continue }
            records.append(failure)
        }
        return records
    }

    /// Inserts records of applied tasks, in order; none of them is recorded yet.
    ///
    /// - Parameter schemaVersion: The schema of the table written: before version 4 it has no columns of the
    ///   update's method (a version 3 migration writes records that have none).
    static func insertAppliedTasks(
        _ tasks: [AppliedTask], _ db: Database, schemaVersion: Int = SQLiteBackend.schemaVersion
    ) throws {
        let withMethod = schemaVersion >= 4
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO applied_task (trajectoryID, success, reward, source, line, appliedAt\(withMethod ? ", policy, build" : ""))
                VALUES (?, ?, ?, ?, ?, ?\(withMethod ? ", ?, ?" : ""))
                """)
        for task in tasks {
            var arguments: StatementArguments = [
                task.trajectoryID, task.outcome?.success, task.outcome?.reward, task.source, task.line,
                task.date.timeIntervalSince1970,
            ]
            if withMethod { arguments += [task.method?.policy.rawValue, task.method?.build.rawValue] }
            try statement.execute(arguments: arguments)
        }
    }
}
