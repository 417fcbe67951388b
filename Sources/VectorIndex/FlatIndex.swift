internal import CKernels
import Foundation
import RetrievalCore

/// An exact ("flat") vector index: every search compares the query with every stored vector.
///
/// Vectors live row-major as contiguous 64-byte-aligned `Float`s; searches run C kernels chosen at run time
/// (AVX-512, AVX2+FMA or scalar), split one query's rows over all cores, and answer large query batches with
/// BLAS `sgemm` in tiles. With ``VectorStorage/int8`` storage an int8 copy is scanned first and the best
/// candidates are rescored exactly.
///
///     var index = try FlatIndex(dimension: 3, metric: .cosine)
///     try index.add([1, 0, 0], id: 1)
///     try index.add([0, 1, 0], id: 2)
///     let hits = try index.search([0.9, 0.1, 0], k: 1)  // [id 1]
///
/// Thread safety: a value type with copy-on-write storage. Copies are cheap and independent, and one value may
/// be searched from many threads at once (searches never mutate it). Mutating a value while another thread
/// reads that same variable is a data race, as for any Swift value: to search while another thread writes,
/// share a ``SharedFlatIndex`` (a readers-writer lock around a `FlatIndex`).
/// An index opened from a file maps its vectors read-only and copies them into owned memory on the first
/// mutation.
public struct FlatIndex: SearchIndex, Sendable {
    /// The dimensions an index can have.
    public static let supportedDimensions = 1...4096

    var storage: FlatIndexStorage

    /// Threads one search may use; defaults to the number of active processors.
    public var parallelism: Int = ProcessInfo.processInfo.activeProcessorCount {
        didSet { parallelism = max(1, parallelism) }
    }

    /// For ``VectorStorage/int8`` storage: int8 candidates per requested hit that are rescored in f32.
    public var rescoreFactor: Int = 8 {
        didSet { rescoreFactor = max(1, rescoreFactor) }
    }

    /// The kernel level searches and inserts use; tests set each level in ``SIMDLevel/available``.
    package var simdLevel: SIMDLevel = .detected {
        willSet { precondition(SIMDLevel.available.contains(newValue), "\(newValue) is not supported here") }
    }

    /// Creates an empty index.
    ///
    /// - Parameters:
    ///   - dimension: The length of every vector, 1…4096.
    ///   - metric: How vectors are compared.
    ///   - storage: How vectors are stored.
    /// - Throws: ``IndexError/unsupportedDimension(_:supported:)`` outside 1…4096.
    public init(dimension: Int, metric: Metric = .cosine, storage: VectorStorage = .f32) throws(IndexError) {
        guard Self.supportedDimensions.contains(dimension) else {
            throw IndexError.unsupportedDimension(dimension, supported: Self.supportedDimensions)
        }
        self.storage = FlatIndexStorage(dimension: dimension, metric: metric, kind: storage)
    }

    init(storage: FlatIndexStorage) { self.storage = storage }

    /// The length of every vector.
    public var dimension: Int { storage.dimension }
    /// How vectors are compared.
    public var metric: Metric { storage.metric }
    /// How vectors are stored.
    public var vectorStorage: VectorStorage { storage.kind }
    /// The number of live vectors.
    public var count: Int { storage.liveCount }
    /// Rows held, including removed ones not yet reclaimed by ``compact()``.
    public var rowCount: Int { storage.ids.count }
    /// The IDs of the live vectors, in row order.
    public var ids: [DocumentID] { storage.liveRows().map { DocumentID(storage.ids[$0]) } }

    /// Whether a live vector has this ID.
    public func contains(_ id: DocumentID) -> Bool { storage.rowByID[id.rawValue] != nil }

    /// The stored vector of `id` (normalized for cosine indexes), or nil when absent.
    public func vector(for id: DocumentID) -> [Float]? {
        guard let row = storage.rowByID[id.rawValue] else { return nil }
        return storage.row(row)
    }

