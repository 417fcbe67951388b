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

    /// Checks that the file can be opened.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` when it cannot.
    public func checkReadable() throws(IndexError) {
        guard data == nil else { return }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw IndexError.io(path: path, reason: "the file does not exist or is not readable")
        }
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
        /// Where the search for the next newline resumes: the bytes before it hold none.
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
                let start = buffer.startIndex + searched
                if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let bytes = buffer[buffer.startIndex..<newline]
                    buffer.removeSubrange(buffer.startIndex...newline)
                    searched = 0
                    if let line = line(bytes) { return line }
                    continue
                }
                searched = buffer.count
                if finished {
                    guard !buffer.isEmpty || dropped > 0 else { return nil }
                    let bytes = buffer
                    buffer = Data()
                    searched = 0
                    return line(bytes)
                }
                if buffer.count > maximumLineBytes {
                    // Over the limit already: keep counting its bytes, not holding them.
                    dropped += buffer.count
                    buffer = Data()
                    searched = 0
                }
                let block = handle?.readData(ofLength: 1 << 20) ?? Data()
                if block.isEmpty { finished = true } else { buffer.append(block) }
            }
        }
    }
}
