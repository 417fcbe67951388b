// Scale-out: lookup latency of the PostgreSQL + pgvector backend next to the local engine on the same memories;
// prints one JSON object.
//   PostgresBench --url postgres://USER@HOST:PORT/DB?sslmode=disable --password-file FILE [--size 100000]
//                 [--dimension 384] [--queries 300] [--warmup 30] [--k 10] [--reuse]
// The memories (seeded: tasks of four words, vectors drawn around 2,000 cluster centres so that neighbours are
// meaningful) go to schema `bench_<size>_<dimension>`; --reuse measures on a schema a previous run loaded.
// Local: the in-process FlatIndex (f32 and int8 with exact rescoring) a MemoryStore searches. PostgreSQL: one SQL
// round trip per lookup on loopback returning the k numbers and IDs — exact scan, HNSW at several ef_search values
// (recall@k against the exact top-k), HNSW plus the read of the k memories (a store's database-side lookup),
// ts_rank_cd keyword search, and hybrid (HNSW + keyword, fused in Swift).
import BenchmarkSupport
import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import VectorIndex

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[postgres] \(text)\n".utf8)) }

func normalized(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return vector.map { $0 / norm }
}

let size = Int(argument("--size") ?? "") ?? 100_000
let dimension = Int(argument("--dimension") ?? "") ?? 384
let queryCount = Int(argument("--queries") ?? "") ?? 300
let warmup = Int(argument("--warmup") ?? "") ?? 30
let k = Int(argument("--k") ?? "") ?? 10
let reuse = CommandLine.arguments.contains("--reuse")
guard let url = argument("--url"), let passwordFile = argument("--password-file") else {
    log("usage: PostgresBench --url URL --password-file FILE [--size N] [--dimension D] [--queries Q] [--reuse]")
    exit(2)
}

let words = [
    "heat", "mug", "clean", "apple", "fridge", "keychain", "safe", "drawer", "knife", "slice", "bread", "cook",
    "potato", "stove", "lamp", "desk", "book", "shelf", "towel", "sink", "plate", "cabinet", "egg", "microwave",
    "wash", "cool", "put", "find", "examine", "toaster", "kettle", "pan", "pot", "spoon", "fork", "bowl", "vase",
    "candle", "pillow", "laptop", "remote", "newspaper", "statue", "box", "alarm", "clock", "tissue", "bottle",
]
var generator = SplitMix64(seed: 20_261_128)
let centres = (0..<2000).map { _ in
    normalized((0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) })
}
@MainActor func sample(near centre: Int) -> [Float] {
    // Noise of norm about 0.75 around a unit centre (cosine to the centre about 0.8), whatever the dimension.
    let amplitude = 0.75 * (3 / Float(dimension)).squareRoot()
    return normalized(
        zip(centres[centre], (0..<dimension).map { _ in Float.random(in: -amplitude...amplitude, using: &generator) })
            .map(+))
}
@MainActor func task() -> String {
    (0..<4).map { _ in words.randomElement(using: &generator) ?? "mug" }.joined(separator: " ")
}
var vectors: [[Float]] = []
var tasks: [String] = []
vectors.reserveCapacity(size)
for index in 0..<size {
    vectors.append(sample(near: index % centres.count))
    tasks.append(task())
}
let queries = (0..<(queryCount + warmup)).map { _ in
    (sample(near: Int.random(in: 0..<centres.count, using: &generator)), task())
}

var location = try PostgresLocation(url: url, password: .file(passwordFile))
location.schema = "bench_\(size)_\(dimension)"
var backend = try await PostgresBackend.connect(to: location)
var loadSeconds: Double?
let stored = try await backend.storeInfo() != nil ? try await backend.statistics().memories : 0
if !(reuse && stored == size) {
    try await backend.dropSchema()
    backend.close()
    backend = try await PostgresBackend.connect(to: location)
    try await backend.initialize(embedderID: "bench:v1", dimension: dimension, configuration: nil)
    let date = Date()
    let start = ContinuousClock.now
    for first in stride(from: 0, to: size, by: 1000) {
        var trajectories: [Trajectory] = []
        var records: [MemoryRecord] = []
        for index in first..<min(first + 1000, size) {
            let trajectory = Trajectory(
                id: "m\(index)", task: tasks[index], steps: [Step(action: "do it")], outcome: Outcome(success: true),
                source: "bench", labels: [:])
            trajectories.append(trajectory)
            records.append(
                MemoryRecord(
                    memory: Memory(
                        id: trajectory.id, task: trajectory.task, buildPolicy: .trajectory, steps: trajectory.steps,
                        script: nil, keywords: [], sourceTrajectoryIDs: [trajectory.id], source: "bench", labels: [:],
                        embedderID: "bench:v1", provenance: Provenance(), createdAt: date, updatedAt: date),
                    taskVector: vectors[index], keywordVector: nil))
        }
        _ = try await backend.write(
            WriteBatch(trajectories: trajectories, memories: records, replacing: false, policy: "bench", reason: "load")
        )
        if first % 20_000 == 0 { log("loaded \(first + records.count)") }
    }
    let elapsed = start.duration(to: .now)
    loadSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    log("loaded \(size) memories in \(loadSeconds ?? 0) s (HNSW maintained on insert)")
}
// Numbers are assigned in load order from 1 in a fresh schema; map them back through the IDs to be safe.
var numberOf: [String: DocumentID] = [:]
_ = try await backend.forEachIndexEntry { _ in }
for start in stride(from: 0, to: size, by: 5000) {
    let ids = (start..<min(start + 5000, size)).map { DocumentID(UInt64($0 + 1)) }
    for (number, memory) in try await backend.memories(numbered: ids) { numberOf[memory.id] = number }
}
guard numberOf.count == size else {
    log("the schema holds \(numberOf.count) memories numbered 1…\(size); rerun without --reuse")
    exit(1)
}

