import ArgumentParser
import Foundation
import LLMWriters
import ProceduralMemory
import Synchronization

/// `memp import`: imports a JSON Lines trajectory file.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import trajectories and build memories from them.",
        discussion: """
            Reads Memp's JSON Lines format ({"id", "task", "steps", "outcome", "source", "labels"}) or the \
            reference implementation's ({"source", "query", "trajectory", "facts"}), in batched transactions: \
            an interrupted import keeps every batch committed before the interruption.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The JSON Lines file.", transform: nonEmptyPath) var file: String
    @Option(help: "How trajectories become memories.") var build: BuildPolicy = .proceduralization
    @Option(help: "The file's format.") var format: TrajectoryFormat = .automatic
    @Option(help: "What to do with trajectory IDs already stored.") var duplicates: DuplicatePolicy =
        .refuse
    @Flag(help: "Skip bad lines, report them, and import the rest.") var skipInvalid = false
    @Option(parsing: .unconditional, help: "Trajectories per transaction.") var batchSize = 256
    @Option(help: "The source of records that name none (default: the file's base name).") var source: String?
    @Option(help: "The model or agent that produced the trajectories, when records don't say.")
    var producer: String?
    @OptionGroup var textLimits: TextLimitOptions
    @OptionGroup var languageModel: LanguageModelOptions
    @Flag(help: "Print the report as one JSON object.") var json = false
    @Option(
        help: """
            Progress on standard error: a bar on a terminal (auto), one JSON object per committed batch \
            ({"committed", "linesRead", "bytesRead", "totalBytes"}; json), or nothing (none).
            """)
    var progress: ProgressStyle = .auto

    func validate() throws {
        guard batchSize >= 1 else {
            throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).")
        }
        try checkDefaultSource(source)
    }

    /// The language model's writer when one is configured, else the rule-based one.
    func scriptWriter() throws -> any ScriptWriter {
        guard let model = try languageModel.model() else { return RuleBasedScriptWriter() }
        return try LLMScriptWriter(model: model)
    }

    func run() async throws {
        let store = try await storeOptions.open()
        let options = ImportOptions(
            format: format,
            builder: MemoryBuilder(policy: build, scriptWriter: try scriptWriter()),
            duplicates: duplicates,
            skipInvalid: skipInvalid,
            batchSize: batchSize, source: source, producer: producer, limits: textLimits.limits)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let bar = Mutex(ProgressBar(total: size, label: "importing"))
        let report: ImportReport
        do {
            report = try await store.importTrajectories(from: file, options: options) { [progress] step in
                switch progress {
                case .auto: bar.withLock { $0.update(step.bytesRead, of: step.totalBytes) }
                case .json:
                    let line: [String: JSONValue] = [
                        "committed": .int(step.imported), "linesRead": .int(step.linesRead),
                        "bytesRead": .int(step.bytesRead), "totalBytes": .int(step.totalBytes),
                    ]
                    if let line = try? jsonLine(line) { printError(line) }
                case .none: break
                }
            }
        } catch {
            bar.withLock { $0.finish() }
            guard let hint = hint(for: error) else { throw error }
            throw CommandFailure(error, hint: hint)
        }
        bar.withLock { $0.finish() }
        warnIfCacheUnsaved(store)
        for error in report.errors { printError(error) }
        if report.invalid > report.errors.count {
            printError("… and \(counted(report.invalid - report.errors.count, "more bad line")).")
        }
        if let warning = report.unreadFieldsWarning { printError("Warning: \(warning).") }
        if json {
            print(try jsonLine(report))
        } else {
            print(
                "Imported \(counted(report.imported, "trajectory")) (\(report.replaced) replaced) from "
                    + "\(counted(report.linesRead, "line")); \(counted(report.skippedDuplicates, "duplicate")) "
                    + "skipped, \(counted(report.invalid, "bad line")) skipped.")
        }
    }

    /// What the flags of this command can do about `error`.
    private func hint(for error: any Error) -> String? {
        var error = error as? MemoryError
        if case .importStopped(_, let cause)? = error { error = cause }
        switch error {
        case .invalidRecord?: return "Pass --skip-invalid to import the other lines and report the bad ones."
        case .duplicateTrajectory?:
            return "Pass --duplicates skip to keep the stored trajectory, or --duplicates replace to overwrite it."
        default: return nil
        }
    }
}
