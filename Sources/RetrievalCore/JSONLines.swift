import Foundation

/// Reads a JSON Lines file one line at a time, with 1-based line numbers for error messages.
///
/// Blank lines are skipped. The file is read in blocks, so memory stays flat for any file size.
public struct JSONLinesReader: Sequence {
    /// One non-blank line and where it was.
    public struct Line: Sendable {
        /// 1-based line number in the file.
        public let number: Int
        /// The line's bytes, without the newline; empty when the line is longer than the reader's limit.
        public let data: Data
        /// The line's length in bytes, also when it is over the limit (and ``data`` is empty).
        public let length: Int
    }

    /// The file being read, or the name of the bytes being read.
    public let path: String
    /// The bytes to read instead of a file.
    private let data: Data?
    /// The longest line whose bytes are kept: a longer one is skipped as it is read, so that its length is
    /// known without holding it in memory.
    public let maximumLineBytes: Int

    /// Prepares to read `path`; the file is opened when iteration starts.
    public init(path: String, maximumLineBytes: Int = .max) {
        self.path = path
        self.maximumLineBytes = maximumLineBytes
        data = nil
    }

    /// Prepares to read `data` as a JSON Lines file called `name` in error messages.
    public init(data: Data, name: String, maximumLineBytes: Int = .max) {
        path = name
        self.maximumLineBytes = maximumLineBytes
        self.data = data
    }

    /// Why the file can't be read, or `nil` when it can (and always for bytes in memory).
    ///
    /// A directory opens like a file but fails its first read, which Foundation's block reads turn into a crash,
    /// so it is refused here.
    public var unreadableReason: String? {
        guard data == nil else { return nil }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "is a directory, not a JSON Lines file"
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            return "the file does not exist or is not readable"
        }
        return nil
    }

    /// Checks that the file can be opened and read as a file.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` with ``unreadableReason`` when the file does not exist, is not
    ///   readable or is a directory.
    public func checkReadable() throws(IndexError) {
        if let unreadableReason { throw IndexError.io(path: path, reason: unreadableReason) }
    }

    public func makeIterator() -> Iterator {
        if let data { return Iterator(data: data, maximumLineBytes: maximumLineBytes) }
        return Iterator(handle: FileHandle(forReadingAtPath: path), maximumLineBytes: maximumLineBytes)
    }

    /// Yields the file's non-blank lines in order.
    public struct Iterator: IteratorProtocol {
        private let handle: FileHandle?
        private let maximumLineBytes: Int
        private var buffer = Data()
        /// The index in `buffer` where the unread bytes start.
        private var consumed = 0
        /// How far past `consumed` the search for the next newline resumes: the bytes before it hold none.
        private var searched = 0
        /// Bytes of an over-long line already dropped from the buffer.
        private var dropped = 0
        private var lineNumber = 0
        private var finished = false

        init(handle: FileHandle?, maximumLineBytes: Int) {
            self.handle = handle
            self.maximumLineBytes = maximumLineBytes
            finished = handle == nil
        }

        init(data: Data, maximumLineBytes: Int) {
            handle = nil
            self.maximumLineBytes = maximumLineBytes
            buffer = data
            consumed = data.startIndex
            finished = true
        }

        private static func isBlank(_ bytes: Data) -> Bool {
            bytes.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 }
        }

        /// The line made of `bytes` (without its newline), after `dropped` bytes already skipped.
        private mutating func line(_ bytes: Data) -> Line? {
            lineNumber += 1
            var bytes = bytes
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            let length = dropped + bytes.count
            dropped = 0
            if length > maximumLineBytes { return Line(number: lineNumber, data: Data(), length: length) }
            if Self.isBlank(bytes) { return nil }
            return Line(number: lineNumber, data: Data(bytes), length: length)
        }

        public mutating func next() -> Line? {
            while true {
                if let newline = buffer[(consumed + searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                    let bytes = buffer[consumed..<newline]
                    // Lines are cut off by moving `consumed`, not by removing bytes from the front of the
                    // buffer: a removal per line moved the rest of the block each time, so a file of short
                    // lines took quadratic time (minutes for a few MB of blank lines).
                    consumed = newline + 1
                    searched = 0
                    if let line = line(bytes) { return line }
                    continue
                }
                searched = buffer.endIndex - consumed
                if finished {
                    guard consumed < buffer.endIndex || dropped > 0 else { return nil }
                    let bytes = buffer[consumed...]
                    consumed = buffer.endIndex
                    searched = 0
                    return line(bytes)
                }
                buffer.removeSubrange(..<consumed)  // once per block read
                consumed = buffer.startIndex
                if buffer.count > maximumLineBytes {
                    // Over the limit already: keep counting its bytes, not holding them.
                    dropped += buffer.count
                    buffer = Data()
                    consumed = 0
                    searched = 0
                }
                let block = handle?.readData(ofLength: 1 << 20) ?? Data()
                if block.isEmpty { finished = true } else { buffer.append(block) }
            }
        }
    }
}
