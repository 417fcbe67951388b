import ArgumentParser
import Foundation
import ProceduralMemory

/// `memp migrate`: copies a memory store between SQLite and PostgreSQL.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy a memory store to PostgreSQL or back, verified.",
        discussion: """
            --from and --to are each a store directory or a postgres:// URL (no password in it; the password comes \
            from --password-file or the variable --password-env names). A missing destination directory becomes a \
            local SQLite store. The destination must be empty. Trajectories and memories (counters, status, \
            revisions, vectors) are copied in batches, then the history (numbers and dates kept), then both stores \
            are compared by counts and a SHA-256 checksum over all three. The source must not change meanwhile.
            """)

    @Option(help: ArgumentHelp("The store to copy: a directory or a postgres:// URL.", valueName: "dir|url"))
    var from: String
    @Option(help: ArgumentHelp("Where to copy it: a directory or a postgres:// URL.", valueName: "dir|url"))
    var to: String
    @Option(help: "A file whose first line is the PostgreSQL password.") var passwordFile: String?
    @Option(help: "The environment variable holding the PostgreSQL password.")
    var passwordEnv = PostgresSupport.passwordVariable
    @Option(help: "Trajectories or memories per transaction.") var batchSize = 500

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive (got \(batchSize)).") }
        guard from != to else { throw ValidationError("--from and --to are the same store.") }
    }

    func run() async throws {
        let source = try await backend(for: from, creating: false)
        let destination = try await backend(for: to, creating: true)
        let digest = try await StoreMigration.copy(
            from: source, to: destination, destinationName: to, reason: "migrate from \(from)", batchSize: batchSize)
        print(
            "Copied \(counted(digest.trajectories, "trajectory")), \(counted(digest.memories, "memory")) and "
                + "\(counted(digest.historyEntries, "history row")) to \(to); verified (SHA-256 \(digest.checksum)).")
    }

    private func backend(for target: String, creating: Bool) async throws -> any MemoryBackend {
        if PostgresSupport.isURL(target) {
            return try await PostgresSupport.backend(
                url: target, password: PostgresSupport.Password(file: passwordFile, variable: passwordEnv))
        }
        if PostgresSupport.isStore(at: target) { return try await PostgresSupport.backend(storeAt: target) }
        let database = target + "/" + MemoryStore.databaseFileName
        if !FileManager.default.fileExists(atPath: database) {
            guard creating else { throw MemoryError.notAStore(path: target) }
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        }
        return try SQLiteBackend(path: database, readOnly: !creating)
    }
}
