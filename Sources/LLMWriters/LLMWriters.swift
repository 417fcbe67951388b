import Foundation
import LLMClient
import ProceduralMemory
import RetrievalCore

/// The schemas and tags of the structured answers Memp asks models for.
enum AnswerFormat {
    static let workflow = AnswerSchema(
        name: "workflow",
        schema: """
            {"type":"object","properties":{"workflow":{"type":"array","items":{"type":"string","maxLength":120},\
            "minItems":1,"maxItems":8}},"required":["workflow"],"additionalProperties":false}
            """)
    static let reflection = AnswerSchema(
        name: "reflection",
        schema: """
            {"type":"object","properties":{"diagnosis":{"type":"string","maxLength":200},"workflow":{"type":"array",\
            "items":{"type":"string","maxLength":120},"minItems":1,"maxItems":8}},"required":["diagnosis","workflow"],\
            "additionalProperties":false}
            """)
    static let judgement = AnswerSchema(
        name: "judgement",
        schema: """
            {"type":"object","properties":{"score":{"type":"integer","enum":[0,1,2,3,4,5,6,7,8,9,10]},\
            "reason":{"type":"string","maxLength":200}},"required":["score","reason"],"additionalProperties":false}
            """)

    static func instructions(_ schema: AnswerSchema, _ mode: StructuredOutput) -> String {
        switch (schema.name, mode) {
        case ("workflow", .jsonSchema):
            "Answer with a JSON object: {\"workflow\": [\"step\", ...]}."
        case ("reflection", .jsonSchema):
            "Answer with a JSON object: {\"diagnosis\": \"what went wrong\", \"workflow\": [\"step\", ...]}."
        case ("judgement", .jsonSchema):
            "Answer with a JSON object: {\"score\": 0-10, \"reason\": \"one sentence\"}."
        case ("workflow", _):
            "Answer with the workflow between <Workflow> and </Workflow>, one step per line."
        case ("reflection", _):
            "Answer with what went wrong between <Diagnosis> and </Diagnosis>, then the corrected workflow between "
                + "<Workflow> and </Workflow>, one step per line."
        default:
            "Answer with the score between <Score> and </Score> and the reason between <Reason> and </Reason>."
        }
    }

    /// Asks `model` and returns the answer's fields: from the JSON object, or from the tags.
    static func ask(
        _ model: any LanguageModel, template: PromptTemplate, values: [String: String], schema: AnswerSchema,
        maximumTokens: Int
    ) async throws(MemoryError) -> [String: Any] {
        var values = values
        values["format"] = instructions(schema, model.structuredOutput)
        let answer: ChatAnswer
        do {
            answer = try await model.complete(
                ChatRequest(
                    messages: [ChatMessage(.user, template.rendered(values))], schema: schema,
                    maximumTokens: maximumTokens))
        } catch {
            switch error {
            case .server(let url, let reason): throw .languageModel(url: url, reason: reason)
            case .invalidRequest(let reason): throw .languageModel(url: model.identifier, reason: reason)
            case .invalidConfiguration, .invalidSetting: throw .languageModel(url: model.identifier, reason: "\(error)")
            }
        }
        if answer.finishReason == "length" {
            throw .languageModel(url: model.identifier, reason: "the answer was cut at \(maximumTokens) tokens")
        }
        if answer.finishReason == "content_filter" {
            throw .languageModel(url: model.identifier, reason: "the server's content filter cut the answer")
        }
        if let object = PromptText.jsonObject(in: answer.text) { return object }
        var fields: [String: Any] = [:]
        if let workflow = PromptText.tagged("Workflow", in: answer.text) {
            fields["workflow"] = workflow.split(whereSeparator: \.isNewline).map(String.init)
        }
        if let diagnosis = PromptText.tagged("Diagnosis", in: answer.text) { fields["diagnosis"] = diagnosis }
        if let score = PromptText.tagged("Score", in: answer.text) { fields["score"] = Int(score) as Any }
        if let reason = PromptText.tagged("Reason", in: answer.text) { fields["reason"] = reason }
        guard !fields.isEmpty else {
            throw .languageModel(
                url: model.identifier, reason: "the answer holds neither a JSON object nor the expected tags")
        }
        return fields
    }

