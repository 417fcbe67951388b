import Foundation

/// Writes damaged copies of the file at `path` to `damaged`, one at a time, and calls `body` after each.
///
/// Each copy has the byte at one of `positions` (every byte when nil) XORed with `mask`; `body` gets the position.
public func forEachFlippedByte(
    of path: String, at positions: [Int]? = nil, mask: UInt8, writingTo damaged: String, _ body: (Int) throws -> Void
) throws {
    let original = try Data(contentsOf: URL(fileURLWithPath: path))
    for position in positions ?? Array(original.indices) {
        var bytes = original
        bytes[position] ^= mask
        try bytes.write(to: URL(fileURLWithPath: damaged))
        try body(position)
    }
}

/// Writes the first `length` bytes of the file at `path` to `cut` and calls `body` with the length, for every
/// length below `dense`, then every `step`-th length up to the file's size (excluded).
public func forEachTruncation(
    of path: String, every step: Int, allBelow dense: Int = 0, writingTo cut: String, _ body: (Int) throws -> Void
) throws {
    let original = try Data(contentsOf: URL(fileURLWithPath: path))
    let lengths = Array(0..<min(dense, original.count)) + Array(stride(from: dense, to: original.count, by: step))
    for length in lengths {
        try original.prefix(length).write(to: URL(fileURLWithPath: cut))
        try body(length)
    }
}
