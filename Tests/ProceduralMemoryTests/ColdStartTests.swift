import ProceduralMemory
import Testing

@Suite struct ColdStartTests {
    static func candidate(_ id: String, type: String, success: Bool?, reward: Double?, steps: Int) -> Trajectory {
        Trajectory(
            id: id, task: "task \(id)", steps: (0..<steps).map { Step(action: "act \($0)") },
            outcome: Outcome(success: success, reward: reward), source: "explore", labels: ["taskType": type])
    }

    @Test func ruleScoresAreExact() async throws {
        let scorer = try RuleBasedScorer(stepLimit: 10)
        let a = Self.candidate("a", type: "x", success: true, reward: nil, steps: 5)
        #expect(
            try await scorer.score(a)
                == ScoredTrajectory(trajectory: a, score: 9.5, reason: "success, reward 1.0, 5 steps"))
        let b = Self.candidate("b", type: "x", success: false, reward: 0.5, steps: 20)
        #expect(
            try await scorer.score(b)
                == ScoredTrajectory(trajectory: b, score: 1.5, reason: "failure, reward 0.5, 20 steps"))
        // No flag: the reward decides success (at least 1 by default), and is clamped to 0…1.
        #expect(try await scorer.score(Self.candidate("c", type: "x", success: nil, reward: 3, steps: 0)).score == 10)
    }

    @Test func keepsTheTopKPerTaskType() async throws {
        let candidates = [
            Self.candidate("t1", type: "twc", success: true, reward: 1, steps: 12),
            Self.candidate("t2", type: "twc", success: true, reward: 1, steps: 6),
            Self.candidate("t3", type: "twc", success: false, reward: 0, steps: 3),
            Self.candidate("t4", type: "twc", success: true, reward: 1, steps: 6),
            Self.candidate("c1", type: "coin", success: false, reward: 0.2, steps: 40),
            Self.candidate("n1", type: "", success: true, reward: 1, steps: 1),
        ]
        let kept = try await ColdStart.select(candidates, scorer: try RuleBasedScorer(stepLimit: 50), keep: 2)
        #expect(kept.map(\.trajectory.id) == ["n1", "c1", "t2", "t4"])
        #expect(kept.map { $0.trajectory.labels["taskType"] } == ["", "coin", "twc", "twc"])
        let confident = try await ColdStart.select(candidates, scorer: try RuleBasedScorer(), keep: 5, minimumScore: 6)
        #expect(confident.map(\.trajectory.id) == ["n1", "t2", "t4", "t1"])
    }

    // A library caller passing these trapped the process (preconditions) or, with a NaN minimum, kept nothing.
    @Test func parametersOutOfRangeAreRefusedBeforeScoring() async throws {
        #expect(throws: MemoryError.invalidParameter(name: "step limit", value: 0, expected: "at least 1")) {
            try RuleBasedScorer(stepLimit: 0)
        }
        let candidates = [Self.candidate("a", type: "x", success: true, reward: 1, steps: 2)]
        let rule = try RuleBasedScorer()
        await #expect(
            throws: MemoryError.invalidParameter(
                name: "trajectories kept per task type", value: -3, expected: "at least 1")
        ) {
            try await ColdStart.select(candidates, scorer: rule, keep: -3)
        }
        for minimum in [-0.5, 10.5] {
            await #expect(
                throws: MemoryError.invalidParameter(name: "minimum score", value: minimum, expected: "within 0…10")
            ) {
                try await ColdStart.select(candidates, scorer: rule, keep: 1, minimumScore: minimum)
            }
        }
        do {
            _ = try await ColdStart.select(candidates, scorer: rule, keep: 1, minimumScore: .nan)
            Issue.record("a NaN minimum score was accepted")
        } catch {
            guard case .invalidParameter(let name, let value, _) = error else { throw error }
            #expect(name == "minimum score" && value.isNaN)
        }
    }

    /// Hostile run 15's list: a successful candidate with a NaN reward scored NaN, which failed every comparison,
    /// and was dropped without a word; a scorer's score outside the scale went the same way, or ranked first.
    @Test func aNonFiniteRewardAndAScoreOffTheScaleAreRefused() async throws {
        let rule = try RuleBasedScorer()
        var broken = Self.candidate("nan", type: "x", success: true, reward: 1, steps: 2)
        broken.outcome = Outcome(success: true, reward: .nan)
        await #expect(
            throws: MemoryError.invalidTrajectory(
                id: "nan", field: "outcome.reward", rule: "must be a finite number (got nan)")
        ) {
            try await ColdStart.select([broken], scorer: rule, keep: 1)
        }
        struct Generous: Scorer {
            var name: String { "generous" }
            func score(_ trajectory: Trajectory) async throws(MemoryError) -> ScoredTrajectory {
                ScoredTrajectory(trajectory: trajectory, score: 11, reason: "very good")
            }
        }
        let candidate = Self.candidate("a", type: "x", success: true, reward: 1, steps: 2)
        await #expect(
            throws: MemoryError.scriptWriter(
                name: "generous", trajectoryID: "a", reason: "it scored 11.0, outside the scale of 0…10")
        ) {
            try await ColdStart.select([candidate], scorer: Generous(), keep: 1)
        }
    }

    @Test func warnsWhenNoCandidateHasTheTaskTypeLabel() {
        let labelled = Self.candidate("a", type: "x", success: true, reward: 1, steps: 2)
        var unlabelled = labelled
        unlabelled.labels = [:]
        #expect(
            ColdStart.missingLabelWarning([unlabelled, unlabelled], taskTypeLabel: "taskType", keep: 1)
                == "No trajectory has the label taskType, so all 2 form one task type and the best 1 of them are "
                + "kept; check the name of the task-type label.")
        #expect(ColdStart.missingLabelWarning([unlabelled, labelled], taskTypeLabel: "taskType", keep: 1) == nil)
        #expect(ColdStart.missingLabelWarning([], taskTypeLabel: "taskType", keep: 1) == nil)
    }
}
