import ArgumentParser
import Embeddings
import Foundation
import ProceduralMemory

/// The embedders `memp init`, `memp eval` and `memp collection` build with.
enum EmbedderChoice: String, CaseIterable, ExpressibleByArgument {
    /// Word and character hashing (`HashingEmbedder`): no model needed, no semantics.
    case hashing
    /// all-MiniLM-L6-v2, installed with `memp model install minilm`.
    case minilm
    /// An OpenAI-compatible `/embeddings` server (`OpenAICompatibleEmbedder`).
    case openai

    /// The embedder, with its dimension known (an OpenAI-compatible server is asked once when needed).
    func make(dimension: Int?, server: ServerOptions) throws -> any Embedder {
        switch self {
        case .hashing: return HashingEmbedder(dimension: dimension ?? 384)
        case .minilm: return try MiniLMEmbedder(modelDirectory: ModelStore().modelDirectory(for: .minilm))
        case .openai:
            let embedder = OpenAICompatibleEmbedder(
                baseURL: try server.url(), model: server.openaiModel,
                apiKeyEnvironmentVariable: server.apiKeyVariable, dimension: dimension)
            if dimension == nil { _ = try embedder.detectDimension() }
            return embedder
        }
    }

    /// The embedder a collection recorded, rebuilt from its identifier and dimension.
    static func embedder(forIdentifier identifier: String, dimension: Int, server: ServerOptions) throws
        -> any Embedder
    {
        let parts = identifier.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count) {
        case ("hashing", 2) where identifier == HashingEmbedder(dimension: dimension).modelIdentifier:
            return HashingEmbedder(dimension: dimension)
        case ("minilm", 2):
            return try EmbedderChoice.minilm.make(dimension: nil, server: server)
        case ("openai", 2):
            var options = server
            options.openaiModel = parts[1]
            return try EmbedderChoice.openai.make(dimension: dimension, server: options)
        default:
            throw ValidationError(
                "The collection was built with embedder \(identifier), which this build can't load; "
                    + "give query vectors instead (\"vector\" in --queries lines).")
        }
    }
}

extension EmbedderChoice {
    /// The configuration of a chosen embedder.
    ///
    /// Without a choice: MiniLM when installed, else hashing, with a note on standard error saying which.
    /// An OpenAI-compatible server is asked once for its dimension.
    static func configuration(
        for choice: Self?, dimension: Int, baseURL: String? = nil, model: String? = nil,
        apiKeyEnvironmentVariable: String = "OPENAI_API_KEY"
    ) throws -> EmbedderConfiguration {
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
        case .openai?:
            guard let baseURL, let model else {
                throw ValidationError("--embedder openai needs --base-url and --model.")
            }
            // The dimension is whatever the server answers; it is recorded so that later opens can check it.
            let probe = EmbedderConfiguration.openAICompatible(
                baseURL: baseURL, model: model, apiKeyEnvironmentVariable: apiKeyEnvironmentVariable, dimension: 0)
            guard let client = try probe.makeEmbedder() as? OpenAICompatibleEmbedder else {
                throw ValidationError("--embedder openai did not make an OpenAI-compatible client.")
            }
            return .openAICompatible(
                baseURL: baseURL, model: model, apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
                dimension: try client.detectDimension())
        }
    }
}
