import ArgumentParser
import Embeddings
import Foundation
import ProceduralMemory

/// `memp init`: creates a memory store.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a memory store.",
        discussion: """
            Without --embedder, the store embeds with MiniLM when it is installed (`memp model install minilm`), \
            else with the hashing fallback, and says so.
            """)

    enum EmbedderChoice: String, CaseIterable, ExpressibleByArgument {
        case minilm, hashing
    }

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "The embedder.") var embedder: EmbedderChoice?
    @Option(help: "The hashing embedder's dimension.") var dimension = 384

    func validate() throws {
        guard (1...4096).contains(dimension) else {
            throw ValidationError("--dimension must be 1…4096 (got \(dimension)).")
        }
    }

    func run() async throws {
        let configuration = try EmbedderChoice.configuration(for: embedder, dimension: dimension)
        let embedder = try configuration.makeEmbedder()
        let store = try await MemoryStore.create(
            at: storeOptions.store, embedder: embedder, configuration: configuration)
        print(
            "Created a memory store in \(storeOptions.store) (embedder \(store.embedder.modelIdentifier), \(store.embedder.dimension) dimensions)."
        )
    }
}

extension InitCommand.EmbedderChoice {
    /// The configuration of a chosen embedder; without a choice, MiniLM when installed, else hashing, with a note
    /// on standard error saying which.
    static func configuration(for choice: Self?, dimension: Int) throws -> EmbedderConfiguration {
        switch choice {
        case nil:
            let chosen = try Embedders.defaultEmbedder()
            printError(chosen.note)
            return chosen.isFallback
                ? .hashing(dimension: chosen.embedder.dimension) : .minilm(modelDirectory: nil)
        case .minilm?:
            return .minilm(modelDirectory: nil)
        case .hashing?:
            return .hashing(dimension: dimension)
        }
    }
}
