import Foundation

/// Splits a byte stream into newline-delimited messages, and refuses a message longer than a limit without holding
/// it in memory.
///
/// Each byte is looked at once, so a stream of many short lines or one huge line costs time linear in its length.
/// Empty lines are skipped.
struct LineFramer {
    /// What the stream held.
    enum Item: Equatable {
        /// A message, without its newline.
        case line(Data)
        /// A message of `bytes` bytes, over the limit; its bytes were dropped.
        case tooLong(bytes: Int)
    }

    /// The longest message passed on, in bytes.
    let maximumBytes: Int
    /// The start of the message not yet ended by a newline.
    private var pending = Data()
    /// The length so far of an over-long message being dropped, if one is.
    private var dropped: Int?

    /// A framer passing on messages of at most `maximumBytes` bytes.
    init(maximumBytes: Int) {
        precondition(maximumBytes >= 1, "LineFramer: the limit must be at least 1 byte")
        self.maximumBytes = maximumBytes
    }

    /// The messages that `chunk` ends.
    mutating func append(_ chunk: Data) -> [Item] {
        var items: [Item] = []
        var rest = chunk[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            items += take(rest[..<newline], ended: true)
            rest = rest[rest.index(after: newline)...]
        }
        items += take(rest, ended: false)
        return items
    }

    /// The last message, when the stream ended without a newline after it.
    mutating func finish() -> [Item] { take(Data()[...], ended: true) }

    private mutating func take(_ piece: Data.SubSequence, ended: Bool) -> [Item] {
        if let length = dropped {
            guard ended else {
                dropped = length + piece.count
                return []
            }
            dropped = nil
            return [.tooLong(bytes: length + piece.count)]
        }
        pending.append(contentsOf: piece)
        if pending.count > maximumBytes {
            let length = pending.count
            pending = Data()
            if ended { return [.tooLong(bytes: length)] }
            dropped = length
            return []
        }
        guard ended else { return [] }
        defer { pending = Data() }
        return pending.isEmpty ? [] : [.line(pending)]
    }
}
