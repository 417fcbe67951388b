/// Why a language model call failed.
public enum LanguageModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server failed or answered something unusable: an HTTP error after the retries, no answer in time, an
    /// answer that is not the expected JSON, or one over the length limit. `url` is the endpoint called.
    case server(url: String, reason: String)
    /// The request could not be sent as it is: an answer schema that is not JSON, or a message that cannot be
    /// encoded.
    case invalidRequest(reason: String)
    /// A chat model config file at `path` can't be read or is not a JSON object of ``ChatModelSettings``.
    case invalidConfiguration(path: String, reason: String)
    /// A chat model setting (`url`, `timeout`) has a value the client can't use; `expected` says what it takes.
    case invalidSetting(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .server(let url, let reason): "Language model \(url): \(reason)"
        case .invalidRequest(let reason): "Invalid language model request: \(reason)"
        case .invalidConfiguration(let path, let reason):
            "\(path): \(reason). A chat model config is a JSON object with any of url, model, "
                + "apiKeyEnvironmentVariable, structuredOutput and timeout."
        case .invalidSetting(let name, let value, let expected):
            "The chat model's \(name) must be \(expected) (got \"\(value)\")."
        }
    }
}
