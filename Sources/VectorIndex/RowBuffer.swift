import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Contiguous rows of a fixed byte size: owned, 64-byte-aligned memory that grows geometrically (amortized
/// O(1) append, no quadratic copying), or a read-only section of a memory-mapped index file that is copied
/// into owned memory on the first mutation.
///
/// The one place that holds a raw pointer; callers reach the bytes only inside ``withBytes(_:)``. Not
/// thread-safe for mutation: ``FlatIndex`` mutates a buffer only when it holds the only reference.
final class RowBuffer: @unchecked Sendable {  // mutated only while uniquely referenced (copy-on-write owner)
    static let alignment = 64

    /// Bytes per row.
    let rowBytes: Int
    /// Rows stored.
    private(set) var count: Int
    private var capacity: Int
    private var owned: UnsafeMutableRawPointer?
    private var mapped: (file: MappedIndexFile, tag: String)?

    /// An empty owned buffer.
    init(rowBytes: Int, capacity: Int = 0) {
        precondition(rowBytes > 0, "RowBuffer: rows must have at least one byte")
        self.rowBytes = rowBytes
        count = 0
        self.capacity = 0
        if capacity > 0 { reallocate(capacity: capacity) }
    }

    /// A buffer over a mapped file's section; the caller has checked that its length is `count * rowBytes`.
    init(rowBytes: Int, count: Int, mappedFrom file: MappedIndexFile, section tag: String) {
        self.rowBytes = rowBytes
        self.count = count
        capacity = count
        mapped = (file, tag)
    }

    deinit { owned?.deallocate() }

    /// Whether the rows live in a mapped file rather than owned memory.
    var isMapped: Bool { mapped != nil }

    /// Bytes of owned memory allocated (0 while mapped).
    var allocatedBytes: Int { mapped == nil ? capacity * rowBytes : 0 }

    /// Calls `body` with the start of row 0 (nil when empty). The pointer must not escape `body`.
    func withBytes<Result>(_ body: (UnsafeRawPointer?) -> Result) -> Result {
        if let (file, tag) = mapped {
            do {
                return try file.withSection(tag) { (bytes) throws(IndexError) in body(bytes.baseAddress) }
            } catch {
                preconditionFailure("RowBuffer: section \(tag) of \(file.path) was validated on open")
            }
        }
        return body(count == 0 ? nil : UnsafeRawPointer(owned))
    }

    /// An independent copy; a mapped buffer shares the read-only mapping.
    func copy() -> RowBuffer {
        if let (file, tag) = mapped { return RowBuffer(rowBytes: rowBytes, count: count, mappedFrom: file, section: tag) }
        let copy = RowBuffer(rowBytes: rowBytes, capacity: count)
        if count > 0, let source = owned, let target = copy.owned {
            target.copyMemory(from: source, byteCount: count * rowBytes)
        }
        copy.count = count
        return copy
    }

    /// Makes room for `rows` rows in owned memory without further reallocation.
    func reserveCapacity(_ rows: Int) {
        if mapped != nil { materialize(capacity: max(rows, count)) }
        if rows > capacity { reallocate(capacity: rows) }
    }

    /// Appends one row.
    ///
    /// - Precondition: `bytes.count == rowBytes`.
    func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == rowBytes, "RowBuffer: row of \(bytes.count) bytes, expected \(rowBytes)")
        if mapped != nil { materialize(capacity: count + count / 2 + 1) }
        if count == capacity { reallocate(capacity: max(64, capacity + capacity / 2)) }
        if let source = bytes.baseAddress, let target = owned {
            (target + count * rowBytes).copyMemory(from: source, byteCount: rowBytes)
        }
        count += 1
    }

    /// Overwrites row `row`.
    ///
    /// - Precondition: `row < count` and `bytes.count == rowBytes`.
    func replace(row: Int, with bytes: UnsafeRawBufferPointer) {
        precondition(row >= 0 && row < count && bytes.count == rowBytes, "RowBuffer: bad replacement")
        if mapped != nil { materialize(capacity: count) }
        if let source = bytes.baseAddress, let target = owned {
            (target + row * rowBytes).copyMemory(from: source, byteCount: rowBytes)
        }
    }

    /// A new owned buffer holding the given rows, in order.
    func compacted(keeping rows: [Int]) -> RowBuffer {
        let result = RowBuffer(rowBytes: rowBytes, capacity: rows.count)
        withBytes { source in
            guard let source, let target = result.owned else { return }
            var written = 0
            var start = 0
            // Copy runs of consecutive rows with one memcpy each.
            while start < rows.count {
                var end = start + 1
                while end < rows.count && rows[end] == rows[end - 1] + 1 { end += 1 }
                (target + written * rowBytes).copyMemory(
                    from: source + rows[start] * rowBytes, byteCount: (end - start) * rowBytes)
                written += end - start
                start = end
            }
        }
        result.count = rows.count
        return result
    }

    private func materialize(capacity newCapacity: Int) {
        guard let (file, tag) = mapped else { return }
        let target = UnsafeMutableRawPointer.allocate(
            byteCount: max(newCapacity, 1) * rowBytes, alignment: RowBuffer.alignment)
        do {
            try file.withSection(tag) { (bytes) throws(IndexError) in
                if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: count * rowBytes) }
            }
        } catch {
            preconditionFailure("RowBuffer: section \(tag) of \(file.path) was validated on open")
        }
        owned = target
        capacity = max(newCapacity, 1)
        mapped = nil
    }

    private func reallocate(capacity newCapacity: Int) {
        let target = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * rowBytes, alignment: RowBuffer.alignment)
        if let source = owned {
            if count > 0 { target.copyMemory(from: source, byteCount: count * rowBytes) }
            source.deallocate()
        }
        owned = target
        capacity = newCapacity
    }
}
