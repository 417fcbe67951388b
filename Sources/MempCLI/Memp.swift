import ArgumentParser
import Foundation
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
        if let problem = argumentNotInUTF8() {
            printError("Error: \(problem)")
            exit(withError: ExitCode.validationFailure)
        }
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

    /// Says which argument is not valid UTF-8, or `nil` when all are.
    ///
    /// Swift reads arguments as UTF-8 and puts U+FFFD in place of what is not, so a file name in Latin-1
    /// (`caf\xE9.jsonl`) was "does not exist", and `init --store st\xFF/x` made the store in another directory,
    /// `st\u{FFFD}` (hostile run 13).
    static func argumentNotInUTF8(_ arguments: [[UInt8]] = rawArguments()) -> String? {
        for (position, bytes) in arguments.enumerated().dropFirst()
        where String(validating: bytes, as: UTF8.self) == nil {
            let shown = bytes.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
            return "argument \(position) (\(shown)) is not valid UTF-8; memp reads file names and texts as UTF-8 "
                + "and would use another name. Rename the file to a UTF-8 name, or give its path through a link "
                + "that has one."
        }
        return nil
    }

    /// This process's arguments as the bytes it was given, the program's name first.
    static func rawArguments() -> [[UInt8]] {
        (0..<Int(CommandLine.argc)).map { index in
            guard let argument = CommandLine.unsafeArgv[index] else { return [] }
            return Array(UnsafeBufferPointer(start: argument, count: strlen(argument))).map { UInt8(bitPattern: $0) }
        }
    }

    /// `byte` as two upper-case hexadecimal digits.
    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 16 ? "0" + digits : digits
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
