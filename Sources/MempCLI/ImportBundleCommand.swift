import ArgumentParser
import ProceduralMemory

/// `memp import-bundle`: verifies and imports a bundle written by `memp export`.
struct ImportBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-bundle", abstract: "Verify a bundle from `memp export` and import it.",
        discussion: """
            Every file's size and SHA-256 must match the manifest and every path must stay inside the bundle, or \
            nothing is imported. Texts over the limits are refused as `memp import` refuses them (raise them with \
            the --max-* options, as for the import the store was made by). Memories from another embedder are embedded again; each keeps its producer and \
            records the bundle it came from.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The bundle directory.", transform: nonEmptyPath) var bundle: String
    @Option(help: "What to do with memory IDs already stored.") var duplicates: DuplicatePolicy = .refuse
    @OptionGroup var textLimits: TextLimitOptions
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() async throws {
        let store = try await storeOptions.open()
        let report: BundleImportReport
        do {
            report = try await store.importBundle(at: bundle, duplicates: duplicates, limits: textLimits.limits)
        } catch .duplicateMemory(let id, let path) {
            throw CommandFailure(
                MemoryError.duplicateMemory(id: id, bundle: path),
                hint: "Pass --duplicates skip to keep the stored memories, or --duplicates replace to overwrite them.")
        }
        warnIfCacheUnsaved(store)
        if json {
            print(try jsonLine(report))
            return
        }
        print(
            "Imported \(counted(report.memories, "memory")) and \(counted(report.trajectories, "trajectory")) from "
                + "\(bundle); \(report.skippedMemories) already stored were skipped"
                + (report.reembedded ? "; embedded again with \(store.embedder.modelIdentifier)." : "."))
    }
}
