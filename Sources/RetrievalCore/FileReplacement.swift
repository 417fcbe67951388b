import Foundation

/// Why a finished file could not take its place, in the system's words (callers name the path).
package struct FileReplacementError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    package let reason: String

    /// An error for `reason`.
    package init(reason: String) { self.reason = reason }

    package var description: String { reason }
}

/// Where a file written atomically goes, and how it gets there.
///
/// Writers build the whole file beside its destination and rename it over the destination, so that an interrupted
/// write leaves the previous file intact. A rename replaces whatever is at the path, though: a symbolic link would
/// become a regular file, and a device or a pipe (`--output /dev/null`, a FIFO) would be replaced by a regular file,
/// which for a process running as root is `/dev/null` itself, for the whole machine. So:
/// - the destination of a symbolic link is the file it points to, made when it does not exist yet (the link stays a
///   link, as the shell's `>` leaves it); a link in a loop leads to no file and is refused, and so is one another
///   user planted in a sticky, world-writable directory (the kernel's `protected_symlinks` rule);
/// - a destination that exists and is neither a regular file nor a directory (a character or block device, a FIFO,
///   a socket) is written into: the temporary file lives in the system's temporary directory, and its bytes are
///   copied into the destination instead of being renamed over it.
package enum FileReplacement {
    /// The path to build beside and replace: `path`, or the file a symbolic link at `path` resolves to, also when
    /// that file does not exist yet; the link itself for one in a loop or one not followed (``isProtectedLink(_:_:)``),
    /// which ``commit(_:to:)`` refuses.
    package static func destination(for path: String) -> String {
        var current = path
        // Followed one link at a time, as open(2) does, up to Linux's limit of 40 links (MAXSYMLINKS): Foundation's
        // resolvingSymlinksInPath() leaves a link to a missing file, or in a loop, as it is, and a rename then
        // replaced the link with a regular file.
        for _ in 0..<40 {
            var info = stat()
            // The path as joined, not standardized, whether its file exists or not: the kernel resolves the rest,
            // and a target's `..` from the directory the link is really in, which dropping `alias/..` as text would
            // not (a link reached through a linked directory).
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            // Followed here, not by open(2): the kernel's rule for links others planted in /tmp is applied here too.
            guard !isProtectedLink(current, info) else { return current }
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return path }
            let next =
                target.hasPrefix("/")
                ? target : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
            // A link whose text names no file but that leads to a device, FIFO or socket is one of /proc's:
            // /dev/stdout's /proc/self/fd/1 names a pipe "pipe:[…]", no path to follow as text, and is written into
            // through itself, as open(2) follows it. Every other link is followed here, so that each one on the way
            // meets the rule above (a link to a special file followed by open(2) skipped it for the links after it).
            var nextInfo = stat()
            if lstat(next, &nextInfo) != 0, isSpecialFile(current) { return current }
            current = next
        }
        return path
    }

    /// Refuses a path no file can be written at (``pathProblem(_:)``).
    ///
    /// That is one holding a NUL, which the system would cut there and so write another file. Every writer calls it
    /// before it makes anything.
    ///
    /// - Throws: ``FileReplacementError`` saying what is wrong with the path.
    package static func checkPath(_ path: String) throws(FileReplacementError) {
        if let problem = pathProblem(path) { throw FileReplacementError(reason: problem) }
    }

    /// Whether the symbolic link at `path` (`info` from `lstat`) is one Linux's `protected_symlinks` rule forbids
    /// this process to follow.
    ///
    /// Such a link is in a sticky, world-writable directory (such as /tmp) and owned neither by this process's user
    /// nor by the directory's owner. Followed, a link another user planted there would have this process (root, say,
    /// writing `--report /tmp/r.json`) create or replace the file it names.
    private static func isProtectedLink(_ path: String, _ info: stat) -> Bool {
        var directory = stat()
        guard stat(URL(fileURLWithPath: path).deletingLastPathComponent().path, &directory) == 0 else { return false }
        let stickyAndWorldWritable = directory.st_mode & S_ISVTX != 0 && directory.st_mode & S_IWOTH != 0
        return stickyAndWorldWritable && info.st_uid != geteuid() && info.st_uid != directory.st_uid
    }

    /// Refuses a `destination` (from ``destination(for:)``) that is still a symbolic link a rename would replace.
    ///
    /// That is one another user planted in a sticky directory, or one in a loop; a link to a special file is
    /// written into, not renamed over, and passes.
    private static func refuseUnfollowedLink(_ destination: String) throws(FileReplacementError) {
        var info = stat()
        guard lstat(destination, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return }
        if isProtectedLink(destination, info) {
            throw FileReplacementError(
                reason: "it is a symbolic link another user owns in a sticky, world-writable directory, which is not "
                    + "followed (as the system's protected_symlinks rule has it); write to a path of your own")
        }
        guard !isSpecialFile(destination) else { return }
        throw FileReplacementError(reason: "it is a symbolic link in a loop, which leads to no file")
    }

    /// Whether `path` exists and is something a rename must not replace: neither a regular file nor a directory.
    package static func isSpecialFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }

    /// A fresh name for the temporary file of `destination` (from ``destination(for:)``): hidden beside it, or in
    /// the system's temporary directory when it is a special file (whose directory, such as `/dev`, may not be
    /// writable).
    package static func temporaryPath(for destination: String) -> String {
        temporaryDirectory(for: destination) + "/" + temporaryPrefix(for: destination)
            + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The directory the temporary files of `destination` are made in.
    private static func temporaryDirectory(for destination: String) -> String {
        isSpecialFile(destination)
            ? systemTemporaryDirectory() : URL(fileURLWithPath: destination).deletingLastPathComponent().path
    }

    /// The first of `TMPDIR`, /var/tmp and /tmp that is a directory this process can make files in, as SQLite
    /// chooses its own; `TMPDIR` (or /tmp) when none is, for the error to name.
    ///
    /// A `TMPDIR` naming a missing or read-only directory made every write into a device or pipe (`--output
    /// /dev/null`, `/dev/stdout`) fail as "/dev/null: No such file or directory" (hostile run 13).
    package static func systemTemporaryDirectory() -> String {
        let variable = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 }
        let candidates = [variable, "/var/tmp", "/tmp"].compactMap { $0 }
        let usable = candidates.first { directory in
            var info = stat()
            return stat(directory, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
                && access(directory, W_OK | X_OK) == 0
        }
        return usable ?? candidates[0]
    }

    /// What the names of `destination`'s temporary files start with: `.NAME.tmp-`, then the writer's process ID,
    /// `-` and a random number.
    private static func temporaryPrefix(for destination: String) -> String {
        "." + URL(fileURLWithPath: destination).lastPathComponent + ".tmp-"
    }

    /// Whether `name` is one of `destination`'s temporary files (``temporaryPath(for:)``).
    private static func isTemporary(_ name: String, of destination: String) -> Bool {
        let prefix = temporaryPrefix(for: destination)
        guard name.hasPrefix(prefix) else { return false }
        let numbers = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        return numbers.count == 2 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil }
    }

    /// The lock a writer holds while the temporary file of `destination` exists (``DirectoryLock``, on the
    /// directory it is made in); when no other writer holds it, the temporary files of `destination` left by writers
    /// that were killed (SIGKILL, SIGXFSZ past `ulimit -f`, a power cut) are removed first.
    ///
    /// A writer stopped before it renamed its temporary left `.NAME.tmp-PID-N` beside its destination, as large as
    /// what it had written, which nothing removed (hostile run 13).
    ///
    /// - Returns: The lock, to release once the temporary is renamed or removed; `nil` when the directory can't be
    ///   opened for locking.
    package static func lockTemporaries(of destination: String) -> DirectoryLock? {
        DirectoryLock.forWriting(in: temporaryDirectory(for: destination)) { isTemporary($0, of: destination) }
    }

    /// Puts the finished `temporary` file in place of `destination` (from ``destination(for:)``).
    ///
    /// It is a rename, or for a special file a copy of its bytes into it. `temporary` is gone afterwards, unless the
    /// rename failed.
    ///
    /// - Throws: ``FileReplacementError`` with the system's reason, or when `destination` is a symbolic link in a
    ///   loop; a regular file at `destination` is then untouched.
    package static func commit(_ temporary: String, to destination: String) throws(FileReplacementError) {
        try refuseUnfollowedLink(destination)
        guard isSpecialFile(destination) else {
            guard rename(temporary, destination) == 0 else { throw FileReplacementError(reason: systemErrorText()) }
            return
        }
        defer { unlink(temporary) }
        guard let source = FileHandle(forReadingAtPath: temporary) else {
            throw FileReplacementError(reason: "can't read back the temporary file \(temporary)")
        }
        defer { try? source.close() }
        guard let target = FileHandle(forWritingAtPath: destination) else {
            throw FileReplacementError(reason: "can't open it for writing (\(systemErrorText()))")
        }
        defer { try? target.close() }
        do {
            while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty {
                try target.write(contentsOf: chunk)
            }
        } catch {
            throw FileReplacementError(reason: systemErrorText(of: error))
        }
    }

    /// Writes `data` to `path` as the writers above do: beside the destination and renamed over it, or into a
    /// special file.
    ///
    /// - Throws: ``FileReplacementError`` with the system's reason, or for a path holding a NUL; a regular file at
    ///   `path` is then untouched.
    package static func write(_ data: Data, to path: String) throws(FileReplacementError) {
        let started = try begin(path)
        defer { started.lock?.release() }
        let handle = FileHandle(fileDescriptor: started.descriptor, closeOnDealloc: true)
        do { try handle.write(contentsOf: data) } catch {
            unlink(started.temporary)
            throw FileReplacementError(reason: systemErrorText(of: error))
        }
        try? handle.close()
        do { try commit(started.temporary, to: started.destination) } catch {
            unlink(started.temporary)
            throw error
        }
    }

    /// A replacement begun by ``begin(_:)``: its temporary file, open for writing, and where it goes.
    package struct Started: Sendable {
        /// The path to put the finished file in place of (``destination(for:)``), for ``commit(_:to:)``.
        package let destination: String
        /// The temporary file (``temporaryPath(for:)``).
        package let temporary: String
        /// The temporary file's descriptor, open for writing; the caller closes it.
        package let descriptor: Int32
        /// Held while the temporary file exists (``lockTemporaries(of:)``); the caller releases it when done.
        package let lock: DirectoryLock?
    }

    /// Begins replacing `path`, as every writer does: checks the path (``checkPath(_:)``), finds the destination,
    /// takes the lock on its temporaries, and creates the temporary file, open for writing.
    ///
    /// - Throws: ``FileReplacementError`` for a path holding a NUL, or naming the directory the temporary file could
    ///   not be made in; the lock is then released.
    package static func begin(_ path: String) throws(FileReplacementError) -> Started {
        try checkPath(path)
        let destination = destination(for: path)
        let lock = lockTemporaries(of: destination)
        do throws(FileReplacementError) {
            let (temporary, descriptor) = try createTemporary(for: destination)
            return Started(destination: destination, temporary: temporary, descriptor: descriptor, lock: lock)
        } catch {
            lock?.release()
            throw error
        }
    }

    /// Checks that ``write(_:to:)`` could put a file at `path` now, by creating and removing the temporary file it
    /// would write: for a writer that works long before it writes (an evaluation, then its report).
    ///
    /// - Throws: ``FileReplacementError`` when `path` is a directory, a symbolic link in a loop, holds a NUL, or no
    ///   file can be made where it would be.
    package static func checkWritable(_ path: String) throws(FileReplacementError) {
        try checkPath(path)
        let destination = destination(for: path)
        try refuseUnfollowedLink(destination)
        var info = stat()
        if stat(destination, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw FileReplacementError(reason: "it is a directory")
        }
        let (temporary, descriptor) = try createTemporary(for: destination)
        close(descriptor)
        unlink(temporary)
    }

    /// Creates the temporary file of `destination` (``temporaryPath(for:)``), open for writing.
    ///
    /// - Throws: ``FileReplacementError`` naming the directory it could not be made in (the system's "No such file
    ///   or directory" alone read as if the destination were missing).
    private static func createTemporary(for destination: String) throws(FileReplacementError)
        -> (path: String, descriptor: Int32)
    {
        let temporary = temporaryPath(for: destination)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let directory = URL(fileURLWithPath: temporary).deletingLastPathComponent().path
            throw FileReplacementError(reason: "can't create a file in \(directory): \(systemErrorText())")
        }
        return (temporary, descriptor)
    }
}
