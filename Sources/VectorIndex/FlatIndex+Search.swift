internal import CKernels
import RetrievalCore

/// The rows a search may return: a bitset over rows (nil when every row is live and allowed) and how many.
struct RowSelection {
    var bits: [UInt64]?
    var count: Int
}

extension FlatIndex {
    /// Below this many floats (rows x dimension, 1 MiB) a search runs on one thread: waking others costs more.
    static let parallelWorkThreshold = 1 << 18
    /// Above this many hits, one search scores every row and selects instead of keeping a heap.
    static let heapLimit = 512

    public func search(_ query: [Float], k: Int) throws(IndexError) -> [SearchHit] {
        try search(query, k: k, minimumScore: nil, filter: nil)
    }

    /// Returns the `k` vectors that score highest against `query`, best first; ties go to the lower ID.
    ///
    /// One query over a large index is split into row ranges, one per thread (``parallelism``), whose top-k
    /// heaps are merged. Scoring and the top-k threshold test are fused, so scores never go through a big array.
    ///
    /// - Parameters:
    ///   - query: A vector of ``dimension`` finite components (normalized here for cosine).
    ///   - k: The most hits to return; all matching vectors when fewer.
    ///   - minimumScore: Hits scoring below this are left out.
    ///   - filter: Only documents it allows are ranked; applied before top-k, so up to `k` hits still return.
    /// - Returns: At most `k` hits, best first.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteComponent(id:position:)``,
    ///   ``IndexError/zeroVector(id:)`` for an all-zero cosine query, or ``IndexError/vectorTooLarge(id:norm:limit:)``
    ///   for an inner product or L2 query whose scores could overflow, ``IndexError/invalidParameter(name:value:expected:)``
    ///   for a NaN `minimumScore` or a `k` below 1.
    /// - Complexity: O(*n* *d*) work over ``parallelism`` threads, plus O(*n* log *k*) in the worst case.
    public func search(_ query: [Float], k: Int, minimumScore: Float? = nil, filter: SearchFilter? = nil)
        throws(IndexError) -> [SearchHit]
    {
        try IndexError.checkResultCount(k)
        let minimum = try Self.scoreFloor(minimumScore)
        let prepared = try prepare(query, id: nil)
        return Self.merged(
            searchParts.map { part in
                part.searchPrepared(
                    prepared, k: k, minimum: minimum, selection: part.selection(filter), threads: parallelism)
            }, k: k)
    }

    /// The score below which hits are left out: `minimumScore`, or none.
    ///
    /// - Throws: ``IndexError/invalidParameter(name:value:expected:)`` for NaN, below which nothing scores, so that
    ///   every search answered no hit (hostile run 14).
    static func scoreFloor(_ minimumScore: Float?) throws(IndexError) -> Float {
        guard let minimumScore else { return -.infinity }
        guard !minimumScore.isNaN else {
            throw .invalidParameter(name: "minimumScore", value: .nan, expected: "a number")
        }
        return minimumScore
    }

    /// The rows of ``storage`` a search may return under `filter`, tombstones excluded.
    func selection(_ filter: SearchFilter?) -> RowSelection {
        let storage = storage
        guard let filter else {
            return RowSelection(bits: storage.tombstoneCount == 0 ? nil : storage.live, count: storage.liveCount)
        }
        var bits = [UInt64](repeating: 0, count: storage.live.count)
        var count = 0
        if let allowed = filter.allowList {
            for id in allowed {
                guard let row = storage.rowByID[id.rawValue] else { continue }
                bits[row / 64] |= 1 << UInt64(row % 64)
                count += 1
            }
        } else {
            for (wordIndex, word) in storage.live.enumerated() {
                var remaining = word
                while remaining != 0 {
                    let row = wordIndex * 64 + remaining.trailingZeroBitCount
                    remaining &= remaining - 1
                    if filter.allows(DocumentID(storage.ids[row])) {
                        bits[wordIndex] |= 1 << UInt64(row % 64)
                        count += 1
                    }
                }
            }
        }
        return RowSelection(bits: bits, count: count)
    }

    /// Searches with a checked, normalized query.
    func searchPrepared(_ query: [Float], k requested: Int, minimum: Float, selection: RowSelection, threads: Int)
        -> [SearchHit]
    {
        let k = min(requested, selection.count)
        guard k > 0 else { return [] }
        let threads = storage.ids.count * dimension >= Self.parallelWorkThreshold ? max(1, threads) : 1
        if k > Self.heapLimit {
            return selectAll(query, k: k, minimum: minimum, selection: selection, threads: threads)
        }
        if storage.kind == .int8 {
            return searchInt8(query, k: k, minimum: minimum, selection: selection, threads: threads)
        }
        let ranges = scanRanges(rows: storage.ids.count, threads: threads)
        let level = simdLevel.cValue
        let metric = storage.metric.kernelMetric
        let dimension = dimension
        let heaps = scan(query, selection, heaps: ranges.count, capacity: k) { query, scan in
            parallelFor(ranges.count, workers: threads) { part in
                scan.counts[part] = vk_scan_topk_f32(
                    query, scan.rows, dimension, ranges[part].lowerBound, ranges[part].upperBound, metric,
                    scan.ids, scan.allowed, minimum, scan.heaps + part * k, 0, k, level)
            }
        }
        return merge(heaps, k: k)
    }

