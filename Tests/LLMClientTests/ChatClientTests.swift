import Foundation
import LLMClient
import TestSupport
import Testing

/// The chat client against a loopback stub whose first path segment picks a behaviour (see
/// scripts/chat_stub_server.py).
@Suite struct ChatClientTests {
    @Test func failuresAreTypedAndRetried() async throws {
        let server = try LoopbackServer(script: "chat_stub_server.py")
        let request = ChatRequest(messages: [ChatMessage(.user, "hi")])
        func failure(_ scenario: String, timeout: Double = 10, limit: Int = 16_000) async -> LanguageModelError? {
            do {
                _ = try await server.chatModel(scenario, timeout: timeout, limit: limit).complete(request)
                return nil
            } catch { return error }
        }
        #expect(
            await failure("down")
                == .server(
                    url: server.chatURL("down"), reason: "HTTP 503: overloaded. Gave up after 3 attempts."))
        #expect(
            await failure("badrequest")
                == .server(
                    url: server.chatURL("badrequest"),
                    reason: "HTTP 400: the request exceeds the available context size."))
        #expect(
            await failure("notjson")
                == .server(
                    url: server.chatURL("notjson"), reason: "the answer is not a JSON object (17 bytes)"))
        #expect(
            await failure("nochoices")
                == .server(
                    url: server.chatURL("nochoices"), reason: "the answer has no choices[0].message.content text"))
        #expect(
            await failure("huge", limit: 1000)
                == .server(
                    url: server.chatURL("huge"), reason: "the answer has 100000 characters, over the limit of 1000"))
        #expect(
            await failure("hang", timeout: 0.5)
                == .server(url: server.chatURL("hang"), reason: "no answer within 0.5 s (after 3 attempts)"))
        #expect(await failure("flaky") == nil)
        let answer = try await server.chatModel("length").complete(request)
        #expect(answer.finishReason == "length")
    }

    @Test func aSchemaThatIsNotJSONIsRefusedBeforeAnythingIsSent() async throws {
        let server = try LoopbackServer(script: "chat_stub_server.py")
        let request = ChatRequest(
            messages: [ChatMessage(.user, "hi")], schema: AnswerSchema(name: "broken", schema: "{\"type\": "))
        await #expect(throws: LanguageModelError.invalidRequest(reason: "the answer schema broken is not valid JSON")) {
            try await server.chatModel("json").complete(request)
        }
        #expect(try server.recordedRequests().isEmpty)
        // Asked for tags instead, the schema is not sent, so it is not parsed either.
        #expect(try await server.chatModel("tagged", mode: .tagged).complete(request).text.isEmpty == false)
    }

    @Test func theDescriptionNamesTheEndpointAndNeverTheKey() {
        setenv("MEMP_TEST_CHAT_KEY", "memp-secret-key", 1)
        let model = OpenAICompatibleChatModel(
            baseURL: URL(string: "http://127.0.0.1:9")!, model: "m", apiKeyEnvironmentVariable: "MEMP_TEST_CHAT_KEY")
        #expect(model.hasAPIKey && model.endpoint.absoluteString == "http://127.0.0.1:9/v1/chat/completions")
        #expect(
            "\(model)" == "OpenAICompatibleChatModel(http://127.0.0.1:9/v1/chat/completions, model: m, API key: set)")
        #expect(
            LanguageModelError.server(url: "http://x/v1/chat/completions", reason: "HTTP 503").description
                == "Language model http://x/v1/chat/completions: HTTP 503")
    }
}
