// swift-tools-version: 6.1
// libFuzzer targets for Memp's parsers, built by scripts/fuzz.sh with -sanitize=fuzzer. The main package never
// depends on this one. Each target feeds one input to a public entry point and must never crash: a thrown error is
// the expected answer to a bad input.
import Foundation
import PackageDescription

// A path dependency is named by its directory, which differs between clones.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let memp = root.lastPathComponent.lowercased()

func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: memp) })
}

let package = Package(
    name: "MempFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"]),
        fuzzTarget("FuzzTrajectories", ["ProceduralMemory", "SQLiteMemory", "Embeddings"]),
        fuzzTarget("FuzzVectorFile", ["VectorIndex"]),
        fuzzTarget("FuzzIndexFile", ["VectorIndex"]),
        fuzzTarget("FuzzKeywordIndex", ["KeywordIndex"]),
        fuzzTarget("FuzzBundleManifest", ["ProceduralMemory", "SQLiteMemory", "Embeddings", "Evaluation"]),
        fuzzTarget("FuzzQueryFiles", ["Evaluation", "HybridSearch"]),
        fuzzTarget("FuzzSafeTensors", ["Embeddings"]),
        fuzzTarget("FuzzWordPiece", ["Embeddings"]),
        fuzzTarget("FuzzServerRequests", ["MempService", "MemoryLocation", "ProceduralMemory", "Embeddings"]),
        fuzzTarget("FuzzLineSplitter", ["RetrievalCore"]),
    ],
    swiftLanguageModes: [.v6]
)
