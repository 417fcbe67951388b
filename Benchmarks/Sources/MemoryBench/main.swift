// Procedural memory: import throughput (trajectories/s, embeddings included) and lookup latency per retrieval
// policy (query embedding included) on synthetic but realistic trajectories; prints one JSON object.
//   MemoryBench [--sizes 10000,100000] [--queries 300] [--warmup 30] [--seed S] [--embedder minilm|hashing]
//               [--work-directory DIR] [--keep] [--reuse] [--long-tasks FILE]
// --long-tasks FILE: also time lookups of the tasks in FILE (JSON lines with a "query" or "task" field, e.g.
// data/textworld-sample/queries.jsonl, ~150 tokens each), reused in order, as a second set ("latency_long").
// Each size gets a fresh store in the work directory (default: a temporary directory, removed at the end);
// --reuse measures lookups on a store kept by an earlier --keep run instead of importing again.
import BenchmarkSupport
import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore

/// Household (ALFWorld-like), cooking (TextWorld-like), shopping (WebShop-like) and travel (TravelPlanner-like)
/// tasks with plausible steps: exploration, dead ends that change nothing, the actions that matter.
struct TrajectoryGenerator {
    var rng: SplitMix64
    let objects = [
        "apple", "mug", "potato", "tomato", "egg", "lettuce", "bread", "knife", "spoon", "fork",
        "plate", "bowl", "cup",
        "pan", "pot", "kettle", "book", "pen", "pencil", "cellphone", "keychain", "creditcard", "watch",
        "vase",
        "candle", "towel", "soapbar", "spraybottle", "cloth", "pillow", "laptop", "remotecontrol",
        "newspaper",
        "statue", "box", "alarmclock", "cd", "tissuebox", "winebottle", "saltshaker", "peppershaker",
        "butterknife",
    ]
    let receptacles = [
        "fridge", "microwave", "countertop", "cabinet", "drawer", "shelf", "sinkbasin", "stoveburner",
        "diningtable",
        "coffeetable", "sidetable", "desk", "dresser", "bed", "sofa", "armchair", "garbagecan", "safe",
        "toilet",
        "bathtubbasin", "handtowelholder", "towelholder", "coffeemachine", "toaster",
    ]
    let ingredients = [
        "red potato", "yellow bell pepper", "carrot", "red onion", "chicken leg", "block of cheese",
        "purple potato",
        "white onion", "red apple", "banana", "black pepper", "salt", "flour", "milk",
        "orange bell pepper",
    ]
    let preparations = ["sliced", "diced", "chopped", "fried", "grilled", "roasted"]
    let colors = ["black", "white", "red", "blue", "green", "grey", "navy", "brown", "pink", "beige"]
    let items = [
        "running shoes", "rain jacket", "wireless earbuds", "coffee grinder", "yoga mat", "desk lamp",
        "backpack",
        "water bottle", "wool socks", "phone case", "bluetooth speaker", "office chair", "hiking boots",
    ]
    let cities = [
        "Seattle", "Denver", "Austin", "Miami", "Boston", "Chicago", "Atlanta", "Phoenix", "Portland",
        "Nashville",
        "San Diego", "Minneapolis", "Orlando", "Dallas", "Philadelphia", "Las Vegas",
    ]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
    mutating func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    enum Family: CaseIterable { case place, clean, heat, cool, examine, placeTwo, cook, shop, travel }

