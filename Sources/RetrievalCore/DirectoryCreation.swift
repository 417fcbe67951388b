import Foundation

/// Why a directory could not be created, in words: the ancestor that is a file, or the system's reason.
package struct DirectoryCreationError: Error, CustomStringConvertible {
    /// What went wrong, without the path asked for (callers name it).
    package let reason: String

    package var description: String { reason }
}

extension FileManager {
    /// Creates the directory at `path` and its missing parents; an existing directory is fine.
    ///
    /// - Throws: ``DirectoryCreationError`` for a path holding a NUL (``pathProblem(_:)``: the system would cut it
    ///   and make another directory), naming the ancestor that exists as a file, or the system's reason
    ///   (permission denied, read-only file system, …) rather than Foundation's numbered error.
    package func createDirectories(atPath path: String) throws(DirectoryCreationError) {
        if let problem = pathProblem(path) { throw DirectoryCreationError(reason: problem) }
        var ancestor = URL(fileURLWithPath: path).standardizedFileURL
        while ancestor.path != "/" {
            // lstat sees a symbolic link itself; stat then says whether it leads to a directory, to nothing, or
            // round in a loop (which mkdir would report as "File exists").
            var entry = stat()
            if lstat(ancestor.path, &entry) == 0 {
                var target = stat()
                guard stat(ancestor.path, &target) == 0 else {
                    throw DirectoryCreationError(reason: Self.unreachableLinkReason(ancestor.path, errno: errno))
                }
                guard target.st_mode & S_IFMT == S_IFDIR else {
                    // A FIFO was "a file" (hostile run 8).
                    throw DirectoryCreationError(
                        reason: "\(ancestor.path) is \(RegularFile.kind(of: target.st_mode)), not a directory")
                }
                break
            }
            ancestor.deleteLastPathComponent()
        }
        do { try createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw DirectoryCreationError(reason: systemErrorText(of: error))
        }
    }

    /// Why the symbolic link at `path` leads to no directory, from `stat`'s `errno`.
    private static func unreachableLinkReason(_ path: String, errno code: Int32) -> String {
        let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
        switch code {
        case ELOOP:
            return "\(path) is a symbolic link in a loop (it points to \(destination), which leads back round to it); "
                + "remove it, or point it at a directory"
        case ENOENT:
            return "\(path) is a symbolic link to \(destination), which does not exist; create that directory, or "
                + "remove the link"
        default:
            return "\(path) is a symbolic link to \(destination), which can't be reached: "
                + String(cString: strerror(code))
        }
    }
}