    static func workflow(_ fields: [String: Any], model: any LanguageModel) throws(MemoryError) -> [String] {
        guard let lines = fields["workflow"] as? [String], let steps = PromptText.workflow(lines) else {
            throw .languageModel(
                url: model.identifier,
                reason: "the workflow is missing, empty, over 30 steps or has a step over 300 characters")
        }
        return steps
    }

    static func script(task: String, steps: [String], note: String? = nil) -> String {
        var lines = ["Task: " + PromptText.clip(task, to: 300)]
        lines += steps.enumerated().map { "\($0.offset + 1). \($0.element)" }
        if let note { lines.append("Lesson: " + note) }
        return lines.joined(separator: "\n")
    }
}

/// Writes scripts with a language model (the paper's “from these steps, write a reusable workflow”), falling back
/// to the ``ProceduralMemory/RuleBasedScriptWriter`` on any failure and recording the fallback in the memory's provenance.
public struct LLMScriptWriter: FallbackScriptWriter {
    /// The model.
    public var model: any LanguageModel
    /// The prompt; `{{task}}`, `{{outcome}}`, `{{steps}}` and `{{format}}` are filled in.
    public var template: PromptTemplate
    /// The writer used when the model fails.
    public var fallback: RuleBasedScriptWriter
    /// The most tokens an answer may have.
    public var maximumTokens: Int

    /// Creates a writer with the bundled `script` prompt.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/io(path:reason:)`` when the bundled prompt is missing.
    public init(
        model: any LanguageModel, template: PromptTemplate? = nil,
        fallback: RuleBasedScriptWriter = RuleBasedScriptWriter(),
        maximumTokens: Int = 400
    ) throws(MemoryError) {
        self.model = model
        if let template { self.template = template } else { self.template = try PromptTemplate.bundled("script") }
        self.fallback = fallback
        self.maximumTokens = maximumTokens
    }

    /// `llm/v1` and the model's identifier.
    public var name: String { "llm/v1 \(model.identifier)" }

    /// The text of ``writtenScript(for:)``: the model's script, or the fallback's.
    public func script(for trajectory: Trajectory) async throws(MemoryError) -> String {
        try await writtenScript(for: trajectory).text
    }

    /// Asks the model for the workflow; on any failure, the fallback's script, named with the reason.
    package func writtenScript(for trajectory: Trajectory) async throws(MemoryError) -> WrittenScript {
        do throws(MemoryError) {
            let fields = try await AnswerFormat.ask(
                model, template: template,
                values: PromptText.values(of: trajectory), schema: AnswerFormat.workflow, maximumTokens: maximumTokens)
            let steps = try AnswerFormat.workflow(fields, model: model)
            return WrittenScript(text: AnswerFormat.script(task: trajectory.task, steps: steps), writer: name)
        } catch {
            return WrittenScript(
                text: try await fallback.script(for: trajectory),
                writer: "\(fallback.name) (fallback from \(name): \(PromptText.clip(error.description, to: 160)))")
        }
    }
}

/// Rewrites a memory after a failure with a language model that reflects on what went wrong.
///
/// The answer holds a diagnosis and the corrected workflow. It throws on any failure; the update then uses the ``ProceduralMemory/RuleBasedReviser`` and records the fallback.
public struct LLMReviser: MemoryReviser {
    /// The model.
    public var model: any LanguageModel
    /// The prompt; `{{script}}`, `{{task}}`, `{{steps}}` and `{{format}}` are filled in.
    public var template: PromptTemplate
    /// The most tokens an answer may have.
    public var maximumTokens: Int

    /// Creates a reviser with the bundled `reflection` prompt.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/io(path:reason:)`` when the bundled prompt is missing.
    public init(model: any LanguageModel, template: PromptTemplate? = nil, maximumTokens: Int = 500) throws(MemoryError)
    {
        self.model = model
        if let template { self.template = template } else { self.template = try PromptTemplate.bundled("reflection") }
        self.maximumTokens = maximumTokens
    }

