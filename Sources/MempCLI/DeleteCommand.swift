import ArgumentParser
import ProceduralMemory

/// `memp delete`: deletes exactly one scope of trajectories and memories.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete the trajectories and memories of one ID, source or label.",
        discussion: "Memories left without any source trajectory go too; everything else stays.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "A trajectory or memory ID.") var id: String?
    @Option(help: "A source.") var source: String?
    @Option(help: ArgumentHelp("A label.", valueName: "key=value")) var label: String?

    func validate() throws {
        guard [id, source, label].compactMap({ $0 }).count == 1 else {
            throw ValidationError("Give exactly one of --id, --source and --label.")
        }
        if let label { _ = try parseLabel(label) }
    }

    func run() async throws {
        let scope: DeleteScope
        if let id {
            scope = .id(id)
        } else if let source {
            scope = .source(source)
        } else {
            let (key, value) = try parseLabel(label ?? "")
            scope = .label(key: key, value: value)
        }
        let store = try await storeOptions.open()
        let result = try await store.delete(scope)
        print(
            "Deleted \(result.trajectories) trajectories and \(result.memories.count) memories (\(scope))."
        )
    }
}
