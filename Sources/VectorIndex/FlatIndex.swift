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
/// An index opened from a file maps its vectors read-only. Vectors added to it are kept in owned memory beside
/// the mapped rows (searches scan both and merge), so adding a few costs what they cost, not a copy of the file;
/// replacing a mapped vector removes it there and adds the new one beside.
public struct FlatIndex: SearchIndex, Sendable {
    /// The dimensions an index can have.
    public static let supportedDimensions = 1...4096

    /// The rows: an index opened from a file maps them.
    var storage: FlatIndexStorage
    /// The rows added while ``storage`` is mapped, in owned memory; nil otherwise.
    var additions: FlatIndexStorage?

    /// Threads one search may use; defaults to the number of active processors.
    ///
    /// Values outside 1…``maximumParallelism`` are clamped to it.
    public var parallelism: Int = ProcessInfo.processInfo.activeProcessorCount {
        didSet { parallelism = min(max(1, parallelism), Self.maximumParallelism) }
    }

    /// For ``VectorStorage/int8`` storage: int8 candidates per requested hit that are rescored in f32.
    ///
    /// Values outside 1…``maximumRescoreFactor`` are clamped to it.
    public var rescoreFactor: Int = 8 {
        didSet { rescoreFactor = min(max(1, rescoreFactor), Self.maximumRescoreFactor) }
    }

    /// The most threads one search uses: more than any machine runs at once, and few enough that the work split
    /// into four ranges a thread stays far from overflow (`Int.max` traps there, hostile run 14).
    public static let maximumParallelism = 4096
    /// The largest ``rescoreFactor``: 2²⁰ candidates per hit already rescore every row of any index of fewer
    /// than 2²⁰ × k rows, and the candidate count stays far from overflow (`Int.max` trapped, hostile run 14).
    public static let maximumRescoreFactor = 1 << 20

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
    public var count: Int { storage.liveCount + (additions?.liveCount ?? 0) }
    /// Rows held, including removed ones not yet reclaimed by ``compact()``.
    public var rowCount: Int { storage.ids.count + (additions?.ids.count ?? 0) }
    /// The IDs of the live vectors, in row order (a file's rows, then those added since it was opened).
    public var ids: [DocumentID] { parts.flatMap { part in part.liveRows().map { DocumentID(part.ids[$0]) } } }

    /// Whether a live vector has this ID.
    public func contains(_ id: DocumentID) -> Bool { location(of: id) != nil }

    /// The stored vector of `id` (normalized for cosine indexes), or nil when absent.
    public func vector(for id: DocumentID) -> [Float]? { location(of: id).map { $0.part.row($0.row) } }

    /// The storage and row of `id`'s live vector.
    private func location(of id: DocumentID) -> (part: FlatIndexStorage, row: Int)? {
        if let row = storage.rowByID[id.rawValue] { return (storage, row) }
        guard let additions, let row = additions.rowByID[id.rawValue] else { return nil }
        return (additions, row)
    }

    /// The storages holding rows: ``storage``, then ``additions`` when there are any.
    var parts: [FlatIndexStorage] { additions.map { [storage, $0] } ?? [storage] }

    /// The index as one index per storage, each searched on its own and their hits merged.
    var searchParts: [FlatIndex] {
        guard let additions else { return [self] }
        var mapped = self
        mapped.additions = nil
        var added = mapped
        added.storage = additions
        return [mapped, added]
    }

    /// The best `k` of the hits of ``searchParts``, ranked as one search ranks them.
    ///
    /// With f32 storage every part's hits are exact, so these are the hits of one index holding the same vectors.
    /// With int8 storage each part rescores its own best candidates (as each thread's row range does within one
    /// part), so the parts together may rescore a candidate that one index would not have: a hit can then be an
    /// exactly better one than that index returns, until ``compact()`` or a save and open join the parts.
    static func merged(_ lists: [[SearchHit]], k: Int) -> [SearchHit] {
        guard lists.count > 1 else { return lists.first ?? [] }
        return Array(lists.joined().sorted { $0.ranks(before: $1) }.prefix(k))
    }

