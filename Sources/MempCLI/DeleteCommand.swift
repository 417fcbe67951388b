import ArgumentParser
import ProceduralMemory

/// `memp delete`: deletes exactly one scope of trajectories and memories.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete the trajectories and memories of one ID, source or label.",
        // The options are arrays only to refuse a repeat; the generated usage showed each as repeatable.
        usage: "memp delete --store <dir|url> (--id <id> | --source <source> | --label <key=value>) "
            + "[--dry-run] [--json]",
        discussion: """
            Memories left without any source trajectory go too; everything else stays. With --dry-run the delete \
            runs and is rolled back, so it reports exactly what would go and changes nothing.
            """)

    @OptionGroup var storeOptions: StoreOptions
    // Arrays, so that a repeated flag is refused rather than its last value silently taken for the only one
    // (`--id a --id b` deleted b alone).
    @Option(help: "A trajectory or memory ID.") var id: [String] = []
    @Option(help: "A source.") var source: [String] = []
    @Option(help: ArgumentHelp("A label.", valueName: "key=value")) var label: [String] = []
    @Flag(help: "Report what would be deleted, and delete nothing.") var dryRun = false
    @Flag(help: "Print one JSON object: scope, trajectories, memories, memoryIDs, dryRun.") var json = false

    func validate() throws {
        guard id.count + source.count + label.count == 1 else {
            throw ValidationError(
                "Give exactly one of --id, --source and --label, once: a delete is one scope (run one per scope).")
        }
        if let label = label.first { _ = try parseLabel(label) }
        // Hostile run 20: an empty ID was looked up ("No memory or trajectory has ID .").
        let blank = { (value: String?) in value?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true }
        if blank(id.first) { throw ValidationError("--id must be a trajectory or memory ID, not empty.") }
        if blank(source.first) { throw ValidationError("--source must be a source, not empty.") }
    }

    /// The `--json` line.
    struct Line: Encodable {
        var scope: String
        var trajectories: Int
        var memories: Int
        /// Which memories go (or, with --dry-run, would go), in the scope or left without a source trajectory.
        var memoryIDs: [String]
        /// Which memories keep (or would keep) only some of their source trajectories.
        var detachedMemoryIDs: [String]
        var dryRun: Bool
    }

    func run() async throws {
        let scope: DeleteScope
        if let id = id.first {
            scope = .id(id)
        } else if let source = source.first {
            scope = .source(source)
        } else {
            let (key, value) = try parseLabel(label.first ?? "")
            scope = .label(key: key, value: value)
        }
        let store = try await storeOptions.open()
        let result = try await store.delete(scope, dryRun: dryRun)
        warnIfCacheUnsaved(store)
        if json {
            print(
                try jsonLine(
                    Line(
                        scope: "\(scope)", trajectories: result.trajectories, memories: result.memories.count,
                        memoryIDs: result.memories, detachedMemoryIDs: result.detached, dryRun: dryRun)))
            return
        }
        let what = "\(counted(result.trajectories, "trajectory")) and \(counted(result.memories.count, "memory"))"
        print(dryRun ? "Would delete \(what) (\(scope)); nothing was deleted." : "Deleted \(what) (\(scope)).")
        if !result.detached.isEmpty {
            // Hostile run 22: memories that lost source trajectories were changed without a word.
            let kept =
                "\(counted(result.detached.count, "memory")) (\(result.detached.prefix(5).joined(separator: ", "))"
                + (result.detached.count > 5 ? ", …" : "") + ")"
            let verb = dryRun ? "would keep" : result.detached.count == 1 ? "keeps" : "keep"
            print("\(kept) \(verb) only the source trajectories not deleted.")
        }
    }
}
