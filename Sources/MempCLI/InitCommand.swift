import ArgumentParser
import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory

/// `memp init`: creates a memory store.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a memory store.",
        discussion: """
            Without --embedder, the store embeds with MiniLM when it is installed (`memp model install minilm`), \
            else with the hashing fallback, and says so.

            With --backend postgres, the store lives in PostgreSQL (with pgvector) at --url \
            (postgres://USER@HOST:PORT/DATABASE[?schema=NAME&sslmode=disable]); the directory keeps the URL and \
            the index caches, and every other command works on it unchanged. The password comes from \
            --password-file or the environment variable --password-variable names (MEMP_PG_PASSWORD), never from the \
            URL, and is never printed. A database that already holds a store with the same embedder is attached.
            """)

    enum Backend: String, CaseIterable, ExpressibleByArgument {
        case sqlite, postgres
    }

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Where the store keeps its data.") var backend: Backend = .sqlite
    @Option(help: "The PostgreSQL URL, without password (with --backend postgres).") var url: String?
    @OptionGroup var password: PasswordOptions
    @Option(help: "The embedder.") var embedder: EmbedderKind?
    @Option(
        parsing: .unconditional,
        help: "The hashing embedder's dimension (default: \(HashingEmbedder.defaultDimension)).") var dimension: Int?
    @OptionGroup var serverOptions: StoreServerOptions

    func validate() throws {
        try serverOptions.validate(embedder: embedder)
        if backend == .postgres, url == nil {
            throw ValidationError("--backend postgres needs --url postgres://user@host:5432/database.")
        }
        if backend == .sqlite, url != nil || password.passwordFile != nil {
            throw ValidationError("--url and --password-file apply only to --backend postgres.")
        }
        try validateDimension(dimension, embedder: embedder)
    }

    func run() async throws {
        // Which embedder was chosen is said once the store exists: before, it stood above the error of a directory
        // that already holds a store.
        let (configuration, note) = try EmbedderConfiguration.resolve(
            embedder, dimension: dimension, server: serverOptions.server)
        let embedder = try configuration.makeEmbedder()
        if backend == .postgres, let url {
            let database = DatabaseLocation(
                url: url, passwordFile: password.passwordFile, passwordVariable: password.passwordVariable)
            let (store, attached, location) = try await MemoryStore.create(
                at: storeOptions.store, database: database, embedder: embedder, configuration: configuration)
            if let note { printError(note) }
            print(
                "\(attached ? "Attached" : "Created") a memory store in \(storeOptions.store) on PostgreSQL at \(location) (embedder \(store.embedder.modelIdentifier), \(store.embedder.dimension) dimensions)."
            )
            return
        }
        let store: MemoryStore
        do {
            store = try await MemoryStore.create(
                at: storeOptions.store, embedder: embedder, configuration: configuration)
        } catch {
            guard case .databaseURLAsDirectory(let url) = error else { throw error }
            throw CommandFailure(
                error, hint: "Pass --backend postgres --url \(url) with --store naming the directory to keep it in.")
        }
        if let note { printError(note) }
        print(
            "Created a memory store in \(storeOptions.store) (embedder \(store.embedder.modelIdentifier), \(store.embedder.dimension) dimensions)."
        )
    }
}