@MainActor func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = start.duration(to: .now)
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) * 1000
}

var results: [[String: Any]] = []
@MainActor func record(_ engine: String, _ mode: String, _ samples: [Double], recall: Double? = nil) {
    let p50 = rounded(percentile(samples, 50)), p95 = rounded(percentile(samples, 95))
    var row: [String: Any] = ["engine": engine, "mode": mode, "p50_ms": p50, "p95_ms": p95]
    if let recall { row["recall_at_k"] = rounded(recall) }
    results.append(row)
    log("\(engine) \(mode): p50 \(p50) ms, p95 \(p95) ms" + (recall.map { ", recall \($0)" } ?? ""))
}

// Local engine.
var exactTop: [[DocumentID]] = []
for storage in [VectorStorage.f32, .int8] {
    var index = try FlatIndex(dimension: dimension, metric: .cosine, storage: storage)
    index.reserveCapacity(size)
    for (position, vector) in vectors.enumerated() {
        try index.add(vector, id: numberOf["m\(position)"] ?? DocumentID(0))
    }
    var samples: [Double] = []
    for (position, (query, _)) in queries.enumerated() {
        var hits: [SearchHit] = []
        let elapsed = try await time { hits = try index.search(query, k: k) }
        if position >= warmup { samples.append(elapsed) }
        if storage == .f32 { exactTop.append(hits.map(\.id)) }
    }
    record("local", "vector exact (FlatIndex \(storage.rawValue))", samples)
}

// PostgreSQL.
@MainActor func measure(
    _ mode: String, recallAgainstExact: Bool, _ lookup: ([Float], String) async throws -> [DatabaseHit]
) async throws {
    var samples: [Double] = []
    var recalled = 0
    for (position, (query, text)) in queries.enumerated() {
        var hits: [DatabaseHit] = []
        let elapsed = try await time { hits = try await lookup(query, text) }
        guard position >= warmup else { continue }
        samples.append(elapsed)
        recalled += Set(hits.map(\.number)).intersection(exactTop[position]).count
    }
    record("postgres", mode, samples, recall: recallAgainstExact ? Double(recalled) / Double(k * queryCount) : nil)
}
try await measure("vector exact", recallAgainstExact: true) { query, _ in
    try await backend.searchVectors(query, k: k, mode: .exact)
}
for efSearch in [20, 40, 64, 100, 200, 400] {
    try await measure("vector HNSW ef_search \(efSearch)", recallAgainstExact: true) { query, _ in
        try await backend.searchVectors(query, k: k, mode: .hnsw(efSearch: efSearch))
    }
}
// What MemoryStore.retrieve does on a store with a databaseSearch, minus embedding the task: the lookup, then one
// read of the k hits' memories.
try await measure("vector HNSW ef_search 100 + read the k memories", recallAgainstExact: true) { query, _ in
    let hits = try await backend.searchVectors(query, k: k, mode: .hnsw(efSearch: 100))
    let memories = try await backend.memories(numbered: hits.map(\.number))
    guard memories.count == hits.count else { throw MemoryError.database(reason: "a hit's memory is missing") }
    return hits
}
try await measure("keyword ts_rank_cd", recallAgainstExact: false) { _, text in
    try await backend.searchKeywords(text, k: k)
}
try await measure("hybrid (HNSW 100 + keyword, RRF)", recallAgainstExact: false) { query, text in
    try await backend.searchHybrid(text: text, vector: query, k: k, mode: .hnsw(efSearch: 100))
}
backend.close()

let output: [String: Any] = [
    "size": size, "dimension": dimension, "queries": queryCount, "warmup": warmup, "k": k,
    "load_seconds": loadSeconds as Any, "cpus": ProcessInfo.processInfo.activeProcessorCount, "results": results,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys]), as: UTF8.self))