    mutating func task(_ family: Family) -> (task: String, source: String, steps: [Step]) {
        switch family {
        case .place, .clean, .heat, .cool, .placeTwo:
            let object = pick(objects)
            let target = pick(receptacles)
            let verb: String? = [.clean: "clean", .heat: "heat", .cool: "cool"][family]
            let task: String
            switch family {
            case .clean:
                task = pick([
                    "put a clean \(object) in \(target)", "clean some \(object) and put it in \(target)",
                ])
            case .heat:
                task = pick([
                    "heat some \(object) and put it in \(target)", "put a hot \(object) in \(target)",
                ])
            case .cool:
                task = pick([
                    "cool some \(object) and put it in \(target)", "put a cool \(object) in \(target)",
                ])
            case .placeTwo: task = "find two \(object) and put them in \(target)"
            default: task = pick(["put a \(object) in \(target)", "put some \(object) on \(target)"])
            }
            var steps: [Step] = []
            for _ in 0..<number(1...5) {
                let place = pick(receptacles)
                let index = number(1...4)
                steps.append(
                    Step(
                        action: "go to \(place) \(index)",
                        observation: "On the \(place) \(index), you see a \(pick(objects)) \(number(1...3))."))
            }
            let place = pick(receptacles)
            steps.append(
                Step(action: "go to \(place) 1", observation: "On the \(place) 1, you see a \(object) 1."))
            steps.append(
                Step(
                    action: "take \(object) 1 from \(place) 1",
                    observation: "You pick up the \(object) 1 from the \(place) 1."))
            if let verb {
                let appliance =
                    [.clean: "sinkbasin", .heat: "microwave", .cool: "fridge"][family] ?? "sinkbasin"
                if number(0...2) == 0 {
                    steps.append(
                        Step(
                            action: "\(verb) \(object) 1 with \(pick(receptacles)) 1",
                            observation: "Nothing happens."))
                }
                steps.append(
                    Step(action: "go to \(appliance) 1", observation: "The \(appliance) 1 is closed."))
                steps.append(
                    Step(
                        action: "\(verb) \(object) 1 with \(appliance) 1",
                        observation: "You \(verb) the \(object) 1 using the \(appliance) 1."))
            }
            steps.append(
                Step(action: "go to \(target) 1", observation: "On the \(target) 1, you see nothing."))
            steps.append(
                Step(
                    action: "put \(object) 1 in/on \(target) 1",
                    observation: "You put the \(object) 1 in/on the \(target) 1."))
            if family == .placeTwo {
                steps.append(
                    Step(action: "go to \(pick(receptacles)) 2", observation: "On it, you see a \(object) 2.")
                )
                steps.append(
                    Step(
                        action: "take \(object) 2 from \(place) 2", observation: "You pick up the \(object) 2.")
                )
                steps.append(
                    Step(
                        action: "go to \(target) 1", observation: "On the \(target) 1, you see a \(object) 1."))
                steps.append(
                    Step(
                        action: "put \(object) 2 in/on \(target) 1",
                        observation: "You put the \(object) 2 in/on the \(target) 1."))
            }
            return (task, "alfworld-synthetic", steps)
        case .examine:
            let object = pick(objects)
            let steps = [
                Step(action: "go to \(pick(receptacles)) 1", observation: "On it, you see a \(object) 1."),
                Step(
                    action: "take \(object) 1 from \(pick(receptacles)) 1",
                    observation: "You pick up the \(object) 1."),
                Step(action: "go to sidetable 1", observation: "On the sidetable 1, you see a desklamp 1."),
                Step(action: "use desklamp 1", observation: "You turn on the desklamp 1."),
            ]
            return (
                pick(["examine the \(object) with the desklamp", "look at \(object) under the desklamp"]),
                "alfworld-synthetic", steps
            )
        case .cook:
            let first = pick(ingredients)
            let second = pick(ingredients)
            let preparation = pick(preparations)
            let task =
                "Cook a meal from the recipe in the cookbook: \(preparation) \(first) and \(second)"
            let steps = [
                Step(
                    action: "open fridge",
                    observation: "You open the fridge. Inside you see a \(first) and a \(second)."),
                Step(
                    action: "read cookbook",
                    observation:
                        "Ingredients: \(first), \(second). Directions: \(preparation) the \(first), prepare meal."
                ),
                Step(action: "take \(first)", observation: "You take the \(first)."),
                Step(action: "take \(second)", observation: "You take the \(second)."),
                Step(action: "take knife", observation: "You take the knife."),
                Step(action: "cook \(first) in stove", observation: "You \(preparation) the \(first)."),
                Step(action: "prepare meal", observation: "Adding the meal to your inventory."),
                Step(action: "eat meal", observation: "You eat the meal. It is delicious."),
            ]
            return (task, "textworld-synthetic", steps)
        case .shop:
            let color = pick(colors)
            let item = pick(items)
            let price = number(2...20) * 10
            let task = "Buy \(color) \(item) for less than \(price) dollars"
            let steps = [
                Step(action: "search[\(color) \(item)]", observation: "Page 1 of results: 10 products."),
                Step(
                    action: "click[item \(number(1...10))]",
                    observation: "\(color.capitalized) \(item), price $\(price - number(1...9))."),
                Step(action: "click[\(color)]", observation: "You selected \(color)."),
                Step(action: "click[buy now]", observation: "Thank you for shopping with us."),
            ]
            return (task, "webshop-synthetic", steps)
        case .travel:
            let origin = pick(cities)
            let destination = pick(cities)
            let days = number(3...7)
            let budget = number(8...40) * 100
            let task =
                "Plan a \(days)-day trip from \(origin) to \(destination) with a budget of $\(budget)"
            let steps = [
                Step(
                    action: "FlightSearch[\(origin), \(destination)]",
                    observation: "\(number(3...30)) flights found."),
                Step(
                    action: "AccommodationSearch[\(destination)]",
                    observation: "\(number(10...80)) places to stay found."),
                Step(
                    action: "RestaurantSearch[\(destination)]",
                    observation: "\(number(10...90)) restaurants found."),
                Step(
                    action: "AttractionSearch[\(destination)]",
                    observation: "\(number(5...40)) attractions found."),
                Step(action: "Planner[\(days) days, $\(budget)]", observation: "A plan within budget."),
            ]
            return (task, "travelplanner-synthetic", steps)
        }
    }

