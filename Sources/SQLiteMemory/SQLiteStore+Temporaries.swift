import Foundation
import ProceduralMemory

// A create builds the database under a temporary name and links it into place (`SQLiteStore.create`); a create that
// is killed leaves that file behind. Creates hold the store directory's creation lock shared while their temporary
// exists, and the system releases a process's lock however the process ends, so a temporary is left over exactly
// when the lock can be taken exclusively: only then are temporaries removed (by the next create) or reported (by
// verify).

extension SQLiteStore {
    /// The start of the names of the temporary databases creates make (`memp.sqlite.tmp-UUID`, with SQLite's
    /// `-wal`, `-shm` and `-journal` files beside them).
    static let temporaryPrefix = databaseFileName + ".tmp-"

    /// The temporary database files in `directory` (names, sorted), whether or not a create is using them.
    static func temporaryFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(temporaryPrefix) }.sorted()
    }

    /// The temporary database files in `directory` that creates stopped before removing them: none while a create
    /// is running there, because its own temporary can't be told from those.
    static func leftoverTemporaryFiles(in directory: String) -> [String] {
        guard let lock = CreationLock(directory: directory) else { return [] }
        defer { lock.release() }
        guard lock.lockExclusivelyIfFree() else { return [] }
        return temporaryFiles(in: directory)
    }

    /// Takes `directory`'s creation lock for a create, first removing the temporary databases that creates stopped
    /// before removing them, when no create is running there.
    ///
    /// - Returns: The lock, held shared, to release once the create's temporary is gone; `nil` when the directory
    ///   can't be opened for locking (nothing is removed then).
    static func lockForCreating(in directory: String) -> CreationLock? {
        guard let lock = CreationLock(directory: directory) else { return nil }
        if lock.lockExclusivelyIfFree() {
            for name in temporaryFiles(in: directory) { unlink(directory + "/" + name) }
        }
        lock.lockShared()
        return lock
    }
}

/// An advisory lock (`flock(2)`) on a store directory: shared among the creates that have a temporary database in
/// it, exclusive for removing or reporting temporaries no create holds.
struct CreationLock {
    private let descriptor: Int32

    /// Opens `directory` for locking, without taking the lock; `nil` when it can't be opened.
    init?(directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    /// Takes the lock exclusively if no one holds it, without waiting; whether it did.
    func lockExclusivelyIfFree() -> Bool { flock(descriptor, LOCK_EX | LOCK_NB) == 0 }

    /// Takes the lock shared (also from exclusive), waiting while someone holds it exclusively, which lasts only
    /// as long as removing or listing files.
    func lockShared() {
        while flock(descriptor, LOCK_SH) != 0, errno == EINTR {}
    }

    /// Releases the lock and closes the directory.
    func release() { close(descriptor) }
}
