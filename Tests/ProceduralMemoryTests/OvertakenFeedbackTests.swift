import Foundation
import MemoryLocation
import RetrievalCore
import TestSupport
import Testing

@testable import ProceduralMemory

/// Feedback commits its counters without the store's write lock, then publishes its deprecations under it: another
/// write of the same store can commit and publish in between.
@Suite struct OvertakenFeedbackTests {
    /// A store whose backend committed the deprecation of ``Samples/heatMug`` that the store has not published yet:
    /// the first half of what `recordOutcome` does.
    static func storeWithAnUnpublishedDeprecation(in directory: TemporaryDirectory) async throws
        -> (path: String, store: MemoryStore, feedback: FeedbackResult)
    {
        let (path, store) = try await StatusChangeTests.openStore(in: directory)
        let feedback = try await store.backend.recordFeedback(
            [CounterIncrement(memoryID: Samples.heatMug.id, hits: 1, successes: 0)], settings: StatusChangeTests.strict,
            reason: "test")
        #expect(feedback.deprecated.map(\.catalogEntry.status) == [.deprecated])
        return (path, store, feedback)
    }

    @Test func aDeprecationOvertakenByAnotherWriteOfTheStoreIsStillPublished() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // What recordOutcome does, with a write of the same store between its commit and its publishing.
        let (path, store, feedback) = try await Self.storeWithAnUnpublishedDeprecation(in: directory)
        try await store.add([StatusChangeTests.trajectory("between")])
        #expect(store.generation == feedback.generation + 1)
        try await store.publishStatuses(of: feedback.deprecated, committedAs: feedback.generation)

        let expected = Set(Samples.all.map(\.id) + ["between"]).subtracting([Samples.heatMug.id])
        #expect(try await StatusChangeTests.activeIDs(store) == expected)
        #expect(try await StatusChangeTests.activeIDs(try await MemoryStore.open(at: StoreLocation(path))) == expected)
    }

    // Hostile run 15's list: a lookup between a deprecation's commit and its publishing ranked the memory by the
    // catalog, which still counted it active, and returned it with status `.deprecated`.
    @Test(arguments: RetrievalPolicy.allCases)
    func aLookupBetweenADeprecationsCommitAndItsPublishingLeavesTheMemoryOut(policy: RetrievalPolicy) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await Self.storeWithAnUnpublishedDeprecation(in: directory).store
        let active = try await store.retrieve(Samples.heatMug.task, options: RetrievalOptions(policy: policy, k: 10))
        #expect(!active.isEmpty && active.allSatisfy { $0.memory.status == .active })
        #expect(!active.map(\.memory.id).contains(Samples.heatMug.id))
        let all = try await store.retrieve(
            Samples.heatMug.task, options: RetrievalOptions(policy: policy, k: 10, includeDeprecated: true))
        #expect(all.first { $0.memory.id == Samples.heatMug.id }?.memory.status == .deprecated)
    }
}
