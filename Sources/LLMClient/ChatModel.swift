import Foundation

/// One message of a chat.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// Who speaks.
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    /// Who speaks.
    public var role: Role
    /// What they say.
    public var content: String

    /// Creates a message.
    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// The JSON schema an answer must follow, with the tags that carry the same fields in tagged text.
public struct AnswerSchema: Sendable, Equatable {
    /// The schema's name (`workflow`, `reflection`, `judgement`).
    public var name: String
    /// The JSON schema, as JSON text.
    public var schema: String

    /// Creates a schema.
    public init(name: String, schema: String) {
        self.name = name
        self.schema = schema
    }
}

/// How to ask a model for structured answers.
public enum StructuredOutput: String, CaseIterable, Sendable, Codable {
    /// Send the JSON schema as `response_format` (llama.cpp, OpenAI and vLLM enforce it while decoding).
    case jsonSchema = "json-schema"
    /// Ask in the prompt for tagged text (`<Workflow>…</Workflow>`), for servers without schema support.
    case tagged
}

/// A chat completion request.
public struct ChatRequest: Sendable {
    /// The conversation.
    public var messages: [ChatMessage]
    /// The schema of the answer, when it must be structured.
    public var schema: AnswerSchema?
    /// The most tokens the answer may have.
    public var maximumTokens: Int
    /// Sampling temperature; 0 repeats the same answer.
    public var temperature: Double

    /// Creates a request.
    public init(messages: [ChatMessage], schema: AnswerSchema? = nil, maximumTokens: Int = 512, temperature: Double = 0)
    {
        self.messages = messages
        self.schema = schema
        self.maximumTokens = maximumTokens
        self.temperature = temperature
    }
}

/// A model's answer.
public struct ChatAnswer: Sendable, Equatable {
    /// The text, at most ``OpenAICompatibleChatModel/maximumAnswerCharacters`` characters.
    public var text: String
    /// Why generation stopped (`stop`, `length`, …), when the server says.
    public var finishReason: String?
}

/// A language model behind a chat API.
public protocol LanguageModel: Sendable {
    /// The model's name and endpoint, recorded in provenance (never a key).
    var identifier: String { get }
    /// How this model is asked for structured answers.
    var structuredOutput: StructuredOutput { get }

    /// Answers a chat.
    ///
    /// - Throws: ``LanguageModelError/server(url:reason:)`` when the server fails or answers something unusable,
    ///   ``LanguageModelError/invalidRequest(reason:)`` when the request can't be sent.
    func complete(_ request: ChatRequest) async throws(LanguageModelError) -> ChatAnswer
}

/// A client of OpenAI's `POST /v1/chat/completions` (llama.cpp's server, OpenAI, vLLM, Ollama, …).
///
/// Retries 429, 5xx, timeouts and dropped connections with exponential backoff (``OpenAICompatibleTransport``, which
/// the embeddings client shares). The API key comes from an environment variable and is never logged.
/// Answers are untrusted text: they are length-limited here and validated by their users, never executed.
///
///     let model = OpenAICompatibleChatModel(baseURL: URL(string: "http://127.0.0.1:8080")!, model: "smollm2")
///     let answer = try await model.complete(ChatRequest(messages: [ChatMessage(.user, "Say hi")]))
public final class OpenAICompatibleChatModel: LanguageModel {
    /// The model name sent with every request.
    public let model: String
    /// How structured answers are asked for.
    public let structuredOutput: StructuredOutput
    /// Longer answers are refused.
    public let maximumAnswerCharacters: Int

    private let transport: OpenAICompatibleTransport

