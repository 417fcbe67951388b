// Scale-out: lookup latency of a MemoryStore on PostgreSQL + pgvector next to the local engine on the same memories;
// prints one JSON object.
//   PostgresBench --url postgres://USER@HOST:PORT/DB?sslmode=disable --password-file FILE [--size 100000]
//                 [--dimension 384] [--queries 300] [--warmup 30] [--k 10] [--reuse]
// The memories (seeded: distinct tasks of four words, vectors drawn around 2,000 cluster centres so that neighbours
// are meaningful) go to schema `bench_<size>_<dimension>` through the public API: `MemoryStore.open(at:)` on the URL
// with an embedder that returns the benchmark's precomputed vectors, so that no model runs and the figures are the
// database's and the store's; `store.add` in transactions of 1,000 trajectories. --reuse measures on a schema a
// previous run loaded. Local: the in-process FlatIndex (f32 and int8 with exact rescoring) a MemoryStore searches.
// PostgreSQL: `MemoryStore.retrieve` on a store opened with each `DatabaseSearch` (exact scan, HNSW at several
// ef_search values, with recall@k against the exact top-k), `bm25` (ts_rank_cd) and `hybrid` (HNSW + ts_rank_cd,
// fused in Swift): the SQL lookup on loopback, then the reads of the k hits' memories and source trajectories.
import BenchmarkSupport
import Embeddings
import Foundation
import MemoryLocation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import VectorIndex

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

/// The embedder of a benchmark whose vectors are drawn in advance: each text it is asked for is one of the memory
/// tasks or queries, which are distinct, and gets its own vector.
struct PrecomputedEmbedder: Embedder {
    let vectors: [String: [Float]]
    let dimension: Int
    var modelIdentifier: String { "bench-precomputed:v2:\(dimension)" }

    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        texts.map { text in
            guard let vector = vectors[text] else { preconditionFailure("PostgresBench: no vector for \"\(text)\"") }
            return vector
        }
    }
}

