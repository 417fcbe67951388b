// swift-tools-version: 6.1
import PackageDescription

// Layers, each depending only on those above it:
// CKernels, CBLAS -> RetrievalCore -> VectorIndex, KeywordIndex, Embeddings -> HybridSearch
// -> ProceduralMemory -> PostgresMemory, Evaluation -> MempCLI.
let package = Package(
    name: "Memp",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VectorIndex", targets: ["VectorIndex"]),
        .library(name: "KeywordIndex", targets: ["KeywordIndex"]),
        .library(name: "HybridSearch", targets: ["HybridSearch"]),
        .library(name: "Embeddings", targets: ["Embeddings"]),
        .library(name: "ProceduralMemory", targets: ["ProceduralMemory"]),
        .library(name: "PostgresMemory", targets: ["PostgresMemory"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .executable(name: "memp", targets: ["MempCLI"]),
    ],
    traits: [
        .trait(
            name: "PostgreSQL",
            description: "The CLI's PostgreSQL backend (memp init --backend postgres, memp migrate); links PostgresNIO."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libblas-dev", "liblapacke-dev", "libopenblas-dev"])]
        ),
        .target(name: "CKernels"),
        .target(
            name: "RetrievalCore",
            dependencies: [
                "CKernels",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "VectorIndex",
            dependencies: ["RetrievalCore", "CKernels", "CBLAS"]
        ),
        .target(
            name: "KeywordIndex",
            dependencies: ["RetrievalCore"]
        ),
        .target(
            name: "HybridSearch",
            dependencies: ["RetrievalCore", "VectorIndex", "KeywordIndex", "Embeddings"]
        ),
        .target(
            name: "Embeddings",
            dependencies: [
                "RetrievalCore", "CKernels", "CBLAS",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .target(
            name: "ProceduralMemory",
            dependencies: [
                "RetrievalCore", "VectorIndex", "KeywordIndex", "HybridSearch", "Embeddings",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Prompts")]
        ),
        .target(
            name: "PostgresMemory",
            dependencies: [
                "RetrievalCore", "HybridSearch", "Embeddings", "ProceduralMemory",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "Evaluation",
            dependencies: ["RetrievalCore", "HybridSearch", "Embeddings", "ProceduralMemory"]
        ),
        .executableTarget(
            name: "MempCLI",
            dependencies: [
                "RetrievalCore", "VectorIndex", "KeywordIndex", "HybridSearch", "Embeddings", "ProceduralMemory",
                "Evaluation", .target(name: "PostgresMemory", condition: .when(traits: ["PostgreSQL"])),
                "CKernels", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["RetrievalCore"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "RetrievalCoreTests", dependencies: ["RetrievalCore", "TestSupport"]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "TestSupport"]),
        .testTarget(
            name: "KeywordIndexTests",
            dependencies: ["KeywordIndex", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "HybridSearchTests", dependencies: ["HybridSearch", "TestSupport"]),
        .testTarget(
            name: "EmbeddingsTests",
            dependencies: ["Embeddings", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ProceduralMemoryTests", dependencies: ["ProceduralMemory", "TestSupport"]),
        .testTarget(
            name: "PostgresMemoryTests",
            dependencies: ["PostgresMemory", "ProceduralMemory", "VectorIndex", "HybridSearch", "Embeddings", "TestSupport"]
        ),
        .testTarget(
            name: "EvaluationTests", dependencies: ["Evaluation", "HybridSearch", "ProceduralMemory", "TestSupport"]),
        .testTarget(name: "MempCLITests", dependencies: ["MempCLI", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
