// Keyword (BM25) and hybrid benchmark; prints one JSON object. Run by Benchmarks/areas/keyword.sh.
//
//   KeywordBench --corpus corpus.jsonl --queries bm25-queries.jsonl --top10 out.jsonl [--hybrid-documents N]
// (--hybrid-documents 0 skips the hybrid part; default 100,000).
//
// Single thread throughout. Build = tokenize + index, median of 3. Queries = all queries one call each, top-10,
// median of 5 passes (after one warm-up pass). The top-10 IDs of the bm25s-compatible run go to --top10 so the
// runner can compute the overlap with bm25s.
import BenchmarkSupport
import Foundation
import HybridSearch
import KeywordIndex
import RetrievalCore

struct Options {
    var corpus = ""
    var queries = ""
    var top10 = ""
    var hybridDocuments = 100_000

    init() {
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = arguments.next() {
            guard let value = arguments.next() else { fail("\(flag) needs a value") }
            switch flag {
            case "--corpus": corpus = value
            case "--queries": queries = value
            case "--top10": top10 = value
            case "--hybrid-documents": hybridDocuments = Int(value) ?? hybridDocuments
            default: fail("unknown flag \(flag)")
            }
        }
        guard !corpus.isEmpty, !queries.isEmpty else { fail("--corpus and --queries are required") }
    }
}

func readLines(_ path: String) -> [[String: Any]] {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return data.split(separator: UInt8(ascii: "\n")).compactMap {
        try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
    }
}

let options = Options()
let corpus = readLines(options.corpus)
let texts = corpus.map { $0["text"] as? String ?? "" }
let ids = corpus.map { $0["id"] as? String ?? "" }
let queries = readLines(options.queries)
let queryTexts = queries.map { $0["text"] as? String ?? "" }
let queryIDs = queries.map { $0["id"] as? String ?? "" }

/// Builds an index over the corpus with `configuration`, `repetitions` times; returns the last and the times.
func build(_ configuration: TokenizerConfiguration, repetitions: Int) throws -> (KeywordIndex, [Double]) {
    var seconds: [Double] = []
    var index = KeywordIndex(tokenizer: configuration)
    for _ in 0..<repetitions {
        let start = now()
        index = KeywordIndex(tokenizer: configuration)
        for (row, text) in texts.enumerated() { try index.add(text, id: DocumentID(UInt64(row))) }
        seconds.append(now() - start)
    }
    return (index, seconds)
}

/// Runs every query once per pass; returns queries/s per pass, per-query latencies (ms) of the last pass, hits.
func query(_ index: KeywordIndex, evaluation: QueryEvaluation, passes: Int) throws -> (
    [Double], [Double], [[SearchHit]]
) {
    var results: [[SearchHit]] = []
    for text in queryTexts { results.append(try index.search(text, k: 10, evaluation: evaluation)) }  // warm-up
    var rates: [Double] = []
    var latencies: [Double] = []
    for _ in 0..<passes {
        latencies.removeAll(keepingCapacity: true)
        let start = now()
        for (position, text) in queryTexts.enumerated() {
            let begin = now()
            results[position] = try index.search(text, k: 10, evaluation: evaluation)
            latencies.append((now() - begin) * 1e3)
        }
        rates.append(Double(queryTexts.count) / (now() - start))
    }
    return (rates, latencies, results)
}

