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
    dependencies: [.package(name: "Memp", path: "..")],
    targets: [
        // What the benchmarks share: one percentile definition. Their seeded generator is RetrievalCore's SplitMix64.
        .target(name: "BenchmarkSupport"),
        benchmark("VectorBench", using: "VectorIndex"),
        benchmark("KeywordBench", using: "KeywordIndex", "HybridSearch"),
        benchmark("EmbeddingBench", using: "Embeddings"),
        benchmark("PostgresBench", using: "PostgresMemory", "VectorIndex", "ProceduralMemory"),
        benchmark("MemoryBench", using: "ProceduralMemory", "MemoryLocation", "RetrievalCore"),
    ],
    swiftLanguageModes: [.v6]
)
