import ArgumentParser
import ProceduralMemory

/// `memp export`: writes memories to a bundle for another store.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export memories and their trajectories to a bundle directory.",
        discussion: """
            The bundle holds memories.jsonl, trajectories.jsonl and manifest.json (format version, embedder, \
            source models, counts, the SHA-256 of every file). Import it with `memp import-bundle`.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "The bundle directory to create (must not exist, or be empty).", transform: nonEmptyPath) var output:
        String
    @OptionGroup var filter: MemoryFilterOptions
    @Flag(help: "Print the manifest as one JSON object.") var json = false

    func run() async throws {
        let store = try await storeOptions.open(loading: .onFirstUse)
        let chosen = MemoryFilter(
            sources: filter.sourceFilter, labels: try filter.labelFilter, includeDeprecated: filter.includeDeprecated)
        let (manifest, warnings) = try await store.exportReporting(to: output, filter: chosen)
        for warning in warnings { printError("warning: " + warning) }
        if json {
            print(try jsonLine(manifest))
        } else {
            print(
                "Exported \(counted(manifest.memoryCount, "memory")) and \(counted(manifest.trajectoryCount, "trajectory")) "
                    + "to \(output) (embedder \(manifest.embedderID)).")
        }
    }
}