func keywordReport(_ configuration: TokenizerConfiguration, name: String, writeTop10: Bool) throws -> [String: Any] {
    let (index, buildSeconds) = try build(configuration, repetitions: 3)
    var report: [String: Any] = [
        "tokenizer": name,
        "build_s": rounded(median(buildSeconds), 3), "build_s_per_rep": buildSeconds.map { rounded($0, 3) },
        "documents": index.count, "vocabulary": index.vocabularySize,
        "average_document_length": rounded(index.averageDocumentLength, 2),
    ]
    var reference: [[SearchHit]] = []
    for evaluation in QueryEvaluation.allCases {
        let (rates, latencies, hits) = try query(index, evaluation: evaluation, passes: 5)
        if reference.isEmpty { reference = hits }
        report[evaluation.rawValue] = [
            "qps": rounded(median(rates), 1), "qps_per_pass": rates.map { rounded($0, 1) },
            "p50_ms": rounded(percentile(latencies, 50), 4), "p95_ms": rounded(percentile(latencies, 95), 4),
            "same_top10_as_accumulate": hits == reference,
        ]
    }
    if writeTop10 && !options.top10.isEmpty {
        let lines = zip(queryIDs, reference).map { qid, hits -> String in
            let object: [String: Any] = [
                "qid": qid, "ids": hits.map { ids[Int($0.id.rawValue)] }, "scores": hits.map { Double($0.score) },
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: options.top10, atomically: true, encoding: .utf8)
    }
    return report
}

/// A unit vector of Gaussian components (Box–Muller).
func randomUnitVector(dimension: Int, using rng: inout SplitMix64) -> [Float] {
    normalized(
        (0..<dimension).map { _ -> Float in
            let u = Double.random(in: Double.ulpOfOne..<1, using: &rng), v = Double.random(in: 0..<1, using: &rng)
            return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        })
}

/// Hybrid search over `documents` documents: corpus texts (cycled) with seeded random 384-d unit vectors, 300
/// queries (corpus query texts with random vectors), each mode timed per query after a warm-up.
func hybridReport(documents: Int) throws -> [String: Any] {
    let dimension = 384
    var rng = SplitMix64(seed: 42)
    var collection = try DocumentCollection(configuration: CollectionConfiguration(dimension: dimension))
    let buildStart = now()
    var batch: [Document] = []
    for index in 0..<documents {
        batch.append(
            Document(
                id: "d\(index)", text: texts[index % texts.count],
                vector: randomUnitVector(dimension: dimension, using: &rng),
                metadata: ["shard": String(index % 4)]))
        if batch.count == 10_000 || index == documents - 1 {
            try collection.add(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    let buildSeconds = now() - buildStart
    let queryCount = min(300, queryTexts.count)
    let queries = (0..<queryCount).map {
        HybridQuery(text: queryTexts[$0], vector: randomUnitVector(dimension: dimension, using: &rng), k: 10)
    }
    var report: [String: Any] = [
        "documents": collection.count, "dimension": dimension, "queries": queryCount, "k": 10,
        "candidate_depth": queries[0].effectiveCandidateDepth, "build_s": rounded(buildSeconds, 2),
        "vector_threads": "default (all cores)",
    ]
    var filter = MetadataFilter()
    filter.require("shard", equals: "1")
    let variants: [(String, SearchMode, FusionMethod, MetadataFilter?)] = [
        ("hybrid_rrf", .hybrid, .reciprocalRank(), nil),
        ("hybrid_convex_minmax", .hybrid, .convex(alpha: 0.5, normalization: .minMax), nil),
        ("hybrid_rrf_filtered_quarter", .hybrid, .reciprocalRank(), filter),
        ("vector_only", .vector, .reciprocalRank(), nil),
        ("keyword_only", .bm25, .reciprocalRank(), nil),
    ]
    for (name, mode, fusion, filter) in variants {
        var latencies: [Double] = []
        for (position, base) in queries.enumerated() {
            var query = base
            query.mode = mode
            query.fusion = fusion
            query.filter = filter
            let start = now()
            _ = try collection.search(query)
            if position >= 20 { latencies.append((now() - start) * 1e3) }  // the first 20 warm up
        }
        report[name] = [
            "p50_ms": rounded(percentile(latencies, 50), 3), "p95_ms": rounded(percentile(latencies, 95), 3),
            "mean_ms": rounded(latencies.reduce(0, +) / Double(max(latencies.count, 1)), 3),
        ]
    }
    return report
}

var output: [String: Any] = [
    "bench": "KeywordBench", "corpus_documents": texts.count, "queries": queryTexts.count, "k": 10,
    "k1": 1.5, "b": 0.75, "threads": 1,
]
output["bm25s_compatible"] = try keywordReport(.bm25sCompatible, name: "bm25sCompatible", writeTop10: true)
output["english"] = try keywordReport(.english, name: "english (Porter2, Snowball stop words)", writeTop10: false)
/// Accumulation against MaxScore on the corpus repeated `copies` times (bm25sCompatible tokenizer), to see where
/// dynamic pruning starts to pay; one timed pass per strategy after a warm-up.
func scaleReport(copies: Int) throws -> [String: Any] {
    var index = KeywordIndex(tokenizer: .bm25sCompatible)
    for copy in 0..<copies {
        for (row, text) in texts.enumerated() { try index.add(text, id: DocumentID(UInt64(copy * texts.count + row))) }
    }
    var report: [String: Any] = ["documents": index.count]
    var reference: [[SearchHit]] = []
    for evaluation in QueryEvaluation.allCases {
        let (rates, latencies, hits) = try query(index, evaluation: evaluation, passes: 1)
        if reference.isEmpty { reference = hits }
        report[evaluation.rawValue] = [
            "qps": rounded(median(rates), 1), "p50_ms": rounded(percentile(latencies, 50), 4),
            "p95_ms": rounded(percentile(latencies, 95), 4), "same_top10_as_accumulate": hits == reference,
        ]
    }
    return report
}

output["scale_10x"] = try scaleReport(copies: 10)
if options.hybridDocuments > 0 { output["hybrid"] = try hybridReport(documents: options.hybridDocuments) }
let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
print(String(decoding: data, as: UTF8.self))
