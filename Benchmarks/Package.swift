// swift-tools-version: 6.1
import PackageDescription

/// A benchmark executable: BenchmarkSupport and the named libraries of the main package.
func benchmark(_ name: String, using products: String...) -> Target {
    .executableTarget(
        name: name, dependencies: ["BenchmarkSupport"] + products.map { .product(name: $0, package: "Memp") })
}

// Release-only benchmark executables that print JSON; `run.sh` runs them beside the peers (FAISS, numpy, bm25s,
// sentence-transformers) on the same data in one run and writes docs/benchmarks.md. The main package never
// depends on this one.
let package = Package(
    name: "MempBenchmarks",
    platforms: [.macOS(.v15)],
    // The PostgreSQL trait: PostgresBench opens stores on a `postgres://` URL through MemoryLocation.
    dependencies: [.package(name: "Memp", path: "..", traits: ["PostgreSQL"])],
    targets: [
        // What the benchmarks share: one percentile definition, one clock, one reading of the process's memory and
        // one way to report progress and failure.
        // Their seeded generator is RetrievalCore's SplitMix64.
        .target(name: "BenchmarkSupport"),
        benchmark("VectorBench", using: "VectorIndex"),
        benchmark("KeywordBench", using: "KeywordIndex", "HybridSearch"),
        benchmark("EmbeddingBench", using: "Embeddings"),
        benchmark(
            "PostgresBench", using: "PostgresMemory", "VectorIndex", "ProceduralMemory", "MemoryLocation", "Embeddings",
            "RetrievalCore"),
        benchmark("MemoryBench", using: "ProceduralMemory", "MemoryLocation", "RetrievalCore"),
    ],
    swiftLanguageModes: [.v6]
)