    /// `llm-reflection/v1` and the model's identifier.
    public var name: String { "llm-reflection/v1 \(model.identifier)" }

    /// The memory's task, the corrected workflow and a `Lesson:` line with the diagnosis.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/languageModel(url:reason:)`` when the model fails or its answer
    ///   lacks a valid workflow or diagnosis.
    public func revisedScript(of memory: Memory, after failure: Trajectory) async throws(MemoryError) -> String {
        let current =
            memory.script
            ?? (memory.steps ?? []).map(\.action).enumerated().map { "\($0.offset + 1). \($0.element)" }
            .joined(separator: "\n")
        let fields = try await AnswerFormat.ask(
            model, template: template,
            values: [
                "script": PromptText.clip(current, to: 4000).replacingOccurrences(of: "… ", with: "\n"),
                "task": PromptText.clip(failure.task, to: 500), "steps": PromptText.steps(failure.steps),
            ], schema: AnswerFormat.reflection, maximumTokens: maximumTokens)
        let steps = try AnswerFormat.workflow(fields, model: model)
        guard let diagnosis = (fields["diagnosis"] as? String).map({ PromptText.clip($0, to: 300) }),
            !diagnosis.trimmingWhitespace().isEmpty
        else {
            throw .languageModel(url: model.identifier, reason: "the reflection has no diagnosis")
        }
        return AnswerFormat.script(task: memory.task, steps: steps, note: diagnosis)
    }
}

/// Rates trajectories with a language model (LLM as judge).
///
/// The structured answer holds a score 0–10 and a reason. Falls back to the ``ProceduralMemory/RuleBasedScorer`` on any failure, saying so in the reason.
public struct LLMJudgeScorer: Scorer {
    /// The model.
    public var model: any LanguageModel
    /// The prompt; `{{task}}`, `{{outcome}}`, `{{steps}}` and `{{format}}` are filled in.
    public var template: PromptTemplate
    /// The scorer used when the model fails.
    public var fallback: RuleBasedScorer

    /// Creates a judge with the bundled `judge` prompt.
    ///
    /// - Parameters:
    ///   - fallback: The scorer used when the model fails; `nil` for the rule's default settings.
    /// - Throws: ``ProceduralMemory/MemoryError/io(path:reason:)`` when the bundled prompt is missing.
    public init(model: any LanguageModel, template: PromptTemplate? = nil, fallback: RuleBasedScorer? = nil)
        throws(MemoryError)
    {
        self.model = model
        if let template { self.template = template } else { self.template = try PromptTemplate.bundled("judge") }
        if let fallback { self.fallback = fallback } else { self.fallback = try RuleBasedScorer() }
    }

    /// `llm-judge/v1` and the model's identifier.
    public var name: String { "llm-judge/v1 \(model.identifier)" }

    /// The model's score (0–10) and reason; on any failure, the fallback's score with the reason noted.
    public func score(_ trajectory: Trajectory) async throws(MemoryError) -> ScoredTrajectory {
        do throws(MemoryError) {
            let fields = try await AnswerFormat.ask(
                model, template: template,
                values: PromptText.values(of: trajectory), schema: AnswerFormat.judgement, maximumTokens: 200)
            // The schema asks for an integer: JSON's true (an NSNumber that reads as 1) and 7.5 are not one.
            guard let value = fields["score"], !JSONSyntax.isBoolean(value),
                let score = (value as? Int).map(Double.init),
                (0...10).contains(score)
            else {
                throw MemoryError.languageModel(url: model.identifier, reason: "the score is missing or outside 0…10")
            }
            let reason = PromptText.clip((fields["reason"] as? String) ?? "", to: 300)
            return ScoredTrajectory(
                trajectory: trajectory, score: score, reason: reason.isEmpty ? "(no reason given)" : reason)
        } catch {
            var scored = try await fallback.score(trajectory)
            scored.reason = "rule fallback (\(PromptText.clip(error.description, to: 160))): " + scored.reason
            return scored
        }
    }
}
