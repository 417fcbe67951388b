import Foundation
import ProceduralMemory
import RetrievalCore

// A create builds the database under a temporary name and links it into place (`SQLiteStore.create`); a create that
// is killed leaves that file behind. Creates hold the store directory's creation lock shared while their temporary
// exists, and the system releases a process's lock however the process ends, so a temporary is left over exactly
// when the lock can be taken exclusively: only then are temporaries removed (by the next create) or reported (by
// verify).

extension SQLiteStore {
    /// The start of the names of the temporary databases creates make (`memp.sqlite.tmp-PID-UUID`, with SQLite's
    /// `-wal`, `-shm` and `-journal` files beside them).
    static let temporaryPrefix = databaseFileName + ".tmp-"

    /// A new temporary database path in `directory`, for one create.
    ///
    /// The name is ``temporaryPrefix``, the process ID and a UUID. The process ID keeps the names of two processes
    /// apart when the UUID's randomness fails: a process out of file descriptors got
    /// `00000000-0000-4000-8000-000000000000` (hostile run 18).
    static func temporaryDatabasePath(in directory: String) -> String {
        // Ten digits, whatever the ID: the name's length is checked against SQLite's limit before it is made.
        directory + "/" + temporaryPrefix + String(repeating: "0", count: 10 - "\(getpid())".count) + "\(getpid())-"
            + UUID().uuidString
    }

    /// Whether `name` is one of a create's temporary database files.
    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(temporaryPrefix) }

    /// The temporary database files in `directory` (names, sorted), whether or not a create is using them.
    static func temporaryFiles(in directory: String) -> [String] {
        DirectoryLock.temporaryFiles(in: directory, isTemporary)
    }

    /// The temporary database files in `directory` that creates stopped before removing them: none while a create
    /// is running there, because its own temporary can't be told from those.
    static func leftoverTemporaryFiles(in directory: String) -> [String] {
        DirectoryLock.leftoverFiles(in: directory, isTemporary)
    }

    /// Takes `directory`'s creation lock for a create, first removing the temporary databases that creates stopped
    /// before removing them, when no create is running there.
    ///
    /// - Returns: The lock, held shared, to release once the create's temporary is gone; `nil` when the directory
    ///   can't be opened for locking (nothing is removed then).
    static func lockForCreating(in directory: String) -> DirectoryLock? {
        DirectoryLock.forWriting(in: directory, isTemporary)
    }
}
