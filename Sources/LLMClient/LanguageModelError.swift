/// Why a language model call failed.
public enum LanguageModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server failed or answered something unusable: an HTTP error after the retries, no answer in time, an
    /// answer that is not the expected JSON, or one over the length limit. `url` is the endpoint called.
    case server(url: String, reason: String)
    /// The request could not be sent as it is: an answer schema that is not JSON, or a message that cannot be
    /// encoded.
    case invalidRequest(reason: String)

    public var description: String {
        switch self {
        case .server(let url, let reason): "Language model \(url): \(reason)"
        case .invalidRequest(let reason): "Invalid language model request: \(reason)"
        }
    }
}
