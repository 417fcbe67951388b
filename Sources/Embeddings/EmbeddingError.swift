/// An error from loading a model or computing embeddings.
public enum EmbeddingError: Error, Equatable, Sendable {
    /// A model file is missing; `fix` says how to get it.
    case modelNotInstalled(name: String, fix: String)
    /// A model file exists but can't be used (bad header, missing tensor, wrong shape, bad checksum).
    case invalidModel(path: String, reason: String)
    /// A remote embedding server failed or answered something unusable.
    case server(url: String, reason: String)
    /// The embedder returned vectors of a different dimension than expected.
    case dimensionMismatch(expected: Int, actual: Int)
    /// An argument is outside what the embedder accepts.
    case invalidArgument(String)
}

extension EmbeddingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .modelNotInstalled(let name, let fix): "Model \(name) is not installed. \(fix)"
        case .invalidModel(let path, let reason): "\(path): \(reason)"
        case .server(let url, let reason): "Embedding server \(url): \(reason)"
        case .dimensionMismatch(let expected, let actual):
            "The embedder returned \(actual) dimensions where \(expected) were expected."
        case .invalidArgument(let reason): reason
        }
    }
}
