import RetrievalCore

/// The vector index file: the shared ``IndexFileWriter`` container with magic `MVIX`.
///
/// Header fields: dimension, metric code, storage code, vector count. Sections: `IDS ` (UInt64 per vector),
/// `VECS` (count x dimension Float32, row-major), `NORM` (L2 only: Float32 squared norm per vector), and for
/// int8 storage `CODE` (count x dimension UInt8) and `SCAL` (Float32 scale per vector). See docs/file-format.md.
public enum VectorIndexFile {
    /// The magic number at the start of every vector index file.
    public static let magic = "MVIX"
    /// The format version this build writes.
    public static let version: UInt32 = 1
    /// The format versions this build reads.
    public static let readableVersions: ClosedRange<UInt32> = 1...1

    /// What a vector index file holds, read from its header and section table.
    public struct Description: Sendable, Equatable {
        /// The path the file was read from.
        public let path: String
        /// The file's format version.
        public let formatVersion: UInt32
        /// The file's size in bytes.
        public let byteCount: Int
        /// The length of every vector.
        public let dimension: Int
        /// How vectors are compared.
        public let metric: Metric
        /// How vectors are stored.
        public let storage: VectorStorage
        /// The number of vectors.
        public let count: Int
        /// The sections, in file order.
        public let sections: [MappedIndexFile.Section]
    }

    /// Describes the vector index file at `path` without checking its section checksums.
    ///
    /// - Throws: What ``FlatIndex/init(contentsOf:verifyChecksums:)`` throws for a damaged header or section table.
    /// - Complexity: O(*n*) for the IDs, which are read to check the file's structure.
    public static func describe(_ path: String) throws(IndexError) -> Description {
        let file = try MappedIndexFile(
            path: path, magic: magic, readableVersions: readableVersions, verifyChecksums: false)
        let index = try FlatIndex(mapped: file)
        return Description(
            path: path, formatVersion: file.version, byteCount: file.byteCount, dimension: index.dimension,
            metric: index.metric, storage: index.vectorStorage, count: index.count, sections: file.sections)
    }
}

extension FlatIndex {
    /// Saves the live vectors to `path` atomically: a crash at any moment leaves the previous file or the new one.
    ///
    /// Removed vectors are not written, so saving also compacts.
    ///
    /// - Throws: ``IndexError/io(path:reason:)``; the previous file is then untouched.
    /// - Complexity: O(*n* *d*), streamed from the rows without an extra copy.
    public func save(to path: String) throws(IndexError) {
        let parts = parts
        let rows = parts.map { $0.tombstoneCount == 0 ? nil : $0.liveRows() }
        func live<T>(_ values: (FlatIndexStorage) -> [T]) -> [T] {
            FlatIndexStorage.gathered(values, of: parts, rows: rows)
        }
        func chunks(_ buffer: @escaping (FlatIndexStorage) -> RowBuffer?) -> RowChunks {
            { (write) throws(IndexError) in
                for (part, rows) in zip(parts, rows) {
                    if let buffer = buffer(part) { try Self.rowChunks(buffer, rows: rows)(write) }
                }
            }
        }
        let sectionCount = 2 + (metric == .l2 ? 1 : 0) + (vectorStorage == .int8 ? 2 : 0)
        let writer = try IndexFileWriter(
            path: path, magic: VectorIndexFile.magic, version: VectorIndexFile.version,
            fields: [UInt64(dimension), metric.fileCode, vectorStorage.fileCode, UInt64(count)],
            sectionCapacity: sectionCount)
        try writer.appendSection("IDS ", live(\.ids))
        try writer.appendSection("VECS", chunks: chunks(\.vectors))
        if metric == .l2 { try writer.appendSection("NORM", live(\.norms)) }
        if vectorStorage == .int8 {
            try writer.appendSection("CODE", chunks: chunks(\.codes))
            try writer.appendSection("SCAL", live(\.scales))
        }
        try writer.commit()
    }

    /// Opens a saved index, memory-mapping its vectors: they are read in place, and vectors added later are kept
    /// beside them; only ``compact()`` copies them.
    ///
    /// - Parameters:
    ///   - path: The file to open.
    ///   - verifyChecksums: Whether to check every section's CRC-32C now (reads the file once); the header and
    ///     section table are always checked.
    /// - Throws: ``IndexError/io(path:reason:)``, ``IndexError/notAnIndexFile(path:expectedMagic:)``,
    ///   ``IndexError/unsupportedFormat(path:version:readable:)``, ``IndexError/truncated(path:expectedBytes:actualBytes:)``
    ///   or ``IndexError/corrupted(path:section:reason:)`` naming the section at fault.
    /// - Complexity: O(*n*) for the IDs, plus one read of the file when verifying.
    public init(contentsOf path: String, verifyChecksums: Bool = true) throws(IndexError) {
        try self.init(
            mapped: MappedIndexFile(
                path: path, magic: VectorIndexFile.magic, readableVersions: VectorIndexFile.readableVersions,
                verifyChecksums: verifyChecksums))
    }

