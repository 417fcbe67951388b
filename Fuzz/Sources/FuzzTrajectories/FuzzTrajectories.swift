import Embeddings
import FuzzSupport
import ProceduralMemory
import SQLiteMemory

/// One input = one JSON Lines file imported into a fresh in-memory store, bad lines skipped: parsing, validation,
/// text limits, building and the SQLite writes all run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let path = FuzzInput.write(bytes, count, to: "trajectories.jsonl")
    runBlocking {
        do {
            let store = try await SQLiteStore.inMemory(embedder: HashingEmbedder(dimension: 16))
            var limits = TextLimits()
            limits.maximumLineBytes = 1 << 16
            try await store.importTrajectories(
                from: path, options: ImportOptions(duplicates: .replace, skipInvalid: true, limits: limits))
            _ = try await store.retrieve("take the coin", options: RetrievalOptions(policy: .hybrid, k: 3))
        } catch {
            // A typed error is the right answer to a bad file.
        }
    }
    return 0
}

@_cdecl("FuzzTrajectories_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
