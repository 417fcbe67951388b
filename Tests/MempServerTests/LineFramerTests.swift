import Foundation
import Testing

@testable import MempServer

@Suite struct LineFramerTests {
    @Test func messagesSplitAcrossChunksAreJoinedAndEmptyLinesSkipped() {
        var framer = LineFramer(maximumBytes: 16)
        #expect(framer.append(Data("{\"a\"".utf8)) == [])
        #expect(framer.append(Data(":1}\n\n{}\n{\"b".utf8)) == [.line(Data("{\"a\":1}".utf8)), .line(Data("{}".utf8))])
        #expect(framer.append(Data("\":2}".utf8)) == [])
        #expect(framer.finish() == [.line(Data("{\"b\":2}".utf8))])
        #expect(framer.finish() == [])
    }

    @Test func aLineOverTheLimitIsDroppedAndCountedAndTheNextOneKept() {
        var framer = LineFramer(maximumBytes: 8)
        // Exactly the limit passes; one byte more does not.
        #expect(
            framer.append(Data("12345678\n123456789\n".utf8)) == [.line(Data("12345678".utf8)), .tooLong(bytes: 9)])
        // An over-long line arriving in pieces is dropped as it comes, then counted whole.
        #expect(framer.append(Data("aaaaaa".utf8)) == [])
        #expect(framer.append(Data("aaaaaa".utf8)) == [])
        #expect(framer.append(Data(String(repeating: "a", count: 100).utf8)) == [])
        #expect(framer.append(Data("a\n{}\n".utf8)) == [.tooLong(bytes: 113), .line(Data("{}".utf8))])
        // One that the input ends inside.
        #expect(framer.append(Data(String(repeating: "b", count: 20).utf8)) == [])
        #expect(framer.finish() == [.tooLong(bytes: 20)])
    }
}
