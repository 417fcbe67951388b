import Foundation
import LLMClient
import TestSupport
import Testing

/// The chat client against a loopback stub whose first path segment picks a behaviour (see
/// scripts/chat_stub_server.py).
@Suite struct ChatClientTests {
    static let request = ChatRequest(messages: [ChatMessage(.user, "hi")])

    /// Each failing scenario ends in a typed error that names the endpoint and says what went wrong (a `nil` timeout
    /// is ``LoopbackServer/answerTimeout``).
    @Test(
        arguments: [
            ("down", "HTTP 503: overloaded. Gave up after 3 attempts.", nil, 16_000),
            ("badrequest", "HTTP 400: the request exceeds the available context size.", nil, 16_000),
            ("notjson", "the answer is not a JSON object (17 bytes)", nil, 16_000),
            ("nochoices", "the answer has no choices[0].message.content text", nil, 16_000),
            ("huge", "the answer has 100000 characters, over the limit of 1000", nil, 1000),
            ("hang", "no answer within 0.5 s (after 3 attempts)", 0.5, 16_000),
        ] as [(String, String, Double?, Int)])
    func failuresAreTypedAndRetried(scenario: String, reason: String, timeout: Double?, limit: Int) async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        await #expect(throws: LanguageModelError.server(url: server.chatURL(scenario), reason: reason)) {
            try await server.chatModel(scenario, timeout: timeout ?? LoopbackServer.answerTimeout, limit: limit)
                .complete(Self.request)
        }
    }

    /// Hostile run 7: `Retry-After: nan` trapped the sleep before the retry (every command using a language model or
    /// an embedding server, and `memp serve`); an endless or dripping answer was read without bound (9 GB, and a
    /// timeout that never fired); a redirect took the API key to another server and its answer was used.
    @Test func hostileAnswersAreBoundedAndRedirectsRefused() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        // A Retry-After that is no number of seconds is ignored: the retries go on and reach the answer.
        _ = try await server.chatModel("retrynan").complete(Self.request)
        await #expect(
            throws: LanguageModelError.server(
                url: server.chatURL("endless"), reason: "the answer is larger than 1048576 bytes; it was cut off")
        ) { try await server.chatModel("endless").complete(Self.request) }
        await #expect(
            throws: LanguageModelError.server(
                url: server.chatURL("drip"), reason: "no answer within 0.5 s (after 3 attempts)")
        ) { try await server.chatModel("drip", timeout: 0.5).complete(Self.request) }
        await #expect(
            throws: LanguageModelError.server(
                url: server.chatURL("redirect"),
                reason: "HTTP 302: moved. The server redirected to /flaky/v1/chat/completions; redirects are not "
                    + "followed (the API key goes only to the configured server): give the final URL instead.")
        ) { try await server.chatModel("redirect").complete(Self.request) }
    }

    /// Cancelling the caller ends the attempt under way.
    ///
    /// Hostile run 7: a server's lookup timeout waited 48 s for an embedding request it had cancelled at 30 s, since
    /// the request went on until its own timeout.
    @Test func cancellingTheCallerEndsTheAttemptUnderWay() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        // No retry: without cancellation the one attempt would end as "no answer within 5.0 s".
        let model = OpenAICompatibleChatModel(
            baseURL: server.baseURL.appendingPathComponent("hang"), model: "stub", apiKeyEnvironmentVariable: nil,
            timeout: 5, maximumRetries: 0)
        let call = Task { try await model.complete(Self.request) }
        call.cancel()
        await #expect(throws: LanguageModelError.server(url: server.chatURL("hang"), reason: "cancelled")) {
            try await call.value
        }
    }

    /// A base URL's query or fragment swallowed the endpoint's path, and its user name and password went into
    /// every memory's provenance.
    @Test func theEndpointIsAppendedToTheBaseURLsPathAndTheIdentifierHidesCredentials() {
        let model = OpenAICompatibleChatModel(
            baseURL: URL(string: "http://alice:s3cret@127.0.0.1:9/proxy/?key=K#frag")!, model: "m",
            apiKeyEnvironmentVariable: nil)
        #expect(model.endpoint.absoluteString == "http://alice:s3cret@127.0.0.1:9/proxy/v1/chat/completions")
        #expect(model.identifier == "m@http://127.0.0.1:9/proxy/v1/chat/completions")
        #expect(
            OpenAICompatibleChatModel(baseURL: URL(string: "http://h:1/v1/")!, model: "m").endpoint.absoluteString
                == "http://h:1/v1/chat/completions")
    }

    @Test func aFlakyServerIsRetriedAndACutAnswerSaysSo() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        // "flaky" fails its first attempts; the retries reach an answer.
        _ = try await server.chatModel("flaky").complete(Self.request)
        let answer = try await server.chatModel("length").complete(Self.request)
        #expect(answer.finishReason == "length")
    }

    @Test func aSchemaThatIsNotJSONIsRefusedBeforeAnythingIsSent() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
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
