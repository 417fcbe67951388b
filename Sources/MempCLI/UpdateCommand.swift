import ArgumentParser
import Foundation
import LLMWriters
import ProceduralMemory
import Synchronization

/// `memp update`: runs an update policy over a file of finished tasks.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Update the memory from finished tasks (vanilla, validation, adjustment).",
        discussion: """
            Reads JSON Lines trajectories, each with "usedMemories": [IDs of the memories the task used]. Per batch, \
            in one transaction: the used memories' counters (and deprecations), then the policy: vanilla adds every \
            trajectory, validation the successful ones, adjustment the successful ones and rewrites each memory a \
            failed task used. Near-duplicates of an active memory with the same outcome are merged into it. \
            An interrupted update keeps the batches committed before the interruption; run it again with \
            --resume to apply only the rest. With --llm-url, a \
            language model writes the new memories' scripts and reflects on failures; any failure of it falls back \
            to the rule-based writer or correction, and the fallback is recorded.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The JSON Lines file of finished tasks.", transform: nonEmptyPath) var file: String
    @Option(help: "The update policy.") var policy: UpdatePolicy
    @Option(help: "How new trajectories become memories.") var build: BuildPolicy = .proceduralization
    @Option(parsing: .unconditional, help: "Finished tasks per batch (one transaction each).") var batchSize = 10
    @Flag(help: "Keep near-duplicates as separate memories.") var noMerge = false
    @Option(parsing: .unconditional, help: "Near-duplicates: the least cosine between the tasks.")
    var duplicateTaskSimilarity: Float = 0.9
    @Option(parsing: .unconditional, help: "Near-duplicates: the least Jaccard similarity of the actions.")
    var duplicateContentSimilarity = 0.6
    @OptionGroup var settingsOptions: UpdateSettingsOptions
    @OptionGroup var languageModel: LanguageModelOptions
    @Option(help: "The source of records that name none (default: the file's base name).") var source: String?
    @Flag(
        help: """
            Skip the tasks an update has applied already (each batch records its tasks), to run an interrupted \
            update again; each task is applied once, even by two such runs at once.
            """)
    var resume = false
    @Flag(help: "Print the report as one JSON object.") var json = false

    func validate() throws {
        try UpdateSettingsOptions.validate(settings)
        try checkDefaultSource(source)
    }

    /// The thresholds of `--min-hits` and the others, with this command's batch size and near-duplicate settings.
    var settings: UpdateSettings {
        var settings = settingsOptions.settings
        settings.batchSize = batchSize
        settings.mergeDuplicates = !noMerge
        settings.duplicateTaskSimilarity = duplicateTaskSimilarity
        settings.duplicateContentSimilarity = duplicateContentSimilarity
        return settings
    }

    func run() async throws {
        let tasks = try FinishedTask.read(from: file, source: source)
        let store = try await storeOptions.open()
        var options = UpdateOptions(
            policy: policy, settings: settings, builder: MemoryBuilder(policy: build), resume: resume)
        if let model = try languageModel.model() {
            options.builder.scriptWriter = try LLMScriptWriter(model: model)
            options.reviser = try LLMReviser(model: model)
        }
        let report: UpdateReport
        let committed = CommittedTasks()
        do {
            report = try await store.update(tasks, options: options, source: file) { progress in
                committed.count.withLock { $0 = progress.tasks }
                printError(
                    "batch \(progress.batches) committed (\(progress.tasks) of "
                        + "\(counted(tasks.count - progress.alreadyApplied, "task")))")
            }
        } catch {
            let hint = Self.hint(for: error, resuming: resume, committedTasks: committed.count.withLock { $0 })
            guard let hint else { throw error }
            throw CommandFailure(error, hint: hint)
        }
        warnIfCacheUnsaved(store)
        for (memoryID, reason) in report.fallbacks.sorted(by: { $0.key < $1.key }) {
            printError("\(memoryID): the reviser failed, the rule-based correction was used: \(reason)")
        }
        if json {
            print(try jsonLine(report))
            return
        }
        print(
            "Updated from \(counted(report.tasks, "task")) in \(counted(report.batches, "batch", plural: "batches")) (\(policy.rawValue)): "
                + "\(report.added.count) added, \(report.merged.count) merged, \(report.rewritten.count) rewritten, "
                + "\(report.deprecated.count) deprecated, \(counted(report.skippedFailures, "failure")) not added"
                + (resume ? "; \(counted(report.alreadyApplied, "task")) applied before, skipped." : "."))
        for (trajectory, memory) in report.merged.sorted(by: { $0.key < $1.key }) {
            print("  merged \(trajectory) into \(memory)")
        }
        for memory in report.rewritten { print("  rewrote \(memory)") }
        for memory in report.deprecated { print("  deprecated \(memory)") }
    }

    /// How many tasks the batches committed so far hold.
    final class CommittedTasks: Sendable {
        let count = Mutex(0)
    }

    /// What to do about `error` with this command's flags, if there is something; `committedTasks` is how many
    /// tasks the batches committed before it hold.
    static func hint(for error: MemoryError, resuming: Bool, committedTasks: Int) -> String? {
        switch error {
        case .alreadyApplied where !resuming:
            "If an update of this file was interrupted, pass --resume to apply only the tasks it did not."
        case .resumedWithOtherMethod(_, _, _, let policy, let build, _, _):
            "To resume the interrupted update, pass --policy \(policy.rawValue) --build \(build.rawValue)."
        case .revisionConflict:
            // Hostile run 21: with another writer merging into the same memories, the last attempt failed with no
            // word of what was committed.
            "Each batch before this one was committed"
                + (committedTasks > 0 ? " (\(counted(committedTasks, "task")))" : "")
                + "; run the update again with --resume to apply the rest."
        default:
            // Hostile run 22: a memory deleted while the update ran stopped it after 238 batches, saying nothing of
            // them (finding 219).
            committedTasks > 0
                ? "\(counted(committedTasks, "task")) in earlier batches were committed; once the cause is fixed, run "
                    + "the update again with --resume to apply the rest." : nil
        }
    }
}
