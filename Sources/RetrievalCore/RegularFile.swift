import Foundation

/// Why a file that must be a regular file was not read.
package enum FileProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing is at the path.
    case missing
    /// The path names something else (`kind`: "a directory", "a FIFO", "a socket", "a device").
    case notARegularFile(kind: String)
    /// The file holds more bytes than the reader takes.
    case tooLarge(bytes: Int, limit: Int)
    /// The system refused to open, measure or read it (permission denied, an I/O error), in its words.
    case system(reason: String)

    package var description: String {
        switch self {
        case .missing: "is missing"
        case .notARegularFile(let kind): "is \(kind), not a regular file"
        case .tooLarge(let bytes, let limit): "is \(bytes) bytes, more than the \(limit) it may hold"
        case .system(let reason): "can't be read: \(reason)"
        }
    }
}

/// Opening files that must be regular files, refusing anything else without waiting on it.
///
/// Opening a FIFO to read waits for a writer, forever when none comes, and a device such as `/dev/zero` never ends;
/// both have stood in for model, index, settings and token files in hostile runs. The file is opened non-blocking
/// (reads of a regular file ignore the flag) and its type checked on the open descriptor, so that a file swapped
/// between a check and the open is caught too.
package enum RegularFile {
    /// The most ``contents(of:limit:)`` reads of a settings, token, descriptor or manifest file: such files hold a
    /// few hundred bytes.
    package static let settingsLimit = 1 << 20

    /// Opens the regular file at `path` for reading; the caller closes the descriptor.
    ///
    /// - Throws: ``FileProblem``: `missing`, `notARegularFile`, or `system` with the system's reason.
    package static func openForReading(_ path: String) throws(FileProblem) -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw errno == ENOENT ? .missing : .system(reason: systemErrorText())
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = systemErrorText()
            close(descriptor)
            throw .system(reason: reason)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .notARegularFile(kind: kind(of: status.st_mode))
        }
        return (descriptor, Int(status.st_size))
    }

    /// What a file of this `stat` mode is, in words: "a file", "a directory", "a FIFO", "a socket" or "a device".
    package static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "a device"
        }
    }

    /// The size of the regular file at `path`, read on its open descriptor without reading the file.
    ///
    /// - Throws: ``FileProblem``, as ``openForReading(_:)``.
    package static func size(of path: String) throws(FileProblem) -> Int {
        let (descriptor, size) = try openForReading(path)
        close(descriptor)
        return size
    }

    /// The whole of the regular file at `path`, which may hold at most `limit` bytes.
    ///
    /// For settings, token and manifest files: small by nature, but not to be trusted to be. A larger file is
    /// refused before any of it is read.
    ///
    /// - Throws: ``FileProblem``; `tooLarge` also when the file grew past `limit` while it was read.
    package static func contents(of path: String, limit: Int) throws(FileProblem) -> Data {
        let (descriptor, size) = try openForReading(path)
        defer { close(descriptor) }
        guard size <= limit else { throw .tooLarge(bytes: size, limit: limit) }
        // Reads stop one byte past the limit, which tells a file that grew while it was read from one that ends there.
        var data = Data(capacity: size)
        let chunkBytes = 64 * 1024
        while data.count <= limit {
            let room = limit - data.count  // not `limit + 1 - …`, which overflows for a limit of Int.max
            guard let chunk = readBytes(from: descriptor, upTo: room < chunkBytes ? room + 1 : chunkBytes) else {
                throw .system(reason: systemErrorText())
            }
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        guard data.count <= limit else {
            var status = stat()
            let grown = fstat(descriptor, &status) == 0 ? Int(status.st_size) : data.count
            throw .tooLarge(bytes: max(grown, data.count), limit: limit)
        }
        return data
    }
}

/// The next bytes of `descriptor`, at most `count` of them, from one read(2) (made again when a signal interrupts
/// it): empty at the end of the input, `nil` when the read fails (`errno` says why).
package func readBytes(from descriptor: Int32, upTo count: Int) -> Data? {
    var bytes = Data(count: count)
    while true {
        let read = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, count) }
        if read >= 0 { return bytes.prefix(read) }
        guard errno == EINTR else { return nil }
    }
}

/// The system's words for a failed file operation of Foundation (`Data.write`, `FileHandle`, `FileManager`): the
/// text of the `errno` underneath ("Permission denied", "No space left on device"), the same words the library's
/// own system calls report, or Foundation's description when there is none.
package func systemErrorText(of error: any Error) -> String {
    // The underlying error is an NSError from FileManager, a POSIXError from Data.write: `as NSError` takes both.
    guard let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error,
        (underlying as NSError).domain == NSPOSIXErrorDomain
    else { return error.localizedDescription }
    return String(cString: strerror(Int32((underlying as NSError).code)))
}
