import Foundation

/// Reads a JSON Lines file one line at a time, with 1-based line numbers for error messages.
///
/// Blank lines are skipped. The file is read in blocks, so memory stays flat for any file size. A reader can also
/// walk bytes already in memory (a request body), named for error messages as a file would be.
public struct JSONLinesReader: Sequence {
    /// One non-blank line and where it was.
    public struct Line: Sendable {
        /// 1-based line number in the file.
        public let number: Int
        /// The line's bytes, without the newline.
        public let data: Data
    }

    /// The file being read, or the name of the bytes being read.
    public let path: String
    /// The bytes to read instead of a file.
    private let data: Data?

    /// Prepares to read `path`; the file is opened when iteration starts.
    public init(path: String) {
        self.path = path
        data = nil
    }

    /// Prepares to read `data` as a JSON Lines file called `name` in error messages.
    public init(data: Data, name: String) {
        path = name
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
        if let data { return Iterator(data: data) }
        return Iterator(handle: FileHandle(forReadingAtPath: path))
    }

    /// Yields the file's non-blank lines in order.
    public struct Iterator: IteratorProtocol {
        private let handle: FileHandle?
        private var buffer = Data()
        private var lineNumber = 0
        private var finished = false

        init(handle: FileHandle?) {
            self.handle = handle
            finished = handle == nil
        }

        init(data: Data) {
            handle = nil
            buffer = data
            finished = true
        }

        public mutating func next() -> Line? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = buffer[buffer.startIndex..<newline]
                    buffer.removeSubrange(buffer.startIndex...newline)
                    lineNumber += 1
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    return Line(number: lineNumber, data: Data(line))
                }
                if finished {
                    guard !buffer.isEmpty else { return nil }
                    let line = buffer
                    buffer = Data()
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return nil }
                    return Line(number: lineNumber, data: line)
                }
                let block = handle?.readData(ofLength: 1 << 20) ?? Data()
                if block.isEmpty { finished = true } else { buffer.append(block) }
            }
        }
    }
}
