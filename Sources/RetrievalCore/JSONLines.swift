import Foundation

/// Reads a JSON Lines file one line at a time, with 1-based line numbers for error messages.
///
/// Blank lines are skipped. The file is read in blocks, so memory stays flat for any file size.
public struct JSONLinesReader: Sequence {
    /// One non-blank line and where it was.
    public struct Line: Sendable, Equatable {
        /// 1-based line number in the file.
        public let number: Int
        /// The line's bytes, without the newline; empty when the line is longer than the reader's limit.
        public let data: Data
        /// The line's length in bytes, also when it is over the limit (and ``data`` is empty).
        public let length: Int
        /// Why the file could not be read from this line on (it could not be opened, or a read failed), or `nil`
        /// for a line read; such a line holds no bytes and is the last the reader yields.
        public var unreadable: String? = nil
    }

    /// The longest line the readers of document, query and embedding input files keep by default, in bytes.
    ///
    /// A longer line is skipped as it is read and reported with its length, so that a file of one huge line can't
    /// fill memory. 4 MiB holds a text of a million characters or a vector of over 100,000 numbers.
    public static let standardMaximumLineBytes = 4 << 20

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
        if let problem = pathProblem(path) { return problem }
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
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return Iterator(failure: "can't be opened: " + systemErrorText(), maximumLineBytes: 0)
        }
        return Iterator(file: OpenFile(descriptor), maximumLineBytes: maximumLineBytes)
    }

    /// Yields the file's non-blank lines in order.
    public struct Iterator: IteratorProtocol {
        /// How many bytes are read at a time.
        private static let blockBytes = 1 << 20
        private let file: OpenFile?
        /// The bytes read instead of a file, and where the next block of them starts.
        private let data: Data
        private var offset: Int
        private var splitter: Splitter
        /// Lines the last block ended, not yet yielded.
        private var ready = [Line]().makeIterator()
        private var finished = false
        /// Why the file can't be read on, yielded as the last line.
        private var failure: String?

        init(file: OpenFile, maximumLineBytes: Int) {
            self.file = file
            data = Data()
            offset = 0
            splitter = Splitter(maximumLineBytes: maximumLineBytes)
        }

        init(failure: String, maximumLineBytes: Int) {
            file = nil
            data = Data()
            offset = 0
            splitter = Splitter(maximumLineBytes: maximumLineBytes)
            self.failure = failure
        }

        init(data: Data, maximumLineBytes: Int) {
            file = nil
            self.data = data
            offset = data.startIndex
            splitter = Splitter(maximumLineBytes: maximumLineBytes)
        }

        /// The next block of input; empty at its end, `nil` when a read fails (``failure`` says why).
        private mutating func nextBlock() -> Data? {
            if let file {
                guard let block = readBytes(from: file.descriptor, upTo: Self.blockBytes) else {
                    failure = "can't be read: " + systemErrorText()
                    return nil
                }
                return block
            }
            let end = Swift.min(data.endIndex, offset + Self.blockBytes)
            defer { offset = end }
            return data[offset..<end]
        }

        public mutating func next() -> Line? {
            while true {
                if let line = ready.next() { return line }
                if let failure {
                    self.failure = nil
                    finished = true
                    return Line(number: splitter.linesEnded + 1, data: Data(), length: 0, unreadable: failure)
                }
                guard !finished else { return nil }
                guard let block = nextBlock() else { continue }
                if block.isEmpty {
                    finished = true
                    ready = (splitter.finish().map { [$0] } ?? []).makeIterator()
                } else {
                    ready = splitter.append(block).makeIterator()
                }
            }
        }
    }

    /// A file open for reading, closed when the last iterator over it goes.
    final class OpenFile {
        let descriptor: Int32

        init(_ descriptor: Int32) { self.descriptor = descriptor }

        deinit { close(descriptor) }
    }

    /// Splits bytes that arrive in pieces (a pipe, a socket, blocks of a file) into the reader's lines, however
    /// the pieces are cut.
    ///
    /// Each byte is looked at once, so many short lines or one huge line cost time linear in their length. A line
    /// longer than ``maximumLineBytes`` is let go as it arrives, so memory stays flat for any input; its length is
    /// still counted. Lines are numbered from 1, blank ones included; a blank line (spaces, tabs, a carriage
    /// return) within the limit is skipped. A carriage return before the newline is not part of the line.
    public struct Splitter: Sendable {
        /// The longest line whose bytes are kept.
        public let maximumLineBytes: Int
        /// The start of the line not yet ended by a newline.
        private var pending = Data()
        /// Bytes of an over-long line already let go.
        private var dropped = 0
        /// Whether the last byte let go was a carriage return, which is not counted if the newline follows.
        private var droppedCarriageReturn = false
        private var lineNumber = 0
        /// How many lines have ended so far, blank ones included.
        var linesEnded: Int { lineNumber }

        /// A splitter that keeps the bytes of lines of at most `maximumLineBytes` bytes.
        public init(maximumLineBytes: Int = .max) {
            self.maximumLineBytes = maximumLineBytes
        }

        /// The lines that `chunk` ends, in order.
        public mutating func append(_ chunk: Data) -> [Line] {
            var lines: [Line] = []
            var rest = chunk[...]
            while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
                if let line = end(with: rest[..<newline]) { lines.append(line) }
                rest = rest[rest.index(after: newline)...]
            }
            keep(rest)
            return lines
        }

        /// The last line, when the input ended without a newline after it.
        public mutating func finish() -> Line? {
            guard dropped > 0 || !pending.isEmpty else { return nil }
            return end(with: Data()[...])
        }

        /// Holds `piece`, the start of a line, or counts it once the line is over the limit (plus one byte, for a
        /// carriage return that may end it).
        private mutating func keep(_ piece: Data.SubSequence) {
            guard !piece.isEmpty else { return }
            if dropped == 0 {
                pending.append(contentsOf: piece)
                guard pending.count - 1 > maximumLineBytes else { return }
                dropped = pending.count
                droppedCarriageReturn = pending.last == UInt8(ascii: "\r")
                pending = Data()
            } else {
                dropped += piece.count
                droppedCarriageReturn = piece.last == UInt8(ascii: "\r")
            }
        }

        /// The line that `piece` ends, or `nil` when it is blank.
        private mutating func end(with piece: Data.SubSequence) -> Line? {
            lineNumber += 1
            if dropped == 0 && pending.isEmpty {
                return line(piece)
            }
            keep(piece)
            defer {
                pending = Data()
                dropped = 0
            }
            guard dropped > 0 else { return line(pending[...]) }
            return Line(number: lineNumber, data: Data(), length: dropped - (droppedCarriageReturn ? 1 : 0))
        }

        private func line(_ piece: Data.SubSequence) -> Line? {
            var bytes = piece
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            if bytes.count > maximumLineBytes { return Line(number: lineNumber, data: Data(), length: bytes.count) }
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return nil }
            return Line(number: lineNumber, data: Data(bytes), length: bytes.count)
        }
    }
}
