// swift-tools-version: 6.1
import PackageDescription

// Layers, each depending only on those above it:
// CKernels, CBLAS -> RetrievalCore -> VectorIndex, KeywordIndex, Embeddings -> HybridSearch
// -> ProceduralMemory -> LLMWriters, SQLiteMemory, PostgresMemory -> MemoryLocation -> Evaluation, MempService
// -> MempServer -> MempCLI. LLMClient sits beside the indexes: Embeddings and LLMWriters use it.

/// The test target of `module`, named `<module>Tests`: it depends on the module, on `others` and on TestSupport, and
/// copies the folder `resources` when one is named.
func tests(of module: String, _ others: [Target.Dependency] = [], resources: String? = nil) -> Target {
    .testTarget(
        name: module + "Tests",
        dependencies: [.byName(name: module)] + others + ["TestSupport"],
        resources: resources.map { [.copy($0)] }
    )
}

// Every library target is also a product of the same name.
let libraries: [Target] = [
    .target(
        name: "RetrievalCore",
        dependencies: [
            "CKernels",
            .product(name: "HeapModule", package: "swift-collections"),
        ]
    ),
    .target(name: "VectorIndex", dependencies: ["RetrievalCore", "CKernels", "CBLAS"]),
    .target(name: "KeywordIndex", dependencies: ["RetrievalCore"]),
    .target(name: "HybridSearch", dependencies: ["RetrievalCore", "VectorIndex", "KeywordIndex", "Embeddings"]),
    // Clients of OpenAI-compatible servers: chat completions and the HTTP transport the embeddings client shares.
    .target(name: "LLMClient", dependencies: ["RetrievalCore"]),
    .target(
        name: "Embeddings",
        dependencies: [
            "RetrievalCore", "LLMClient", "CKernels", "CBLAS",
            .product(name: "RealModule", package: "swift-numerics"),
        ]
    ),
    .target(
        name: "ProceduralMemory",
        dependencies: ["RetrievalCore", "VectorIndex", "KeywordIndex", "HybridSearch", "Embeddings"]
    ),
    // Script writers, revisers and scorers that ask a language model, with their prompts.
    .target(
        name: "LLMWriters", dependencies: ["RetrievalCore", "ProceduralMemory", "LLMClient"],
        resources: [.copy("Prompts")]),
    .target(
        name: "SQLiteMemory",
        dependencies: [
            "RetrievalCore", "VectorIndex", "Embeddings", "ProceduralMemory",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]
    ),
    .target(
        name: "PostgresMemory",
        dependencies: [
            "RetrievalCore", "HybridSearch", "Embeddings", "ProceduralMemory",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]
    ),
    .target(
        name: "MemoryLocation",
        dependencies: [
            "RetrievalCore", "VectorIndex", "Embeddings", "ProceduralMemory", "SQLiteMemory",
            .target(name: "PostgresMemory", condition: .when(traits: ["PostgreSQL"])),
        ]
    ),
    .target(
        name: "Evaluation",
        dependencies: ["RetrievalCore", "HybridSearch", "Embeddings", "ProceduralMemory", "MemoryLocation"]
    ),
    .target(
        name: "MempService",
        dependencies: ["RetrievalCore", "HybridSearch", "Embeddings", "ProceduralMemory", "MemoryLocation"]
    ),
]

let package = Package(
    name: "Memp",
    platforms: [.macOS(.v15)],
    products: libraries.map { .library(name: $0.name, targets: [$0.name]) } + [
        .executable(name: "memp", targets: ["MempCLI"])
    ],
    traits: [
        .trait(
            name: "PostgreSQL",
            description:
                "PostgreSQL stores in MemoryLocation, so in the CLI and the server (memp init --backend postgres, memp migrate); links PostgresNIO."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libblas-dev", "liblapacke-dev", "libopenblas-dev"])]
        ),
        .target(name: "CKernels"),
    ] + libraries + [
        .target(
            name: "MempServer",
            dependencies: [
                "MempService", "ProceduralMemory", "RetrievalCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "MempCLI",
            dependencies: [
                "RetrievalCore", "VectorIndex", "KeywordIndex", "HybridSearch", "Embeddings", "LLMClient",
                "ProceduralMemory", "LLMWriters", "MemoryLocation", "Evaluation", "MempService", "MempServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["RetrievalCore", "LLMClient"], path: "Tests/TestSupport"),
        tests(of: "RetrievalCore"),
        tests(of: "VectorIndex", resources: "Fixtures"),
        tests(of: "KeywordIndex", resources: "Fixtures"),
        tests(of: "HybridSearch", resources: "Fixtures"),
        tests(of: "LLMClient"),
        tests(of: "Embeddings", resources: "Fixtures"),
        // GRDB: the reliability tests damage rows behind the store's back, as a bad tool or disk would.
        // LLMWriters: its writers are tested through a store here (LanguageModelTests), with this target's samples.
        tests(
            of: "ProceduralMemory",
            [
                "LLMClient", "LLMWriters", "SQLiteMemory", "MemoryLocation",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: "Fixtures"
        ),
        tests(
            of: "PostgresMemory",
            [
                "ProceduralMemory", "SQLiteMemory", "MemoryLocation", "VectorIndex", "HybridSearch", "Embeddings",
                "Evaluation", "MempService",
            ],
            resources: "GoldenFiles"
        ),
        tests(of: "MemoryLocation", ["SQLiteMemory", "ProceduralMemory", "Embeddings"]),
        tests(of: "Evaluation", ["HybridSearch", "ProceduralMemory", "MemoryLocation"]),
        tests(of: "MempCLI", ["SQLiteMemory", "MemoryLocation"]),
        tests(of: "MempService", ["ProceduralMemory", "MemoryLocation", "Embeddings"]),
        tests(of: "MempServer", ["MempCLI"]),
    ],
    swiftLanguageModes: [.v6]
)
