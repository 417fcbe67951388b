import Foundation
import LLMClient

/// scripts/chat_stub_server.py on loopback: one server whose first path segment picks a scenario.
extension LoopbackServer {
    /// A chat client of `scenario`, with quick retries.
    public func chatModel(
        _ scenario: String, mode: StructuredOutput = .jsonSchema, timeout: Double = LoopbackServer.answerTimeout,
        limit: Int = 16_000
    ) -> OpenAICompatibleChatModel {
        OpenAICompatibleChatModel(
            baseURL: baseURL.appendingPathComponent(scenario), model: "stub", apiKeyEnvironmentVariable: nil,
            structuredOutput: mode, timeout: timeout, maximumRetries: 2, initialBackoff: 0.01,
            maximumAnswerCharacters: limit)
    }

    /// The endpoint a client of `scenario` calls.
    public func chatURL(_ scenario: String) -> String {
        baseURL.absoluteString + "/\(scenario)/v1/chat/completions"
    }

    /// What the stub recorded of every request so far (`GET /requests`).
    public func recordedRequests() throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: baseURL.appendingPathComponent("requests")))
            as? [[String: Any]] ?? []
    }
}
