import Foundation
import FuzzSupport
import RetrievalCore

/// A line as the splitter reports it.
struct SplitLine: Equatable {
    var number: Int
    var data: Data
    var length: Int

    init(number: Int, data: Data, length: Int) {
        self.number = number
        self.data = data
        self.length = length
    }

    init(_ line: JSONLinesReader.Line) {
        self.init(number: line.number, data: line.data, length: line.length)
    }
}

/// The lines `stream` holds, read by splitting it at every newline: the answer any chunking must give.
func expectedLines(_ stream: Data, maximumBytes: Int) -> [SplitLine] {
    var lines: [SplitLine] = []
    let pieces = stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    for (index, piece) in pieces.enumerated() {
        let bytes = piece.last == UInt8(ascii: "\r") ? piece.dropLast() : piece
        let blank = bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
        if bytes.count <= maximumBytes && blank { continue }
        let kept = bytes.count > maximumBytes ? Data() : Data(bytes)
        lines.append(SplitLine(number: index + 1, data: kept, length: bytes.count))
    }
    return lines
}

/// The lines a splitter gives for `stream` fed in chunks that end at `ends` (ascending offsets into `stream`).
///
/// `slices` passes each chunk as a slice of `stream` (indices not starting at 0) rather than a fresh `Data`.
func splitLines(_ stream: Data, maximumBytes: Int, ends: [Int], slices: Bool) -> [SplitLine] {
    var splitter = JSONLinesReader.Splitter(maximumLineBytes: maximumBytes)
    var lines: [JSONLinesReader.Line] = []
    var start = stream.startIndex
    for end in ends + [stream.endIndex] {
        let chunk = stream[start..<end]
        lines += splitter.append(slices ? chunk : Data(chunk))
        start = end
    }
    return (lines + (splitter.finish().map { [$0] } ?? [])).map(SplitLine.init)
}

/// One input = the input path of JSON Lines files and of MCP over stdio: a line limit, a chunking key and the
/// stream read.
///
/// The first byte sets the line limit (1–256 bytes), the second mixes into the chunk sizes, and the rest is the
/// stream. It is split whole, a byte at a time, and in chunks of 0–32 bytes (sizes drawn from the stream itself),
/// and each time must give the lines of splitting it at every newline: numbered in order, none holding a newline,
/// the bytes of a line within the limit kept and those of a longer one let go but counted, and the same lines
/// however the input was cut.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes, count >= 2 else { return 0 }
    let maximumBytes = 1 + Int(bytes[0])
    let key = bytes[1]
    let stream = Data(bytes: bytes + 2, count: count - 2)
    let expected = expectedLines(stream, maximumBytes: maximumBytes)

    var chunkEnds: [Int] = []
    var offset = 0
    var step: UInt8 = 0
    while offset < stream.count {
        // A size of 0 is an empty chunk; the step makes the next size differ, so the walk always moves on.
        offset = min(stream.count, offset + Int((stream[offset] ^ key) &+ step) % 33)
        step &+= 1
        chunkEnds.append(offset)
    }
    let splits: [(name: String, ends: [Int], slices: Bool)] = [
        ("whole", [], false),
        ("bytes", Array(0..<stream.count), false),
        ("chunks", chunkEnds, false),
        ("chunk slices", chunkEnds, true),
    ]
    let lineCount = stream.count(where: { $0 == UInt8(ascii: "\n") }) + 1
    for split in splits {
        let lines = splitLines(stream, maximumBytes: maximumBytes, ends: split.ends, slices: split.slices)
        for (line, next) in zip(lines, lines.dropFirst()) {
            fuzzCheck(line.number < next.number, "\(split.name): line \(next.number) after line \(line.number)")
        }
        for line in lines {
            fuzzCheck(line.number >= 1 && line.number <= lineCount, "\(split.name): line number \(line.number)")
            fuzzCheck(!line.data.contains(UInt8(ascii: "\n")), "\(split.name): line \(line.number) holds a newline")
            if line.length <= maximumBytes {
                fuzzCheck(line.data.count == line.length, "\(split.name): line \(line.number) lost bytes")
            } else {
                fuzzCheck(line.data.isEmpty, "\(split.name): line \(line.number) over the limit kept its bytes")
            }
        }
        fuzzCheck(
            lines == expected, "\(split.name): \(lines.count) lines, splitting at newlines gives \(expected.count)")
    }
    return 0
}

@_cdecl("FuzzLineSplitter_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