    /// Large k: scores every row (in parallel ranges), then selects the best `k` allowed rows.
    private func selectAll(_ query: [Float], k: Int, minimum: Float, selection: RowSelection, threads: Int)
        -> [SearchHit]
    {
        let rows = storage.ids.count
        let ranges = scanRanges(rows: rows, threads: threads)
        var scores = [Float](repeating: 0, count: rows)
        let level = simdLevel.cValue
        let metric = storage.metric.kernelMetric
        let dimension = dimension
        query.withUnsafeBufferPointer { query in
            storage.vectors.withBytes { base in
                scores.withUnsafeMutableBufferPointer { scores in
                    guard let query = query.baseAddress, let rows = base?.assumingMemoryBound(to: Float.self),
                        let scores = scores.baseAddress
                    else { return }
                    parallelFor(ranges.count, workers: threads) { part in
                        let range = ranges[part]
                        vk_scores_f32(
                            query, rows + range.lowerBound * dimension, dimension, range.count, metric, level,
                            scores + range.lowerBound)
                    }
                }
            }
        }
        var hits: [vk_hit] = []
        hits.reserveCapacity(selection.count)
        for row in 0..<rows where scores[row] >= minimum && isSelected(row, selection.bits) {
            hits.append(vk_hit(score: scores[row], row: UInt32(truncatingIfNeeded: row), id: storage.ids[row]))
        }
        return selectBest(&hits, k: k)
    }

    /// int8 storage: scans the codes for `k * rescoreFactor` candidates, then rescores them exactly in f32.
    private func searchInt8(_ query: [Float], k: Int, minimum: Float, selection: RowSelection, threads: Int)
        -> [SearchHit]
    {
        guard let codes = storage.codes else { preconditionFailure("int8 index without codes") }
        let wanted = min(k, selection.count)  // more would select no more, and k near Int.max overflows below
        let candidates = min(selection.count, max(wanted * rescoreFactor, wanted + 16))
        let ranges = scanRanges(rows: storage.ids.count, threads: threads)
        var quantized = [Int8](repeating: 0, count: dimension)
        var querySum: Int32 = 0
        let queryScale = query.withUnsafeBufferPointer { values in
            quantized.withUnsafeMutableBufferPointer {
                vk_quantize_query_s8(values.baseAddress, values.count, $0.baseAddress, &querySum)
            }
        }
        let queryNorm = storage.metric == .l2 ? dot(query, query, level: simdLevel) : 0
        let level = simdLevel.cValue
        let metric = storage.metric.kernelMetric
        let dimension = dimension
        let querySumValue = querySum
        let heaps = scan(quantized, selection, heaps: ranges.count, capacity: candidates) { quantized, scan in
            codes.withBytes { codeBase in
                storage.scales.withUnsafeBufferPointer { scales in
                    guard let codes = codeBase?.assumingMemoryBound(to: UInt8.self), let scales = scales.baseAddress
                    else { return }
                    parallelFor(ranges.count, workers: threads) { part in
                        scan.counts[part] = vk_scan_topk_i8(
                            quantized, querySumValue, queryScale, codes, scales, dimension,
                            ranges[part].lowerBound, ranges[part].upperBound, metric, scan.norms, queryNorm,
                            scan.ids, scan.allowed, scan.heaps + part * candidates, 0, candidates, level)
                    }
                }
            }
        }
        var hits: [vk_hit] = []
        hits.reserveCapacity(heaps.counts.reduce(0, +))
        query.withUnsafeBufferPointer { query in
            storage.vectors.withBytes { base in
                guard let query = query.baseAddress, let rows = base?.assumingMemoryBound(to: Float.self) else {
                    return
                }
                for part in heaps.counts.indices {
                    for var hit in heaps.heap(part) {
                        vk_scores_f32(query, rows + Int(hit.row) * dimension, dimension, 1, metric, level, &hit.score)
                        if hit.score >= minimum { hits.append(hit) }
                    }
                }
            }
        }
        return selectBest(&hits, k: k)
    }

