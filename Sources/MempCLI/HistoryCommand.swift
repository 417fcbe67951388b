import ArgumentParser
import Foundation
import ProceduralMemory
import RetrievalCore

/// `memp history`: what changed, when, why, and by which policy.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show the history of changes to the memories.",
        discussion: "Every add, merge, rewrite, feedback, deprecation, delete and revert is one entry.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Only the entries of this memory.") var memory: String?
    @Option(parsing: .unconditional, help: "Only the last N entries.") var last: Int?
    @Flag(help: "Print one JSON object per entry, with the memory before and after.") var json = false

    func validate() throws {
        // Here, not in run(): a flag refused there was told with the usage of `memp`, not of `memp history`, and
        // only once the store had opened.
        do throws(MemoryError) { try MemoryStore.checkHistoryLimit(last) } catch {
            throw flagError(error, flags: ["last": "--last"])
        }
        if memory?.isEmpty == true { throw ValidationError("--memory must be a memory ID, not empty.") }
    }

    func run() async throws {
        let store = try await storeOptions.open(loading: .onFirstUse)
        let entries = try await store.history(memoryID: memory, last: last)
        // Nothing on stdout is the answer, but said on stderr, as `memp query` does, so that a mistyped ID is seen.
        if entries.isEmpty { printError(memory.map { "No history entry is about memory \($0)." } ?? "No history yet.") }
        for entry in entries {
            if json {
                print(try jsonLine(entry))
                continue
            }
            var line =
                "#\(entry.number) \(JSONDates.string(from: entry.date)) \(entry.action.rawValue) \(entry.memoryID)"
            line += " [\(entry.policy)] \(entry.reason)"
            printText(line)
            for change in entry.changes { printText("    \(change)") }
        }
    }
}
