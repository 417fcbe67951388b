import Embeddings
import Evaluation
import Foundation
import FuzzSupport
import ProceduralMemory
import SQLiteMemory

/// One input = one bundle: the input split at its NUL bytes into manifest.json, memories.jsonl and
/// trajectories.jsonl, imported into a fresh in-memory store (paths, sizes, digests, records and counters are all
/// checked before anything is written).
///
/// Most mutations break a file's SHA-256, which the importer refuses before reading any record; so each input is
/// imported a second time with the manifest's sizes, digests and counts made to match the two files, as a bundle
/// edited by hand and re-signed would be, to reach the record, counter and vector checks behind the digests.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let parts = Data(bytes: bytes, count: count).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let bundle = FuzzInput.directory + "/bundle"
    try? FileManager.default.removeItem(atPath: bundle)
    try? FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
    let names = ["manifest.json", "memories.jsonl", "trajectories.jsonl"]
    for (index, name) in names.enumerated() {
        FileManager.default.createFile(
            atPath: bundle + "/" + name, contents: index < parts.count ? Data(parts[index]) : Data())
    }
    importBundle(bundle)
    guard let manifest = (try? JSONSerialization.jsonObject(with: Data(parts[0]))) as? [String: Any] else { return 0 }
    var signed = manifest
    var files: [[String: Any]] = []
    for (index, name) in names.enumerated().dropFirst() {
        let data = index < parts.count ? Data(parts[index]) : Data()
        guard let digest = try? fileSHA256(bundle + "/" + name) else { return 0 }
        files.append(["path": name, "bytes": data.count, "sha256": digest])
        let records = data.split(separator: UInt8(ascii: "\n")).count
        signed[index == 1 ? "memoryCount" : "trajectoryCount"] = records
    }
    signed["files"] = files
    guard let signedData = try? JSONSerialization.data(withJSONObject: signed) else { return 0 }
    FileManager.default.createFile(atPath: bundle + "/manifest.json", contents: signedData)
    importBundle(bundle)
    return 0
}

/// Imports the bundle into a fresh in-memory store whose embedder is the seeds' (`hashing:v1:64`), then looks up.
func importBundle(_ bundle: String) {
    runBlocking {
        do {
            let store = try await SQLiteStore.inMemory(embedder: HashingEmbedder(dimension: 64))
            let report = try await store.importBundle(at: bundle)
            let statistics = try await store.statistics()
            fuzzCheck(
                statistics.memories == report.memories,
                "imported \(report.memories) memories, stored \(statistics.memories)")
            _ = try await store.retrieve("take the coin", options: RetrievalOptions(policy: .hybrid, k: 3))
        } catch {
            // Refused, as a bad bundle must be.
        }
    }
}

@_cdecl("FuzzBundleManifest_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
