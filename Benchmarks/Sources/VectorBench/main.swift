// Dense-vector benchmark of FlatIndex on the anchors' data (TEXMEX .fvecs/.ivecs written by gen_data.py).
// Prints one JSON object on stdout; diagnostics go to stderr. The peers (FAISS, numpy) run in
// Benchmarks/peers/dense_peers.py with the same protocol: 200 single queries one call each after 5 warm-up
// queries, k = 10, each figure the median over repetitions; batches of 1,000 queries in one call.
//
//   VectorBench search --data DIR --size 100k|1m [--save PATH] [--quick]
//   VectorBench open --data DIR --index PATH [--quick]
//
// `search` builds f32 and int8 indexes from base_<size>.fvecs and measures single-query and batch search,
// recall@10 against gt_<size>_top100.ivecs, resident memory, and (at 100k) the scan/BLAS crossover.
// `open` measures opening a saved index against reading the same file once, in a fresh process so that
// its resident-memory figures hold only the mapped index.
import BenchmarkSupport
import Foundation
import RetrievalCore
import VectorIndex

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Command line

struct Options {
    enum Command: String { case search, open }
    var command: Command
    var dataDirectory = ""
    var size = "100k"
    var savePath: String?
    var indexPath: String?
    var quick = false

    static let usage = """
        usage: VectorBench search --data DIR --size 100k|1m [--save PATH] [--quick]
               VectorBench open --data DIR --index PATH [--quick]
        """

    static func parse(_ arguments: [String]) -> Options {
        guard let first = arguments.first, let command = Command(rawValue: first) else { fail(usage) }
        var options = Options(command: command)
        var rest = arguments.dropFirst()
        func value(_ flag: String) -> String {
            guard let value = rest.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
            return value
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--data": options.dataDirectory = value(flag)
            case "--size": options.size = value(flag)
            case "--save": options.savePath = value(flag)
            case "--index": options.indexPath = value(flag)
            case "--quick": options.quick = true
            default: fail("unknown argument \(flag)\n\(usage)")
            }
        }
        guard !options.dataDirectory.isEmpty else { fail("--data is required\n\(usage)") }
        guard ["100k", "1m"].contains(options.size) else { fail("--size must be 100k or 1m\n\(usage)") }
        if command == .open && options.indexPath == nil { fail("open needs --index\n\(usage)") }
        return options
    }
}

// MARK: - CPU

/// CPU seconds (user + system) this process has used so far, over all its threads.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

// MARK: - TEXMEX files

/// Reads TEXMEX vectors (`int32 dimension` then `dimension` 4-byte values per row) in blocks of rows.
struct VectorFile {
    let path: String
    let dimension: Int
    let rowCount: Int

    init(path: String) {
        self.path = path
        let handle = open(path, O_RDONLY)
        guard handle >= 0 else { fail("\(path): \(String(cString: strerror(errno))); run gen_data.py first") }
        defer { close(handle) }
        var header: Int32 = 0
        guard pread(handle, &header, 4, 0) == 4, header > 0 else { fail("\(path): no leading dimension") }
        var info = stat()
        fstat(handle, &info)
        let rowBytes = 4 * (Int(header) + 1)
        guard Int(info.st_size) % rowBytes == 0 else {
            fail("\(path): \(info.st_size) bytes is not a whole number of \(rowBytes)-byte rows")
        }
        dimension = Int(header)
        rowCount = Int(info.st_size) / rowBytes
    }

