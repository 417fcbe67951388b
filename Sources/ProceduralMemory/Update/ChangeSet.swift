import RetrievalCore

/// New trajectories and memories, counter increments, and changes of stored memories, written in one transaction.
///
/// The ``appliedTasks`` are recorded first, then the ``batch`` is written (so that changes can name its trajectories as sources), then the ``increments``
/// in place (as ``MemoryBackend/recordFeedback(_:settings:reason:)`` does, deprecations included), then the
/// ``changes`` in order. A crash leaves the store as it was before the whole set.
package struct ChangeSet: Sendable {
    /// New trajectories and memories; its memories are recorded as ``HistoryAction/add``.
    package var batch: WriteBatch
    /// Uses of stored memories added to their counters in place, in order: one per memory, or one per task that
    /// used it with the task named in its ``CounterIncrement/reason`` (an increment without one is recorded with
    /// the batch's reason).
    package var increments: [CounterIncrement]
    /// The deprecation thresholds applied to the counters after the increments.
    package var settings: UpdateSettings
    /// Changes of memories, applied in order after the increments; a change of a memory the increments touched
    /// expects the revision they leave.
    package var changes: [MemoryChange]
    /// The tasks the set applies, recorded first: the set writes nothing when one of them is recorded already.
    package var appliedTasks: [AppliedTask] = []

    /// Creates a change set that applies no task.
    package init(
        batch: WriteBatch, increments: [CounterIncrement] = [], settings: UpdateSettings = UpdateSettings(),
        changes: [MemoryChange]
    ) {
        self.batch = batch
        self.increments = increments
        self.settings = settings
        self.changes = changes
    }
}

/// One change of one memory, recorded as one history row with the memory before and after it.
package struct MemoryChange: Sendable {
    /// The memory changed.
    package var memoryID: String
    /// What the change is, recorded in the history.
    package var action: HistoryAction
    /// The memory after the change; `nil` deletes it.
    package var after: Memory?
    /// New vectors for the memory; `nil` keeps the stored ones (required when the memory is not stored).
    package var vectors: MemoryVectors?
    /// The revision the stored memory must have; `nil` when it must not be stored.
    ///
    /// A mismatch throws ``MemoryError/revisionConflict(id:expected:actual:)`` and writes nothing.
    package var expectedRevision: Int?
    /// The policy that made the change (`adjustment`, `feedback`, `revert`, …).
    package var policy: String
    /// Why, recorded in the history.
    package var reason: String
    /// For a ``HistoryAction/revert``, the entry it undoes.
    package var reverts: Int64?

    /// Creates a change.
    package init(
        memoryID: String, action: HistoryAction, after: Memory?, vectors: MemoryVectors? = nil,
        expectedRevision: Int?, policy: String, reason: String, reverts: Int64? = nil
    ) {
        self.memoryID = memoryID
        self.action = action
        self.after = after
        self.vectors = vectors
        self.expectedRevision = expectedRevision
        self.policy = policy
        self.reason = reason
        self.reverts = reverts
    }
}

/// The vectors of a memory: its task embedding and the mean of its keyword embeddings.
package struct MemoryVectors: Sendable, Equatable {
    /// The embedding of the task.
    package var task: [Float]
    /// The mean keyword embedding; `nil` when the memory has no keywords.
    package var keywords: [Float]?
}

/// What a ``ChangeSet`` changed, for the index caches.
package struct ChangeResult: Sendable {
    /// What the batch wrote.
    package var write: WriteResult
    /// The index entries of the memories the changes added, or left stored with other texts or vectors, after the
    /// changes: the indexes replace them.
    package var reindexed: [IndexEntry]
    /// The index entries of the memories the changes left stored with the same texts and vectors (a deprecation,
    /// new labels): only their ``CatalogEntry`` changed.
    package var recataloged: [IndexEntry]
    /// The numbers of the memories the changes deleted.
    package var deleted: [DocumentID]
    /// The numbers of the history rows written for the changes, in order.
    package var historyNumbers: [Int64]
    /// The counters after the increments, in their order.
    package var feedback: [FeedbackChange]
    /// The generation after the write.
    package var generation: UInt64
}
