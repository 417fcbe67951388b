import Embeddings
import Foundation

/// How to rebuild a store's embedder, recorded in the store so that it can be opened without naming one.
public enum EmbedderConfiguration: Codable, Sendable, Hashable {
    /// ``Embeddings/HashingEmbedder`` of this dimension.
    case hashing(dimension: Int)
    /// ``Embeddings/MiniLMEmbedder`` from a model directory; `nil` means the model store's default location.
    case minilm(modelDirectory: String?)
    /// ``Embeddings/OpenAICompatibleEmbedder`` on a server; the API key is read from the environment variable.
    case openAICompatible(baseURL: String, model: String, apiKeyEnvironmentVariable: String?, dimension: Int)

    /// Builds the embedder.
    ///
    /// - Throws: ``MemoryError/embedding(reason:)`` when the model is missing or broken, or the URL is invalid.
    public func makeEmbedder() throws(MemoryError) -> any Embedder {
        switch self {
        case .hashing(let dimension):
            return HashingEmbedder(dimension: dimension)
        case .minilm(let modelDirectory):
            let directory = modelDirectory ?? ModelStore().modelDirectory(for: .minilm)
            do { return try MiniLMEmbedder(modelDirectory: directory) } catch {
                throw .embedding(reason: error.description)
            }
        case .openAICompatible(let baseURL, let model, let apiKeyEnvironmentVariable, let dimension):
            guard let url = URL(string: baseURL), url.scheme != nil else {
                throw .embedding(reason: "\(baseURL) is not a valid URL")
            }
            return OpenAICompatibleEmbedder(
                baseURL: url, model: model, apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
                dimension: dimension > 0 ? dimension : nil)
        }
    }
}

extension EmbedderConfiguration {
    /// The configuration of the embedder `kind` names; without one, MiniLM when it is installed, else hashing.
    ///
    /// An OpenAI-compatible server is asked once for its dimension, which is recorded so that later opens can
    /// check it.
    ///
    /// - Parameters:
    ///   - kind: The embedder chosen, if any.
    ///   - dimension: The hashing embedder's dimension.
    ///   - server: The OpenAI-compatible server, used only for ``Embeddings/EmbedderKind/openai``.
    ///   - store: Where MiniLM is installed.
    /// - Returns: The configuration and, when no kind was given, a note for the user saying which was chosen (see
    ///   ``Embeddings/DefaultEmbedder/note``).
    /// - Throws: What ``Embeddings/Embedders/defaultEmbedder(store:)`` throws for a broken MiniLM install;
    ///   ``Embeddings/EmbeddingError/invalidServerURL(_:)`` or a server error for the OpenAI-compatible embedder.
    package static func resolve(
        _ kind: EmbedderKind?, dimension: Int, server: OpenAICompatibleServer = OpenAICompatibleServer(),
        store: ModelStore = ModelStore()
    ) throws(EmbeddingError) -> (configuration: EmbedderConfiguration, note: String?) {
        switch kind {
        case nil:
            let chosen = try Embedders.defaultEmbedder(store: store)
            let configuration: Self =
                chosen.isFallback ? .hashing(dimension: chosen.embedder.dimension) : .minilm(modelDirectory: nil)
            return (configuration, chosen.note)
        case .minilm?:
            return (.minilm(modelDirectory: nil), nil)
        case .hashing?:
            return (.hashing(dimension: dimension), nil)
        case .openai?:
            let client = try server.embedder(dimension: nil)
            return (
                .openAICompatible(
                    baseURL: client.baseURL.absoluteString, model: server.model,
                    apiKeyEnvironmentVariable: server.apiKeyEnvironmentVariable, dimension: client.dimension),
                nil
            )
        }
    }
}