    /// Calls `body(firstRow, values)` for consecutive blocks of at most `blockRows` rows; `values` holds the
    /// block's rows back to back, without their dimension words, as the 4-byte type `T`.
    func forEachBlock<T: BitwiseCopyable>(
        of type: T.Type, blockRows: Int = 8192, limit: Int? = nil, _ body: (Int, [T]) -> Void
    ) {
        let rows = min(limit ?? rowCount, rowCount)
        let rowWords = dimension + 1
        let handle = open(path, O_RDONLY)
        guard handle >= 0 else { fail("\(path): \(String(cString: strerror(errno)))") }
        defer { close(handle) }
        var raw = [Int32](repeating: 0, count: blockRows * rowWords)
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first)
            let bytes = count * rowWords * 4
            let got = raw.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < bytes {
                    let n = pread(
                        handle, buffer.baseAddress.map { $0 + done }, bytes - done, off_t(first * rowWords * 4 + done))
                    if n <= 0 { break }
                    done += n
                }
                return done
            }
            guard got == bytes else { fail("\(path): short read at row \(first)") }
            let values = [T](unsafeUninitializedCapacity: count * dimension) { target, initialized in
                raw.withUnsafeBytes { source in
                    let targetBytes = UnsafeMutableRawBufferPointer(target)
                    for row in 0..<count {
                        let header = source.load(fromByteOffset: row * rowWords * 4, as: Int32.self)
                        guard Int(header) == dimension else {
                            fail("\(path): row \(first + row) has dimension \(header)")
                        }
                        let from = UnsafeRawBufferPointer(
                            rebasing: source[(row * rowWords + 1) * 4..<(row + 1) * rowWords * 4])
                        UnsafeMutableRawBufferPointer(
                            rebasing: targetBytes[row * dimension * 4..<(row + 1) * dimension * 4]
                        )
                        .copyMemory(from: from)
                    }
                }
                initialized = count * dimension
            }
            body(first, values)
            first += count
        }
    }

    /// Every row as its own array.
    func rows<T: BitwiseCopyable>(of type: T.Type, limit: Int? = nil) -> [[T]] {
        var out: [[T]] = []
        forEachBlock(of: type, limit: limit) { _, values in
            for start in stride(from: 0, to: values.count, by: dimension) {
                out.append(Array(values[start..<start + dimension]))
            }
        }
        return out
    }
}

// MARK: - Statistics

/// recall@k: the share of the true top-k IDs found in each result's first k, over all queries.
func recall(_ results: [[SearchHit]], truth: [[Int32]], k: Int = 10) -> Double {
    var found = 0
    for (hits, exact) in zip(results, truth) {
        let wanted = Set(exact.prefix(k).map { UInt64($0) })
        found += hits.prefix(k).filter { wanted.contains($0.id.rawValue) }.count
    }
    return rounded(Double(found) / Double(k * results.count), 5)
}

// MARK: - Measurements

let k = 10

struct SingleQueryFigures: Codable {
    var qps: Double
    var medianMilliseconds: Double
    var p99Milliseconds: Double
    var reps: Int
    var qpsPerRep: [Double]
    /// Bytes of stored vectors scanned per query divided by the median latency.
    var effectiveGBps: Double
    /// CPU seconds per wall second while the timed queries ran: about 1 means one core, 2 means both.
    var coresBusy: Double
    var recallAt10: Double
}

/// Runs each query alone, `reps` passes after `warmup` queries, like the peers' `time_single`.
func timeSingleQueries(
    _ queries: [[Float]], reps: Int, bytesScanned: Int, truth: [[Int32]], warmup: Int = 5,
    _ search: ([Float]) -> [SearchHit]
) -> SingleQueryFigures {
    for query in queries.prefix(warmup) { _ = search(query) }
    var qps: [Double] = [], medians: [Double] = [], p99s: [Double] = [], busy: [Double] = []
    var lastResults: [[SearchHit]] = []
    for _ in 0..<reps {
        var latencies = [Double](repeating: 0, count: queries.count)
        var results: [[SearchHit]] = []
        results.reserveCapacity(queries.count)
        let cpuStart = processCPUSeconds()
        let start = now()
        for (i, query) in queries.enumerated() {
            let t0 = now()
            results.append(search(query))
            latencies[i] = now() - t0
        }
        let total = now() - start
        busy.append((processCPUSeconds() - cpuStart) / total)
        qps.append(Double(queries.count) / total)
        medians.append(median(latencies) * 1e3)
        p99s.append(percentile(latencies, 99) * 1e3)
        lastResults = results
    }
    let medianMilliseconds = median(medians)
    return SingleQueryFigures(
        qps: rounded(median(qps), 1), medianMilliseconds: rounded(medianMilliseconds),
        p99Milliseconds: rounded(median(p99s)), reps: reps, qpsPerRep: qps.map { rounded($0, 1) },
        effectiveGBps: rounded(Double(bytesScanned) / (medianMilliseconds / 1e3) / 1e9, 2),
        coresBusy: rounded(median(busy), 2), recallAt10: recall(lastResults, truth: truth))
}

