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
    /// - Throws: ``DirectoryCreationError`` naming the ancestor that exists as a file, or the system's reason
    ///   (permission denied, read-only file system, …) rather than Foundation's numbered error.
    package func createDirectories(atPath path: String) throws(DirectoryCreationError) {
        var ancestor = URL(fileURLWithPath: path).standardizedFileURL
        while ancestor.path != "/" {
            var isDirectory: ObjCBool = false
            if fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw DirectoryCreationError(reason: "\(ancestor.path) is a file, not a directory")
                }
                break
            }
            ancestor.deleteLastPathComponent()
        }
        do { try createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            let reason =
                if let underlying, underlying.domain == NSPOSIXErrorDomain {
                    String(cString: strerror(Int32(underlying.code)))
                } else { error.localizedDescription }
            throw DirectoryCreationError(reason: reason)
        }
    }
}
