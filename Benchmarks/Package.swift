// swift-tools-version: 6.1
import PackageDescription

// Release-only benchmark executables that print JSON; `run.sh` runs them beside the peers (FAISS, numpy, bm25s,
// sentence-transformers) on the same data in one run and writes docs/benchmarks.md. The main package never
// depends on this one.
let package = Package(
    name: "MempBenchmarks",
    platforms: [.macOS(.v15)],
    // The PostgreSQL trait: PostgresBench opens stores on a `postgres://` URL through MemoryLocation.
    dependencies: [.package(name: "Memp", path: "..", traits: ["PostgreSQL"])],
    targets: [
        // What the benchmarks share: one percentile definition. Their seeded generator is RetrievalCore's SplitMix64.
        .target(name: "BenchmarkSupport"),
        .executableTarget(
            name: "VectorBench",
            dependencies: ["BenchmarkSupport", .product(name: "VectorIndex", package: "Memp")]
        ),
        .executableTarget(
            name: "KeywordBench",
            dependencies: [
                "BenchmarkSupport", .product(name: "KeywordIndex", package: "Memp"),
                .product(name: "HybridSearch", package: "Memp"),
            ]
        ),
        .executableTarget(
            name: "EmbeddingBench",
            dependencies: ["BenchmarkSupport", .product(name: "Embeddings", package: "Memp")]
        ),
        .executableTarget(
            name: "PostgresBench",
            dependencies: [
                "BenchmarkSupport", .product(name: "PostgresMemory", package: "Memp"),
                .product(name: "VectorIndex", package: "Memp"), .product(name: "ProceduralMemory", package: "Memp"),
                .product(name: "MemoryLocation", package: "Memp"), .product(name: "Embeddings", package: "Memp"),
                .product(name: "RetrievalCore", package: "Memp"),
            ]
        ),
        .executableTarget(
            name: "MemoryBench",
            dependencies: [
                "BenchmarkSupport", .product(name: "ProceduralMemory", package: "Memp"),
                .product(name: "MemoryLocation", package: "Memp"), .product(name: "RetrievalCore", package: "Memp"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
