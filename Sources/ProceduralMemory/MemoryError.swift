import RetrievalCore

/// An error from the procedural memory store: bad input records, the database, the index caches, the embedder.
///
/// Messages name files, lines, fields, IDs and counts, never trajectory or task text.
public enum MemoryError: Error, Equatable, Sendable {
    /// A record of an input file is malformed: `field` is the JSON path of the offending value (`steps[2].action`).
    case invalidRecord(path: String, line: Int, field: String, reason: String)
    /// A trajectory with this ID is already stored and the import was told to refuse duplicates.
    case duplicateTrajectory(id: String, path: String, line: Int)
    /// A text of an input record is longer than the store's ``TextLimits`` allow: `field` is its JSON path
    /// (`steps[2].observation`, or `(line)` for a whole line), `bytes` its UTF-8 size.
    case textTooLarge(path: String, line: Int, field: String, bytes: Int, limit: Int)
    /// A resumed update was given a task the store has applied already, with another outcome than the one stored:
    /// it is not the update that was interrupted.
    case appliedWithOtherOutcome(id: String, path: String, line: Int)
    /// An update was given a task that an update has applied already (its uses are counted), without being told
    /// to resume: applied again, its uses would be counted twice.
    case alreadyApplied(id: String, path: String, line: Int)
    /// A resumed update was given a task that an update applied with another policy, or building memories another
    /// way, than this one: it is not the update that was interrupted, and the tasks of one file would be applied
    /// two ways.
    case resumedWithOtherMethod(
        id: String, path: String, line: Int, appliedPolicy: UpdatePolicy, appliedBuild: BuildPolicy,
        policy: UpdatePolicy, build: BuildPolicy)
    /// A trajectory ID appears on two lines of one input file or batch (an import told to refuse duplicates, or an
    /// update, which takes each trajectory once).
    case repeatedTrajectory(id: String, path: String, line: Int, firstLine: Int)
    /// An import stopped at an error after `committedTrajectories` trajectories had been committed in earlier
    /// batches; those stay stored.
    indirect case importStopped(committedTrajectories: Int, cause: MemoryError)
    /// No memory or trajectory has this ID.
    case unknownID(String)
    /// A memory was asked for by `id`, which names a stored trajectory instead: one an update kept without a memory
    /// of its own (a failed attempt), or one merged into another memory. `memoryIDs` are the memories that hold it
    /// as a source (sorted; empty when none does).
    case notAMemory(trajectoryID: String, memoryIDs: [String])
    /// The store was created with another embedder, whose vectors can't be compared with this one's.
    case embedderMismatch(store: String, given: String)
    /// A store was to record `configured` (the model identifier, and dimension when known, of an embedder
    /// configuration) as how to rebuild an embedder that is `embedder`.
    case configurationMismatch(configured: String, embedder: String)
    /// The directory (or the schema of the `postgres://` URL) at `path` holds no memory store.
    case notAStore(path: String)
    /// The store's database file at `path` is empty (0 bytes), with no write-ahead log beside it.
    case emptyDatabaseFile(path: String)
    /// The store's database file at `path` does not start with SQLite's header.
    case notSQLiteDatabase(path: String)
    /// The store's database file at `path` is a SQLite database without a store's settings (embedder, dimension).
    case databaseWithoutStoreSettings(path: String)
    /// A memory of a bundle is already stored under its ID and the import was told to refuse duplicates.
    case duplicateMemory(id: String, bundle: String)
    /// The directory already holds a memory store.
    case storeExists(path: String)
    /// A copy's destination was created for another embedder than the source's vectors come from.
    case copyEmbedderMismatch(destination: String, destinationEmbedder: String, sourceEmbedder: String)
    /// The store is a copy of `source` that did not finish: a migration into it was stopped or failed its check.
    case incompleteCopy(source: String)
    /// A SQLite store was to be created in `url`, which names a PostgreSQL database, not a directory.
    case databaseURLAsDirectory(url: String)
    /// The store at `location` lives on `backend` (`PostgreSQL`), which this build was compiled without.
    case backendNotBuilt(backend: String, location: String)
    /// A parameter is out of range: `name` is the parameter, `value` what was given, `expected` the accepted
    /// values (`at least 1`, `within 0...1`), as in ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)``.
    case invalidParameter(name: String, value: Double, expected: String)
    /// `option`, a setting of ``RetrievalOptions``, has no effect with `policy`, so the lookup was refused.
    case optionNotApplicable(option: String, policy: RetrievalPolicy)
    /// The backend doesn't run `policy` in its database (it isn't one of its database policies); a
    /// ``MemoryStore`` searches its in-process indexes for it instead.
    case policyNotInDatabase(RetrievalPolicy)
    /// A record of this kind and ID is already stored, and the write doesn't replace; nothing was written.
    case alreadyStored(RecordKind, id: String)
    /// A record's ID appears twice in one batch, where each may appear once; nothing was written.
    case repeatedInBatch(RecordKind, id: String)
    /// Memory `memoryID` names source trajectory `trajectoryID`, which is neither stored nor written with it.
    case missingSourceTrajectory(memoryID: String, trajectoryID: String)
    /// Trajectory `id` breaks a rule on `field` (a JSON path: `task`, `steps`); `rule` is the rule
    /// (`must not be empty`).
    case invalidTrajectory(id: String, field: String, rule: String)
    /// Feedback for memory `memoryID` counts `successes` in `hits` uses, outside
    /// 0 ≤ successes ≤ hits ≤ 2⁴⁸ (the largest count a memory keeps).
    case invalidFeedback(memoryID: String, hits: Int, successes: Int)
    /// A vector holds NaN or an infinity at `position`; `field` names it: `taskVector` or `keywordVector` of
    /// memory `memoryID`, or `query` (`memoryID` is then `nil`).
    case nonFiniteVector(memoryID: String?, field: String, position: Int)
    /// Memory `memoryID`'s task vector is all zeros: it has no cosine direction, so the memory could be neither
    /// indexed nor ranked; nothing was written.
    case vectorWithoutDirection(memoryID: String)
    /// `what` could not be encoded (as JSON); `reason` is the encoder's message.
    case encodingFailed(what: String, reason: String)
    /// A PostgreSQL store's URL is unusable; `problem` says which part. Messages never repeat the URL, which may
    /// hold a password.
    case invalidDatabaseURL(DatabaseURLProblem)
    /// The environment variable `name`, which should hold the database password, is not set.
    case passwordVariableUnset(name: String)
    /// The store at `location` doesn't record the embedder it was created with, so it opens only with an
    /// embedder given.
    case storeWithoutEmbedder(location: String)
    /// The database (SQLite or PostgreSQL) failed; `reason` is its message (never the statement's arguments).
    case database(reason: String)
    /// The database refused a write as beyond a limit of its own (PostgreSQL's SQLSTATE class 54: an index entry or
    /// a text search vector too large); `reason` is its message. Nothing of the write was stored. Records within
    /// the limits every store shares (IDs and sources of 1 KiB, a task with its keywords of 128 KiB), which
    /// ``TextLimits`` checks, don't reach these limits.
    case recordTooLarge(reason: String)
    /// The database can't be reached, or stopped answering: the server refused or dropped the connection, is
    /// shutting down or starting up, or didn't answer in time; `reason` says which. The operation may succeed when
    /// it is retried once the server is back; writes committed before stay.
    case databaseUnavailable(reason: String)
    /// The calling task was cancelled while the operation waited on the database (`reason`). Its transaction was
    /// rolled back, so nothing of it is stored; a cancellation that came while a transaction that wrote was
    /// committing is ``commitUnconfirmed(reason:)`` instead.
    case cancelled(reason: String)
    /// The connection to the database failed (`reason`) while a transaction that wrote was committing, so whether
    /// it was committed is not known: look before retrying, or the write may be applied twice.
    case commitUnconfirmed(reason: String)
    /// The database at `path` found no space for a write: the transaction that needed it stored nothing, and what
    /// was committed before stays.
    ///
    /// The disk holding the database may be full, or the one holding its temporary files: SQLite reports both as
    /// `SQLITE_FULL`, with no detail of which file it was writing, so the error can't name one.
    case storageFull(path: String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// An index operation failed.
    case index(IndexError)
    /// The embedder failed; `reason` is its message.
    case embedding(reason: String)
    /// The store's remote embedding server (`url`) failed or answered something unusable (`reason`): neither the
    /// store's fault nor the caller's, and what needed the embeddings wrote nothing.
    case embeddingServer(url: String, reason: String)
    /// A script writer failed to write a script for a trajectory.
    case scriptWriter(name: String, trajectoryID: String, reason: String)
    /// A memory changed since it was read: its revision is `actual`, the change expected `expected`
    /// (`nil`: expected no such memory).
    case revisionConflict(id: String, expected: Int?, actual: Int?)
    /// Feedback would raise a memory's counter (`hitCount` or `successCount`) from `current` past
    /// `limit` (2⁴⁸, the largest count a memory keeps); nothing was written.
    case counterLimit(id: String, counter: String, current: Int, limit: Int)
    /// The task to look up is empty or holds only spaces and invisible characters (zero-width spaces, controls),
    /// which every tokenizer drops, so no policy but random can rank memories for it.
    case emptyTask
    /// The task to look up is `bytes` UTF-8 bytes long, over the lookup limit `limit` (1 MiB).
    case lookupTaskTooLarge(bytes: Int, limit: Int)
    /// The database refused the text search of the task to look up as beyond a limit of its own (PostgreSQL:
    /// tens of thousands of words exceed its stack depth); `reason` is its message. Nothing was looked up.
    case lookupTaskTooLargeForDatabase(reason: String)
    /// The embedder `embedder` gives the task to look up an all-zero vector (the task holds no word it knows, such
    /// as only punctuation for a hashing embedder), which has no cosine direction to rank memories by.
    case taskWithoutDirection(embedder: String)
    /// A history entry can't be reverted; `reason` says why.
    case cannotRevert(entry: Int64, reason: String)
    /// The store's record of fusion choices changed while a choice was being recorded: it has `actualEntries`
    /// entries where `expectedEntries` were read; nothing was written.
    case tuningConflict(expectedEntries: Int, actualEntries: Int)
    /// No fusion choice is in effect, so there is none to revert: lookups use the default fusion.
    case nothingToRevert
    /// A memory bundle was refused before anything was imported: tampered, unsafe or malformed; `reason` says
    /// which file and what.
    case bundleRefused(path: String, reason: String)
    /// A language model server failed, or its answer was unusable; `reason` never holds the API key or the
    /// prompt.
    case languageModel(url: String, reason: String)
}

extension MemoryError {
    /// The refusal of a store a later build upgraded.
    ///
    /// `store` (its location as messages name it) has schema `version`, past the `known` one this build reads and
    /// writes. Every backend refuses such a store when it is opened, before reading or writing anything else.
    package static func laterSchema(store: String, version: Int, known: Int) -> MemoryError {
        .database(
            reason: "\(store): the store has schema version \(version), newer than the version \(known) this build "
                + "reads and writes; open it with a build as recent as the one that upgraded it")
    }