let size = Int(argument("--size") ?? "") ?? 100_000
let dimension = Int(argument("--dimension") ?? "") ?? 384
let queryCount = Int(argument("--queries") ?? "") ?? 300
let warmup = Int(argument("--warmup") ?? "") ?? 30
let k = Int(argument("--k") ?? "") ?? 10
let reuse = CommandLine.arguments.contains("--reuse")
guard let url = argument("--url"), let passwordFile = argument("--password-file") else {
    fail("usage: PostgresBench --url URL --password-file FILE [--size N] [--dimension D] [--queries Q] [--reuse]")
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
// Every task and query is a distinct text, so that the embedder can look its vector up by text.
var drawnTasks = Set<String>()
@MainActor func task() -> String {
    while true {
        let text = (0..<4).map { _ in words.randomElement(using: &generator) ?? "mug" }.joined(separator: " ")
        if drawnTasks.insert(text).inserted { return text }
    }
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
let embedder = PrecomputedEmbedder(
    vectors: Dictionary(uniqueKeysWithValues: zip(tasks, vectors) + queries.map { ($0.1, $0.0) }),
    dimension: dimension)

let schema = "bench_\(size)_\(dimension)"
let database = DatabaseLocation(
    url: url + (url.contains("?") ? "&" : "?") + "schema=\(schema)", passwordFile: passwordFile)
/// The position of memory `m<position>` among the drawn memories.
func position(of memory: Memory) -> Int { Int(memory.id.dropFirst()) ?? -1 }

var loadSeconds: Double?
let stored = try? await MemoryStore.statistics(at: .database(database)).memories
let storedEmbedder = try? await MemoryStore.info(at: .database(database)).embedderID
if !(reuse && stored == size && storedEmbedder == embedder.modelIdentifier) {
    // A fresh schema: the store numbers the memories from 1 in load order.
    let backend = try await PostgresBackend.connect(
        to: PostgresLocation(url: database.url, password: .file(passwordFile)))
    try await backend.dropSchema()
    backend.close()
    let store = try await MemoryStore.open(at: .database(database), embedder: embedder)
    let options = ImportOptions(builder: MemoryBuilder(policy: .trajectory, keywordLimit: 0))
    let start = ContinuousClock.now
    for first in stride(from: 0, to: size, by: 1000) {
        let trajectories = (first..<min(first + 1000, size)).map { index in
            Trajectory(
                id: "m\(index)", task: tasks[index], steps: [Step(action: "do it")], outcome: Outcome(success: true),
                source: "bench", labels: [:])
        }
        try await store.add(trajectories, options: options)
        if first % 20_000 == 0 { log("loaded \(first + trajectories.count)") }
    }
    let elapsed = start.duration(to: .now)
    loadSeconds = elapsed.inSeconds
    log("loaded \(size) memories in \(loadSeconds ?? 0) s (HNSW maintained on insert)")
}

@MainActor func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = start.duration(to: .now)
    return elapsed.inMilliseconds
}

var results: [[String: Any]] = []
@MainActor func record(_ engine: String, _ mode: String, _ samples: [Double], recall: Double? = nil) {
    let p50 = rounded(percentile(samples, 50)), p95 = rounded(percentile(samples, 95))
    var row: [String: Any] = ["engine": engine, "mode": mode, "p50_ms": p50, "p95_ms": p95]
    if let recall { row["recall_at_k"] = rounded(recall) }
    results.append(row)
    log("\(engine) \(mode): p50 \(p50) ms, p95 \(p95) ms" + (recall.map { ", recall \($0)" } ?? ""))
}

// Local engine; its IDs are the memories' positions.
var exactTop: [Set<Int>] = []
for storage in [VectorStorage.f32, .int8] {
    var index = try FlatIndex(dimension: dimension, metric: .cosine, storage: storage)
    index.reserveCapacity(size)
    for (position, vector) in vectors.enumerated() { try index.add(vector, id: DocumentID(UInt64(position))) }
    var samples: [Double] = []
    for (position, (query, _)) in queries.enumerated() {
        var hits: [SearchHit] = []
        let elapsed = try await time { hits = try index.search(query, k: k) }
        if position >= warmup { samples.append(elapsed) }
        if storage == .f32 { exactTop.append(Set(hits.map { Int($0.id.rawValue) })) }
    }
    record("local", "vector exact (FlatIndex \(storage.rawValue))", samples)
}

// PostgreSQL, through a store opened for each way of searching.
@MainActor func measure(
    _ mode: String, search: DatabaseSearch, policy: RetrievalPolicy, recallAgainstExact: Bool
) async throws {
    let store = try await MemoryStore.open(
        at: .database(database), embedder: embedder, options: StoreOpenOptions(databaseSearch: search))
    let options = RetrievalOptions(policy: policy, k: k)
    var samples: [Double] = []
    var recalled = 0
    for (offset, (_, text)) in queries.enumerated() {
        var hits: [MemoryHit] = []
        let elapsed = try await time { hits = try await store.retrieve(text, options: options) }
        guard offset >= warmup else { continue }
        samples.append(elapsed)
        recalled += exactTop[offset].intersection(hits.map { position(of: $0.memory) }).count
    }
    record("postgres", mode, samples, recall: recallAgainstExact ? Double(recalled) / Double(k * queryCount) : nil)
}
try await measure("vector exact", search: .exact, policy: .query, recallAgainstExact: true)
for efSearch in [20, 40, 64, 100, 200, 400] {
    try await measure(
        "vector HNSW ef_search \(efSearch)", search: .hnsw(efSearch: efSearch), policy: .query,
        recallAgainstExact: true)
}
try await measure("keyword ts_rank_cd", search: .standard, policy: .bm25, recallAgainstExact: false)
try await measure("hybrid (HNSW 100 + keyword, RRF)", search: .standard, policy: .hybrid, recallAgainstExact: false)

let output: [String: Any] = [
    "size": size, "dimension": dimension, "queries": queryCount, "warmup": warmup, "k": k,
    "load_seconds": loadSeconds as Any, "cpus": ProcessInfo.processInfo.activeProcessorCount, "results": results,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys]), as: UTF8.self))