    mutating func trajectory(index: Int) -> Trajectory {
        let family = pick(Family.allCases)
        let (task, source, steps) = self.task(family)
        let success = number(0...9) < 7
        return Trajectory(
            id: "syn-\(index)", task: task, steps: steps,
            outcome: Outcome(success: success, reward: success ? 1 : 0),
            source: source,
            labels: ["taskType": "\(family)", "fold": number(0...9) < 8 ? "train" : "valid"])
    }

    mutating func query() -> String { task(pick(Family.allCases)).task }
}

var sizes = [10_000, 100_000]
var queryCount = 300
var warmup = 30
var seed: UInt64 = 20_261_128
var embedderName = "minilm"
var workDirectory: String?
var keep = false
var reuse = false
var longTasksFile: String?
var arguments = ArraySlice(CommandLine.arguments.dropFirst())
func parsed<Value: LosslessStringConvertible>(_ text: some StringProtocol, _ flag: String) -> Value {
    guard let value = Value(String(text)) else { fail("\(flag): can't read \(text)") }
    return value
}
while let flag = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
        return value
    }
    switch flag {
    case "--sizes": sizes = value().split(separator: ",").map { parsed($0, flag) }
    case "--queries": queryCount = parsed(value(), flag)
    case "--warmup": warmup = parsed(value(), flag)
    case "--seed": seed = parsed(value(), flag)
    case "--embedder": embedderName = value()
    case "--work-directory": workDirectory = value()
    case "--keep": keep = true
    case "--reuse": reuse = true
    case "--long-tasks": longTasksFile = value()
    default: fail("unknown flag \(flag)")
    }
}

let configuration: EmbedderConfiguration
switch embedderName {
case "minilm":
    guard ModelStore().isInstalled(.minilm) else {
        fail("MiniLM is not installed; run `memp model install minilm`")
    }
    configuration = .minilm(modelDirectory: nil)
case "hashing": configuration = .hashing(dimension: 384)
default: fail("--embedder is minilm or hashing")
}
let embedder = try configuration.makeEmbedder()
var longTasks: [String] = []
if let longTasksFile {
    guard let text = try? String(contentsOfFile: longTasksFile, encoding: .utf8) else {
        fail("--long-tasks: can't read \(longTasksFile)")
    }
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where !line.allSatisfy(\.isWhitespace) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let task = (object["query"] ?? object["task"]) as? String
        else { fail("\(longTasksFile):\(number + 1): no \"query\" or \"task\" string") }
        longTasks.append(task)
    }
    if longTasks.isEmpty { fail("\(longTasksFile): no tasks") }
}

/// Per retrieval policy: p50/p95/p99/mean lookup latency in ms over `queries` (the first `warmup` not counted).
func lookupLatencies(
    _ store: MemoryStore, _ queries: [String], warmup: Int, label: String, lexicalMayMiss: Bool = false
) async throws
    -> [String: [String: Double]]
{
    var latencies: [String: [String: Double]] = [:]
    for policy in RetrievalPolicy.allCases {
        var samples: [Double] = []
        for (index, query) in queries.enumerated() {
            let start = now()
            let hits = try await store.retrieve(
                query, options: RetrievalOptions(policy: policy, k: 10, seed: UInt64(index)))
            let elapsed = now() - start
            // The lexical policies may miss a task that shares no indexed term with the store; the others may not.
            if hits.isEmpty && !(policy == .keyword || (policy == .bm25 && lexicalMayMiss)) {
                fail("\(policy) found nothing for \(label) task \(index)")
            }
            if index >= warmup { samples.append(elapsed * 1000) }
        }
        samples.sort()
        latencies[policy.rawValue] = [
            "p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95),
            "p99_ms": percentile(samples, 99),
            "mean_ms": samples.reduce(0, +) / Double(samples.count),
        ]
        log("  \(label) \(policy.rawValue): p50 \(percentile(samples, 50)) ms")
    }
    return latencies
}

