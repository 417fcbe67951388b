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