    /// Adds a vector under a new ID.
    ///
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteComponent(id:position:)``,
    ///   ``IndexError/zeroVector(id:)`` (cosine), ``IndexError/vectorTooLarge(id:norm:limit:)`` (inner product, L2),
    ///   ``IndexError/duplicateID(_:)`` or ``IndexError/rowLimit(rows:limit:)``; the index is then unchanged.
    /// - Complexity: Amortized O(*d*).
    public mutating func add(_ vector: [Float], id: DocumentID) throws(IndexError) {
        let prepared = try prepare(vector, id: id)
        guard !contains(id) else { throw IndexError.duplicateID(id) }
        try checkRoom(adding: 1)
        makeUnique()
        let target = appendTarget()
        prepared.withUnsafeBufferPointer { target.append($0, id: id.rawValue, level: simdLevel) }
    }

    /// Adds many vectors at once, faster than one ``add(_:id:)`` per vector; all are added, or none on error.
    ///
    /// - Parameters:
    ///   - vectors: The vectors, of ``dimension`` components each.
    ///   - ids: One new ID per vector.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteComponent(id:position:)``,
    ///   ``IndexError/zeroVector(id:)`` (cosine), ``IndexError/vectorTooLarge(id:norm:limit:)`` (inner product, L2),
    ///   ``IndexError/duplicateID(_:)`` (already stored, or twice in `ids`), ``IndexError/rowLimit(rows:limit:)``,
    ///   or ``IndexError/invalidParameter(name:value:expected:)`` naming `ids` when there is not one ID per vector;
    ///   the index is then unchanged.
    /// - Complexity: O(*m* *d*) for *m* vectors.
    public mutating func add(contentsOf vectors: VectorSet, ids: [DocumentID]) throws(IndexError) {
        guard ids.count == vectors.count else {
            throw .invalidParameter(
                name: "ids", value: Double(ids.count), expected: "one ID per vector, \(vectors.count) in all")
        }
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
                } else if let excess = metric.excessiveNorm(squaredNorm: sum) {
                    throw IndexError.vectorTooLarge(id: ids[row], norm: excess.norm, limit: excess.limit)
                }
            }
        }
        try checkRoom(adding: vectors.count)
        makeUnique()
        let storage = appendTarget()
        storage.reserveCapacity(storage.ids.count + vectors.count)
        let level = simdLevel
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
        // A mapped row is not overwritten: it is removed, and the vector added beside the mapped rows.
        let replacesInPlace = location(of: id).map { !$0.part.vectors.isMapped } ?? false
        if !replacesInPlace { try checkRoom(adding: 1) }
        makeUnique()
        let level = simdLevel
        if replacesInPlace, let (part, row) = location(of: id) {
            prepared.withUnsafeBufferPointer { part.replace(row: row, with: $0, level: level) }
            return
        }
        storage.remove(id.rawValue)
        let target = appendTarget()
        prepared.withUnsafeBufferPointer { target.append($0, id: id.rawValue, level: level) }
    }

    /// Removes a vector; its row becomes a tombstone until ``compact()``.
    ///
    /// - Throws: ``IndexError/unknownID(_:)`` when no live vector has this ID.
    /// - Complexity: O(1).
    public mutating func remove(_ id: DocumentID) throws(IndexError) {
        guard contains(id) else { throw IndexError.unknownID(id) }
        makeUnique()
        for part in parts { part.remove(id.rawValue) }
    }

    /// Reclaims the rows of removed vectors; IDs and search results are unchanged.
    ///
    /// When there are such rows, the rows of an index opened from a file and the vectors added beside them are
    /// moved into one block of owned memory.
    ///
    /// - Complexity: O(*n* *d*) when there are tombstones, O(1) otherwise.
    public mutating func compact() {
        guard parts.contains(where: { $0.tombstoneCount > 0 }) else { return }
        storage = FlatIndexStorage(joining: parts)
        additions = nil
    }

    /// Reserves room for `count` vectors in total, so that a bulk load never reallocates.
    ///
    /// A count past ``maximumRows``, which no add passes, reserves up to it; as with an array's `reserveCapacity`,
    /// memory the system cannot give ends the process.
    public mutating func reserveCapacity(_ count: Int) {
        makeUnique()
        let target = appendTarget()
        target.reserveCapacity(max(0, min(count, Self.maximumRows) - (rowCount - target.ids.count)))
    }

    /// The most rows an index holds, tombstones included: rows are numbered with 32 bits inside the kernels.
    static let maximumRows = Int(UInt32.max)

    private func checkRoom(adding rows: Int) throws(IndexError) {
        guard rowCount + rows <= Self.maximumRows else {
            throw IndexError.rowLimit(rows: rowCount, limit: Self.maximumRows)
        }
    }

    /// The storage new rows go to: ``additions`` (made on first use) while ``storage`` is mapped.
    ///
    /// - Precondition: ``makeUnique()`` was called.
    private mutating func appendTarget() -> FlatIndexStorage {
        if let additions { return additions }
        guard storage.vectors.isMapped else { return storage }
        let added = FlatIndexStorage(dimension: dimension, metric: metric, kind: vectorStorage)
        additions = added
        return added
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        if !isKnownUniquelyReferenced(&additions) { additions = additions?.copy() }
    }

    /// Checks a vector and returns it as stored: normalized for cosine.
    func prepare(_ vector: [Float], id: DocumentID?) throws(IndexError) -> [Float] {
        guard vector.count == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, actual: vector.count)
        }
        if let position = vector.firstIndex(where: { !$0.isFinite }) {
            throw IndexError.nonFiniteComponent(id: id, position: position)
        }
        // The norm in Double: a float sum of squares can overflow for finite components near Float.max.
        var sum = 0.0
        for value in vector { sum += Double(value) * Double(value) }
        guard metric == .cosine else {
            if let excess = metric.excessiveNorm(squaredNorm: sum) {
                throw IndexError.vectorTooLarge(id: id, norm: excess.norm, limit: excess.limit)
            }
            return vector
        }
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

    /// One storage in owned memory holding the live rows of `parts` (of one dimension, metric and kind), in order.
    convenience init(joining parts: [FlatIndexStorage]) {
        let first = parts[0]
        let rows = parts.map { $0.liveRows() }
        func gathered<T>(_ values: (FlatIndexStorage) -> [T]) -> [T] { Self.gathered(values, of: parts, rows: rows) }
        let ids = gathered(\.ids)
        var rowByID: [UInt64: Int] = [:]
        rowByID.reserveCapacity(ids.count)
        for (row, id) in ids.enumerated() { rowByID[id] = row }
        let codes = zip(parts, rows).compactMap { part, rows in part.codes.map { (buffer: $0, rows: rows) } }
        self.init(
            dimension: first.dimension, metric: first.metric, kind: first.kind,
            vectors: RowBuffer(gathering: Array(zip(parts.map(\.vectors), rows))),
            codes: first.kind == .int8 ? RowBuffer(gathering: codes) : nil,
            scales: first.kind == .int8 ? gathered(\.scales) : [], norms: first.metric == .l2 ? gathered(\.norms) : [],
            ids: ids, rowByID: rowByID)
    }

    /// The values of the given rows of each part (all its rows where nil), part after part.
    static func gathered<T>(_ values: (FlatIndexStorage) -> [T], of parts: [FlatIndexStorage], rows: [[Int]?]) -> [T] {
        zip(parts, rows).flatMap { part, rows in
            let all = values(part)
            return rows.map { $0.map { all[$0] } } ?? all
        }
    }
}