struct BatchFigures: Codable {
    var queries: Int
    var qps: Double
    var seconds: Double
    var secondsPerRep: [Double]
    var coresBusy: Double
    var recallAt10: Double?
}

/// One warm-up call, then `reps` timed calls of `run`, which answers `queryCount` queries.
func timeBatch(
    queryCount: Int, reps: Int, truth: [[Int32]]?, _ run: () -> [[SearchHit]]
) -> BatchFigures {
    var results = run()
    var seconds: [Double] = [], busy: [Double] = []
    for _ in 0..<reps {
        let cpuStart = processCPUSeconds()
        let start = now()
        results = run()
        let elapsed = now() - start
        seconds.append(elapsed)
        busy.append((processCPUSeconds() - cpuStart) / elapsed)
    }
    let time = median(seconds)
    return BatchFigures(
        queries: queryCount, qps: rounded(Double(queryCount) / time, 1), seconds: rounded(time, 4),
        secondsPerRep: seconds.map { rounded($0, 4) }, coresBusy: rounded(median(busy), 2),
        recallAt10: truth.map { recall(results, truth: Array($0.prefix(results.count))) })
}

func unwrap<T>(_ what: String, _ body: () throws(IndexError) -> T) -> T {
    do { return try body() } catch { fail("\(what): \(error)") }
}

// MARK: - FlatIndex surface used here
// Everything the benchmark calls on FlatIndex beyond the agreed contract sits in this section.

/// Builds an inner-product index (FAISS IndexFlatIP's metric) from the first `rows` rows of `file`.
func buildIndex(from file: VectorFile, rows: Int, storage: VectorStorage) -> FlatIndex {
    var index = unwrap("init") { () throws(IndexError) in
        try FlatIndex(dimension: file.dimension, metric: .innerProduct, storage: storage)
    }
    index.reserveCapacity(rows)
    let dimension = file.dimension
    file.forEachBlock(of: Float.self, limit: rows) { first, values in
        for row in 0..<values.count / dimension {
            let vector = Array(values[row * dimension..<(row + 1) * dimension])
            unwrap("add") { () throws(IndexError) in try index.add(vector, id: DocumentID(UInt64(first + row))) }
        }
    }
    return index
}

func searchOne(_ index: FlatIndex, _ query: [Float]) -> [SearchHit] {
    unwrap("search") { () throws(IndexError) in try index.search(query, k: k) }
}

/// The batch path: every query in one call; `method` forces the SIMD scan or BLAS, or lets the index pick.
func searchBatch(_ index: FlatIndex, _ queries: [[Float]], method: BatchMethod = .automatic) -> [[SearchHit]] {
    unwrap("batch search") { () throws(IndexError) in try index.search(batch: queries, k: k, method: method) }
}

// MARK: - search command

struct CrossoverRow: Codable {
    var batchSize: Int
    /// Queries/s with the method forced to ``BatchMethod/scan`` and to ``BatchMethod/blas``.
    var scanQPS: Double
    var blasQPS: Double
    /// What ``BatchMethod/automatic`` picks at this batch size.
    var automaticPicks: String
}

/// What one storage kind achieves over one base file.
struct StorageReport: Codable {
    var storage: String
    var buildSeconds: Double
    var memoryBeforeBuild: MemoryStatus
    var memoryAfterBuild: MemoryStatus
    /// (VmRSS after build - VmRSS before) / the f32 bytes of the raw vectors.
    var residentOverRawF32Bytes: Double
    var single: SingleQueryFigures
    var batch: BatchFigures
    var crossover: [CrossoverRow]?
    var savedTo: String?
    var saveSeconds: Double?
}

