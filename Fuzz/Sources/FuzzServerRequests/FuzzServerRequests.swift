import Embeddings
import Foundation
import FuzzSupport
import MemoryLocation
import MempService
import ProceduralMemory
import Synchronization

/// The store every input starts from: three memories with known IDs, so that feedback, update, delete and lookups
/// can reach stored records.
let seedTrajectories = Data(
    """
    {"id": "seed-0", "task": "put the mug in the fridge", "source": "seed", "steps": [{"action": "take mug 1", \
    "observation": "You pick up the mug 1."}], "outcome": {"success": true, "reward": 1}}
    {"id": "seed-1", "task": "wash the plate", "source": "seed", "steps": [{"action": "go to sink 1"}], \
    "outcome": {"success": false}}
    {"id": "seed-2", "task": "take the coin", "source": "other", "labels": {"taskType": "pick"}, \
    "steps": [{"action": "take coin"}]}

    """.utf8)

/// A store directory holding the seed memories (hashing embedder, 16 dimensions), made once per process; each input
/// is served from a fresh copy of it, since the service opens stores by directory.
let seedStore: String = {
    let directory = FuzzInput.directory + "/seed-store"
    try? FileManager.default.removeItem(atPath: directory)
    runBlocking {
        do {
            let store = try await MemoryStore.create(
                at: directory, embedder: HashingEmbedder(dimension: 16), configuration: .hashing(dimension: 16))
            _ = try await store.importTrajectories(jsonLines: seedTrajectories, name: "seed")
        } catch {
            fatalError("the seed store could not be made: \(error)")
        }
    }
    return directory
}()

/// How many inputs this process has run.
let inputNumber = Atomic<Int>(0)

/// One input = one request of `memp serve`'s JSON API, as the service receives it from the HTTP front end (and, with
/// the same bodies, from the MCP tools): a first line `ROUTE[?QUERY]` (`lookup`, `lookup/batch`, `trajectories`,
/// `feedback`, `update`, `memories/ID`, `delete/ID`) and the body after it. Each input gets a fresh copy of the seed
/// store; every body decoder, validation, limit and the write or lookup behind it runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let input = Data(bytes: bytes, count: count)
    let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.endIndex
    let target = String(decoding: input[input.startIndex..<newline], as: UTF8.self)
    let body = newline < input.endIndex ? Data(input[(newline + 1)...]) : Data()
    let route = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    var query: [String: String] = [:]
    for pair in route.count > 1 ? route[1].split(separator: "&") : [] {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    let parameters = query
    let path = route.first.map(String.init) ?? ""
    // A directory of this input alone: the previous input's store may still be closing (its SQLite connection
    // goes away when the last reference does, which can be after the request returned) and write its WAL files
    // into a directory of the same name.
    let number = inputNumber.add(1, ordering: .relaxed).newValue
    let store = FuzzInput.directory + "/store-\(number)"
    try? FileManager.default.removeItem(atPath: FuzzInput.directory + "/store-\(number - 1)")
    do {
        try FileManager.default.copyItem(atPath: seedStore, toPath: store)
    } catch {
        fatalError("the seed store could not be copied: \(error)")
    }
    runBlocking {
        let registry = StoreRegistry(layout: .single(directory: store))
        // A small k limit and batch limit keep one input's work small; the checks are the same at any limit.
        let service = MemoryService(
            registry: registry, limits: ServiceLimits(maximumBodyBytes: 1 << 16, maximumK: 20, maximumBatchTasks: 8))
        do {
            switch path {
            case "lookup":
                let answer = try await service.lookup(body, store: nil)
                fuzzCheck(answer.hits.count <= 20, "\(answer.hits.count) hits above the k limit")
            case "lookup/batch":
                _ = try await service.lookupBatch(body, store: nil)
            case "trajectories":
                _ = try await service.addTrajectories(body, store: nil, parameters: parameters)
            case "feedback":
                let answer = try await service.feedback(body, store: nil)
                fuzzCheck(
                    answer.memories.allSatisfy { $0.successCount >= 0 && $0.successCount <= $0.hitCount },
                    "feedback left impossible counters")
            case "update":
                _ = try await service.update(body, store: nil)
            case let path where path.hasPrefix("memories/"):
                _ = try await service.memory(id: String(path.dropFirst("memories/".count)), store: nil)
            case let path where path.hasPrefix("delete/"):
                _ = try await service.delete(id: String(path.dropFirst("delete/".count)), store: nil)
            default:
                _ = try await service.lookup(body, store: target)
            }
        } catch {
            // A typed ServiceError is the answer to a bad request (the HTTP front end turns it into a 4xx).
        }
    }
    return 0
}

@_cdecl("FuzzServerRequests_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