/// p50 and p95 in ms of embedding each of `queries` alone (the first `warmup` not counted).
func embeddingLatencies(_ embedder: any Embedder, _ queries: [String], warmup: Int) async throws -> (p50: Double, p95: Double) {
    var samples: [Double] = []
    for (index, query) in queries.enumerated() {
        let start = now()
        _ = try await embedder.embed([query])
        if index >= warmup { samples.append((now() - start) * 1000) }
    }
    samples.sort()
    return (percentile(samples, 50), percentile(samples, 95))
}
let base = workDirectory ?? (NSTemporaryDirectory() + "memp-memory-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)

var results: [[String: Any]] = []
for size in sizes {
    log("\(size) trajectories: generating")
    var generator = TrajectoryGenerator(seed: seed)
    let file = base + "/trajectories-\(size).jsonl"
    if !FileManager.default.fileExists(atPath: file) {
        FileManager.default.createFile(atPath: file, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        let encoder = JSONEncoder()
        var chunk = Data()
        for index in 0..<size {
            chunk.append(try encoder.encode(generator.trajectory(index: index)))
            chunk.append(0x0A)
            if chunk.count > 1 << 20 {
                handle.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        handle.write(chunk)
        try handle.close()
    }
    let storePath = base + "/store-\(size)"
    var importSeconds: Double?
    let storedMemories = try? await MemoryStore.statistics(at: storePath).memories
    let reusable = reuse && storedMemories == size
    if !reusable {
        try? FileManager.default.removeItem(atPath: storePath)
        let store = try await MemoryStore.create(at: storePath, embedder: embedder, configuration: configuration)
        log("\(size) trajectories: importing with \(embedder.modelIdentifier)")
        let importStart = now()
        let report = try await store.importTrajectories(from: file, options: ImportOptions(batchSize: 512)) {
            progress in
            if progress.imported % 10_240 < 512 {
                log("  \(progress.imported) committed")
            }
        }
        importSeconds = now() - importStart
        guard report.imported == size else { fail("imported \(report.imported) of \(size)") }
    }

    let openStart = now()
    let reopened = try await MemoryStore.open(at: storePath)
    let openSeconds = now() - openStart

    var queryGenerator = TrajectoryGenerator(seed: seed &+ 1)
    let queries = (0..<(queryCount + warmup)).map { _ in queryGenerator.query() }
    let latencies = try await lookupLatencies(reopened, queries, warmup: warmup, label: "short")
    let embedding = try await embeddingLatencies(embedder, queries, warmup: warmup)
    var result: [String: Any] = [:]
    if !longTasks.isEmpty {
        let longQueries = (0..<(queryCount + warmup)).map { longTasks[$0 % longTasks.count] }
        result["latency_long"] = try await lookupLatencies(
            reopened, longQueries, warmup: warmup, label: "long", lexicalMayMiss: true)
        let longEmbedding = try await embeddingLatencies(embedder, longQueries, warmup: warmup)
        result["query_embedding_long_p50_ms"] = longEmbedding.p50
        result["query_embedding_long_p95_ms"] = longEmbedding.p95
        result["long_tasks_distinct"] = longTasks.count
        result["long_task_words_mean"] =
            Double(longTasks.map { $0.split(whereSeparator: \.isWhitespace).count }.reduce(0, +))
            / Double(longTasks.count)
    }
    result.merge([
        "memories": size, "import_seconds": importSeconds ?? NSNull(),
        "import_trajectories_per_second": importSeconds.map { Double(size) / $0 } ?? NSNull(),
        "open_seconds": openSeconds, "cache_state": "\(reopened.cacheState)", "latency": latencies,
        "query_embedding_p50_ms": embedding.p50,
        "query_embedding_p95_ms": embedding.p95,
        "peak_resident_bytes": MemoryStatus.read().peakResidentBytes,
    ]) { current, _ in current }
    results.append(result)
    if !keep { try? FileManager.default.removeItem(atPath: storePath) }
}
if !keep && workDirectory == nil { try? FileManager.default.removeItem(atPath: base) }
let output: [String: Any] = [
    "benchmark": "memory", "embedder": embedder.modelIdentifier, "queries": queryCount,
    "warmup": warmup, "k": 10,
    "seed": seed, "cpus": ProcessInfo.processInfo.activeProcessorCount, "results": results,
]
print(
    String(
        decoding: try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys]),
        as: UTF8.self))