    /// Adds a vector under a new ID.
    ///
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteComponent(id:position:)``,
    ///   ``IndexError/zeroVector(id:)`` (cosine), ``IndexError/duplicateID(_:)`` or ``IndexError/rowLimit(rows:limit:)``;
    ///   the index is then unchanged.
    /// - Complexity: Amortized O(*d*).
    public mutating func add(_ vector: [Float], id: DocumentID) throws(IndexError) {
        let prepared = try prepare(vector, id: id)
        guard !contains(id) else { throw IndexError.duplicateID(id) }
        try checkRoom(adding: 1)
        makeUnique()
        prepared.withUnsafeBufferPointer { storage.append($0, id: id.rawValue, level: simdLevel) }
    }

    /// Adds many vectors at once, faster than one ``add(_:id:)`` per vector; all are added, or none on error.
    ///
    /// - Parameters:
    ///   - vectors: The vectors, of ``dimension`` components each.
    ///   - ids: One new ID per vector.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteComponent(id:position:)``,
    ///   ``IndexError/zeroVector(id:)`` (cosine) or ``IndexError/duplicateID(_:)`` (already stored, or twice
    ///   in `ids`) or ``IndexError/rowLimit(rows:limit:)``; the index is then unchanged.
    /// - Precondition: `ids.count == vectors.count`.
    /// - Complexity: O(*m* *d*) for *m* vectors.
    public mutating func add(contentsOf vectors: VectorSet, ids: [DocumentID]) throws(IndexError) {
        precondition(ids.count == vectors.count, "add(contentsOf:): \(ids.count) IDs for \(vectors.count) vectors")
        guard vectors.dimension == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, actual: vectors.dimension)
        }
        var seen = Set<DocumentID>(minimumCapacity: ids.count)
        for id in ids where contains(id) || !seen.insert(id).inserted { throw IndexError.duplicateID(id) }
        let dimension = dimension
        let cosine = metric == .cosine
        var scales = [Double](repeating: 1, count: vectors.count)
        try vectors.values.withUnsafeBufferPointer { (values) throws(IndexError) in
            for row in 0..<vectors.count {
                var sum = 0.0
                for position in 0..<dimension {
                    let value = values[row * dimension + position]
                    guard value.isFinite else { throw IndexError.nonFiniteComponent(id: ids[row], position: position) }
                    sum += Double(value) * Double(value)
                }
                if cosine {
                    guard sum > 0 else { throw IndexError.zeroVector(id: ids[row]) }
                    scales[row] = 1 / sum.squareRoot()
                }
            }
        }
        try checkRoom(adding: vectors.count)
        makeUnique()
        storage.reserveCapacity(storage.ids.count + vectors.count)
        let level = simdLevel
        let storage = storage
        vectors.values.withUnsafeBufferPointer { values in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { normalized in
                for row in 0..<vectors.count {
                    var vector = UnsafeBufferPointer(rebasing: values[row * dimension..<(row + 1) * dimension])
                    if cosine {
                        for position in 0..<dimension {
                            normalized[position] = Float(Double(vector[position]) * scales[row])
                        }
                        vector = UnsafeBufferPointer(normalized)
                    }
                    storage.append(vector, id: ids[row].rawValue, level: level)
                }
            }
        }
    }

    /// Adds a vector, or replaces the vector already stored under `id`.
    ///
    /// - Throws: The errors of ``add(_:id:)`` other than ``IndexError/duplicateID(_:)``.
    /// - Complexity: Amortized O(*d*).
    public mutating func upsert(_ vector: [Float], id: DocumentID) throws(IndexError) {
        let prepared = try prepare(vector, id: id)
        makeUnique()
        let level = simdLevel
        if let row = storage.rowByID[id.rawValue] {
            prepared.withUnsafeBufferPointer { storage.replace(row: row, with: $0, level: level) }
        } else {
            try checkRoom(adding: 1)
            prepared.withUnsafeBufferPointer { storage.append($0, id: id.rawValue, level: level) }
        }
    }

    /// Removes a vector; its row becomes a tombstone until ``compact()``.
    ///
    /// - Throws: ``IndexError/unknownID(_:)`` when no live vector has this ID.
    /// - Complexity: O(1).
    public mutating func remove(_ id: DocumentID) throws(IndexError) {
        guard contains(id) else { throw IndexError.unknownID(id) }
        makeUnique()
        storage.remove(id.rawValue)
    }

    /// Reclaims the rows of removed vectors; IDs and search results are unchanged.
    ///
    /// - Complexity: O(*n* *d*) when there are tombstones, O(1) otherwise.
    public mutating func compact() {
        guard storage.tombstoneCount > 0 else { return }
        storage = storage.compacted()
    }

    /// Reserves room for `count` vectors in total, so that a bulk load never reallocates.
    public mutating func reserveCapacity(_ count: Int) {
        makeUnique()
        storage.reserveCapacity(count)
    }

    /// Rows are numbered with 32 bits inside the kernels.
    private func checkRoom(adding rows: Int) throws(IndexError) {
        guard storage.ids.count + rows <= Int(UInt32.max) else {
            throw IndexError.rowLimit(rows: storage.ids.count, limit: Int(UInt32.max))
        }
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Checks a vector and returns it as stored: normalized for cosine.
    func prepare(_ vector: [Float], id: DocumentID?) throws(IndexError) -> [Float] {
        guard vector.count == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, actual: vector.count)
        }
        if let position = vector.firstIndex(where: { !$0.isFinite }) {
            throw IndexError.nonFiniteComponent(id: id, position: position)
        }
        guard metric == .cosine else { return vector }
        // The norm in Double: a float sum of squares can overflow for finite components near Float.max.
        var sum = 0.0
        for value in vector { sum += Double(value) * Double(value) }
        guard sum > 0 else { throw IndexError.zeroVector(id: id) }
        let scale = 1 / sum.squareRoot()
        return vector.map { Float(Double($0) * scale) }
    }
}