    /// Creates a client; nothing is sent until the first ``complete(_:)``.
    ///
    /// - Parameters:
    ///   - baseURL: The server's base URL.
    ///   - model: The model name the server expects.
    ///   - apiKeyEnvironmentVariable: The variable holding the API key; unset or empty sends none.
    ///   - structuredOutput: How structured answers are asked for.
    ///   - timeout: Seconds per request.
    ///   - maximumRetries: Retries for retryable failures.
    ///   - initialBackoff: The first retry delay in seconds.
    ///   - maximumAnswerCharacters: Longer answers are refused.
    /// - Precondition: `timeout > 0`, `maximumRetries >= 0`, `initialBackoff >= 0`, `maximumAnswerCharacters >= 1`.
    public init(
        baseURL: URL, model: String, apiKeyEnvironmentVariable: String? = "OPENAI_API_KEY",
        structuredOutput: StructuredOutput = .jsonSchema, timeout: Double = 120, maximumRetries: Int = 3,
        initialBackoff: Double = 0.5, maximumAnswerCharacters: Int = 16_000
    ) {
        // The transport checks the timeout and retry settings.
        precondition(maximumAnswerCharacters >= 1, "OpenAICompatibleChatModel: answer length must be at least 1")
        self.model = model
        self.structuredOutput = structuredOutput
        self.maximumAnswerCharacters = maximumAnswerCharacters
        transport = OpenAICompatibleTransport(
            baseURL: baseURL, path: "chat/completions", apiKeyEnvironmentVariable: apiKeyEnvironmentVariable,
            timeout: timeout, maximumRetries: maximumRetries, initialBackoff: initialBackoff)
    }

    /// The full endpoint.
    public var endpoint: URL { transport.endpoint }

    /// The most bytes an answer may hold: room for ``maximumAnswerCharacters`` of text, each escaped in JSON,
    /// and the answer's envelope.
    private var maximumAnswerBytes: Int { max(1 << 20, 8 * maximumAnswerCharacters) }

    /// Whether an API key was found in the environment.
    public var hasAPIKey: Bool { transport.hasAPIKey }

    /// The model and its endpoint, without the user name, password or query a base URL may hold: it goes into
    /// every memory's provenance.
    public var identifier: String { "\(model)@\(transport.publicEndpoint)" }

    public func complete(_ request: ChatRequest) async throws(LanguageModelError) -> ChatAnswer {
        let url = transport.publicEndpoint
        var body: [String: Any] = [
            "model": model, "max_tokens": request.maximumTokens, "temperature": request.temperature,
            "messages": request.messages.map { ["role": $0.role.rawValue, "content": $0.content] },
        ]
        if let schema = request.schema, structuredOutput == .jsonSchema {
            guard let object = try? JSONSerialization.jsonObject(with: Data(schema.schema.utf8)) else {
                throw .invalidRequest(reason: "the answer schema \(schema.name) is not valid JSON")
            }
            body["response_format"] = [
                "type": "json_schema", "json_schema": ["name": schema.name, "schema": object, "strict": true],
            ]
        }
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: body) } catch {
            throw .invalidRequest(reason: "a message could not be encoded as JSON: \(error.localizedDescription)")
        }
        switch await transport.post(data, maximumAnswerBytes: maximumAnswerBytes) {
        case .failure(let failure):
            throw .server(url: url, reason: failure.reason)
        case .success(let answer):
            guard let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                throw .server(url: url, reason: "the answer is not a JSON object (\(answer.count) bytes)")
            }
            guard let choices = object["choices"] as? [[String: Any]], let first = choices.first,
                let message = first["message"] as? [String: Any], let text = message["content"] as? String
            else {
                throw .server(url: url, reason: "the answer has no choices[0].message.content text")
            }
            guard text.count <= maximumAnswerCharacters else {
                throw .server(
                    url: url,
                    reason: "the answer has \(text.count) characters, over the limit of \(maximumAnswerCharacters)")
            }
            return ChatAnswer(text: text, finishReason: first["finish_reason"] as? String)
        }
    }
}

extension OpenAICompatibleChatModel: CustomStringConvertible {
    /// The endpoint and model; never the API key.
    public var description: String {
        "OpenAICompatibleChatModel(\(endpoint.absoluteString), model: \(model), API key: \(hasAPIKey ? "set" : "none"))"
    }
}
