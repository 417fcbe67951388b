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
    /// (`steps[2].observation`, or `(record)` for a whole line), `bytes` its UTF-8 size.
    case textTooLarge(path: String, line: Int, field: String, bytes: Int, limit: Int)
    /// A trajectory ID appears on two lines of one input file (and the import was told to refuse duplicates).
    case repeatedTrajectory(id: String, path: String, line: Int, firstLine: Int)
    /// An import stopped at an error after `committedTrajectories` trajectories had been committed in earlier
    /// batches; those stay stored.
    indirect case importStopped(committedTrajectories: Int, cause: MemoryError)
    /// No memory or trajectory has this ID.
    case unknownID(String)
    /// The store was created with another embedder, whose vectors can't be compared with this one's.
    case embedderMismatch(store: String, given: String)
    /// The directory holds no memory store.
    case notAStore(path: String)
    /// A memory of a bundle is already stored under its ID and the import was told to refuse duplicates.
    case duplicateMemory(id: String, bundle: String)
    /// The directory already holds a memory store.
    case storeExists(path: String)
    /// The store at `location` lives on `backend` (`PostgreSQL`), which this build was compiled without.
    case backendNotBuilt(backend: String, location: String)
    /// An argument is outside what the operation accepts; `reason` says which and why.
    case invalidArgument(String)
    /// The database (SQLite or PostgreSQL) failed; `reason` is its message (never the statement's arguments).
    case database(reason: String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// An index operation failed.
    case index(IndexError)
    /// The embedder failed; `reason` is its message.
    case embedding(reason: String)
    /// A script writer failed to write a script for a trajectory.
    case scriptWriter(name: String, trajectoryID: String, reason: String)
    /// A memory changed since it was read: its revision is `actual`, the change expected `expected`
    /// (`nil`: expected no such memory).
    case revisionConflict(id: String, expected: Int?, actual: Int?)
    /// Feedback would raise a memory's counter (`hitCount` or `successCount`) from `current` past
    /// ``Memory/maximumCount``; nothing was written.
    case counterLimit(id: String, counter: String, current: Int, limit: Int)
    /// The task to look up is empty or only whitespace, so no policy but random can rank memories for it.
    case emptyTask
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

extension MemoryError: CustomStringConvertible {
    /// What went wrong and, where there is one, what to do next.
    public var description: String {
        switch self {
        case .invalidRecord(let path, let line, let field, let reason):
            "\(path), line \(line), field \(field): \(reason). Fix the line; an import that skips invalid lines "
                + "imports the rest."
        case .duplicateTrajectory(let id, let path, let line):
            "\(path), line \(line): trajectory \(id) is already stored. "
                + "Give it a new ID, or delete the stored one first."
        case .textTooLarge(let path, let line, let field, let bytes, let limit):
            "\(path), line \(line), field \(field): \(bytes) bytes, over the limit of \(limit) bytes. "
                + "Shorten the text, or raise the store's text limit if such texts are expected."
        case .repeatedTrajectory(let id, let path, let line, let firstLine):
            "\(path), line \(line): trajectory \(id) appeared already on line \(firstLine) of the same file. "
                + "Give each trajectory its own ID, or choose to skip or replace duplicates."
        case .importStopped(let committed, let cause):
            "\(cause) (\(committed) trajectories from earlier batches were committed and stay stored.)"
        case .unknownID(let id):
            "No memory or trajectory has ID \(id)."
        case .embedderMismatch(let store, let given):
            "The store holds vectors from \(store) but the embedder is \(given); open it with the same embedder."
        case .notAStore(let path):
            "\(path) is not a memory store: it holds neither a SQLite store nor a PostgreSQL store's descriptor. "
                + "Check the path, or create a store there first."
        case .duplicateMemory(let id, let bundle):
            "Memory \(id) of the bundle \(bundle) is already stored; nothing was imported. Skip the memories already "
                + "stored, replace them, or delete the stored one first."
        case .storeExists(let path):
            "\(path) already holds a memory store; open it instead, or choose another directory."
        case .backendNotBuilt(let backend, let location):
            "The store at \(location) lives on \(backend), and this build has no \(backend) support; rebuild with "
                + "`swift build -c release --product memp --traits \(backend)`."
        case .invalidArgument(let reason):
            reason
        case .database(let reason):
            "Database: \(reason)"
        case .io(let path, let reason):
            "\(path): \(reason)"
        case .index(let error):
            error.description
        case .embedding(let reason):
            "Embedding failed: \(reason)"
        case .scriptWriter(let name, let trajectoryID, let reason):
            "Script writer \(name) failed on trajectory \(trajectoryID): \(reason)"
        case .revisionConflict(let id, let expected, let actual):
            "Memory \(id) changed meanwhile (revision \(actual.map(String.init) ?? "none"), expected "
                + "\(expected.map(String.init) ?? "none")); read it again and retry."
        case .counterLimit(let id, let counter, let current, let limit):
            "Memory \(id): \(counter) is \(current) and can't pass \(limit); nothing was recorded. "
                + "Its counters are implausible: check them with `memp verify` and fix the memory."
        case .emptyTask:
            "The task to look up is empty; give the task's text."
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
            "The bundle \(path) was refused, nothing was imported: \(reason). Export it again from its store."
        }
    }
}
