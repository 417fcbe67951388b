/// A trajectory with its score, 0 (useless) to 10 (exemplary), and the reason: what a ``Scorer`` returns and the
/// cold start keeps.
public struct ScoredTrajectory: Sendable, Equatable {
    /// The trajectory.
    public var trajectory: Trajectory
    /// The score, within 0…10.
    public var score: Double
    /// Why, in a few words.
    public var reason: String

    /// Creates a scored trajectory.
    public init(trajectory: Trajectory, score: Double, reason: String) {
        self.trajectory = trajectory
        self.score = score
        self.reason = reason
    }
}

/// Rates trajectories for the cold start, when there are no gold trajectories to build memory from.
public protocol Scorer: Sendable {
    /// A stable name of the scorer and its settings.
    var name: String { get }

    /// Rates one trajectory.
    ///
    /// - Returns: The trajectory with its score and the reason.
    /// - Throws: ``MemoryError/scriptWriter(name:trajectoryID:reason:)`` when it can't be rated.
    func score(_ trajectory: Trajectory) async throws(MemoryError) -> ScoredTrajectory
}

/// A deterministic scorer from the outcome and the length: 6 points for a success, 3 × the reward (clamped to
/// 0…1; a success without a reward counts 1), and 1 × (1 − steps / `stepLimit`) for brevity.
public struct RuleBasedScorer: Scorer {
    /// The step count at which the brevity point is gone.
    package let stepLimit: Int
    /// Decides success for outcomes without a success flag.
    package let settings: UpdateSettings

    /// Creates a scorer.
    ///
    /// - Parameters:
    ///   - stepLimit: The step count at which the brevity point is gone.
    ///   - settings: Decide success for outcomes without a success flag (``UpdateSettings/successReward``).
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` when `stepLimit` is below 1.
    public init(stepLimit: Int = 50, settings: UpdateSettings = UpdateSettings()) throws(MemoryError) {
        guard stepLimit >= 1 else {
            throw .invalidParameter(name: "step limit", value: Double(stepLimit), expected: "at least 1")
        }
        self.stepLimit = stepLimit
        self.settings = settings
    }

    /// `rule/v1`.
    public var name: String { "rule/v1" }

    /// Scores the trajectory by the rule in the type's discussion.
    ///
    /// - Throws: ``MemoryError/invalidTrajectory(id:field:rule:)`` for a reward that is not a finite number, which
    ///   no file holds and every store refuses (it would score NaN, and be dropped unseen).
    public func score(_ trajectory: Trajectory) async throws(MemoryError) -> ScoredTrajectory {
        if let reward = trajectory.outcome?.reward, !reward.isFinite {
            throw .invalidTrajectory(
                id: trajectory.id, field: "outcome.reward", rule: "must be a finite number (got \(reward))")
        }
        let success = settings.isSuccess(trajectory.outcome)
        let reward = min(max(trajectory.outcome?.reward ?? (success ? 1 : 0), 0), 1)
        let brevity = 1 - Double(min(trajectory.steps.count, stepLimit)) / Double(stepLimit)
        let score = (success ? 6 : 0) + 3 * reward + brevity
        return ScoredTrajectory(
            trajectory: trajectory, score: score,
            reason: "\(success ? "success" : "failure"), reward \(reward), \(trajectory.steps.count) steps")
    }
}

/// Cold start: score candidate trajectories and keep the best few per task type.
public enum ColdStart {
    /// Scores every trajectory and keeps the `keep` best of each task type, best first.
    ///
    /// Ties go to fewer steps, then to the lower ID, so the choice is reproducible.
    ///
    /// - Parameters:
    ///   - trajectories: The candidates.
    ///   - scorer: Rates each candidate.
    ///   - keep: How many to keep per task type.
    ///   - taskTypeLabel: The label whose value is the task type; trajectories without it form one group.
    ///   - minimumScore: Candidates scoring below it are never kept, within 0…10.
    /// - Returns: The kept trajectories, grouped by task type (sorted), best first within a group.
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` when `keep` is below 1 or `minimumScore`
    ///   is outside 0…10 (NaN included), before anything is scored; what the scorer throws;
    ///   ``MemoryError/scriptWriter(name:trajectoryID:reason:)`` for a score outside 0…10.
    public static func select(
        _ trajectories: [Trajectory], scorer: any Scorer, keep: Int, taskTypeLabel: String = "taskType",
        minimumScore: Double = 0
    ) async throws(MemoryError) -> [ScoredTrajectory] {
        try check(keep: keep, minimumScore: minimumScore)
        var groups: [String: [ScoredTrajectory]] = [:]
        for trajectory in trajectories {
            let scored = try await scorer.score(trajectory)
            // A score outside the scale (NaN among them) is no rating: NaN failed every comparison and was dropped.
            guard (0...10).contains(scored.score) else {
                throw .scriptWriter(
                    name: scorer.name, trajectoryID: trajectory.id,
                    reason: "it scored \(scored.score), outside the scale of 0…10")
            }
            guard scored.score >= minimumScore else { continue }
            groups[trajectory.labels[taskTypeLabel] ?? "", default: []].append(scored)
        }
        return groups.keys.sorted().flatMap { type in
            groups[type, default: []].sorted { a, b in
                if a.score != b.score { return a.score > b.score }
                if a.trajectory.steps.count != b.trajectory.steps.count {
                    return a.trajectory.steps.count < b.trajectory.steps.count
                }
                return a.trajectory.id < b.trajectory.id
            }.prefix(keep)
        }
    }

    /// Checks what ``select(_:scorer:keep:taskTypeLabel:minimumScore:)`` checks first, for front ends that refuse
    /// their arguments before reading any candidate.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` when `keep` is below 1 or `minimumScore`
    ///   is outside 0…10 (NaN included).
    package static func check(keep: Int, minimumScore: Double) throws(MemoryError) {
        guard keep >= 1 else {
            throw .invalidParameter(
                name: "trajectories kept per task type", value: Double(keep), expected: "at least 1")
        }
        // A NaN minimum kept nothing and reported success; above 10, the top score, it keeps nothing either.
        guard (0...10).contains(minimumScore) else {
            throw .invalidParameter(name: "minimum score", value: minimumScore, expected: "within 0…10")
        }
    }

    /// A warning for candidates of which none has the task-type label (a misspelt label puts them all in one
    /// group, so only `keep` of them are kept); `nil` when some have it, or there are none.
    package static func missingLabelWarning(
        _ trajectories: [Trajectory], taskTypeLabel: String, keep: Int
    ) -> String? {
        guard !trajectories.isEmpty, !trajectories.contains(where: { $0.labels[taskTypeLabel] != nil }) else {
            return nil
        }
        return "No trajectory has the label \(taskTypeLabel), so all \(trajectories.count) form one task type and "
            + "the best \(keep) of them are kept; check the name of the task-type label."
    }
}
