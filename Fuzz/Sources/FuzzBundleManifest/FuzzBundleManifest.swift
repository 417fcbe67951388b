import Embeddings
import Foundation
import FuzzSupport
import ProceduralMemory
import SQLiteMemory

/// One input = one bundle: the input split at its NUL bytes into manifest.json, memories.jsonl and
/// trajectories.jsonl, imported into a fresh in-memory store (paths, sizes, digests, records and counters are all
/// checked before anything is written).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let parts = Data(bytes: bytes, count: count).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let bundle = FuzzInput.directory + "/bundle"
    try? FileManager.default.removeItem(atPath: bundle)
    try? FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
    for (index, name) in ["manifest.json", "memories.jsonl", "trajectories.jsonl"].enumerated() {
        FileManager.default.createFile(
            atPath: bundle + "/" + name, contents: index < parts.count ? Data(parts[index]) : Data())
    }
    runBlocking {
        do {
            let store = try await MemoryStore.open(
                backend: SQLiteBackend(path: nil), embedder: HashingEmbedder(dimension: 16), cacheDirectory: nil)
            try await store.importBundle(at: bundle)
        } catch {
            // Refused, as a bad bundle must be.
        }
    }
    return 0
}

@_cdecl("FuzzBundleManifest_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
