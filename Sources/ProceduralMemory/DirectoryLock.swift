import Foundation

/// An advisory lock (`flock(2)`) on a directory: shared among the writers that have temporary files in it (store
/// creates, index cache saves), exclusive for removing or reporting temporaries no writer holds. The system releases
/// a process's lock however the process ends, so a temporary is left over exactly when the lock can be taken
/// exclusively.
package struct DirectoryLock {
    private let descriptor: Int32

    /// Opens `directory` for locking, without taking the lock; `nil` when it can't be opened.
    package init?(directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    /// Takes the lock exclusively if no one holds it, without waiting; whether it did.
    package func lockExclusivelyIfFree() -> Bool { flock(descriptor, LOCK_EX | LOCK_NB) == 0 }

    /// Takes the lock shared (also from exclusive), waiting while someone holds it exclusively, which lasts only
    /// as long as removing or listing files.
    package func lockShared() {
        while flock(descriptor, LOCK_SH) != 0, errno == EINTR {}
    }

    /// Releases the lock and closes the directory.
    package func release() { close(descriptor) }
}
