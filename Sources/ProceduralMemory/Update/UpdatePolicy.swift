import Foundation

/// How a batch of finished tasks changes the memory (Memp's update strategies).
public enum UpdatePolicy: String, CaseIterable, Codable, Sendable {
    /// Add every new trajectory as a memory.
    case vanilla
    /// Add only the trajectories whose task succeeded.
    case validation
    /// Add the successful trajectories, and rewrite each memory used by a task that failed, from the failed
    /// trajectory (the paper's most effective strategy).
    case adjustment
}

/// Thresholds and switches of the update cycle; every one is a setting, not a constant.
public struct UpdateSettings: Sendable, Equatable, Codable {
    /// The hits from which a memory can be deprecated (with ``minimumSuccessRate``).
    public var minimumHits: Int
    /// A memory with at least ``minimumHits`` hits whose success rate (successes / hits) is below this is
    /// deprecated.
    public var minimumSuccessRate: Double
    /// Finished tasks per batch; the policy runs once per batch, and each batch is one transaction.
    public var batchSize: Int
    /// Whether a new memory that nearly duplicates a stored one with the same outcome is merged into it.
    public var mergeDuplicates: Bool
    /// The least cosine between two tasks' embeddings for their memories to count as near-duplicates.
    public var duplicateTaskSimilarity: Float
    /// The least similarity of two memories' actions (Jaccard over actions with numbers generalized) for
    /// them to count as near-duplicates.
    public var duplicateContentSimilarity: Double
    /// The reward from which an outcome that has no success flag counts as a success.
    public var successReward: Double

    /// Creates settings; the defaults are the paper's (deprecate at 3 hits below 50 % success, batches of 10).
    public init(
        minimumHits: Int = 3, minimumSuccessRate: Double = 0.5, batchSize: Int = 10, mergeDuplicates: Bool = true,
        duplicateTaskSimilarity: Float = 0.9, duplicateContentSimilarity: Double = 0.6, successReward: Double = 1
    ) {
        self.minimumHits = minimumHits
        self.minimumSuccessRate = minimumSuccessRate
        self.batchSize = batchSize
        self.mergeDuplicates = mergeDuplicates
        self.duplicateTaskSimilarity = duplicateTaskSimilarity
        self.duplicateContentSimilarity = duplicateContentSimilarity
        self.successReward = successReward
    }

    /// Checks the settings.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` naming the first setting out of range.
    package func validate() throws(MemoryError) {
        guard minimumHits >= 1 else {
            throw .invalidParameter(name: "minimumHits", value: Double(minimumHits), expected: "at least 1")
        }
        guard (0...1).contains(minimumSuccessRate) else {
            throw .invalidParameter(name: "minimumSuccessRate", value: minimumSuccessRate, expected: "within 0…1")
        }
        guard batchSize >= 1 else {
            throw .invalidParameter(name: "batchSize", value: Double(batchSize), expected: "at least 1")
        }
        guard (-1...1).contains(duplicateTaskSimilarity) else {
            throw .invalidParameter(
                name: "duplicateTaskSimilarity", value: Double(duplicateTaskSimilarity),
                expected: "a cosine within -1…1")
        }
        guard (0...1).contains(duplicateContentSimilarity) else {
            throw .invalidParameter(
                name: "duplicateContentSimilarity", value: duplicateContentSimilarity, expected: "within 0…1")
        }
        // NaN passes no comparison, so every reward would count as a failure without a word.
        guard successReward.isFinite else {
            throw .invalidParameter(name: "successReward", value: successReward, expected: "a finite number")
        }
    }

    /// Whether an outcome counts as a success: its flag, else its reward against ``successReward``.
    package func isSuccess(_ outcome: Outcome?) -> Bool {
        guard let outcome else { return false }
        return outcome.success ?? ((outcome.reward ?? 0) >= successReward)
    }

    /// Whether a memory with these counters is to be deprecated.
    package func shouldDeprecate(hits: Int, successes: Int) -> Bool {
        hits >= minimumHits && Double(successes) < minimumSuccessRate * Double(hits)
    }
}

/// A task the agent finished: its trajectory and the memories it was given.
public struct FinishedTask: Sendable, Equatable {
    /// What the agent did, with the outcome.
    public var trajectory: Trajectory
    /// The IDs of the memories retrieved for the task and used.
    public var usedMemories: [String]
    /// The line of the file the task was read from (``read(from:source:limits:)``), which an update's errors and
    /// records name; `nil` for a task made otherwise, named by its position in the update, from 1. Equality
    /// compares it too: a task read from a file is not equal to the same task made in code.
    package var line: Int?

    /// Creates a finished task.
    public init(trajectory: Trajectory, usedMemories: [String]) {
        self.trajectory = trajectory
        self.usedMemories = usedMemories
    }
}

/// What one memory's counters did after feedback.
public struct FeedbackChange: Sendable, Equatable, Codable {
    /// The memory.
    public var memoryID: String
    /// Its hit count after the feedback.
    public var hitCount: Int
    /// Its success count after the feedback.
    public var successCount: Int
    /// Whether the feedback deprecated it.
    public var deprecated: Bool

    /// Creates a record of counters.
    package init(memoryID: String, hitCount: Int, successCount: Int, deprecated: Bool) {
        self.memoryID = memoryID
        self.hitCount = hitCount
        self.successCount = successCount
        self.deprecated = deprecated
    }
}

/// What an update did.
public struct UpdateReport: Sendable, Equatable, Codable {
    /// Batches applied (each one transaction, of ``UpdateSettings/batchSize`` tasks).
    package var batches = 0
    /// Finished tasks read.
    public var tasks = 0
    /// Memories added.
    public var added: [String] = []
    /// Trajectories merged into a near-duplicate memory, as trajectory ID → memory ID.
    public var merged: [String: String] = [:]
    /// Memories rewritten after failures.
    public var rewritten: [String] = []
    /// Memories deprecated.
    public var deprecated: [String] = []
    /// Trajectories not added because the policy keeps only successes.
    public var skippedFailures = 0
    /// Tasks a resumed update (``UpdateOptions/resume``) left out because the store had applied them already; they
    /// are not counted in ``tasks``.
    package var alreadyApplied = 0
    /// Counters after the update, per memory that was used.
    public var feedback: [FeedbackChange] = []
    /// Revisers that failed and were replaced by the rule-based correction, as memory ID → reason.
    public var fallbacks: [String: String] = [:]
    /// The store's generation after the update.
    package var generation: UInt64 = 0
}
