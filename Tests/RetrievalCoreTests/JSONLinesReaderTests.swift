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

    @Test func missingFileIsReported() {
        #expect(
            throws: IndexError.io(path: "/nonexistent/x.jsonl", reason: "the file does not exist or is not readable")
        ) {
            try JSONLinesReader(path: "/nonexistent/x.jsonl").checkReadable()
        }
    }
}
