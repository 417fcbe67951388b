internal import CBLAS
internal import CKernels
import RetrievalCore

/// How a batch of queries is answered.
public enum BatchMethod: String, CaseIterable, Sendable {
    /// BLAS for batches of at least ``FlatIndex/blasCrossover`` queries, the SIMD scan below.
    case automatic
    /// One SIMD scan per query.
    case scan
    /// `sgemm` over tiles of queries x rows, then a top-k pass over each tile.
    case blas
}

extension FlatIndex {
    /// Batches this large and larger go through BLAS by default; smaller ones scan query by query.
    ///
    /// Measured on the 2-core AMD EPYC (Zen 5) development machine with 100k x 384 vectors and OpenBLAS
    /// 0.3.21: see docs/vector-index.md for the numbers and the command that produced them.
    public static let blasCrossover = 64
    /// Queries scanned together below the crossover: each row block is read from memory once for all of them.
    static let scanGroup = 16
    /// Queries per `sgemm` tile.
    static let queryTile = 512
    /// Rows per `sgemm` tile; with `queryTile` a 8 MiB score tile that stays in the last-level cache.
    static let rowTile = 4096

    /// Searches many queries at once; result `i` answers query `i` exactly as ``search(_:k:minimumScore:filter:)``
    /// would, up to float rounding (the BLAS path sums in a different order).
    ///
    /// - Parameters:
    ///   - queries: The queries, of ``dimension`` components each.
    ///   - k: The most hits per query.
    ///   - minimumScore: Hits scoring below this are left out.
    ///   - filter: Only documents it allows are ranked, before top-k.
    ///   - method: BLAS or scan; ``BatchMethod/automatic`` picks by batch size.
    /// - Returns: One list of at most `k` hits per query, best first.
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)``, ``IndexError/nonFiniteQuery(index:position:)``,
    ///   ``IndexError/zeroQuery(index:)`` (for cosine) or ``IndexError/queryTooLarge(index:norm:limit:)`` (inner
    ///   product, L2) naming the query at fault; ``IndexError/invalidParameter(name:value:expected:)`` for a NaN
    ///   `minimumScore` or a `k` below 1.
    /// - Complexity: O(*q* *n* *d*) work, over ``parallelism`` threads.
    public func search(
        batch queries: VectorSet, k: Int, minimumScore: Float? = nil, filter: SearchFilter? = nil,
        method: BatchMethod = .automatic
    ) throws(IndexError) -> [[SearchHit]] {
        try IndexError.checkResultCount(k)
        let minimum = try Self.scoreFloor(minimumScore)
        guard queries.dimension == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, actual: queries.dimension)
        }
        var prepared: [Float] = []
        prepared.reserveCapacity(queries.values.count)
        for index in 0..<queries.count {
            do {
                prepared += try prepare(Array(queries[index]), id: nil)
            } catch .nonFiniteComponent(_, let position) {
                throw IndexError.nonFiniteQuery(index: index, position: position)
            } catch .zeroVector {
                throw IndexError.zeroQuery(index: index)
            } catch .vectorTooLarge(_, let norm, let limit) {
                throw IndexError.queryTooLarge(index: index, norm: norm, limit: limit)
            } catch {
                throw error
            }
        }
        let useBLAS =
            switch method {
            case .automatic: queries.count >= Self.blasCrossover
            case .scan: false
            case .blas: true
            }
        let answers = searchParts.map { part in
            let selection = part.selection(filter)
            guard useBLAS, min(k, selection.count) <= Self.heapLimit else {
                return part.scanBatch(prepared, count: queries.count, k: k, minimum: minimum, selection: selection)
            }
            return part.blasBatch(prepared, count: queries.count, k: k, minimum: minimum, selection: selection)
        }
        guard answers.count > 1 else { return answers[0] }
        return (0..<queries.count).map { query in Self.merged(answers.map { $0[query] }, k: k) }
    }

    /// Searches vectors given as arrays; see ``search(batch:k:minimumScore:filter:method:)``.
    public func search(
        batch queries: [[Float]], k: Int, minimumScore: Float? = nil, filter: SearchFilter? = nil,
        method: BatchMethod = .automatic
    ) throws(IndexError) -> [[SearchHit]] {
        guard !queries.isEmpty else { return [] }
        return try search(
            batch: VectorSet(queries), k: k, minimumScore: minimumScore, filter: filter, method: method)
    }

    /// SIMD scans of up to ``scanGroup`` queries at a time, each row block read from memory once per group.
    ///
    /// Work items are (query group, row range) pairs: a large index splits the rows into one range per thread,
    /// a small one gives each thread whole groups. int8 storage and very large k go query by query.
    private func scanBatch(_ queries: [Float], count: Int, k requested: Int, minimum: Float, selection: RowSelection)
        -> [[SearchHit]]
    {
        let dimension = dimension
        let k = min(requested, selection.count)
        guard k > 0, count > 0 else { return [[SearchHit]](repeating: [], count: count) }
        guard storage.kind == .f32, k <= Self.heapLimit else {
            return (0..<count).map { index in
                let query = Array(queries[index * dimension..<(index + 1) * dimension])
                return searchPrepared(query, k: k, minimum: minimum, selection: selection, threads: parallelism)
            }
        }
        let rows = storage.ids.count
        let group = Self.scanGroup
        let groups = (count + group - 1) / group
        let ranges = scanRanges(rows: rows, threads: rows * dimension >= Self.parallelWorkThreshold ? parallelism : 1)
        let items = groups * ranges.count
        let level = simdLevel.cValue
        let metric = storage.metric.kernelMetric
        let threads = parallelism
        let heaps = scan(queries, selection, heaps: items * group, capacity: k) { queries, scan in
            parallelFor(items, workers: threads) { item in
                let first = item / ranges.count * group
                let range = ranges[item % ranges.count]
                vk_scan_topk_f32_batch(
                    queries + first * dimension, min(group, count - first), scan.rows, dimension,
                    range.lowerBound, range.upperBound, metric, scan.ids, scan.allowed, minimum,
                    scan.heaps + item * group * k, scan.counts + item * group, k, level)
            }
        }
        return (0..<count).map { query in
            var hits: [vk_hit] = []
            for part in ranges.indices {
                hits += heaps.heap((query / group * ranges.count + part) * group + query % group)
            }
            return selectBest(&hits, k: k)
        }
    }

    /// Tiles of `queryTile` queries x `rowTile` rows: `sgemm` fills a tile of dot products, then the threads
    /// split its queries and run each query's row through a SIMD threshold filter into that query's heap.
    private func blasBatch(_ queries: [Float], count: Int, k requested: Int, minimum: Float, selection: RowSelection)
        -> [[SearchHit]]
    {
        let k = min(requested, selection.count)
        guard k > 0, count > 0 else { return [[SearchHit]](repeating: [], count: count) }
        let rows = storage.ids.count
        let dimension = dimension
        let queryTile = min(count, Self.queryTile)
        let rowTile = min(rows, Self.rowTile)
        var tile = [Float](repeating: 0, count: queryTile * rowTile)
        let queryNorms: [Float] =
            storage.metric == .l2
            ? (0..<count).map { index in
                let query = Array(queries[index * dimension..<(index + 1) * dimension])
                return dot(query, query, level: simdLevel)
            } : []
        let level = simdLevel.cValue
        let metric = storage.metric.kernelMetric
        let threads = parallelism
        let heaps = scan(queries, selection, heaps: count, capacity: k) { queries, scan in
            tile.withUnsafeMutableBufferPointer { tile in
                guard let tile = tile.baseAddress else { return }
                for queryStart in stride(from: 0, to: count, by: queryTile) {
                    let queryCount = min(queryTile, count - queryStart)
                    for rowStart in stride(from: 0, to: rows, by: rowTile) {
                        let rowCount = min(rowTile, rows - rowStart)
                        if let allowed = scan.allowed, !anySet(allowed, rowStart..<rowStart + rowCount) {
                            continue
                        }
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(rowCount),
                            Int32(dimension), 1, queries + queryStart * dimension, Int32(dimension),
                            scan.rows + rowStart * dimension, Int32(dimension), 0, tile, Int32(rowCount))
                        let parts = min(threads * 4, queryCount)
                        parallelFor(parts, workers: threads) { part in
                            for offset in stride(from: part, to: queryCount, by: parts) {
                                let query = queryStart + offset
                                scan.counts[query] = vk_tile_topk(
                                    tile + offset * rowCount, rowCount, rowStart, metric, scan.norms,
                                    queryNorms.isEmpty ? 0 : queryNorms[query], scan.ids, scan.allowed, minimum,
                                    scan.heaps + query * k, scan.counts[query], k, level)
                            }
                        }
                    }
                }
            }
        }
        return (0..<count).map { query in
            var hits = Array(heaps.heap(query))
            return selectBest(&hits, k: k)
        }
    }
}

/// Whether any bit of `range` is set in the bitset.
private func anySet(_ bits: UnsafePointer<UInt64>, _ range: Range<Int>) -> Bool {
    var row = range.lowerBound
    while row < range.upperBound {
        let word = bits[row / 64] >> UInt64(row % 64)
        let span = min(64 - row % 64, range.upperBound - row)
        let mask: UInt64 = span == 64 ? ~0 : (1 << UInt64(span)) - 1
        if word & mask != 0 { return true }
        row += span
    }
    return false
}
