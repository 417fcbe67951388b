import Foundation
import FuzzSupport

/// The items `stream` holds, read by splitting it at every newline: the answer any chunking must give.
func expectedItems(_ stream: Data, maximumBytes: Int) -> [LineFramer.Item] {
    stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map {
        $0.count > maximumBytes ? .tooLong(bytes: $0.count) : .line(Data($0))
    }
}

/// The items a framer gives for `stream` fed in chunks that end at `ends` (ascending offsets into `stream`).
///
/// `slices` passes each chunk as a slice of `stream` (indices not starting at 0) rather than a fresh `Data`.
func framedItems(_ stream: Data, maximumBytes: Int, ends: [Int], slices: Bool) -> [LineFramer.Item] {
    var framer = LineFramer(maximumBytes: maximumBytes)
    var items: [LineFramer.Item] = []
    var start = stream.startIndex
    for end in ends + [stream.endIndex] {
        let chunk = stream[start..<end]
        items += framer.append(slices ? chunk : Data(chunk))
        start = end
    }
    return items + framer.finish()
}

/// One input = the MCP stdio input path's framing: a message limit, a chunking key and the stream read from stdin.
///
/// The first byte sets the message limit (1–256 bytes), the second mixes into the chunk sizes, and the rest is the
/// stream. It is framed whole, a byte at a time, and in chunks of 0–32 bytes (sizes drawn from the stream itself),
/// and each time must give the items of splitting it at every newline: every byte accounted for as a line, a dropped
/// message or a newline, no line over the limit, and the same items however the input was split.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes, count >= 2 else { return 0 }
    let maximumBytes = 1 + Int(bytes[0])
    let key = bytes[1]
    let stream = Data(bytes: bytes + 2, count: count - 2)
    let expected = expectedItems(stream, maximumBytes: maximumBytes)

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
    for split in splits {
        let items = framedItems(stream, maximumBytes: maximumBytes, ends: split.ends, slices: split.slices)
        var accounted = stream.count(where: { $0 == UInt8(ascii: "\n") })
        for item in items {
            switch item {
            case .line(let line):
                fuzzCheck(!line.isEmpty && line.count <= maximumBytes, "\(split.name): a line of \(line.count) bytes")
                fuzzCheck(!line.contains(UInt8(ascii: "\n")), "\(split.name): a line holds a newline")
                accounted += line.count
            case .tooLong(let dropped):
                fuzzCheck(
                    dropped > maximumBytes, "\(split.name): \(dropped) bytes dropped at a \(maximumBytes)-byte limit")
                accounted += dropped
            }
        }
        fuzzCheck(accounted == stream.count, "\(split.name): \(accounted) of \(stream.count) bytes accounted for")
        fuzzCheck(
            items == expected, "\(split.name): \(items.count) items, splitting at newlines gives \(expected.count)")
    }
    return 0
}

@_cdecl("FuzzLineFramer_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
