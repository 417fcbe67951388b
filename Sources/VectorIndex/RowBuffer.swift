import RetrievalCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Contiguous rows of a fixed byte size: owned, 64-byte-aligned memory that grows geometrically (amortized
/// O(1) append, no quadratic copying), or a read-only section of a memory-mapped index file, which is never
/// mutated (``FlatIndex`` keeps rows added to an opened file in a buffer of their own).
///
/// Copies share their memory. A copy appends in place, past the rows every copy holds, while no other copy has
/// appended there (rows past a copy's ``count`` are never read through it); any other change to shared memory,
/// and an append after another copy's, first moves the rows to memory of the copy's own. So a writer that copies
/// a published index to add a few vectors costs what the vectors cost, not a copy of every row.
///
/// The one place that holds a raw pointer; callers reach the bytes only inside ``withBytes(_:)``. Not
/// thread-safe for mutation: ``FlatIndex`` mutates a buffer only when it holds the only reference.
final class RowBuffer: @unchecked Sendable {  // mutated only while uniquely referenced (copy-on-write owner)
    static let alignment = 64

    /// Bytes per row.
    let rowBytes: Int
    /// Rows stored.
    private(set) var count: Int
    private var block: RowBlock?
    private var mapped: (file: MappedIndexFile, tag: String)?

    /// An empty owned buffer.
    init(rowBytes: Int, capacity: Int = 0) {
        precondition(rowBytes > 0, "RowBuffer: rows must have at least one byte")
        self.rowBytes = rowBytes
        count = 0
        if capacity > 0 { block = RowBlock(rowBytes: rowBytes, capacity: capacity, filled: 0) }
    }

    /// A buffer over a mapped file's section; the caller has checked that its length is `count * rowBytes`.
    init(rowBytes: Int, count: Int, mappedFrom file: MappedIndexFile, section tag: String) {
        self.rowBytes = rowBytes
        self.count = count
        mapped = (file, tag)
    }

    /// A buffer holding the first `count` rows of `block`.
    private init(rowBytes: Int, count: Int, sharing block: RowBlock?) {
        self.rowBytes = rowBytes
        self.count = count
        self.block = block
    }

    /// Whether the rows live in a mapped file rather than owned memory.
    var isMapped: Bool { mapped != nil }

    /// Bytes of owned memory allocated (0 while mapped), shared with the copies that share it.
    var allocatedBytes: Int { capacity * rowBytes }

    private var capacity: Int { block?.capacity ?? 0 }

    /// Calls `body` with the start of row 0 (nil when empty).
    ///
    /// The pointer must not escape `body`.
    func withBytes<Result>(_ body: (UnsafeRawPointer?) -> Result) -> Result {
        if let (file, tag) = mapped {
            do {
                return try file.withSection(tag) { (bytes) throws(IndexError) in body(bytes.baseAddress) }
            } catch {
                preconditionFailure("RowBuffer: section \(tag) of \(file.path) was validated on open")
            }
        }
        return body(count == 0 ? nil : block.map { UnsafeRawPointer($0.memory) })
    }

    /// A copy holding the same rows, sharing this buffer's memory (or mapping).
    func copy() -> RowBuffer {
        if let (file, tag) = mapped {
            return RowBuffer(rowBytes: rowBytes, count: count, mappedFrom: file, section: tag)
        }
        return RowBuffer(rowBytes: rowBytes, count: count, sharing: block)
    }

    /// Makes room for `rows` rows in owned memory without further reallocation.
    func reserveCapacity(_ rows: Int) {
        requireOwned()
        if rows > capacity { reallocate(capacity: rows) }
    }

    /// Appends one row.
    ///
    /// - Precondition: `bytes.count == rowBytes`.
    func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == rowBytes, "RowBuffer: row of \(bytes.count) bytes, expected \(rowBytes)")
        requireOwned()
        if !claimNextRow() {
            // Full, or another copy appended past this one's rows: move them to memory of this buffer's own.
            reallocate(capacity: count < capacity ? capacity : max(64, capacity + capacity / 2))
            let claimed = claimNextRow()
            assert(claimed, "RowBuffer: a fresh block has room for the next row")
        }
        if let source = bytes.baseAddress, let target = block?.memory {
            (target + count * rowBytes).copyMemory(from: source, byteCount: rowBytes)
        }
        count += 1
    }

    /// Takes row `count` of the block for this buffer: whether it is there and no copy sharing the block has
    /// written it. A block only this buffer holds gives back rows copies that are gone had taken.
    private func claimNextRow() -> Bool {
        guard count < capacity else { return false }
        // Asked before `block` is bound below, which holds a second reference.
        let unique = isKnownUniquelyReferenced(&block)
        guard let block else { return false }
        if unique { block.filled.store(count, ordering: .relaxed) }
        return block.filled.compareExchange(expected: count, desired: count + 1, ordering: .acquiringAndReleasing)
            .exchanged
    }

    /// Overwrites row `row`.
    ///
    /// - Precondition: `row < count` and `bytes.count == rowBytes`.
    func replace(row: Int, with bytes: UnsafeRawBufferPointer) {
        precondition(row >= 0 && row < count && bytes.count == rowBytes, "RowBuffer: bad replacement")
        requireOwned()
        // Copies sharing the block read this row: give this buffer rows of its own first.
        if !isKnownUniquelyReferenced(&block) { reallocate(capacity: capacity) }
        if let source = bytes.baseAddress, let target = block?.memory {
            (target + row * rowBytes).copyMemory(from: source, byteCount: rowBytes)
        }
    }

    /// A new owned buffer holding the given rows of each source, in order.
    convenience init(gathering sources: [(buffer: RowBuffer, rows: [Int])]) {
        let rowBytes = sources[0].buffer.rowBytes
        let total = sources.reduce(0) { $0 + $1.rows.count }
        self.init(rowBytes: rowBytes, capacity: total)
        guard let target = block?.memory else { return }
        var written = 0
        for (buffer, rows) in sources {
            precondition(buffer.rowBytes == rowBytes, "RowBuffer: gathering rows of different sizes")
            buffer.withBytes { source in
                guard let source else { return }
                for run in consecutiveRuns(rows) {
                    (target + written * rowBytes).copyMemory(
                        from: source + run.lowerBound * rowBytes, byteCount: run.count * rowBytes)
                    written += run.count
                }
            }
        }
        count = total
        block?.filled.store(total, ordering: .relaxed)
    }

    /// Moves the rows from the shared block to a block of this buffer's own with room for `newCapacity` rows.
    private func reallocate(capacity newCapacity: Int) {
        let target = RowBlock(rowBytes: rowBytes, capacity: max(newCapacity, 1), filled: count)
        withBytes { source in
            if let source { target.memory.copyMemory(from: source, byteCount: count * rowBytes) }
        }
        block = target
    }

    /// A mapped section is read-only: a mutation of one would copy the whole file into memory, which
    /// ``FlatIndex`` avoids by adding beside it.
    private func requireOwned() {
        precondition(mapped == nil, "RowBuffer: section \(mapped?.tag ?? "") is mapped from a file and read-only")
    }
}

