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
