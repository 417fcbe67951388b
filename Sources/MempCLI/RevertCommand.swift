import ArgumentParser
import ProceduralMemory

/// `memp revert`: undoes one history entry.
struct RevertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert", abstract: "Undo one history entry (itself recorded, so it can be undone too).",
        discussion: "An entry can be reverted once, while the memory is still as the entry left it.")

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The number of the history entry (`memp history`).") var entry: Int64

    func run() async throws {
        let store = try await storeOptions.open()
        let revert = try await store.revert(entry)
        warnIfCacheUnsaved(store)
        print("Reverted entry \(entry) of memory \(revert.memoryID) (new entry #\(revert.number)).")
        for change in revert.changes { print("    \(change)") }
    }
}