    /// Opens an index from a mapped vector index file; see ``init(contentsOf:verifyChecksums:)``.
    init(mapped file: MappedIndexFile) throws(IndexError) {
        let path = file.path
        func corrupted(_ section: String, _ reason: String) -> IndexError {
            IndexError.corrupted(path: path, section: section, reason: reason)
        }
        let fields = file.fields
        guard fields[0] >= 1, fields[0] <= UInt64(Self.supportedDimensions.upperBound) else {
            throw corrupted("header", "dimension \(fields[0]) is outside \(Self.supportedDimensions)")
        }
        guard let metric = Metric(fileCode: fields[1]) else {
            throw corrupted("header", "unknown metric code \(fields[1])")
        }
        guard let kind = VectorStorage(fileCode: fields[2]) else {
            throw corrupted("header", "unknown storage code \(fields[2])")
        }
        let dimension = Int(fields[0])
        guard fields[3] <= UInt64(file.byteCount / (dimension * 4)) else {
            throw corrupted("header", "count \(fields[3]) does not fit in a \(file.byteCount)-byte file")
        }
        let count = Int(fields[3])
        let ids = try file.array("IDS ", of: UInt64.self, expectedCount: count)
        func mapped(_ tag: String, rowBytes: Int) throws(IndexError) -> RowBuffer {
            guard let section = file.sections.first(where: { $0.tag == tag }) else {
                throw corrupted(tag, "the section is missing")
            }
            guard section.length == count * rowBytes else {
                throw corrupted(tag, "holds \(section.length) bytes, the header implies \(count * rowBytes)")
            }
            return RowBuffer(rowBytes: rowBytes, count: count, mappedFrom: file, section: tag)
        }
        let vectors = try mapped("VECS", rowBytes: dimension * MemoryLayout<Float>.stride)
        let norms = metric == .l2 ? try file.array("NORM", of: Float.self, expectedCount: count) : []
        let codes = kind == .int8 ? try mapped("CODE", rowBytes: dimension) : nil
        let scales = kind == .int8 ? try file.array("SCAL", of: Float.self, expectedCount: count) : []
        var rowByID: [UInt64: Int] = [:]
        rowByID.reserveCapacity(count)
        for (row, id) in ids.enumerated() {
            guard rowByID.updateValue(row, forKey: id) == nil else {
                throw corrupted("IDS ", "ID \(id) appears twice")
            }
        }
        self.init(
            storage: FlatIndexStorage(
                dimension: dimension, metric: metric, kind: kind, vectors: vectors, codes: codes, scales: scales,
                norms: norms, ids: ids, rowByID: rowByID))
    }

    /// Checks the stored values, which the checksums can't vouch for (a file written by another tool, or rewritten
    /// with its checksums fixed): every component finite, cosine rows of unit length, L2 norms that match their
    /// rows, int8 scales finite and not negative.
    ///
    /// - Throws: ``IndexError/corrupted(path:section:reason:)`` naming the section, the row's ID and the value at
    ///   fault; `path` is the one given.
    /// - Complexity: O(*n* *d*): one pass over the rows.
    public func verifyValues(path: String) throws(IndexError) {
        func corrupted(_ section: String, _ reason: String) -> IndexError {
            IndexError.corrupted(path: path, section: section, reason: reason)
        }
        for storage in parts {
            try Self.verifyValues(of: storage, corrupted)
        }
    }

    /// Checks the live rows of one storage; see ``verifyValues(path:)``.
    private static func verifyValues(
        of storage: FlatIndexStorage, _ corrupted: (_ section: String, _ reason: String) -> IndexError
    ) throws(IndexError) {
        for row in storage.liveRows() {
            let id = storage.ids[row]
            let values = storage.row(row)
            var sum = 0.0
            for (position, value) in values.enumerated() {
                guard value.isFinite else { throw corrupted("VECS", "ID \(id): component \(position) is \(value)") }
                sum += Double(value) * Double(value)
            }
            // Rows are normalized in Float32: a few ulps per component, far below this tolerance.
            if storage.metric == .cosine, abs(sum - 1) > 1e-3 {
                throw corrupted("VECS", "ID \(id): a cosine row has squared length \(sum), not 1")
            }
            if let excess = storage.metric.excessiveNorm(squaredNorm: sum) {
                throw corrupted(
                    "VECS",
                    "ID \(id): the row's norm \(Float(excess.norm)) is over \(Float(excess.limit)), where its "
                        + "scores overflow 32-bit floats")
            }
            if storage.metric == .l2 {
                let norm = Double(storage.norms[row])
                guard norm.isFinite, abs(norm - sum) <= 1e-3 * max(1, sum) else {
                    throw corrupted("NORM", "ID \(id): the squared norm is \(norm), the row's is \(sum)")
                }
            }
            if storage.kind == .int8 {
                let scale = storage.scales[row]
                guard scale.isFinite, scale >= 0 else { throw corrupted("SCAL", "ID \(id): the scale is \(scale)") }
            }
        }
    }

    /// A writer of a section's bytes in pieces, given the function that writes one piece.
    typealias RowChunks = ((UnsafeRawBufferPointer) throws(IndexError) -> Void) throws(IndexError) -> Void

    /// Streams the given rows (all when nil) of a buffer as contiguous runs.
    private static func rowChunks(_ buffer: RowBuffer, rows: [Int]?) -> RowChunks {
        { (write) throws(IndexError) in
            try buffer.withBytes { (base) -> Result<Void, IndexError> in
                guard let base else { return .success(()) }
                let rowBytes = buffer.rowBytes
                let runs = rows.map(consecutiveRuns) ?? [0..<buffer.count]
                for run in runs {
                    let bytes = UnsafeRawBufferPointer(
                        start: base + run.lowerBound * rowBytes, count: run.count * rowBytes)
                    do throws(IndexError) { try write(bytes) } catch { return .failure(error) }
                }
                return .success(())
            }.get()
        }
    }
}