struct SizeReport: Codable {
    /// The BLAS library, its threads and the SIMD level the kernels run at, as VectorIndex sees them.
    var runtime: RuntimeReport
    /// Threads one search may use; the BLAS-path crossover batch size; int8 rescoring candidates per hit.
    var parallelism: Int
    var blasCrossover: Int
    var int8RescoreFactor: Int
    var size: String
    var rows: Int
    var dimension: Int
    var rawVectorBytes: Int
    var quick: Bool
    var f32: StorageReport
    var int8: StorageReport
    var int8OverF32SingleQPS: Double
}

struct Workload {
    let base: VectorFile
    let allQueries: [[Float]]
    let singleQueries: [[Float]]
    let truth: [[Int32]]
    let reps: Int
    let quick: Bool
    var rawBytes: Int { base.rowCount * base.dimension * 4 }
}

/// Builds one index kind from the streamed base file (so the only large allocation is the index itself),
/// then times it; the index is freed on return.
func measure(
    _ storage: VectorStorage, _ workload: Workload, crossover: Bool = false, savePath: String? = nil
) -> StorageReport {
    let base = workload.base
    MemoryStatus.resetPeak()
    let before = MemoryStatus.read()
    log("\(base.rowCount) rows: building \(storage)")
    var start = now()
    let index = buildIndex(from: base, rows: base.rowCount, storage: storage)
    let buildSeconds = now() - start
    let afterBuild = MemoryStatus.read()
    let bytesPerRow = base.dimension * (storage == .f32 ? 4 : 1)
    log("\(base.rowCount) rows, \(storage): \(workload.singleQueries.count) single queries x \(workload.reps)")
    let single = timeSingleQueries(
        workload.singleQueries, reps: workload.reps, bytesScanned: base.rowCount * bytesPerRow, truth: workload.truth
    ) { searchOne(index, $0) }
    log("\(base.rowCount) rows, \(storage): batch of \(workload.allQueries.count)")
    let batch = timeBatch(queryCount: workload.allQueries.count, reps: workload.reps, truth: workload.truth) {
        searchBatch(index, workload.allQueries)
    }
    var report = StorageReport(
        storage: storage.rawValue, buildSeconds: rounded(buildSeconds), memoryBeforeBuild: before,
        memoryAfterBuild: afterBuild,
        residentOverRawF32Bytes: rounded(
            Double((afterBuild.vmRSSkB - before.vmRSSkB) * 1024) / Double(workload.rawBytes)),
        single: single, batch: batch)
    if crossover {
        log("\(base.rowCount) rows, \(storage): crossover")
        report.crossover = measureCrossover(index, queries: workload.allQueries, quick: workload.quick)
    }
    if let savePath {
        log("\(base.rowCount) rows, \(storage): saving to \(savePath)")
        start = now()
        unwrap("save") { () throws(IndexError) in try index.save(to: savePath) }
        report.savedTo = savePath
        report.saveSeconds = rounded(now() - start)
    }
    return report
}

func runSearch(_ options: Options) -> SizeReport {
    let directory = options.dataDirectory
    let base = VectorFile(path: "\(directory)/base_\(options.size).fvecs")
    let queryFile = VectorFile(path: "\(directory)/queries_1k.fvecs")
    guard queryFile.dimension == base.dimension else { fail("queries and base differ in dimension") }
    let allQueries = queryFile.rows(of: Float.self)
    let workload = Workload(
        base: base, allQueries: allQueries, singleQueries: Array(allQueries.prefix(options.quick ? 20 : 200)),
        truth: VectorFile(path: "\(directory)/gt_\(options.size)_top100.ivecs").rows(of: Int32.self),
        reps: options.quick ? 1 : (options.size == "1m" ? 3 : 5), quick: options.quick)
    let f32 = measure(.f32, workload, crossover: options.size == "100k", savePath: options.savePath)
    let int8 = measure(.int8, workload)
    let defaults = unwrap("init") { () throws(IndexError) in try FlatIndex(dimension: base.dimension) }
    return SizeReport(
        runtime: RuntimeReport.current(), parallelism: defaults.parallelism, blasCrossover: FlatIndex.blasCrossover,
        int8RescoreFactor: defaults.rescoreFactor, size: options.size, rows: base.rowCount, dimension: base.dimension,
        rawVectorBytes: workload.rawBytes,
        quick: options.quick, f32: f32, int8: int8, int8OverF32SingleQPS: rounded(int8.single.qps / f32.single.qps, 2))
}

