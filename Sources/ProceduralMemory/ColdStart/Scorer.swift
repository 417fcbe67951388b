/// A score for one trajectory, 0 (useless) to 10 (exemplary), with the reason.
public struct TrajectoryScore: Sendable, Equatable, Codable {
    /// The score, within 0…10.
    public var score: Double
    /// Why, in a few words.
    public var reason: String

    /// Creates a score.
    public init(score: Double, reason: String) {
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
    /// - Throws: ``MemoryError/scriptWriter(name:trajectoryID:reason:)`` when it can't be rated.
    func score(_ trajectory: Trajectory) async throws(MemoryError) -> TrajectoryScore
}

/// A deterministic scorer from the outcome and the length: 6 points for a success, 3 × the reward (clamped to
/// 0…1; a success without a reward counts 1), and 1 × (1 − steps / ``stepLimit``) for brevity.
public struct RuleBasedScorer: Scorer {
    /// The step count at which the brevity point is gone.
    public var stepLimit: Int
    /// Decides success for outcomes without a success flag.
    public var settings: UpdateSettings

    /// Creates a scorer.
    ///
    /// - Precondition: `stepLimit >= 1`.
    public init(stepLimit: Int = 50, settings: UpdateSettings = UpdateSettings()) {
        precondition(stepLimit >= 1, "RuleBasedScorer: stepLimit must be at least 1")
        self.stepLimit = stepLimit
        self.settings = settings
    }

    /// `rule/v1`.
    public var name: String { "rule/v1" }

    /// Scores the trajectory by the rule in the type's discussion; never throws.
    public func score(_ trajectory: Trajectory) async throws(MemoryError) -> TrajectoryScore {
        let success = settings.isSuccess(trajectory.outcome)
        let reward = min(max(trajectory.outcome?.reward ?? (success ? 1 : 0), 0), 1)
        let brevity = 1 - Double(min(trajectory.steps.count, stepLimit)) / Double(stepLimit)
        let score = (success ? 6 : 0) + 3 * reward + brevity
        return TrajectoryScore(
            score: score,
            reason: "\(success ? "success" : "failure"), reward \(reward), \(trajectory.steps.count) steps")
    }
}

/// One trajectory kept by the cold start, with its score.
public struct ScoredTrajectory: Sendable, Equatable {
    /// The trajectory.
    public var trajectory: Trajectory
    /// Its score.
    public var score: TrajectoryScore
    /// Its task type (the value of the grouping label).
    public var taskType: String
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
    ///   - minimumScore: Candidates scoring below it are never kept.
    /// - Returns: The kept trajectories, grouped by task type (sorted), best first within a group.
    /// - Throws: What the scorer throws.
    /// - Precondition: `keep >= 1`.
    public static func select(
        _ trajectories: [Trajectory], scorer: any Scorer, keep: Int, taskTypeLabel: String = "taskType",
        minimumScore: Double = 0
    ) async throws(MemoryError) -> [ScoredTrajectory] {
        precondition(keep >= 1, "ColdStart.select: keep must be at least 1")
        var groups: [String: [ScoredTrajectory]] = [:]
        for trajectory in trajectories {
            let score = try await scorer.score(trajectory)
            guard score.score >= minimumScore else { continue }
            let type = trajectory.labels[taskTypeLabel] ?? ""
            groups[type, default: []].append(ScoredTrajectory(trajectory: trajectory, score: score, taskType: type))
        }
        return groups.keys.sorted().flatMap { type in
            groups[type, default: []].sorted { a, b in
                if a.score.score != b.score.score { return a.score.score > b.score.score }
                if a.trajectory.steps.count != b.trajectory.steps.count {
                    return a.trajectory.steps.count < b.trajectory.steps.count
                }
                return a.trajectory.id < b.trajectory.id
            }.prefix(keep)
        }
    }
}
