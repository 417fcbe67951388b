import ArgumentParser
import Foundation
import LLMWriters
import ProceduralMemory

/// `memp cold-start`: builds a first memory from unlabelled exploration, keeping the best trajectories per task type.
struct ColdStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cold-start", abstract: "Score candidate trajectories and keep the top K per task type.",
        discussion: """
            The rule scorer gives 6 points for a success, 3 × the reward and 1 for brevity (0–10); the llm scorer \
            asks a language model to judge (0–10 with a reason) and falls back to the rule for any trajectory it \
            fails on, saying so in the reason. The kept trajectories are added to the store as memories; the \
            others are not stored.
            """)

    enum ScorerChoice: String, CaseIterable, ExpressibleByArgument { case rule, llm }

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The JSON Lines file of candidate trajectories.", transform: nonEmptyPath) var file: String
    @Option(help: "How to score trajectories.") var scorer: ScorerChoice = .rule
    @Option(parsing: .unconditional, help: "Trajectories kept per task type.") var keep: Int
    @Option(help: "The label whose value is the task type.") var taskTypeLabel = "taskType"
    @Option(parsing: .unconditional, help: "Never keep a trajectory scoring below this (0–10).") var minScore = 0.0
    @Option(parsing: .unconditional, help: "The rule scorer: the step count at which the brevity point is gone.")
    var stepLimit = 50
    @Option(help: "How kept trajectories become memories.") var build: BuildPolicy = .proceduralization
    @OptionGroup var languageModel: LanguageModelOptions
    @Flag(help: "Print one JSON object per kept trajectory: id, taskType, score, reason.") var json = false

    func validate() throws {
        // The library's rules, told with the flags that set them.
        do throws(MemoryError) {
            try ColdStart.check(keep: keep, minimumScore: minScore)
            _ = try RuleBasedScorer(stepLimit: stepLimit)
        } catch {
            throw flagError(
                error,
                flags: [
                    "trajectories kept per task type": "--keep", "minimum score": "--min-score",
                    "step limit": "--step-limit",
                ])
        }
        if scorer == .llm, languageModel.llmURL == nil, languageModel.llmConfig == nil {
            throw ValidationError("--scorer llm needs --llm-url (or --llm-config).")
        }
    }

    struct Line: Encodable {
        var id: String
        var taskType: String
        var score: Double
        var reason: String
    }

    func run() async throws {
        let candidates = try FinishedTask.read(from: file).map(\.trajectory)
        let store = try await storeOptions.open()
        let rule = try RuleBasedScorer(stepLimit: stepLimit)
        var chosen: any Scorer = rule
        if scorer == .llm, let model = try languageModel.model() {
            chosen = try LLMJudgeScorer(model: model, fallback: rule)
        }
        if let warning = ColdStart.missingLabelWarning(candidates, taskTypeLabel: taskTypeLabel, keep: keep) {
            printError("Warning: \(warning)")
        }
        let kept = try await ColdStart.select(
            candidates, scorer: chosen, keep: keep, taskTypeLabel: taskTypeLabel,
            minimumScore: minScore)
        let report = try await store.add(
            kept.map(\.trajectory), options: ImportOptions(builder: MemoryBuilder(policy: build), duplicates: .skip))
        warnIfCacheUnsaved(store)
        for item in kept {
            let taskType = item.trajectory.labels[taskTypeLabel] ?? ""
            let line = Line(id: item.trajectory.id, taskType: taskType, score: item.score, reason: item.reason)
            if json {
                print(try jsonLine(line))
            } else {
                print(
                    String(
                        format: "%@  %@  %.2f  %@", taskType.isEmpty ? "-" : taskType, line.id, line.score,
                        line.reason))
            }
        }
        printError(
            "Kept \(kept.count) of \(counted(candidates.count, "trajectory")); added "
                + "\(counted(report.imported, "memory")) "
                + "(\(report.skippedDuplicates) already stored).")
    }
}