/// Queries per second against batch size for each batch method, answering the same queries in consecutive
/// batches.
func measureCrossover(_ index: FlatIndex, queries: [[Float]], quick: Bool) -> [CrossoverRow] {
    let total = quick ? 128 : 256
    let workload = Array(queries.prefix(total))
    return [1, 2, 4, 8, 16, 32, 64, 128].map { batchSize in
        let batches = stride(from: 0, to: workload.count, by: batchSize).map {
            Array(workload[$0..<min($0 + batchSize, workload.count)])
        }
        func qps(_ method: BatchMethod) -> Double {
            timeBatch(queryCount: workload.count, reps: quick ? 1 : 3, truth: nil) {
                batches.flatMap { searchBatch(index, $0, method: method) }
            }.qps
        }
        return CrossoverRow(
            batchSize: batchSize, scanQPS: qps(.scan), blasQPS: qps(.blas),
            automaticPicks: batchSize >= FlatIndex.blasCrossover ? "blas" : "scan")
    }
}

// MARK: - open command

struct OpenReport: Codable {
    var indexPath: String
    var fileBytes: Int
    /// Sequential read() of the whole file in 8 MiB blocks with the file in the page cache (median of 3).
    var readWarmSeconds: Double
    /// The same after evicting the file from the page cache (posix_fadvise DONTNEED), once.
    var readColdSeconds: Double
    /// Shares of the file's pages in the page cache just before the cold read and the cold open (mincore);
    /// the cold figures are cold only when these are near 0.
    var residentShareBeforeColdRead: Double
    var residentShareBeforeColdOpen: Double
    var openVerifyColdSeconds: Double
    var memoryAfterColdOpen: MemoryStatus
    var firstQueryAfterOpenMilliseconds: Double
    var memoryAfterFirstQuery: MemoryStatus
    var openVerifyWarmSeconds: Double
    var openNoVerifyWarmSeconds: Double
    var queryMedianMillisecondsAfterOpen: Double
    var openVerifyOverWarmRead: Double
    var openVerifyColdOverColdRead: Double
    var recallAt10AfterOpen: Double
}

/// Asks the kernel to drop `path`'s pages from the page cache; returns whether it accepted.
func evictFromPageCache(_ path: String) -> Bool {
    let handle = open(path, O_RDONLY)
    guard handle >= 0 else { return false }
    defer { close(handle) }
    return posix_fadvise(handle, 0, 0, POSIX_FADV_DONTNEED) == 0
}

/// The share of the file's pages that are in the page cache, from mincore.
func residentShare(_ path: String) -> Double {
    let handle = open(path, O_RDONLY)
    guard handle >= 0 else { return .nan }
    defer { close(handle) }
    var info = stat()
    fstat(handle, &info)
    let length = Int(info.st_size)
    guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, handle, 0), mapping != MAP_FAILED else {
        return .nan
    }
    defer { munmap(mapping, length) }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let pages = (length + pageSize - 1) / pageSize
    var vector = [UInt8](repeating: 0, count: pages)
    guard mincore(mapping, length, &vector) == 0 else { return .nan }
    return Double(vector.reduce(0) { $0 + Int($1 & 1) }) / Double(pages)
}

