import ArgumentParser
import Embeddings
import ProceduralMemory

// `--embedder` and the OpenAI-compatible server's flags; the library resolves what they name.

extension EmbedderKind: ExpressibleByArgument {}

/// Where an OpenAI-compatible embedding server is (for `--embedder openai` and collections built with it).
struct ServerOptions: ParsableArguments {
    @Option(help: "Base URL of the OpenAI-compatible embedding server (default: $MEMP_OPENAI_BASE_URL).")
    var baseURL: String?
    @Option(help: "Model name sent to the OpenAI-compatible server (collections use the recorded one).")
    var openaiModel = "text-embedding-3-small"
    @Option(help: "Environment variable holding the server's API key.") var apiKeyVariable = "OPENAI_API_KEY"

    /// The server these flags name.
    var server: OpenAICompatibleServer {
        OpenAICompatibleServer(baseURL: baseURL, model: openaiModel, apiKeyEnvironmentVariable: apiKeyVariable)
    }

    /// Runs `body`, presenting a server URL that is not http(s) as the flag error it is.
    func presentingFlagErrors<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch EmbeddingError.invalidServerURL(let given) {
            throw ValidationError(
                "The openai embedder needs an http(s) --base-url or $MEMP_OPENAI_BASE_URL without a query or fragment "
                    + "(got \"\(given)\").")
        }
    }
}

/// The OpenAI-compatible server a new store embeds with (`memp init`, the stores `memp eval --trajectories` builds):
/// named by its flags and never taken from the environment, since the store records it for every later command.
struct StoreServerOptions: ParsableArguments {
    @Option(help: "The OpenAI-compatible server's base URL (with --embedder openai).") var baseURL: String?
    // Named as `memp embed` and `memp collection` name them; the first names `memp init` had still work.
    @Option(
        name: [.customLong("openai-model"), .customLong("model")],
        help: "The embedding model on that server (with --embedder openai).")
    var model: String?
    @Option(
        name: [.customLong("api-key-variable"), .customLong("api-key-environment-variable")],
        help: "The environment variable holding the server's API key (with --embedder openai; default: OPENAI_API_KEY)."
    )
    var apiKeyEnvironmentVariable: String?

    /// Whether any of the server's flags was given.
    var isGiven: Bool { baseURL != nil || model != nil || apiKeyEnvironmentVariable != nil }

    /// The server these flags name.
    var server: OpenAICompatibleServer {
        var server = OpenAICompatibleServer(baseURL: baseURL, model: model ?? "")
        if let apiKeyEnvironmentVariable { server.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable }
        return server
    }

    /// Checks that the server is named exactly when `embedder` is `openai`.
    ///
    /// - Throws: A `ValidationError` naming the flags.
    func validate(embedder: EmbedderKind?) throws {
        if embedder == nil, let model, let kind = EmbedderKind(rawValue: model) {
            throw ValidationError(
                "--openai-model names a model on an OpenAI-compatible server; to embed with \(kind), pass "
                    + "--embedder \(kind).")
        }
        if embedder == .openai, baseURL == nil || model == nil {
            throw ValidationError("--embedder openai needs --base-url and --openai-model.")
        }
        if embedder != .openai, isGiven {
            throw ValidationError("--base-url, --openai-model and --api-key-variable apply only to --embedder openai.")
        }
    }
}

/// The configuration of the embedder `--embedder` names, saying on stderr which one was chosen when none was.
func embedderConfiguration(
    _ kind: EmbedderKind?, dimension: Int? = nil, server: OpenAICompatibleServer = OpenAICompatibleServer()
) throws -> EmbedderConfiguration {
    let (configuration, note) = try EmbedderConfiguration.resolve(kind, dimension: dimension, server: server)
    if let note { printError(note) }
    return configuration
}

/// Checks `--dimension`: within 1…4096, and given only with an embedder it sizes (`sized`), since the others embed
/// in their model's dimensions and would ignore it without a word.
///
/// - Throws: A `ValidationError` naming the flag.
func validateDimension(_ dimension: Int?, embedder: EmbedderKind?, sized: [EmbedderKind] = [.hashing]) throws {
    guard let dimension else { return }
    guard (1...4096).contains(dimension) else {
        throw ValidationError("--dimension must be 1…4096 (got \(dimension)).")
    }
    let names = sized.map { "--embedder \($0.rawValue)" }.joined(separator: " or ")
    guard let embedder else { throw ValidationError("--dimension needs \(names).") }
    guard sized.contains(embedder) else {
        throw ValidationError(
            "--dimension applies only to \(names); \(embedder.rawValue) embeds in its model's dimensions.")
    }
}
