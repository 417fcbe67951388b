import ArgumentParser
import Foundation
import ProceduralMemory
import RetrievalCore

/// `memp show`: one memory, whole.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one memory: task, script, steps, outcome, counters and provenance.",
        discussion: """
            With --json, prints one object {"memory", "outcome", "historyEntries"}; the memory's fields are \
            those of `memp history --json`.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The memory's ID.") var id: String
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if id.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("The memory ID must not be empty.")
        }
    }

    func run() async throws {
        let store = try await storeOptions.open(loading: .onFirstUse)
        let details = try await store.details(ofMemory: id)
        if json {
            print(try jsonLine(details))
            return
        }
        let memory = details.memory
        printText(
            "\(memory.id)  \(memory.status.rawValue), revision \(memory.revision), \(memory.kind.rawValue) by "
                + memory.buildPolicy.rawValue)
        printText("Task: \(memory.task)")
        printText("Outcome: \(QueryCommand.describe(memory, sourceOutcome: details.sourceOutcome))")
        printText("Source: \(memory.source); trajectories \(memory.sourceTrajectoryIDs.joined(separator: ", "))")
        if !memory.labels.isEmpty {
            printText(
                "Labels: "
                    + memory.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        let provenance = [
            memory.provenance.producer.map { "produced by \($0)" },
            memory.provenance.importedFrom.map { "imported from \($0)" },
            memory.provenance.scriptWriter.map { "script by \($0)" },
        ].compactMap { $0 }
        if !provenance.isEmpty { printText("Provenance: " + provenance.joined(separator: "; ")) }
        printText("Embedder: \(memory.embedderID)")
        printText(
            "Created \(JSONDates.string(from: memory.createdAt)), updated \(JSONDates.string(from: memory.updatedAt))")
        printText("History: \(counted(details.historyEntries, "entry")) (memp history --memory \(memory.id))")
        if let script = memory.script {
            printText("Script:")
            for line in script.split(separator: "\n", omittingEmptySubsequences: false) { printText("  \(line)") }
        }
        if let steps = memory.steps {
            printText("Steps:")
            for (index, step) in steps.enumerated() {
                printText("  \(index + 1). \(step.action)")
                if !step.observation.isEmpty { printText("     → \(step.observation)") }
            }
        }
    }
}