/// `rows` as runs of consecutive row numbers, in order, each copied with one `memcpy`: [3, 4, 5, 9] is 3..<6, 9..<10.
func consecutiveRuns(_ rows: [Int]) -> [Range<Int>] {
    var runs: [Range<Int>] = []
    var start = 0
    while start < rows.count {
        var end = start + 1
        while end < rows.count && rows[end] == rows[end - 1] + 1 { end += 1 }
        runs.append(rows[start]..<rows[start] + (end - start))
        start = end
    }
    return runs
}

/// Owned memory for rows, shared by the ``RowBuffer`` copies made from one another.
private final class RowBlock: @unchecked Sendable {  // `memory` is written only at rows claimed through `filled`
    let memory: UnsafeMutableRawPointer
    /// Rows the memory has room for.
    let capacity: Int
    /// Rows written by any buffer sharing the block: the next append claims row `filled` by raising it.
    let filled: Atomic<Int>

    /// Allocates memory for `capacity` rows of `rowBytes`, the first `filled` of which the caller will write.
    ///
    /// Blocks of 4 MiB and more are 2 MiB-aligned and offered transparent huge pages, so a long scan takes far
    /// fewer TLB misses and page-boundary prefetch stalls.
    init(rowBytes: Int, capacity: Int, filled: Int) {
        self.capacity = capacity
        self.filled = Atomic(filled)
        let bytes = capacity * rowBytes
        let hugePage = 2 << 20
        guard bytes >= 2 * hugePage else {
            memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: RowBuffer.alignment)
            return
        }
        let rounded = (bytes + hugePage - 1) / hugePage * hugePage
        memory = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: hugePage)
        #if os(Linux)
            _ = madvise(memory, rounded, MADV_HUGEPAGE)  // advisory: a kernel without THP ignores it
        #endif
    }

    deinit { memory.deallocate() }
}
