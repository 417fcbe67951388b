/// One attempt at a task: the task text, the steps taken, and how it ended.
///
/// Encodes to and decodes from one line of Memp's JSON Lines trajectory format:
///
///     {"id": "tw-cook-0007", "task": "Cook a meal using the recipe in the kitchen",
///      "steps": [{"action": "open fridge", "observation": "You open the fridge."}],
///      "outcome": {"success": true, "reward": 1.0}, "source": "textworld-express",
///      "labels": {"taskType": "cookingworld"}, "producer": "gpt-4o"}
public struct Trajectory: Codable, Sendable, Equatable {
    /// The trajectory's unique ID.
    public var id: String
    /// What the agent was asked to do.
    public var task: String
    /// The actions taken, in order, with what the environment answered.
    public var steps: [Step]
    /// How the attempt ended; `nil` when unknown.
    public var outcome: Outcome?
    /// Where the trajectory comes from (a data set, an environment, a run); scoped deletes use it.
    public var source: String
    /// Free-form labels (`taskType: cookingworld`); filters and scoped deletes use them.
    public var labels: [String: String]
    /// The model or agent that produced the trajectory, when known.
    public var producer: String?

    /// Creates a trajectory.
    public init(
        id: String, task: String, steps: [Step], outcome: Outcome? = nil, source: String,
        labels: [String: String] = [:], producer: String? = nil
    ) {
        self.id = id
        self.task = task
        self.steps = steps
        self.outcome = outcome
        self.source = source
        self.labels = labels
        self.producer = producer
    }
}

/// One step of a trajectory: what the agent did and what it observed.
public struct Step: Codable, Sendable, Equatable, Hashable {
    /// The action, as the agent issued it (`take apple 1 from countertop 2`).
    public var action: String
    /// What the environment answered; empty when nothing was recorded.
    public var observation: String

    /// Creates a step.
    public init(action: String, observation: String = "") {
        self.action = action
        self.observation = observation
    }
}

/// How a trajectory ended: a success flag, a reward, or both.
public struct Outcome: Codable, Sendable, Equatable {
    /// Whether the task was accomplished.
    public var success: Bool?
    /// A score for the attempt (environment reward or judge rating).
    public var reward: Double?

    /// Creates an outcome.
    ///
    /// - Precondition: at least one of `success` and `reward` is given.
    public init(success: Bool? = nil, reward: Double? = nil) {
        precondition(success != nil || reward != nil, "Outcome: give a success flag, a reward, or both")
        self.success = success
        self.reward = reward
    }

    /// The outcome of a success flag and a reward read where either may be missing (a stored row's columns, a
    /// record's flat fields): `nil` when both are.
    package static func ifAny(success: Bool?, reward: Double?) -> Outcome? {
        success == nil && reward == nil ? nil : Outcome(success: success, reward: reward)
    }
}
