import ArgumentParser
import Foundation
import LLMClient
import ProceduralMemory

extension StructuredOutput: ExpressibleByArgument {}

/// The language model flags of the commands that can use one (`update`, `cold-start`).
///
/// Without `--llm-url` (or a config file naming a URL) no model is used and every step is rule-based.
struct LanguageModelOptions: ParsableArguments {
    /// A config file's contents: the same settings as the flags, which win over it.
    struct Configuration: Decodable {
        var url: String?
        var model: String?
        var apiKeyEnvironmentVariable: String?
        var structuredOutput: StructuredOutput?
        var timeout: Double?
    }

    @Option(help: "The base URL of an OpenAI-compatible chat server (e.g. http://127.0.0.1:8080).")
    var llmURL: String?
    @Option(help: "The model name sent to the server.") var llmModel: String?
    @Option(help: "The environment variable holding the server's API key (never printed).")
    var llmKeyEnv: String?
    @Option(help: "How to ask for structured answers.") var llmStructuredOutput: StructuredOutput?
    @Option(help: "Seconds per request.") var llmTimeout: Double?
    @Option(help: "A JSON file {\"url\", \"model\", \"apiKeyEnvironmentVariable\", \"structuredOutput\", \"timeout\"}.")
    var llmConfig: String?

    func validate() throws {
        if let llmTimeout, llmTimeout <= 0 {
            throw ValidationError("--llm-timeout must be positive (got \(llmTimeout)).")
        }
        if let llmURL, URL(string: llmURL)?.scheme == nil {
            throw ValidationError("--llm-url must be a URL such as http://127.0.0.1:8080 (got \(llmURL)).")
        }
    }

    /// The model the flags describe, or `nil` when none is configured.
    func model() throws -> OpenAICompatibleChatModel? {
        var file = Configuration()
        if let llmConfig {
            guard let data = FileManager.default.contents(atPath: llmConfig) else {
                throw InputFileError.unreadable(path: llmConfig)
            }
            do { file = try JSONDecoder().decode(Configuration.self, from: data) } catch {
                throw InputFileError.malformed(
                    path: llmConfig, line: nil,
                    reason: "not a config {\"url\", \"model\", \"apiKeyEnvironmentVariable\", \"structuredOutput\", "
                        + "\"timeout\"} (\(error.localizedDescription))")
            }
        }
        guard let text = llmURL ?? file.url else { return nil }
        guard let url = URL(string: text), url.scheme != nil else {
            throw ValidationError("The LLM URL must be a URL such as http://127.0.0.1:8080 (got \(text)).")
        }
        return OpenAICompatibleChatModel(
            baseURL: url, model: llmModel ?? file.model ?? "default",
            apiKeyEnvironmentVariable: llmKeyEnv ?? file.apiKeyEnvironmentVariable ?? "OPENAI_API_KEY",
            structuredOutput: llmStructuredOutput ?? file.structuredOutput ?? .jsonSchema,
            timeout: llmTimeout ?? file.timeout ?? 120)
    }
}