/// The shared state behind ``FlatIndex``: rows, IDs, tombstones and per-row side data.
///
/// Mutated only through a `FlatIndex` that holds the only reference (copy-on-write), and never after it is
/// shared, so concurrent readers are safe.
final class FlatIndexStorage: @unchecked Sendable {  // copy-on-write: mutated only while uniquely referenced
    let dimension: Int
    let metric: Metric
    let kind: VectorStorage
    /// The f32 rows (normalized for cosine).
    var vectors: RowBuffer
    /// For int8 storage: one row of `dimension` unsigned codes per vector.
    var codes: RowBuffer?
    /// For int8 storage: each row's quantization scale.
    var scales: [Float]
    /// For L2: each row's squared norm, used by the BLAS and int8 paths.
    var norms: [Float]
    /// External ID of each row, live or not.
    var ids: [UInt64]
    /// One bit per row, set while the row is live.
    var live: [UInt64]
    var liveCount: Int
    var rowByID: [UInt64: Int]

    var tombstoneCount: Int { ids.count - liveCount }

    init(dimension: Int, metric: Metric, kind: VectorStorage) {
        self.dimension = dimension
        self.metric = metric
        self.kind = kind
        vectors = RowBuffer(rowBytes: dimension * MemoryLayout<Float>.stride)
        codes = kind == .int8 ? RowBuffer(rowBytes: dimension) : nil
        scales = []
        norms = []
        ids = []
        live = []
        liveCount = 0
        rowByID = [:]
    }

    init(
        dimension: Int, metric: Metric, kind: VectorStorage, vectors: RowBuffer, codes: RowBuffer?,
        scales: [Float], norms: [Float], ids: [UInt64], rowByID: [UInt64: Int]
    ) {
        self.dimension = dimension
        self.metric = metric
        self.kind = kind
        self.vectors = vectors
        self.codes = codes
        self.scales = scales
        self.norms = norms
        self.ids = ids
        self.rowByID = rowByID
        liveCount = ids.count
        live = FlatIndexStorage.allSet(ids.count)
    }

