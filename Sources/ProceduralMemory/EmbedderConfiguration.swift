import Embeddings
import Foundation
import Synchronization

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
        do throws(EmbeddingError) { return try build() } catch { throw .embedding(reason: error.description) }
    }

    /// Builds the embedder, loading a model's weights.
    func build() throws(EmbeddingError) -> any Embedder {
        switch self {
        case .hashing(let dimension):
            return try Self.hashingEmbedder(dimension: dimension)
        case .minilm(let modelDirectory):
            return try MiniLMEmbedder(modelDirectory: modelDirectory ?? ModelStore().modelDirectory(for: .minilm))
        case .openAICompatible(let baseURL, let model, let apiKeyEnvironmentVariable, let dimension):
            guard let url = URL(string: baseURL), url.scheme != nil else { throw .invalidServerURL(baseURL) }
            return OpenAICompatibleEmbedder(
                baseURL: url, model: model, apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
                dimension: dimension > 0 ? dimension : nil)
        }
    }

    /// Checks that this configuration rebuilds `embedder`, judged without building it (no model is loaded, no
    /// server asked): the same model identifier, and the same dimension where the configuration names one.
    ///
    /// - Throws: ``MemoryError/configurationMismatch(configured:embedder:)``;
    ///   ``MemoryError/embedding(reason:)`` for a hashing dimension below 1.
    package func check(rebuilds embedder: any Embedder) throws(MemoryError) {
        let identifier: String
        let dimension: Int?
        switch self {
        case .hashing(let hashingDimension):
            do throws(EmbeddingError) {
                identifier = try Self.hashingEmbedder(dimension: hashingDimension).modelIdentifier
            } catch {
                throw .embedding(reason: error.description)
            }
            dimension = hashingDimension
        case .minilm:
            (identifier, dimension) = (MiniLMEmbedder.identifier, nil)
        case .openAICompatible(_, let model, _, let serverDimension):
            (identifier, dimension) = (
                OpenAICompatibleEmbedder.identifier(model: model), serverDimension > 0 ? serverDimension : nil
            )
        }
        guard identifier == embedder.modelIdentifier, dimension.map({ $0 == embedder.dimension }) ?? true else {
            throw .configurationMismatch(
                configured: identifier + (dimension.map { " (\($0) dimensions)" } ?? ""),
                embedder: "\(embedder.modelIdentifier) (\(embedder.dimension) dimensions)")
        }
    }

    /// The hashing embedder of `dimension`, which must be at least 1 (a precondition of the embedder's own).
    private static func hashingEmbedder(dimension: Int) throws(EmbeddingError) -> HashingEmbedder {
        guard dimension >= 1 else { throw .invalidDimension(embedder: "hashing", dimension: dimension) }
        return HashingEmbedder(dimension: dimension)
    }

    /// An embedder that is built at its first ``Embeddings/Embedder/embed(_:)``, not now: a store opened to show,
    /// list or count what it holds never loads its model.
    ///
    /// Until then it reports the identifier and dimension the store recorded (`info`). An embedding fails, and the
    /// next one tries again, when the embedder can't be built, or is built with another identifier
    /// (``Embeddings/EmbeddingError/invalidModel(path:reason:)``) or dimension
    /// (``Embeddings/EmbeddingError/dimensionMismatch(expected:actual:)``).
    package func deferredEmbedder(for info: StoreInfo) -> any Embedder {
        DeferredEmbedder(configuration: self, modelIdentifier: info.embedderID, dimension: info.dimension)
    }
}

/// An embedder built from its configuration at its first use; see
/// ``EmbedderConfiguration/deferredEmbedder(for:)``.
private final class DeferredEmbedder: Embedder {
    let modelIdentifier: String
    let dimension: Int
    private let configuration: EmbedderConfiguration
    private let built = Mutex<(any Embedder)?>(nil)

    init(configuration: EmbedderConfiguration, modelIdentifier: String, dimension: Int) {
        self.configuration = configuration
        self.modelIdentifier = modelIdentifier
        self.dimension = dimension
    }

    /// The embedder, built by the first caller (the others wait for it).
    private func embedder() throws(EmbeddingError) -> any Embedder {
        try built.withLock { (built) throws(EmbeddingError) -> any Embedder in
            if let built { return built }
            let embedder = try configuration.build()
            guard embedder.modelIdentifier == modelIdentifier else {
                throw .invalidModel(
                    path: embedder.modelIdentifier,
                    reason: "the store holds vectors from \(modelIdentifier); open it with the same embedder")
            }
            guard embedder.dimension == dimension else {
                throw .dimensionMismatch(expected: dimension, actual: embedder.dimension)
            }
            built = embedder
            return embedder
        }
    }

    func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        try embedder().embed(texts)
    }

    func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        try await embedder().embed(texts)
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
    ///   - dimension: The hashing embedder's dimension; `nil` for ``Embeddings/HashingEmbedder/defaultDimension``.
    ///   - server: The OpenAI-compatible server, used only for ``Embeddings/EmbedderKind/openai``.
    ///   - store: Where MiniLM is installed.
    /// - Returns: The configuration and, when no kind was given, a note for the user saying which was chosen (see
    ///   ``Embeddings/DefaultEmbedder/note``).
    /// - Throws: What ``Embeddings/Embedders/defaultEmbedder(store:)`` throws for a broken MiniLM install;
    ///   ``Embeddings/EmbeddingError/invalidServerURL(_:)`` or a server error for the OpenAI-compatible embedder.
    package static func resolve(
        _ kind: EmbedderKind?, dimension: Int? = nil, server: OpenAICompatibleServer = OpenAICompatibleServer(),
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
            return (.hashing(dimension: dimension ?? HashingEmbedder.defaultDimension), nil)
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