    /// The kind of record an error is about.
    public enum RecordKind: String, Sendable, CaseIterable {
        /// A memory.
        case memory
        /// A trajectory.
        case trajectory
        /// An entry of the store's history, identified by its number.
        case historyEntry = "history entry"
    }

    /// What is wrong with a PostgreSQL URL (`postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=…]`).
    public enum DatabaseURLProblem: Equatable, Sendable {
        /// The text is not a URL whose scheme is `postgres` or `postgresql`; `scheme` is the one found, if any.
        case notPostgres(scheme: String?)
        /// The URL holds a password, which would be stored and printed with it.
        case containsPassword
        /// The URL names no host.
        case missingHost
        /// The URL's port is outside 1…65535.
        case invalidPort(Int)
        /// The URL names no user.
        case missingUser
        /// The URL names no database, or a path of several parts.
        case missingDatabase
        /// The URL has a query parameter other than `schema=NAME` and `sslmode=disable|require`.
        case unsupportedParameter(name: String)
        /// The schema name is not 1–63 lower-case letters, digits or underscores starting with a letter or `_`.
        case invalidSchema(name: String)
        /// Another part of the URL is wrong (`part`: "port", "host", "user", "database", "parameter sslmode", …),
        /// for `reason`.
        case invalidPart(part: String, reason: String)
    }
}

extension MemoryError.RecordKind {
    /// The kind as a message starts a sentence with it.
    var capitalized: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

extension MemoryError.DatabaseURLProblem: CustomStringConvertible {
    /// What is wrong with the URL and how to write it.
    public var description: String {
        let shape = "write it as postgres://USER@HOST[:PORT]/DATABASE"
        return switch self {
        case .notPostgres(let scheme):
            "The PostgreSQL URL's scheme must be postgres or postgresql (found \(scheme ?? "none")); \(shape)."
        case .containsPassword:
            "The PostgreSQL URL holds a password, which would be stored and printed with it; remove it from the URL "
                + "and give it through an environment variable or a password file."
        case .missingHost: "The PostgreSQL URL names no host; \(shape)."
        case .invalidPort(let port): "The PostgreSQL URL's port \(port) is outside 1–65535; \(shape)."
        case .missingUser: "The PostgreSQL URL names no user; \(shape)."
        case .missingDatabase: "The PostgreSQL URL names no database (or a path of several parts); \(shape)."
        case .unsupportedParameter(let name):
            "The PostgreSQL URL has an unsupported parameter \(name); the parameters are schema=NAME and "
                + "sslmode=disable|require."
        case .invalidSchema(let name):
            "The schema name \(name) must be 1–63 lower-case letters, digits or underscores, not starting with a "
                + "digit; choose another."
        case .invalidPart(let part, let reason):
            "The PostgreSQL URL's \(part) \(reason); \(shape)[?schema=NAME&sslmode=disable|require]."
        }
    }
}

extension MemoryError: CustomStringConvertible {
    /// What went wrong and, where there is one, what to do next.
    public var description: String {
        switch self {
        case .invalidRecord(let path, let line, let field, let reason):
            "\(path), line \(line), field \(field): \(reason). Fix this field of the line."
        case .duplicateTrajectory(let id, let path, let line):
            "\(path), line \(line): trajectory \(id) is already stored. "
                + "Give it a new ID, or delete the stored one first."
        case .appliedWithOtherOutcome(let id, let path, let line):
            "\(path), line \(line): trajectory \(id) was applied with another outcome than this line gives it. "
                + "Resume with the tasks the interrupted update was given: the outcome applied is counted already, "
                + "and deleting the trajectory would not take its counts back."
        case .alreadyApplied(let id, let path, let line):
            "\(path), line \(line): the task of trajectory \(id) was applied by an update already, and its uses are "
                + "counted. Give the attempt a new ID, or resume the update to apply only the tasks not applied."
        case .resumedWithOtherMethod(
            let id, let path, let line, let appliedPolicy, let appliedBuild, let policy, let build):
            "\(path), line \(line): the task of trajectory \(id) was applied by an update with policy "
                + "\(appliedPolicy.rawValue), building \(appliedBuild.rawValue) memories; this one has policy "
                + "\(policy.rawValue), building \(build.rawValue) memories. Resume with the policy and build the "
                + "interrupted update had, or leave out the tasks it applied."
        case .textTooLarge(let path, let line, let field, let bytes, let limit):
            "\(path), line \(line), field \(field): \(bytes) bytes, over the limit of \(limit) bytes. "
                + "Shorten the text, or raise the store's text limit if such texts are expected."
        case .repeatedTrajectory(let id, let path, let line, let firstLine):
            "\(path), line \(line): trajectory \(id) appeared already on line \(firstLine) of the same input. "
                + "Give each trajectory its own ID (an import can also skip or replace such repeats)."
        case .importStopped(let committed, let cause):
            "\(cause) (\(committed) trajectories from earlier batches were committed and stay stored.)"
        case .unknownID(let id):
            // Hostile run 22: an ID holding U+2028 was printed raw, breaking the line (finding 224).
            "No memory or trajectory has ID \(printableName(id))."
        case .notAMemory(let id, let memoryIDs) where memoryIDs.isEmpty:
            "\(id) is a stored trajectory, not a memory, and no memory holds it as a source; give a memory's ID."
        case .notAMemory(let id, let memoryIDs):
            "\(id) is a stored trajectory, not a memory; it is a source of "
                + (memoryIDs.count == 1 ? "memory " : "memories ") + memoryIDs.joined(separator: ", ")
                + ". Give a memory's ID."
        case .embedderMismatch(let store, let given):
            "The store holds vectors from \(store) but the embedder is \(given); open it with the same embedder."
        case .configurationMismatch(let configured, let embedder):
            "The embedder configuration describes \(configured), but the embedder is \(embedder): every later open "
                + "would rebuild the wrong one. Give the configuration of the same embedder, or none."
        case .notAStore(let path) where path.hasPrefix("postgres://") || path.hasPrefix("postgresql://"):
            "The PostgreSQL database at \(path) holds no memory store in the URL's schema (the database answered, "
                + "but the schema has no store's settings). Check the URL's database and schema, or create a store "
                + "there first."
        case .notAStore(let path):
            "\(path) is not a memory store: it holds neither a SQLite store nor a PostgreSQL store's descriptor. "
                + "Check the path, or create a store there first."
        case .emptyDatabaseFile(let path):
            "\(path) is an empty file (0 bytes), not a SQLite database: creating the store was interrupted, or the "
                + "file was truncated. If it held memories, restore it from a backup; otherwise delete it and create "
                + "the store again."
        case .notSQLiteDatabase(let path):
            "\(path) is not a SQLite database (it does not start with SQLite's header): it was overwritten or "
                + "damaged. Restore it from a backup, or move it away and create the store again."
        case .databaseWithoutStoreSettings(let path):
            "\(path) is a SQLite database without a memory store's settings (no embedder and dimension): creating "
                + "the store was interrupted, or the file is another program's. Move it away and create the store "
                + "again."
        case .duplicateMemory(let id, let bundle):
            "Memory \(id) of the bundle \(bundle) is already stored; nothing was imported. Skip the memories already "
                + "stored, replace them, or delete the stored one first."
        case .storeExists(let path):
            "\(path) already holds a memory store; open it instead, or choose another "
                + (path.contains("://") ? "database or schema." : "directory.")
        case .copyEmbedderMismatch(let destination, let destinationEmbedder, let sourceEmbedder):
            "\(destination) was created for the embedder \(destinationEmbedder), and the source's vectors come from "
                + "\(sourceEmbedder). Copy into a directory that holds no store, or into a store created with the "
                + "source's embedder."
        case .incompleteCopy(let source):
            "The store is an incomplete copy of \(source): a migration into it was stopped or failed its check, so "
                + "it holds part of its source at most. Remove it (its directory, or its PostgreSQL schema) and "
                + "migrate again."
        case .databaseURLAsDirectory(let url):
            "\(url) names a PostgreSQL database, not a directory: a SQLite store needs a directory, and a store in "
                + "PostgreSQL is created with the database's URL and a directory that keeps it."
        case .backendNotBuilt(let backend, let location):
            "The store at \(location) lives on \(backend), and this build has no \(backend) support; rebuild with "
                + "`swift build -c release --product memp --traits \(backend)`."
        case .invalidParameter(let name, let value, let expected):
            IndexError.invalidParameter(name: name, value: value, expected: expected).description
        case .optionNotApplicable(let option, let policy):
            "\(option) has no effect with the \(policy.rawValue) policy; leave it unset, or choose a policy that "
                + "uses it."
        case .policyNotInDatabase(let policy):
            "This backend doesn't run the \(policy.rawValue) policy in its database; look it up through a memory "
                + "store, which searches its in-process indexes for it."
        case .alreadyStored(let kind, let id):
            "\(kind.capitalized) \(id) is already stored; nothing was written. Replace it, or delete the stored one "
                + "first."
        case .repeatedInBatch(let kind, let id):
            "\(kind.capitalized) \(id) appears twice in one batch; nothing was written. Give it once."
        case .missingSourceTrajectory(let memoryID, let trajectoryID):
            "Memory \(memoryID) names source trajectory \(trajectoryID), which is not stored; nothing was written. "
                + "Store the trajectory first, or drop it from the memory's sources."
        case .invalidTrajectory(let id, let field, let rule):
            "Trajectory \(id), field \(field): \(rule); nothing was stored. Fix the trajectory and retry."
        case .invalidFeedback(let memoryID, let hits, let successes):
            "Feedback for memory \(memoryID) counts \(successes) successes in \(hits) uses; it needs "
                + "0 ≤ successes ≤ uses ≤ \(Memory.maximumCount). Correct the counts; nothing was recorded."
        case .nonFiniteVector(let memoryID, let field, let position):
            (memoryID.map { "Memory \($0)'s \(field)" } ?? "The \(field) vector")
                + " has a NaN or infinite component at position \(position); nothing was "
                + (memoryID == nil ? "searched" : "written") + ". Check the embedder's output."
        case .vectorWithoutDirection(let memoryID):
            "Memory \(memoryID)'s task vector is all zeros, so it has no cosine direction and could be neither "
                + "indexed nor ranked; nothing was written. Give the task words the store's embedder knows."
        case .encodingFailed(let what, let reason):
            "\(what) could not be encoded: \(reason)."
        case .invalidDatabaseURL(let problem):
            problem.description
        case .passwordVariableUnset(let name):
            "The environment variable \(name), which should hold the PostgreSQL password, is not set; set it, or "
                + "give the password in a file."
        case .storeWithoutEmbedder(let location):
            "The store at \(location) doesn't record the embedder it was created with; open it with that embedder "
                + "given."
        case .database(let reason):
            "Database: \(reason)"
        case .databaseUnavailable(let reason):
            "Database unavailable: \(reason); retry when it is back."
        case .cancelled(let reason):
            "Cancelled: \(reason). Nothing of the operation was stored."
        case .recordTooLarge(let reason):
            "The database can't hold a record of this write: \(reason). Nothing of the write was stored; shorten "
                + "the record's ID, source or keywords."
        case .commitUnconfirmed(let reason):
            "Database unavailable: \(reason) while the transaction was committing, so it may or may not have been "
                + "committed; once the database is back, look whether the change is there before retrying."
        case .storageFull(let path):
            "\(path): the database found no space for the write, so it stopped and stored nothing of its transaction. "
                + "The disk holding the database is full, or the one holding its temporary files; free space, or move "
                + "the store to a larger disk, then retry."
        case .io(let path, let reason):
            "\(path): \(reason)"
        case .index(let error):
            error.description
        case .embedding(let reason):
            "Embedding failed: \(reason)"
        case .embeddingServer(let url, let reason):
            "The store's embedding server \(url) failed: \(reason). Nothing was written for what needed it; retry once "
                + "the server answers."
        case .scriptWriter(let name, let trajectoryID, let reason):
            "Script writer \(name) failed on trajectory \(trajectoryID): \(reason)"
        case .revisionConflict(let id, let expected, let actual):
            "Memory \(id) changed meanwhile (revision \(actual.map(String.init) ?? "none"), expected "
                + "\(expected.map(String.init) ?? "none")); read it again and retry."
        case .counterLimit(let id, let counter, let current, let limit):
            "Memory \(id): \(counter) is \(current) and can't pass \(limit); nothing was recorded. "
                + "Its counters are implausible: verify the store and fix the memory."
        case .emptyTask:
            "The task to look up is empty (or holds only spaces and invisible characters); give the task's text."
        case .lookupTaskTooLargeForDatabase(let reason):
            "The task to look up has more words than the database's text search takes in one query: \(reason). "
                + "Nothing was looked up; give the task's description, not a whole transcript, or look it up on the "
                + "store's in-process indexes."
        case .lookupTaskTooLarge(let bytes, let limit):
            "The task to look up is \(bytes) bytes; a lookup takes at most \(limit). Give the task's description, "
                + "not a whole transcript."
        case .taskWithoutDirection(let embedder):
            "The embedder \(embedder) gives the task to look up an all-zero vector (it holds no word the embedder "
                + "knows), so memories can't be ranked by cosine; give the task in words, or look it up with BM25."
        case .cannotRevert(let entry, let reason):
            "History entry \(entry) can't be reverted: \(reason)"
        case .tuningConflict(let expected, let actual):
            "The store's fusion choices changed meanwhile (\(actual) entries, \(expected) read); nothing was recorded. "
                + "Look at them again and retry."
        case .nothingToRevert:
            "No fusion choice is in effect, so there is nothing to revert: lookups use the default fusion."
        case .languageModel(let url, let reason):
            "Language model \(url): \(reason)"
        case .bundleRefused(let path, let reason):
            "The bundle \(path) was refused, nothing was imported: "
                + "\(reason.hasSuffix(".") ? String(reason.dropLast()) : reason). Export it again from its store."
        }
    }
}
