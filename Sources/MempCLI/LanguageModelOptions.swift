import ArgumentParser
import LLMClient
import ProceduralMemory

extension StructuredOutput: ExpressibleByArgument {}

/// The language model flags of the commands that can use one (`update`, `cold-start`).
///
/// Without `--llm-url` (or a config file naming a URL) no model is used and every step is rule-based.
struct LanguageModelOptions: ParsableArguments {
    @Option(help: "The base URL of an OpenAI-compatible chat server (e.g. http://127.0.0.1:8080).")
    var llmURL: String?
    @Option(help: "The model name sent to the server.") var llmModel: String?
    // Named as --api-key-variable and --password-variable are; the first name this option had still works.
    @Option(
        name: [.customLong("llm-key-variable"), .customLong("llm-key-env")],
        help: "The environment variable holding the server's API key (never printed).")
    var llmKeyVariable: String?
    @Option(help: "How to ask for structured answers.") var llmStructuredOutput: StructuredOutput?
    @Option(parsing: .unconditional, help: "Seconds per request.") var llmTimeout: Double?
    @Option(help: "A JSON file {\"url\", \"model\", \"apiKeyEnvironmentVariable\", \"structuredOutput\", \"timeout\"}.")
    var llmConfig: String?

    /// The flags' settings, which win over the config file's.
    var flags: ChatModelSettings {
        ChatModelSettings(
            url: llmURL, model: llmModel, apiKeyEnvironmentVariable: llmKeyVariable,
            structuredOutput: llmStructuredOutput, timeout: llmTimeout)
    }

    func validate() throws {
        do { try flags.check() } catch LanguageModelError.invalidSetting(let name, let value, let expected) {
            throw ValidationError("--llm-\(name) must be \(expected) (got \(value)).")
        }
    }

    /// The model the flags and the config file describe, or `nil` when neither names a URL.
    func model() throws -> OpenAICompatibleChatModel? {
        try flags.filled(from: try llmConfig.map { try ChatModelSettings(contentsOf: $0) } ?? ChatModelSettings())
            .chatModel()
    }
}
