// Embedding throughput and latency of MiniLMEmbedder; prints one JSON object.
//   EmbeddingBench --sentences FILE [--model-directory DIR] [--repeats R]
// FILE has one sentence per line: Benchmarks/areas/embeddings.sh writes the 2,000 task-like sentences of the shared
// sentence-transformers anchor (shared/anchors/bench_embed.py), so both sides embed the very same texts.
// Measured like the anchor: batch 32 = one embed call over all sentences (median of R passes); batch 1 = one call
// per sentence, one pass. The encoder never calls BLAS, so OPENBLAS_NUM_THREADS does not matter here (it is
// recorded all the same). `flops_*` count the encoder's arithmetic: 2 per multiply-add of every linear layer
// (21.2 MFLOP a token for MiniLM-L6) plus attention's two products (4·n²·384 a layer for a text of n tokens).
import BenchmarkSupport
import Embeddings
import Foundation

var arguments = ArraySlice(CommandLine.arguments.dropFirst())
var repeats = 3
var sentencesPath: String?
var modelDirectory = ModelStore().modelDirectory(for: .minilm)
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
    switch flag {
    case "--repeats": repeats = Int(value) ?? repeats
    case "--sentences": sentencesPath = value
    case "--model-directory": modelDirectory = value
    default: fail("unknown flag \(flag)")
    }
}
guard let sentencesPath else { fail("--sentences FILE is required") }
let sentences = try String(contentsOfFile: sentencesPath, encoding: .utf8).split(separator: "\n").map(String.init)
let count = sentences.count
let rssBeforeLoad = MemoryStatus.read().peakResidentBytes

let store = ModelStore()
if modelDirectory == store.modelDirectory(for: .minilm), !store.isInstalled(.minilm) { try store.install(.minilm) }
let loadStart = now()
var embedder = try MiniLMEmbedder(modelDirectory: modelDirectory)
let loadSeconds = now() - loadStart
let tokens = sentences.map { embedder.tokenIDs($0).count }
let linearFlopsPerToken = 2.0 * 6 * Double(384 * 1152 + 384 * 384 + 2 * 384 * 1536)
let flops = tokens.reduce(0.0) { $0 + linearFlopsPerToken * Double($1) + 4 * Double($1 * $1) * 384 * 6 }
_ = try embedder.embed(Array(sentences.prefix(64)))  // warm-up: BLAS threads, page faults

var batchSeconds: [Double] = []
embedder.batchSize = 32
for _ in 0..<repeats {
    let start = now()
    _ = try embedder.embed(sentences)
    batchSeconds.append(now() - start)
}
var latencies: [Double] = []
let singleStart = now()
for sentence in sentences {
    let callStart = now()
    _ = try embedder.embed([sentence])
    latencies.append(now() - callStart)
}
let singleSeconds = now() - singleStart
let sorted = latencies.sorted()
let result: [String: Any] = [
    "implementation": "memp MiniLMEmbedder",
    "model_directory": modelDirectory,
    "n_sentences": count,
    "batch32_passes": repeats,
    "tokens_per_sentence_mean": Double(tokens.reduce(0, +)) / Double(count),
    "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default",
    "load_seconds": loadSeconds,
    "batch32_sentences_per_s": Double(count) / median(batchSeconds),
    "batch32_sentences_per_s_best": Double(count) / (batchSeconds.min() ?? 1),
    "batch1_sentences_per_s": Double(count) / singleSeconds,
    "latency_ms_median": percentile(sorted, 50) * 1000,
    "gflops_batch32": flops / median(batchSeconds) / 1e9,
    "gflops_batch1": flops / singleSeconds / 1e9,
    "loadavg_end": (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        .joined(separator: " ") ?? "",
    "latency_ms_p90": percentile(sorted, 90) * 1000,
    "latency_ms_p10": percentile(sorted, 10) * 1000,
    "peak_rss_bytes": MemoryStatus.read().peakResidentBytes,
    "peak_rss_before_load_bytes": rssBeforeLoad,
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
