// Embedding throughput and latency of MiniLMEmbedder on short task-like sentences; prints one JSON object.
//   EmbeddingBench [--count N] [--seed S] [--write-sentences PATH] [--model-directory DIR] [--repeats R]
// The sentences come from a fixed seed, so a peer (sentence-transformers) can embed the very same list:
// `--write-sentences PATH` writes them one per line and exits. Set OPENBLAS_NUM_THREADS to fix the thread count.
import Embeddings
import Foundation

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Agent-task sentences such as "Carefully put the rusty key in the wooden drawer, then go north."
func taskSentences(count: Int, seed: UInt64) -> [String] {
    let verbs = ["take", "put", "open", "close", "examine", "cook", "slice", "move", "clean", "heat", "cool", "find"]
    let adjectives = ["red", "rusty", "wooden", "small", "dirty", "fresh", "old", "shiny", "green", "broken", "cold"]
    let objects = [
        "apple", "key", "knife", "mug", "book", "potato", "lamp", "towel", "plate", "coin", "letter", "carrot",
        "bottle", "box", "pan",
    ]
    let places = ["drawer", "fridge", "table", "cabinet", "sink", "oven", "shelf", "counter", "bed", "desk"]
    let rooms = ["kitchen", "bedroom", "pantry", "garden", "bathroom", "living room", "hallway", "attic"]
    let prepositions = ["in", "on", "from", "near", "under", "into"]
    let adverbs = ["", "", "carefully ", "quickly ", "then "]
    let tails = ["", "", ", then go north", " and return to the \(rooms[0])", " before the timer ends", " to finish the task"]
    var rng = SplitMix64(state: seed)
    func pick(_ words: [String]) -> String { words[Int(rng.next() % UInt64(words.count))] }
    return (0..<count).map { _ in
        var sentence = pick(adverbs) + pick(verbs) + " the " + pick(adjectives) + " " + pick(objects) + " "
            + pick(prepositions) + " the " + pick(places)
        if rng.next() % 2 == 0 { sentence += " in the " + pick(rooms) }
        sentence += pick(tails)
        return sentence.prefix(1).uppercased() + sentence.dropFirst() + "."
    }
}

/// Peak resident memory of this process (VmHWM) in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
    return 0
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.down)))]
}

var arguments = ArraySlice(CommandLine.arguments.dropFirst())
var count = 2000
var seed: UInt64 = 20_261_128
var repeats = 3
var sentencesPath: String?
var modelDirectory = ModelStore().modelDirectory(for: .minilm)
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--count": count = Int(value) ?? count
    case "--seed": seed = UInt64(value) ?? seed
    case "--repeats": repeats = Int(value) ?? repeats
    case "--write-sentences": sentencesPath = value
    case "--model-directory": modelDirectory = value
    default: fatalError("unknown flag \(flag)")
    }
}
let sentences = taskSentences(count: count, seed: seed)
if let sentencesPath {
    try (sentences.joined(separator: "\n") + "\n").write(toFile: sentencesPath, atomically: true, encoding: .utf8)
    exit(0)
}

let loadStart = now()
var embedder = try MiniLMEmbedder(modelDirectory: modelDirectory)
let loadSeconds = now() - loadStart
let tokens = sentences.map { embedder.tokenIDs($0).count }
_ = try embedder.embed(Array(sentences.prefix(64)))  // warm-up: BLAS threads, page faults

var batchRates: [Double] = []
for _ in 0..<repeats {
    embedder.batchSize = 32
    let start = now()
    _ = try embedder.embed(sentences)
    batchRates.append(Double(count) / (now() - start))
}
var singleRates: [Double] = []
var latencies: [Double] = []
for _ in 0..<repeats {
    let start = now()
    for sentence in sentences {
        let callStart = now()
        _ = try embedder.embed([sentence])
        latencies.append(now() - callStart)
    }
    singleRates.append(Double(count) / (now() - start))
}
latencies.sort()
let result: [String: Any] = [
    "implementation": "memp MiniLMEmbedder",
    "sentences": count,
    "mean_tokens": Double(tokens.reduce(0, +)) / Double(count),
    "threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default",
    "load_seconds": loadSeconds,
    "batch32_sentences_per_second": batchRates.max() ?? 0,
    "batch1_sentences_per_second": singleRates.max() ?? 0,
    "latency_ms_p50": percentile(latencies, 50) * 1000,
    "latency_ms_p95": percentile(latencies, 95) * 1000,
    "latency_ms_p99": percentile(latencies, 99) * 1000,
    "peak_rss_bytes": peakResidentBytes(),
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
