/// An error from installing or loading a model, or computing embeddings.
///
/// Messages name models, paths, URLs and counts, never the texts being embedded or API keys.
public enum EmbeddingError: Error, Equatable, Sendable {
    /// A model file is missing; `fix` says how to get it.
    case modelNotInstalled(name: String, fix: String)
    /// A model file exists but can't be used (bad header, missing tensor, wrong shape).
    case invalidModel(path: String, reason: String)
    /// A file's SHA-256 differs from the pinned value.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// Installing a model failed at `step`; `fix` says what to do.
    case installFailed(step: String, reason: String, fix: String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// A remote embedding server failed or answered something unusable.
    case server(url: String, reason: String)
    /// The embedder returned vectors of a different dimension than expected.
    case dimensionMismatch(expected: Int, actual: Int)
    /// The embedder returned `actual` vectors for `expected` texts.
    case vectorCountMismatch(expected: Int, actual: Int)
    /// `what` could not be encoded (as JSON); `reason` is the encoder's message.
    case encodingFailed(what: String, reason: String)
    /// An OpenAI-compatible server's base URL (`given`, empty when none was found) is not an `http(s)` URL.
    case invalidServerURL(String)
    /// A recorded model identifier names no embedder this build can load.
    case unknownEmbedder(identifier: String)
    /// An embedder was configured with `dimension`, below 1 (a store's recorded configuration, or one given in code).
    case invalidDimension(embedder: String, dimension: Int)
    /// Line `line` of the input file at `path` is not what an embedding run reads; `reason` says what it lacks.
    case malformedInput(path: String, line: Int, reason: String)
    /// Line `line` of the input file at `path` is `bytes` long, over the `limit` an embedding run reads; it was
    /// skipped as it was read, not held in memory.
    case lineTooLong(path: String, line: Int, bytes: Int, limit: Int)
}

extension EmbeddingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .modelNotInstalled(let name, let fix): "Model \(name) is not installed. \(fix)"
        case .invalidModel(let path, let reason): "\(path): \(reason)"
        case .checksumMismatch(let path, let expected, let actual):
            "\(path): SHA-256 is \(actual), expected \(expected). The file is damaged or not the pinned release; "
                + "install the model again, replacing the damaged file."
        case .installFailed(let step, let reason, let fix): "Model installation failed while \(step): \(reason). \(fix)"
        case .io(let path, let reason): "\(path): \(reason)"
        case .server(let url, let reason): "Embedding server \(url): \(reason)"
        case .dimensionMismatch(let expected, let actual):
            "The embedder returned \(actual) dimensions where \(expected) were expected."
        case .vectorCountMismatch(let expected, let actual):
            "The embedder returned \(actual) vectors for \(expected) texts; an embedder must return one vector per "
                + "text. Check the embedding server or model."
        case .encodingFailed(let what, let reason): "\(what) could not be encoded: \(reason)."
        case .invalidServerURL(let given):
            "The OpenAI-compatible server's base URL must be an http(s) URL without a query or fragment (got "
                + "\"\(given)\")."
        case .unknownEmbedder(let identifier):
            "The embedder \(identifier) is not one this build can load (hashing:v1:DIMENSION, "
                + "minilm:all-MiniLM-L6-v2 or openai:MODEL)."
        case .invalidDimension(let embedder, let dimension):
            "The \(embedder) embedder was configured with \(dimension) dimensions; it needs at least 1. A store's "
                + "recorded configuration this far off was written by hand or damaged."
        case .malformedInput(let path, let line, let reason):
            "\(path), line \(line): \(reason). Fix the line; nothing was written."
        case .lineTooLong(let path, let line, let bytes, let limit):
            "\(path), line \(line): \(bytes) bytes, over the limit of \(limit) bytes for a line to embed. Split or "
                + "shorten the text (a model reads only its first few hundred words)."
        }
    }
}