    /// Merges per-thread heaps into the best `k`, best first.
    func merge(_ heaps: ScanHeaps, k: Int) -> [SearchHit] {
        var hits: [vk_hit] = []
        hits.reserveCapacity(heaps.counts.reduce(0, +))
        for part in heaps.counts.indices { hits += heaps.heap(part) }
        return selectBest(&hits, k: k)
    }

    /// Sorts the best `k` of `hits` to the front and returns them as search hits.
    func selectBest(_ hits: inout [vk_hit], k: Int) -> [SearchHit] {
        let count = hits.count
        hits.withUnsafeMutableBufferPointer { vk_select_hits($0.baseAddress, count, k) }
        return hits.prefix(k).map { SearchHit(id: DocumentID($0.id), score: $0.score) }
    }
}

/// The pointers a top-k scan reads and writes: the index's storage, the selection and the caller's heaps.
///
/// Lent by ``FlatIndex/withScanPointers(_:heaps:counts:_:)``; they must not escape its closure.
struct ScanPointers {
    /// The f32 rows, row-major.
    var rows: UnsafePointer<Float>
    /// The document ID of each row.
    var ids: UnsafePointer<UInt64>
    /// |row|² of each row for L2 (and of int8 rows); nil when the index keeps no norms.
    var norms: UnsafePointer<Float>?
    /// The selection's bitset; nil when every row may be returned.
    var allowed: UnsafePointer<UInt64>?
    /// The caller's heaps, `k` hits each.
    var heaps: UnsafeMutablePointer<vk_hit>
    /// The number of hits in each heap.
    var counts: UnsafeMutablePointer<Int>
}

/// The heaps a top-k scan filled: one per element of ``counts``, ``capacity`` hits apart.
struct ScanHeaps {
    /// Every heap's slots; only the first `counts[heap]` slots of a heap hold hits.
    var hits: [vk_hit]
    /// The number of hits in each heap.
    var counts: [Int]
    /// The slots of each heap.
    var capacity: Int

    /// The hits of heap `index`, in heap order.
    func heap(_ index: Int) -> ArraySlice<vk_hit> {
        hits[index * capacity..<index * capacity + counts[index]]
    }
}

extension FlatIndex {
    /// Scans with `query`: lends `body` the query's elements and the pointers of
    /// ``withScanPointers(_:heaps:counts:_:)`` over `heapCount` empty heaps of `capacity` hits, and returns the
    /// heaps as `body` left them.
    ///
    /// Skips `body` when the query, the index or the heaps are empty: such a scan finds nothing. The pointers must
    /// not escape `body`.
    func scan<Element>(
        _ query: [Element], _ selection: RowSelection, heaps heapCount: Int, capacity: Int,
        _ body: (UnsafePointer<Element>, ScanPointers) -> Void
    ) -> ScanHeaps {
        var hits = [vk_hit](repeating: vk_hit(), count: heapCount * capacity)
        var counts = [Int](repeating: 0, count: heapCount)
        query.withUnsafeBufferPointer { query in
            withScanPointers(selection, heaps: &hits, counts: &counts) { scan in
                guard let query = query.baseAddress else { return }
                body(query, scan)
            }
        }
        return ScanHeaps(hits: hits, counts: counts, capacity: capacity)
    }

    /// Calls `body` with the storage's rows, IDs and norms, `selection`'s bitset and the heap buffers.
    ///
    /// Does nothing when the index has no rows or a buffer is empty: such a scan finds nothing.
    func withScanPointers(
        _ selection: RowSelection, heaps: inout [vk_hit], counts: inout [Int], _ body: (ScanPointers) -> Void
    ) {
        storage.vectors.withBytes { base in
            storage.ids.withUnsafeBufferPointer { ids in
                storage.norms.withUnsafeBufferPointer { norms in
                    withBits(selection.bits) { allowed in
                        heaps.withUnsafeMutableBufferPointer { heaps in
                            counts.withUnsafeMutableBufferPointer { counts in
                                guard let rows = base?.assumingMemoryBound(to: Float.self),
                                    let ids = ids.baseAddress, let heaps = heaps.baseAddress,
                                    let counts = counts.baseAddress
                                else { return }
                                body(
                                    ScanPointers(
                                        rows: rows, ids: ids, norms: norms.baseAddress, allowed: allowed,
                                        heaps: heaps, counts: counts))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Calls `body` with the bitset's words, or nil when there is no bitset.
///
/// The pointer must not escape `body`.
func withBits<Result>(_ bits: [UInt64]?, _ body: (UnsafePointer<UInt64>?) -> Result) -> Result {
    guard let bits else { return body(nil) }
    return bits.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Whether `row` is in the selection (every row is when there is no bitset).
func isSelected(_ row: Int, _ bits: [UInt64]?) -> Bool {
    guard let bits else { return true }
    return bits[row / 64] >> UInt64(row % 64) & 1 == 1
}
