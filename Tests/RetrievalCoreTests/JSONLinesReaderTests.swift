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

    @Test func missingFileIsReported() {
        #expect(
            throws: IndexError.io(path: "/nonexistent/x.jsonl", reason: "the file does not exist or is not readable")
        ) {
            try JSONLinesReader(path: "/nonexistent/x.jsonl").checkReadable()
        }
    }
}
