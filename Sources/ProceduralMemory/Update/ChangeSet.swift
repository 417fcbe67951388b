import RetrievalCore

/// New trajectories and memories, counter increments, and changes of stored memories, written in one transaction.
///
/// The ``batch`` is written first (so that changes can name its trajectories as sources), then the ``increments``
/// in place (as ``MemoryBackend/recordFeedback(_:settings:reason:)`` does, deprecations included), then the
/// ``changes`` in order. A crash leaves the store as it was before the whole set.
public struct ChangeSet: Sendable {
    /// New trajectories and memories; its memories are recorded as ``HistoryAction/add``.
    public var batch: WriteBatch
    /// Uses of stored memories added to their counters in place, each memory at most once.
    public var increments: [CounterIncrement]
    /// The deprecation thresholds applied to the counters after the increments.
    public var settings: UpdateSettings
    /// Why the counters change, recorded in their history rows.
    public var feedbackReason: String
    /// Changes of memories, applied in order after the increments; a change of a memory the increments touched
    /// expects the revision they leave.
    public var changes: [MemoryChange]

    /// Creates a change set.
    public init(
        batch: WriteBatch, increments: [CounterIncrement] = [], settings: UpdateSettings = UpdateSettings(),
        feedbackReason: String = "", changes: [MemoryChange]
    ) {
        self.batch = batch
        self.increments = increments
        self.settings = settings
        self.feedbackReason = feedbackReason
        self.changes = changes
    }
}

/// One change of one memory, recorded as one history row with the memory before and after it.
public struct MemoryChange: Sendable {
    /// The memory changed.
    public var memoryID: String
    /// What the change is, recorded in the history.
    public var action: HistoryAction
    /// The memory after the change; `nil` deletes it.
    public var after: Memory?
    /// New vectors for the memory; `nil` keeps the stored ones (required when the memory is not stored).
    public var vectors: MemoryVectors?
    /// The revision the stored memory must have; `nil` when it must not be stored.
    ///
    /// A mismatch throws ``MemoryError/revisionConflict(id:expected:actual:)`` and writes nothing.
    public var expectedRevision: Int?
    /// The policy that made the change (`adjustment`, `feedback`, `revert`, …).
    public var policy: String
    /// Why, recorded in the history.
    public var reason: String
    /// For a ``HistoryAction/revert``, the entry it undoes.
    public var reverts: Int64?

    /// Creates a change.
    public init(
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
public struct MemoryVectors: Sendable, Equatable {
    /// The embedding of the task.
    public var task: [Float]
    /// The mean keyword embedding; `nil` when the memory has no keywords.
    public var keywords: [Float]?

    /// Creates vectors.
    public init(task: [Float], keywords: [Float]?) {
        self.task = task
        self.keywords = keywords
    }
}

/// What a ``ChangeSet`` changed, for the index caches.
public struct ChangeResult: Sendable {
    /// What the batch wrote.
    public var write: WriteResult
    /// The index entries of the memories the changes left stored, after the changes.
    public var changed: [IndexEntry]
    /// The numbers of the memories the changes deleted.
    public var deleted: [DocumentID]
    /// The numbers of the history rows written for the changes, in order.
    public var historyNumbers: [Int64]
    /// The counters after the increments, in their order.
    public var feedback: [FeedbackChange]
    /// The generation after the write.
    public var generation: UInt64

    /// Creates a change result.
    public init(
        write: WriteResult, changed: [IndexEntry], deleted: [DocumentID], historyNumbers: [Int64],
        feedback: [FeedbackChange] = [], generation: UInt64
    ) {
        self.write = write
        self.changed = changed
        self.deleted = deleted
        self.historyNumbers = historyNumbers
        self.feedback = feedback
        self.generation = generation
    }
}
