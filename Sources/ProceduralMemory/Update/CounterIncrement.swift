import Foundation
import RetrievalCore

/// Uses of one memory to add to its counters: how many tasks used it and how many of them succeeded.
///
/// Increments are added in one transaction that holds the memory from the read of its counters to the write
/// (``MemoryBackend/recordFeedback(_:settings:reason:)``), so concurrent agents reporting outcomes never lose an
/// increment and never conflict.
package struct CounterIncrement: Sendable, Equatable {
    /// The memory used.
    package var memoryID: String
    /// How many tasks used it (added to ``Memory/hitCount``).
    package var hits: Int
    /// How many of those tasks succeeded (added to ``Memory/successCount``).
    package var successes: Int
    /// Why, for its history row, when it is not the reason the batch is recorded with: an update's increments are
    /// one per task and use, each naming its task's trajectory, as an outcome reported for that task would.
    package var reason: String?

    /// Creates an increment.
    package init(memoryID: String, hits: Int, successes: Int, reason: String? = nil) {
        self.memoryID = memoryID
        self.hits = hits
        self.successes = successes
        self.reason = reason
    }

    /// Checks a list of increments before it reaches a backend.
    ///
    /// - Parameter repeatsAllowed: Whether a memory may have several increments (one per task that used it), added
    ///   in order.
    /// - Throws: ``MemoryError/invalidFeedback(memoryID:hits:successes:)`` for negative counts, more successes
    ///   than hits or more hits than ``Memory/maximumCount``; ``MemoryError/repeatedInBatch(_:id:)`` for an ID that
    ///   appears twice unless `repeatsAllowed`.
    package static func validate(_ increments: [CounterIncrement], repeatsAllowed: Bool = false) throws(MemoryError) {
        var seen = Set<String>()
        for increment in increments {
            guard increment.hits >= 0, increment.successes >= 0, increment.successes <= increment.hits,
                increment.hits <= Memory.maximumCount
            else {
                throw .invalidFeedback(
                    memoryID: increment.memoryID, hits: increment.hits, successes: increment.successes)
            }
            guard seen.insert(increment.memoryID).inserted || repeatsAllowed else {
                throw .repeatedInBatch(.memory, id: increment.memoryID)
            }
        }
    }

    /// The reason of the ``HistoryAction/feedback`` row: `reason` and the counts.
    package func historyReason(_ reason: String) -> String {
        "\(reason): \(hits) use\(hits == 1 ? "" : "s"), \(successes) succeeded"
    }
}

/// What ``MemoryBackend/recordFeedback(_:settings:reason:)`` changed.
package struct FeedbackResult: Sendable {
    /// The counters of each memory after the feedback, in the order of the increments.
    package var changes: [FeedbackChange]
    /// The index entries of the memories the feedback deprecated, after the change.
    package var deprecated: [IndexEntry]
    /// The store's generation after the write: advanced only when a memory was deprecated, since the indexes'
    /// catalog holds statuses but no counters.
    package var generation: UInt64
}

extension Memory {
    /// The memory once `increment` is added to its counters (`counted`, one revision), and then deprecated where
    /// the counters cross `settings`' thresholds (`after`, one more revision; `counted` itself when they don't).
    ///
    /// The one rule the backend's write (`StoreWrites.addCounters`) and an update's working copies follow.
    package func counting(_ increment: CounterIncrement, settings: UpdateSettings, date: Date) -> (
        counted: Memory, after: Memory
    ) {
        var counted = self
        counted.hitCount += increment.hits
        counted.successCount += increment.successes
        counted.revision += 1
        counted.updatedAt = date
        var after = counted
        if settings.deprecates(counted) {
            after.status = .deprecated
            after.revision += 1
        }
        return (counted, after)
    }
}

extension UpdateSettings {
    /// Whether `memory`, after a counter change, is to be deprecated: it is active and its counters cross the
    /// thresholds.
    package func deprecates(_ memory: Memory) -> Bool {
        memory.status == .active && shouldDeprecate(hits: memory.hitCount, successes: memory.successCount)
    }

    /// The reason of the ``HistoryAction/deprecate`` row of a memory with these counters.
    package func deprecationReason(hits: Int, successes: Int) -> String {
        "success rate \(successes)/\(hits) is below \(minimumSuccessRate) after at least \(minimumHits) hits"
    }
}