    /// A bitset with the first `count` bits set.
    static func allSet(_ count: Int) -> [UInt64] {
        var words = [UInt64](repeating: ~0, count: (count + 63) / 64)
        if count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
        return words
    }

    func copy() -> FlatIndexStorage {
        let copy = FlatIndexStorage(
            dimension: dimension, metric: metric, kind: kind, vectors: vectors.copy(), codes: codes?.copy(),
            scales: scales, norms: norms, ids: ids, rowByID: rowByID)
        copy.live = live
        copy.liveCount = liveCount
        return copy
    }

    func reserveCapacity(_ rows: Int) {
        vectors.reserveCapacity(rows)
        codes?.reserveCapacity(rows)
        ids.reserveCapacity(rows)
        rowByID.reserveCapacity(rows)
        if kind == .int8 { scales.reserveCapacity(rows) }
        if metric == .l2 { norms.reserveCapacity(rows) }
    }

    func row(_ row: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: dimension) { buffer, initialized in
            vectors.withBytes { base in
                guard let base, let target = buffer.baseAddress else { return }
                UnsafeMutableRawPointer(target).copyMemory(
                    from: base + row * vectors.rowBytes, byteCount: vectors.rowBytes)
            }
            initialized = dimension
        }
    }

    func liveRows() -> [Int] {
        var rows: [Int] = []
        rows.reserveCapacity(liveCount)
        for (wordIndex, word) in live.enumerated() {
            var bits = word
            while bits != 0 {
                rows.append(wordIndex * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return rows
    }

    func append(_ vector: UnsafeBufferPointer<Float>, id: UInt64, level: SIMDLevel) {
        let row = ids.count
        vectors.append(UnsafeRawBufferPointer(vector))
        if kind == .int8 { scales.append(0) }
        if metric == .l2 { norms.append(0) }
        ids.append(id)
        if row % 64 == 0 { live.append(0) }
        live[row / 64] |= 1 << UInt64(row % 64)
        liveCount += 1
        rowByID[id] = row
        storeSideData(of: vector, at: row, level: level)
    }

    func replace(row: Int, with vector: UnsafeBufferPointer<Float>, level: SIMDLevel) {
        vectors.replace(row: row, with: UnsafeRawBufferPointer(vector))
        storeSideData(of: vector, at: row, level: level)
    }

    /// Quantizes the row (int8) and records its squared norm (L2).
    private func storeSideData(of vector: UnsafeBufferPointer<Float>, at row: Int, level: SIMDLevel) {
        if let codes {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: dimension) { buffer in
                scales[row] = vk_quantize_row_u8(vector.baseAddress, dimension, buffer.baseAddress)
                let bytes = UnsafeRawBufferPointer(buffer)
                if row == codes.count { codes.append(bytes) } else { codes.replace(row: row, with: bytes) }
            }
        }
        if metric == .l2 {
            norms[row] = vk_dot_f32(vector.baseAddress, vector.baseAddress, dimension, level.cValue)
        }
    }

    func remove(_ id: UInt64) {
        guard let row = rowByID.removeValue(forKey: id) else { return }
        live[row / 64] &= ~(1 << UInt64(row % 64))
        liveCount -= 1
    }

    func compacted() -> FlatIndexStorage {
        let rows = liveRows()
        var newIDs: [UInt64] = []
        newIDs.reserveCapacity(rows.count)
        var newRowByID: [UInt64: Int] = [:]
        newRowByID.reserveCapacity(rows.count)
        for (newRow, row) in rows.enumerated() {
            newIDs.append(ids[row])
            newRowByID[ids[row]] = newRow
        }
        return FlatIndexStorage(
            dimension: dimension, metric: metric, kind: kind, vectors: vectors.compacted(keeping: rows),
            codes: codes?.compacted(keeping: rows), scales: kind == .int8 ? rows.map { scales[$0] } : [],
            norms: metric == .l2 ? rows.map { norms[$0] } : [], ids: newIDs, rowByID: newRowByID)
    }
}
