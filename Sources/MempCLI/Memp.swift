import ArgumentParser
import RetrievalCore

/// The `memp` command: procedural memory for agents on a fast exact retrieval engine.
@main
struct Memp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memp",
        abstract: "Procedural memory for LLM agents, on an exact SIMD/BLAS retrieval engine.",
        version: MempVersion.current,
        subcommands: [
            IndexCommand.self,
            DoctorCommand.self,
            CollectionCommand.self,
            InitCommand.self,
            MigrateCommand.self,
            ImportCommand.self,
            QueryCommand.self,
            ShowCommand.self,
            DeleteCommand.self,
            StatsCommand.self,
            EmbedCommand.self,
            ModelCommand.self,
            EvalCommand.self,
            FeedbackCommand.self,
            UpdateCommand.self,
            HistoryCommand.self,
            RevertCommand.self,
            TuneCommand.self,
            ExportCommand.self,
            ImportBundleCommand.self,
            ColdStartCommand.self,
            VerifyCommand.self,
            ServeCommand.self,
        ]
    )

    /// Parses and runs a command as ArgumentParser's `main` does, except that a flag refused from `run()` (where the
    /// refusal needs the data: `--rescore-factor` on an f32 index) is told with the usage of the command run, not of
    /// `memp`.
    static func main() async {
        let command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            var command = command
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            if let problem = standardOutputProblem() {
                printError("Error: \(problem)")
                exit(withError: ExitCode.failure)
            }
        } catch let error as ValidationError {
            let type = Swift.type(of: command)
            let name = commandPath(to: type).joined(separator: " ")
            printError(
                "Error: \(error.message)\nUsage: \(usageString(for: type))\n  See '\(name) --help' for more information."
            )
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }

    /// The names from `memp` down to `command` (`["memp", "index", "search"]`).
    static func commandPath(
        to command: any ParsableCommand.Type, from root: any ParsableCommand.Type = Memp.self
    ) -> [String] {
        if command == root { return [root._commandName] }
        for subcommand in root.configuration.subcommands {
            let path = commandPath(to: command, from: subcommand)
            if !path.isEmpty { return [root._commandName] + path }
        }
        return []
    }
}
