import Foundation
import RetrievalCore

/// How to reach an OpenAI-compatible chat model, as a user gives it in flags or a JSON config file: every setting
/// optional, checked only when the model is made.
///
/// A config file is one JSON object with any of these fields:
/// `{"url": "http://127.0.0.1:8080", "model": "smollm2", "apiKeyEnvironmentVariable": "OPENAI_API_KEY",
/// "structuredOutput": "json-schema", "timeout": 60}`.
public struct ChatModelSettings: Sendable, Equatable, Codable {
    /// The server's base URL; without one no model is configured.
    public var url: String?
    /// The model name sent to the server (`default` when none is given).
    public var model: String?
    /// The environment variable holding the API key (`OPENAI_API_KEY` when none is given).
    public var apiKeyEnvironmentVariable: String?
    /// How structured answers are asked for (``StructuredOutput/jsonSchema`` when none is given).
    public var structuredOutput: StructuredOutput?
    /// Seconds per request (120 when none is given).
    public var timeout: Double?

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case url, model, apiKeyEnvironmentVariable, structuredOutput, timeout
    }

    /// Settings with the given values; `nil` leaves a setting to a config file or the default.
    public init(
        url: String? = nil, model: String? = nil, apiKeyEnvironmentVariable: String? = nil,
        structuredOutput: StructuredOutput? = nil, timeout: Double? = nil
    ) {
        self.url = url
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.structuredOutput = structuredOutput
        self.timeout = timeout
    }

    /// Reads a JSON config file.
    ///
    /// - Throws: ``LanguageModelError/invalidConfiguration(path:reason:)`` when the file can't be read or is not
    ///   such an object (an unknown `structuredOutput`, a field of the wrong type).
    public init(contentsOf path: String) throws(LanguageModelError) {
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            throw .invalidConfiguration(path: path, reason: "the file \(error)")
        }
        // A repeated or misspelt key was read silently: `{"URL": …}` configured no model at all.
        if let (field, reason) = JSONSyntax.laxness(in: data) {
            throw .invalidConfiguration(path: path, reason: (field.isEmpty ? "the file " : "field \(field) ") + reason)
        }
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch {
            throw .invalidConfiguration(
                path: path, reason: Self.reason(error) + (JSONSyntax.problem(in: data).map { " (\($0))" } ?? ""))
        }
        let fields = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?.keys.sorted() ?? []
        let known = CodingKeys.allCases.map(\.rawValue)
        if let unknown = fields.first(where: { !known.contains($0) }) {
            throw .invalidConfiguration(path: path, reason: "field \(unknown) is not a setting")
        }
    }

    /// These settings, with `defaults`' value wherever these have none.
    public func filled(from defaults: ChatModelSettings) -> ChatModelSettings {
        ChatModelSettings(
            url: url ?? defaults.url, model: model ?? defaults.model,
            apiKeyEnvironmentVariable: apiKeyEnvironmentVariable ?? defaults.apiKeyEnvironmentVariable,
            structuredOutput: structuredOutput ?? defaults.structuredOutput, timeout: timeout ?? defaults.timeout)
    }

    /// Checks every setting that is given: the URL must be `http` or `https` without a query or fragment (the
    /// endpoint's path is appended to it), the timeout a positive number of seconds up to a day.
    ///
    /// - Throws: ``LanguageModelError/invalidSetting(name:value:expected:)`` naming the first bad setting.
    public func check() throws(LanguageModelError) {
        if let url {
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https",
                parsed.query == nil, parsed.fragment == nil
            else {
                throw .invalidSetting(
                    name: "url", value: url,
                    expected: "an http(s) URL without a query or fragment, such as http://127.0.0.1:8080 (an API key "
                        + "goes in the environment variable the settings name)")
            }
        }
        if let timeout, !(timeout > 0 && timeout <= OpenAICompatibleTransport.maximumTimeout) {
            throw .invalidSetting(
                name: "timeout", value: "\(timeout)",
                expected: "a positive number of seconds, at most \(Int(OpenAICompatibleTransport.maximumTimeout))")
        }
    }

    /// The client these settings describe, or `nil` when they name no URL.
    ///
    /// - Throws: What ``check()`` throws.
    public func chatModel() throws(LanguageModelError) -> OpenAICompatibleChatModel? {
        try check()
        guard let url, let baseURL = URL(string: url) else { return nil }
        return OpenAICompatibleChatModel(
            baseURL: baseURL, model: model ?? "default",
            apiKeyEnvironmentVariable: apiKeyEnvironmentVariable ?? "OPENAI_API_KEY",
            structuredOutput: structuredOutput ?? .jsonSchema, timeout: timeout ?? 120)
    }

    /// What is wrong with a config file's JSON, naming the field when the decoder knows it.
    private static func reason(_ error: any Error) -> String {
        let context: DecodingError.Context? =
            switch error as? DecodingError {
            case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
                context
            case .keyNotFound(_, let context)?: context
            default: nil
            }
        guard let context else { return "not a JSON object" }
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        return field.isEmpty ? "not a JSON object of settings" : "field \(field) is not valid"
    }
}
