import Foundation

/// The embedders Memp ships, by the name a user picks them with.
public enum EmbedderKind: String, CaseIterable, Sendable {
    /// Word and character hashing (``HashingEmbedder``): no model needed, no semantics.
    case hashing
    /// all-MiniLM-L6-v2 (``MiniLMEmbedder``) from the ``ModelStore``.
    case minilm
    /// An OpenAI-compatible `/embeddings` server (``OpenAICompatibleEmbedder``).
    case openai
}

/// Where an OpenAI-compatible embedding server is, as a user gives it: checked only when it is used.
public struct OpenAICompatibleServer: Sendable, Equatable {
    /// The environment variable read for the base URL when none is given.
    public static let baseURLEnvironmentVariable = "MEMP_OPENAI_BASE_URL"

    /// The server's base URL; `nil` reads ``baseURLEnvironmentVariable``.
    public var baseURL: String?
    /// The model name sent to the server.
    public var model: String
    /// The environment variable holding the server's API key.
    public var apiKeyEnvironmentVariable: String

    /// Describes a server; nothing is checked or sent yet.
    public init(
        baseURL: String? = nil, model: String = "text-embedding-3-small",
        apiKeyEnvironmentVariable: String = "OPENAI_API_KEY"
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
    }

    /// The base URL: ``baseURL``, else the value of ``baseURLEnvironmentVariable`` in `environment`.
    ///
    /// - Throws: ``EmbeddingError/invalidServerURL(_:)`` with the text found (empty when there is none) unless it
    ///   is an `http` or `https` URL without a query or fragment (the endpoint's path is appended to it).
    public func url(environment: [String: String] = ProcessInfo.processInfo.environment) throws(EmbeddingError)
        -> URL
    {
        let text = baseURL ?? environment[Self.baseURLEnvironmentVariable] ?? ""
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.query == nil,
            url.fragment == nil
        else {
            throw .invalidServerURL(text)
        }
        return url
    }

    /// A client for ``model`` on this server.
    ///
    /// - Parameters:
    ///   - dimension: The expected vector length; `nil` asks the server once.
    ///   - batchSize: Texts per request.
    /// - Throws: ``EmbeddingError/invalidServerURL(_:)``, or what ``OpenAICompatibleEmbedder/detectDimension()``
    ///   throws when the dimension has to be asked for.
    public func embedder(dimension: Int?, batchSize: Int = 64) throws(EmbeddingError) -> OpenAICompatibleEmbedder {
        let embedder = OpenAICompatibleEmbedder(
            baseURL: try url(), model: model, apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
            dimension: dimension, batchSize: batchSize)
        if dimension == nil { _ = try embedder.detectDimension() }
        return embedder
    }
}

extension Embedders {
    /// The embedder of `kind`.
    ///
    /// - Parameters:
    ///   - kind: Which embedder.
    ///   - dimension: The hashing embedder's dimension (384 when `nil`), or the OpenAI-compatible model's (asked
    ///     of the server when `nil`); MiniLM's is fixed.
    ///   - server: The OpenAI-compatible server, used only for ``EmbedderKind/openai``.
    ///   - store: Where MiniLM is installed.
    ///   - batchSize: Texts per forward pass (MiniLM) or per request (OpenAI-compatible); `nil` keeps the
    ///     embedder's default.
    /// - Throws: ``EmbeddingError/modelNotInstalled(name:fix:)`` and the other loading errors of
    ///   ``MiniLMEmbedder/init(modelDirectory:batchSize:)``; ``EmbeddingError/invalidServerURL(_:)`` or a server
    ///   error for ``EmbedderKind/openai``.
    /// - Precondition: `batchSize` is `nil` or at least 1.
    public static func make(
        _ kind: EmbedderKind, dimension: Int? = nil, server: OpenAICompatibleServer = OpenAICompatibleServer(),
        store: ModelStore = ModelStore(), batchSize: Int? = nil
    ) throws(EmbeddingError) -> any Embedder {
        switch kind {
        case .hashing: HashingEmbedder(dimension: dimension ?? HashingEmbedder.defaultDimension)
        case .minilm: try MiniLMEmbedder(modelDirectory: store.modelDirectory(for: .minilm), batchSize: batchSize ?? 32)
        case .openai: try server.embedder(dimension: dimension, batchSize: batchSize ?? 64)
        }
    }

    /// The embedder a model identifier names, as ``Embedder/modelIdentifier`` spells it: `hashing:v1:DIMENSION`,
    /// `minilm:all-MiniLM-L6-v2` or `openai:MODEL`.
    ///
    /// - Parameters:
    ///   - identifier: The recorded identifier.
    ///   - dimension: The recorded dimension, which a hashing identifier must repeat.
    ///   - server: Where an `openai:` identifier's model is served; its ``OpenAICompatibleServer/model`` is replaced
    ///     by the identifier's.
    ///   - store: Where MiniLM is installed.
    /// - Throws: ``EmbeddingError/unknownEmbedder(identifier:)`` for an identifier this build can't load, and what
    ///   ``make(_:dimension:server:store:)`` throws.
    public static func embedder(
        identifier: String, dimension: Int, server: OpenAICompatibleServer = OpenAICompatibleServer(),
        store: ModelStore = ModelStore()
    ) throws(EmbeddingError) -> any Embedder {
        let parts = identifier.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count) {
        case ("hashing", 2) where identifier == HashingEmbedder(dimension: dimension).modelIdentifier:
            return HashingEmbedder(dimension: dimension)
        case ("minilm", 2):
            return try make(.minilm, store: store)
        case ("openai", 2):
            var named = server
            named.model = parts[1]
            return try make(.openai, dimension: dimension, server: named)
        default:
            throw .unknownEmbedder(identifier: identifier)
        }
    }
}
