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
}
