import ArgumentParser
import Foundation
import MemoryLocation
import ProceduralMemory

/// `memp migrate`: copies a memory store between SQLite and PostgreSQL.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy a memory store to PostgreSQL or back, verified.",
        discussion: """
            --from and --to are each a store directory or a postgres:// URL (no password in it; the password comes \
            from --password-file or the variable --password-variable names). A missing destination directory becomes a \
            local SQLite store. The destination must hold nothing (no trajectories, memories, history or fusion \
            record). The source is read and checked first; trajectories and memories (counters, status, revisions, \
            vectors) are copied in batches, then the history (numbers and dates kept), the records of the tasks \
            updates applied and the fusion record, then \
            both stores are compared by counts and a SHA-256 checksum. Until that check passes the destination is \
            marked as an incomplete copy, which every command refuses: a migration stopped half-way leaves nothing \
            that passes for the source (remove it and migrate again). A destination directory the migration made \
            is removed again when it fails with an error. The source must not change meanwhile.
            """)

    @Option(help: ArgumentHelp("The store to copy: a directory or a postgres:// URL.", valueName: "dir|url"))
    var from: String
    @Option(help: ArgumentHelp("Where to copy it: a directory or a postgres:// URL.", valueName: "dir|url"))
    var to: String
    @OptionGroup var password: PasswordOptions
    @Option(parsing: .unconditional, help: "Trajectories or memories per transaction.") var batchSize = 500

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive (got \(batchSize)).") }
        // Hostile recheck, finding 210: the same directory spelled otherwise was opened as the destination, which
        // upgraded it, and only then refused.
        guard Self.resolved(from) != Self.resolved(to) else {
            throw ValidationError("--from and --to are the same store.")
        }
    }

    /// A directory as an absolute path without `.`, `..`, a trailing slash or symbolic links; a URL as it is.
    static func resolved(_ location: String) -> String {
        location.contains("://")
            ? location : URL(fileURLWithPath: location).standardizedFileURL.resolvingSymlinksInPath().path
    }

    func run() async throws {
        let digest = try await MemoryStore.copy(
            from: password.location(from), to: password.location(to), batchSize: batchSize)
        print(
            "Copied \(counted(digest.trajectories, "trajectory")), \(counted(digest.memories, "memory")), "
                + "\(counted(digest.historyEntries, "history row")) and "
                + "\(counted(digest.appliedTasks, "record", plural: "records")) of applied tasks to \(to); verified "
                + "(SHA-256 \(digest.checksum)).")
    }
}
