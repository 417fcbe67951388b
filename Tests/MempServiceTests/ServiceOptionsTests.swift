import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import TestSupport
import Testing

@testable import MempService

/// The options a request can set beyond the basics: the random mode's seed, the update's deprecation thresholds,
/// the lookup time limit, and the embedders that stores of one configuration share.
@Suite struct ServiceOptionsTests {
    /// A store of `count` memories with distinct tasks.
    static func makeStore(at path: String, count: Int) async throws -> MemoryStore {
        let store = try await MemoryStore.create(
            at: path, embedder: HashingEmbedder(dimension: 64), configuration: .hashing(dimension: 64))
        try await store.add(
            (0..<count).map { MemoryServiceTests.trajectory("m-\($0)", "open door number \($0) of the hall") })
        return store
    }

    /// A service of `limits` over a new store of three memories in `directory`.
    static func serviceOfThreeMemories(in directory: TemporaryDirectory, limits: ServiceLimits) async throws
        -> MemoryService
    {
        _ = try await makeStore(at: directory.file("store"), count: 3)
        return MemoryService(
            registry: StoreRegistry(layout: .single(.directory(directory.file("store")))), limits: limits)
    }

    /// The body of an update whose three tasks used `memory`, one of them successfully.
    static func updateBody(using memory: String, prefix: String, extra: String) -> Data {
        let tasks = [true, false, false].enumerated().map { index, success in
            #"{"id": "\#(prefix)-\#(index)", "task": "paint fence \#(index)", "steps": [{"action": "paint"}], "#
                + #""outcome": {"success": \#(success)}, "usedMemories": ["\#(memory)"]}"#
        }
        return Data((#"{"policy": "validation", "tasks": ["# + tasks.joined(separator: ", ") + "]" + extra + "}").utf8)
    }

    @Test func randomLookupsFollowTheSeedAsTheLibraryDoes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.makeStore(at: directory.file("store"), count: 30)
        let service = MemoryService(
            registry: StoreRegistry(layout: .single(.directory(directory.file("store")))), limits: .untimed)
        for seed: UInt64 in [0, 1, 7] {
            let expected = try await store.retrieve(
                "open a door", options: RetrievalOptions(policy: .random, k: 4, seed: seed)
            ).map(\.memory.id)
            let single = try await service.lookup(
                Data(#"{"task": "open a door", "k": 4, "mode": "random", "seed": \#(seed)}"#.utf8), store: nil)
            #expect(single.hits.map(\.id) == expected, "seed \(seed)")
            let batch = try await service.lookupBatch(
                Data(#"{"tasks": ["open a door", "open a door"], "k": 4, "mode": "random", "seed": \#(seed)}"#.utf8),
                store: nil)
            #expect(batch.results.map { $0.map(\.id) } == [expected, expected], "seed \(seed)")
        }
        await #expect(throws: ServiceError.invalidBody(field: "seed", reason: "must be a non-negative integer")) {
            try await service.lookup(Data(#"{"task": "open a door", "seed": -1}"#.utf8), store: nil)
        }
    }

    @Test func updateTakesTheDeprecationThresholds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.makeStore(at: directory.file("store"), count: 2)
        let service = MemoryService(
            registry: StoreRegistry(layout: .single(.directory(directory.file("store")))), limits: .untimed)
        // 1 success in 3 uses: kept at a 0.2 threshold, deprecated at the default 0.5.
        let lenient = try await service.update(
            Self.updateBody(using: "m-0", prefix: "a", extra: #", "minHits": 3, "minSuccessRate": 0.2"#), store: nil)
        #expect(lenient.report.deprecated == [] && lenient.report.feedback.map(\.hitCount) == [3])
        let strict = try await service.update(Self.updateBody(using: "m-1", prefix: "b", extra: ""), store: nil)
        #expect(strict.report.deprecated == ["m-1"])
        let refused: [(String, ServiceError)] = [
            (#", "minHits": 0"#, .invalidBody(field: "minHits", reason: "must be at least 1 (got 0)")),
            (#", "minHits": 2.5"#, .invalidBody(field: "minHits", reason: "must be an integer")),
            (#", "minHits": 1e300"#, .invalidBody(field: "minHits", reason: "must be an integer")),
            (#", "minHits": 9223372036854775808"#, .invalidBody(field: "minHits", reason: "must be an integer")),
            (#", "minHits": "3""#, .invalidBody(field: "minHits", reason: "must be an integer")),
            (
                #", "minSuccessRate": 1.5"#,
                .invalidBody(field: "minSuccessRate", reason: "must be within 0…1 (got 1.5)")
            ),
            (#", "minSuccessRate": [0.5]"#, .invalidBody(field: "minSuccessRate", reason: "must be a number")),
        ]
        for (extra, error) in refused {
            await #expect(throws: error, "\(extra)") {
                try await service.update(Self.updateBody(using: "m-0", prefix: "c", extra: extra), store: nil)
            }
        }
        // An integer past 32 bits is an integer: it was refused as "must be an integer".
        let patient = try await service.update(
            Self.updateBody(using: "m-0", prefix: "d", extra: #", "minHits": 3000000000"#), store: nil)
        #expect(patient.report.deprecated == [])
        // Each accepted update stored its one successful task (validation); nothing of a refused one was written.
        #expect(try await service.stats(store: nil).statistics.trajectories == 2 + 1 + 1 + 1)
    }

    @Test func feedbackDeprecatesByTheServersThresholdsUnlessTheRequestSetsItsOwn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.makeStore(at: directory.file("store"), count: 4)
        let registry = StoreRegistry(layout: .single(.directory(directory.file("store"))))
        // As `memp serve --min-hits 2 --min-success-rate 0.6` starts it.
        let strict = MemoryService(
            registry: registry, limits: .untimed,
            updateSettings: UpdateSettings(minimumHits: 2, minimumSuccessRate: 0.6))
        func feedback(_ service: MemoryService, _ memory: String, _ success: Bool, _ extra: String = "") async throws
            -> FeedbackChange
        {
            let body = #"{"memory": "\#(memory)", "success": \#(success)\#(extra)}"#
            return try #require(try await service.feedback(Data(body.utf8), store: nil).memories.first)
        }
        // One success, one failure: 50 % after 2 uses, below the server's 60 %.
        #expect(try await feedback(strict, "m-0", true).deprecated == false)
        #expect(try await feedback(strict, "m-0", false).deprecated == true)
        // The request's own thresholds win: 50 % is not below 40 %.
        #expect(try await feedback(strict, "m-1", true).deprecated == false)
        #expect(try await feedback(strict, "m-1", false, #", "minSuccessRate": 0.4"#).deprecated == false)
        // A service with the defaults (3 uses) keeps the same record.
        let lenient = MemoryService(registry: registry, limits: .untimed)
        #expect(try await feedback(lenient, "m-2", true).deprecated == false)
        #expect(try await feedback(lenient, "m-2", false).deprecated == false)
        // An update without thresholds deprecates by the server's too: 1 success in 3 uses, below 60 % from 2.
        let update = try await strict.update(Self.updateBody(using: "m-3", prefix: "u", extra: ""), store: nil)
        #expect(update.report.deprecated == ["m-3"])
        await #expect(throws: ServiceError.invalidBody(field: "minHits", reason: "must be at least 1 (got 0)")) {
            try await feedback(strict, "m-2", true, #", "minHits": 0"#)
        }
        // Numbers that are no integer name the field, as in an update (they were "The body holds a value that does
        // not fit its field.").
        let notAnInteger = ServiceError.invalidBody(field: "minHits", reason: "must be an integer")
        for extra in [#", "minHits": 2.5"#, #", "minHits": 1e300"#, #", "minHits": 9223372036854775808"#] {
            await #expect(throws: notAnInteger, "\(extra)") {
                try await feedback(strict, "m-2", true, extra)
            }
        }
        await #expect(
            throws: ServiceError.invalidBody(field: "minSuccessRate", reason: "must be within 0…1 (got 2)")
        ) {
            try await feedback(strict, "m-2", true, #", "minSuccessRate": 2"#)
        }
        // A refused feedback changed nothing.
        #expect(try await strict.memory(id: "m-2", store: nil).memory.hitCount == 2)
    }

    /// Limits set out of range are clamped: a timeout of `Int64.max` seconds trapped the first lookup, a `maximumK`
    /// of -1 was quoted to clients as the limit (hostile run 15).
    @Test func limitsOutOfRangeAreClamped() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfThreeMemories(
            in: directory,
            limits: ServiceLimits(
                maximumBodyBytes: 0, maximumK: -1, maximumBatchTasks: .min, maximumTaskCharacters: 0,
                lookupTimeout: .seconds(Int64.max)))
        #expect(
            service.limits
                == ServiceLimits(
                    maximumBodyBytes: 1, maximumK: 1, maximumBatchTasks: 1, maximumTaskCharacters: 1,
                    lookupTimeout: ServiceLimits.longestLookupTimeout))
        #expect(ServiceLimits(maximumAnswerTextBytes: -5).clamped.maximumAnswerTextBytes == 1)
        #expect(ServiceLimits(lookupTimeout: .seconds(-5)).clamped.lookupTimeout == .nanoseconds(1))
        await #expect(throws: ServiceError.limitExceeded(name: "k", limit: 1, actual: 2)) {
            try await service.lookup(LookupRequest(task: "o", k: 2), store: nil)
        }
        #expect(try await service.lookup(LookupRequest(task: "o", k: 1), store: nil).hits.count == 1)
    }

    @Test func aLookupThatOutlastsTheLimitIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await Self.serviceOfThreeMemories(
            in: directory, limits: ServiceLimits(lookupTimeout: .nanoseconds(1)))
        // No lookup finishes within a nanosecond, however the timer and the lookup are scheduled.
        await #expect(throws: ServiceError.timeout(seconds: 1e-9)) {
            try await service.lookup(LookupRequest(task: "open a door", k: 2), store: nil)
        }
        await #expect(throws: ServiceError.timeout(seconds: 1e-9)) {
            try await service.lookupBatch(Data(#"{"tasks": ["open a door"]}"#.utf8), store: nil)
        }
        // A database outage times lookups out too, so the advice names it beside asking for less.
        #expect(
            ServiceError.timeout(seconds: 30).description
                == "The request took longer than 30 s, the server's limit: ask for fewer hits or tasks, or retry "
                + "later if the store's database is slow or unreachable.")
    }

    @Test func storesOfOneEmbedderConfigurationShareTheEmbedder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for name in ["a", "b"] { _ = try await Self.makeStore(at: directory.file(name), count: 2) }
        _ = try await MemoryStore.create(
            at: directory.file("c"), embedder: HashingEmbedder(dimension: 32), configuration: .hashing(dimension: 32))
        let pool = EmbedderPool()
        let a = try await pool.openStore(at: .directory(directory.file("a")))
        let b = try await pool.openStore(at: .directory(directory.file("b")))
        #expect(pool.count == 1)
        #expect(try await a.retrieve("open door number 1", options: RetrievalOptions(k: 1)).first?.memory.id == "m-1")
        #expect(try await b.retrieve("open door number 0", options: RetrievalOptions(k: 1)).first?.memory.id == "m-0")
        let c = try await pool.openStore(at: .directory(directory.file("c")))
        #expect(pool.count == 2 && c.embedder.dimension == 32)
        await #expect(throws: MemoryError.notAStore(path: directory.file("none"))) {
            try await pool.openStore(at: .directory(directory.file("none")))
        }
    }
}

extension ServiceLimits {
    /// The default limits with a lookup time limit no test reaches: the tests run beside hundreds of others on two
    /// cores, where a lookup of a few milliseconds can wait for a thread far longer than the 30 s default, and only
    /// ``ServiceOptionsTests/aLookupThatOutlastsTheLimitIsRefused()`` is about the limit.
    static let untimed = ServiceLimits(lookupTimeout: .seconds(7 * 86_400))
}
