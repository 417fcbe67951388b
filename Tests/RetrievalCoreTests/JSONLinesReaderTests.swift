import Foundation
import TestSupport
import Testing

@testable import RetrievalCore

@Suite struct JSONLinesReaderTests {
    @Test func yieldsNonBlankLinesWithTheirNumbers() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("lines.jsonl")
        try Data("{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}".utf8).write(to: URL(fileURLWithPath: path))
        let lines = JSONLinesReader(path: path).map { ($0.number, String(decoding: $0.data, as: UTF8.self)) }
        #expect(lines.map(\.0) == [1, 4, 5])
        #expect(lines.map(\.1) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }

    @Test func bytesInMemoryReadAsTheSameFileWould() throws {
        let bytes = Data("{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}".utf8)
        let reader = JSONLinesReader(data: bytes, name: "body")
        try reader.checkReadable()
        #expect(reader.path == "body")
        let lines = reader.map { ($0.number, String(decoding: $0.data, as: UTF8.self)) }
        #expect(lines.map(\.0) == [1, 4, 5])
        #expect(lines.map(\.1) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(Array(JSONLinesReader(data: Data(), name: "empty")).isEmpty)
    }

    @Test func directoryIsRefusedBeforeAnyRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let reader = JSONLinesReader(path: directory.path)
        #expect(reader.unreadableReason == "is a directory, not a JSON Lines file")
        #expect(throws: IndexError.io(path: directory.path, reason: "is a directory, not a JSON Lines file")) {
            try reader.checkReadable()
        }
    }

    // A million short lines, from a file and from memory: cutting each line off the front of the buffer made this
    // quadratic (it never finished); cutting by an offset reads it at once.
    @Test func millionsOfShortLinesAreReadInOnePass() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("blank.jsonl")
        let bytes = Data(repeating: UInt8(ascii: "\n"), count: 1 << 20) + Data("{\"a\":1}\n\n".utf8)
        try bytes.write(to: URL(fileURLWithPath: path))
        for reader in [JSONLinesReader(path: path), JSONLinesReader(data: bytes, name: "body")] {
            let lines = Array(reader)
            #expect(lines.map(\.number) == [(1 << 20) + 1])
            #expect(lines.map { String(decoding: $0.data, as: UTF8.self) } == ["{\"a\":1}"])
        }
    }

    /// A file that can't be opened or read ends with a line that says why.
    ///
    /// Hostile run 17: a file that could not be opened (a process out of file descriptors) read as empty, so `memp
    /// import` imported nothing and exited 0; a failed read ended the process (Foundation's block read traps).
    @Test func aFileThatCantBeOpenedOrReadEndsWithALineSayingWhy() {
        #expect(
            Array(JSONLinesReader(path: "/nonexistent/x.jsonl")) == [
                JSONLinesReader.Line(
                    number: 1, data: Data(), length: 0, unreadable: "can't be opened: No such file or directory")
            ])
        // Reading this process's memory from address 0, which is not mapped, fails with EIO.
        #expect(
            Array(JSONLinesReader(path: "/proc/self/mem")) == [
                JSONLinesReader.Line(
                    number: 1, data: Data(), length: 0, unreadable: "can't be read: Input/output error")
            ])
    }

    @Test func missingFileIsReported() {
        #expect(
            throws: IndexError.io(path: "/nonexistent/x.jsonl", reason: "the file does not exist or is not readable")
        ) {
            try JSONLinesReader(path: "/nonexistent/x.jsonl").checkReadable()
        }
    }

    // The splitter under the reader, fed as a pipe feeds it: any cut of the input gives the same lines.
    @Test func linesCutAcrossPiecesAreJoinedAndBlankOnesSkipped() {
        var splitter = JSONLinesReader.Splitter(maximumLineBytes: 16)
        #expect(splitter.append(Data("{\"a\"".utf8)) == [])
        #expect(
            splitter.append(Data(":1}\r".utf8)) == [])
        #expect(
            splitter.append(Data("\n\n \t\r\n{}\n{\"b".utf8))
                == [
                    JSONLinesReader.Line(number: 1, data: Data("{\"a\":1}".utf8), length: 7),
                    JSONLinesReader.Line(number: 4, data: Data("{}".utf8), length: 2),
                ])
        #expect(splitter.append(Data("\":2}".utf8)) == [])
        #expect(splitter.finish() == JSONLinesReader.Line(number: 5, data: Data("{\"b\":2}".utf8), length: 7))
        #expect(splitter.finish() == nil)
    }

    @Test func aLineOverTheLimitIsLetGoCountedAndTheNextOneKept() {
        var splitter = JSONLinesReader.Splitter(maximumLineBytes: 8)
        // Exactly the limit passes, also with a carriage return after it; one byte more does not.
        #expect(
            splitter.append(Data("12345678\n12345678\r\n123456789\n".utf8)) == [
                JSONLinesReader.Line(number: 1, data: Data("12345678".utf8), length: 8),
                JSONLinesReader.Line(number: 2, data: Data("12345678".utf8), length: 8),
                JSONLinesReader.Line(number: 3, data: Data(), length: 9),
            ])
        // An over-long line arriving in pieces is let go as it comes, then counted whole, without its carriage
        // return.
        #expect(splitter.append(Data("aaaaaa".utf8)) == [])
        #expect(splitter.append(Data("aaaaaa".utf8)) == [])
        #expect(splitter.append(Data(String(repeating: "a", count: 100).utf8)) == [])
        #expect(
            splitter.append(Data("a\r\n{}\n".utf8)) == [
                JSONLinesReader.Line(number: 4, data: Data(), length: 113),
                JSONLinesReader.Line(number: 5, data: Data("{}".utf8), length: 2),
            ])
        // A blank line over the limit is still reported: its bytes were read.
        #expect(
            splitter.append(Data(String(repeating: " ", count: 9).utf8) + Data("\n".utf8)) == [
                JSONLinesReader.Line(number: 6, data: Data(), length: 9)
            ])
        // One that the input ends inside.
        #expect(splitter.append(Data(String(repeating: "b", count: 20).utf8)) == [])
        #expect(splitter.finish() == JSONLinesReader.Line(number: 7, data: Data(), length: 20))
    }

    // A file read through the reader gives what the splitter gives for the same bytes in any pieces: blocks of a
    // megabyte cut lines anywhere.
    @Test func aFileOfLongLinesReadsAsItsBytesSplitAtEveryNewline() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("long.jsonl")
        let long = Data(repeating: UInt8(ascii: "x"), count: 3 << 19)
        let bytes = Data("{}\n".utf8) + long + Data("\r\n\n".utf8) + long + long + Data("\n[1]".utf8)
        try bytes.write(to: URL(fileURLWithPath: path))
        let limit = 2 << 20
        let expected = [
            JSONLinesReader.Line(number: 1, data: Data("{}".utf8), length: 2),
            JSONLinesReader.Line(number: 2, data: long, length: long.count),
            JSONLinesReader.Line(number: 4, data: Data(), length: 2 * long.count),
            JSONLinesReader.Line(number: 5, data: Data("[1]".utf8), length: 3),
        ]
        #expect(Array(JSONLinesReader(path: path, maximumLineBytes: limit)) == expected)
        #expect(Array(JSONLinesReader(data: bytes, name: "body", maximumLineBytes: limit)) == expected)
    }
}
