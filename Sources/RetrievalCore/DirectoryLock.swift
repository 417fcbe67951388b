import Foundation

/// An advisory lock (`flock(2)`) on a directory that writers make temporary files in.
///
/// Writers (store creates, index cache saves, exports, files put in place by ``FileReplacement``) hold it shared
/// while their temporaries exist; it is taken exclusively to remove or report temporaries no writer holds. The system
/// releases a process's lock however the process ends, so a temporary is left over exactly when the lock can be
/// taken exclusively.
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

extension DirectoryLock {
    /// The files in `directory` whose names `isTemporary` accepts (sorted), whether or not a writer is using them.
    package static func temporaryFiles(in directory: String, _ isTemporary: (String) -> Bool) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(isTemporary).sorted()
    }

    /// The temporary files in `directory` that writers stopped before removing them: none while a writer is
    /// running there, because its own can't be told from those.
    package static func leftoverFiles(in directory: String, _ isTemporary: (String) -> Bool) -> [String] {
        guard let lock = DirectoryLock(directory: directory) else { return [] }
        defer { lock.release() }
        guard lock.lockExclusivelyIfFree() else { return [] }
        return temporaryFiles(in: directory, isTemporary)
    }

    /// The lock of a writer about to make temporary files in `directory`, held shared; first, when no writer holds
    /// it, the temporary files writers stopped before removing them are removed.
    ///
    /// - Parameters:
    ///   - directory: The directory the writer makes its temporaries in.
    ///   - isTemporary: Whether a file name there is one of the writer's kind of temporaries.
    ///   - remove: Removes a left-over temporary, given its path; the default unlinks a file.
    /// - Returns: The lock, to release once the writer's temporaries are gone; `nil` when the directory can't be
    ///   opened for locking (nothing is removed then).
    package static func forWriting(
        in directory: String, _ isTemporary: (String) -> Bool, removing remove: (String) -> Void = { _ = unlink($0) }
    ) -> DirectoryLock? {
        guard let lock = DirectoryLock(directory: directory) else { return nil }
        if lock.lockExclusivelyIfFree() {
            for name in temporaryFiles(in: directory, isTemporary) { remove(directory + "/" + name) }
        }
        lock.lockShared()
        return lock
    }
}
