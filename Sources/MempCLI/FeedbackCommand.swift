import ArgumentParser
import Foundation
import MempService
import ProceduralMemory

/// `memp feedback`: records how a task that used some memories ended.
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback", abstract: "Record whether a task that used some memories succeeded.",
        discussion: """
            Each memory's hit count grows by one, and its success count when the task succeeded; a memory used at \
            least --min-hits times whose success rate is below --min-success-rate is deprecated. Every change is \
            a history row (`memp history`).
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .customLong("memory"), help: "The ID of a memory the task used (repeatable).")
    var memories: [String] = []
    @Option(help: ArgumentHelp("Whether the task succeeded.", valueName: "true|false")) var success: Bool
    @Option(help: "A JSON Lines file with the task's trajectory (its one line); its ID goes into the history.")
    var trajectory: String?
    @OptionGroup var settingsOptions: UpdateSettingsOptions
    @Flag(help: "Print one JSON object per memory.") var json = false

    func validate() throws {
        guard !memories.isEmpty else { throw ValidationError("Give at least one --memory ID.") }
    }

    func run() async throws {
        var attempt: Trajectory?
        if let trajectory {
            let tasks = try FinishedTask.read(from: trajectory)
            guard tasks.count == 1 else {
                throw InputFileError.malformed(
                    path: trajectory, line: nil,
                    reason: "it must hold exactly one trajectory (it holds \(tasks.count))")
            }
            attempt = tasks[0].trajectory
        }
        let store = try await storeOptions.open(loading: .onFirstUse)
        let changes = try await store.recordOutcome(
            task: attempt?.task ?? "", usedMemories: memories, trajectory: attempt,
            outcome: Outcome(success: success), settings: settingsOptions.settings)
        if json {
            for change in changes { print(try jsonLine(change)) }
        } else if !changes.isEmpty {
            print(ProcedureText.render(changes))
        }
        warnIfCacheUnsaved(store)
    }
}