/// Reads the whole file sequentially into one reused buffer and returns the seconds taken.
func readWholeFile(_ path: String) -> (seconds: Double, bytes: Int) {
    let blockSize = 8 << 20
    var buffer = [UInt8](repeating: 0, count: blockSize)
    let start = now()
    let handle = open(path, O_RDONLY)
    guard handle >= 0 else { fail("\(path): \(String(cString: strerror(errno)))") }
    var total = 0
    buffer.withUnsafeMutableBytes { block in
        while true {
            let n = read(handle, block.baseAddress, blockSize)
            if n <= 0 { break }
            total += n
        }
    }
    close(handle)
    return (now() - start, total)
}

func runOpen(_ options: Options) -> OpenReport {
    guard let path = options.indexPath else { fail("open needs --index") }
    let queryFile = VectorFile(path: "\(options.dataDirectory)/queries_1k.fvecs")
    let queries = queryFile.rows(of: Float.self, limit: options.quick ? 20 : 200)
    let truth = VectorFile(path: "\(options.dataDirectory)/gt_\(options.size)_top100.ivecs").rows(of: Int32.self)

    _ = readWholeFile(path)
    let warmReads = (0..<3).map { _ in readWholeFile(path) }
    let fileBytes = warmReads[0].bytes
    _ = evictFromPageCache(path)
    let residentBeforeColdRead = residentShare(path)
    let coldRead = readWholeFile(path).seconds

    // Opening cold, then the first query: the resident set here is what an opened index costs.
    _ = evictFromPageCache(path)
    let residentBeforeColdOpen = residentShare(path)
    var start = now()
    var index: FlatIndex? = unwrap("open") { () throws(IndexError) in
        try FlatIndex(contentsOf: path, verifyChecksums: true)
    }
    let openVerifyCold = now() - start
    let afterOpen = MemoryStatus.read()
    guard let opened = index else { fail("open returned nothing") }
    start = now()
    _ = searchOne(opened, queries[0])
    let firstQuery = now() - start
    let afterFirstQuery = MemoryStatus.read()
    let latencies = queries.map { query in
        let t0 = now()
        _ = searchOne(opened, query)
        return now() - t0
    }
    let results = queries.map { searchOne(opened, $0) }
    index = nil

    func timeOpen(verify: Bool) -> Double {
        median(
            (0..<3).map { _ in
                let t0 = now()
                let reopened = unwrap("open") { () throws(IndexError) in
                    try FlatIndex(contentsOf: path, verifyChecksums: verify)
                }
                let elapsed = now() - t0
                withExtendedLifetime(reopened) {}
                return elapsed
            })
    }
    let openVerifyWarm = timeOpen(verify: true)
    let openNoVerifyWarm = timeOpen(verify: false)
    let warmRead = median(warmReads.map(\.seconds))
    return OpenReport(
        indexPath: path, fileBytes: fileBytes, readWarmSeconds: rounded(warmRead, 4),
        readColdSeconds: rounded(coldRead, 4), residentShareBeforeColdRead: rounded(residentBeforeColdRead),
        residentShareBeforeColdOpen: rounded(residentBeforeColdOpen),
        openVerifyColdSeconds: rounded(openVerifyCold, 4), memoryAfterColdOpen: afterOpen,
        firstQueryAfterOpenMilliseconds: rounded(firstQuery * 1e3), memoryAfterFirstQuery: afterFirstQuery,
        openVerifyWarmSeconds: rounded(openVerifyWarm, 4), openNoVerifyWarmSeconds: rounded(openNoVerifyWarm, 4),
        queryMedianMillisecondsAfterOpen: rounded(median(latencies) * 1e3),
        openVerifyOverWarmRead: rounded(openVerifyWarm / warmRead, 2),
        openVerifyColdOverColdRead: rounded(openVerifyCold / coldRead, 2),
        recallAt10AfterOpen: recall(results, truth: truth))
}

// MARK: - main

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
let json: Data
switch options.command {
case .search: json = try encoder.encode(runSearch(options))
case .open: json = try encoder.encode(runOpen(options))
}
FileHandle.standardOutput.write(json)
FileHandle.standardOutput.write(Data("\n".utf8))
