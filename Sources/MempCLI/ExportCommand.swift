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
    @Option(help: "The bundle directory to create (must not exist, or be empty).") var output: String
    @Option(name: .customLong("source"), help: "Only memories from this source (repeatable).")
    var sources: [String] = []
    @Option(
        name: .customLong("label"),
        help: ArgumentHelp("Only memories with this label (repeatable).", valueName: "key=value"))
    var labels: [String] = []
    @Flag(help: "Export deprecated memories too.") var includeDeprecated = false
    @Flag(help: "Print the manifest as one JSON object.") var json = false

    func validate() throws { for label in labels { _ = try parseLabel(label) } }

    func run() async throws {
        var labelFilter: [String: String] = [:]
        for label in labels {
            let (key, value) = try parseLabel(label)
            labelFilter[key] = value
        }
        let store = try await storeOptions.open()
        let manifest = try await store.export(
            to: output,
            options: ExportOptions(
                sources: sources.isEmpty ? nil : Set(sources), labels: labelFilter,
                includeDeprecated: includeDeprecated))
        let known = try await store.statistics().trajectoriesBySource
        for source in sources where known[source] == nil {
            printError(
                "warning: no trajectory or memory has source \(source); the store's sources are "
                    + "\(known.keys.sorted().joined(separator: ", ")).")
        }
        if manifest.memoryCount == 0 { printError("warning: no memory matched; the bundle is empty.") }
        if json {
            print(try jsonLine(manifest))
        } else {
            print(
                "Exported \(counted(manifest.memoryCount, "memory")) and \(counted(manifest.trajectoryCount, "trajectory")) "
                    + "to \(output) (embedder \(manifest.embedderID)).")
        }
    }
}
