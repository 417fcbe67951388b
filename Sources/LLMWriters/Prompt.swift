import Foundation
import ProceduralMemory
import RetrievalCore

/// A prompt template with `{{name}}` placeholders; the defaults ship as resources of this module.
public struct PromptTemplate: Sendable, Equatable {
    /// The template text.
    public var text: String

    /// Creates a template from its text.
    public init(text: String) { self.text = text }

    /// The template shipped with Memp: `script`, `reflection` or `judge`.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/io(path:reason:)`` when the resource is missing from the build.
    public static func bundled(_ name: String) throws(MemoryError) -> PromptTemplate {
        guard let url = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Prompts"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            throw .io(path: "Prompts/\(name).txt", reason: "the prompt template is missing from the build")
        }
        return PromptTemplate(text: text)
    }

    /// Reads a template from a file, to replace a bundled one.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/io(path:reason:)`` when it can't be read.
    public init(contentsOf path: String) throws(MemoryError) {
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            throw .io(path: path, reason: "the prompt template \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .io(path: path, reason: "the prompt template is not UTF-8 text")
        }
        self.text = text
    }

    /// The text with every `{{name}}` replaced by its value.
    public func rendered(_ values: [String: String]) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: "{{\($1.key)}}", with: $1.value) }
    }
}

/// Renders trajectories for prompts and reads structured answers back, treating model text as untrusted.
enum PromptText {
    /// A trajectory's prompt fields: `task` (cut to 500 characters), `outcome` and `steps`.
    static func values(of trajectory: Trajectory) -> [String: String] {
        [
            "task": clip(trajectory.task, to: 500), "outcome": outcome(trajectory.outcome),
            "steps": steps(trajectory.steps),
        ]
    }

    /// The steps as `N. action -> observation`, the last `limit` of them, each part cut to 200 characters.
    static func steps(_ steps: [Step], limit: Int = 40) -> String {
        let shown = steps.suffix(limit)
        let skipped = steps.count - shown.count
        var lines = skipped > 0 ? ["(\(skipped) earlier steps left out)"] : []
        for (offset, step) in shown.enumerated() {
            lines.append("\(skipped + offset + 1). \(clip(step.action)) -> \(clip(step.observation))")
        }
        return lines.joined(separator: "\n")
    }

    static func outcome(_ outcome: Outcome?) -> String {
        guard let outcome else { return "unknown" }
        return [outcome.success.map { $0 ? "success" : "failure" }, outcome.reward.map { "reward \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    /// `text` on one line, without control characters (a model's NUL would cut the stored text, its escape
    /// sequences would drive the terminal that prints it), cut to `limit` characters.
    static func clip(_ text: String, to limit: Int = 200) -> String {
        let flat = String(
            text.split(whereSeparator: \.isNewline).joined(separator: " ").unicodeScalars.filter {
                !CharacterSet.controlCharacters.contains($0)
            })
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }

    /// The JSON object in an answer: the whole text, or the outermost `{…}` inside fences or chatter.
    static func jsonObject(in text: String) -> [String: Any]? {
        guard let first = text.firstIndex(of: "{"), let last = text.lastIndex(of: "}"), first < last else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(String(text[first...last]).utf8)) as? [String: Any]
    }

    /// The text between `<tag>` and `</tag>` (case-insensitive), trimmed.
    static func tagged(_ tag: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(tag)>", options: .caseInsensitive),
            let end = text.range(of: "</\(tag)>", options: .caseInsensitive, range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound]).trimmingWhitespace()
    }

    /// Workflow steps, validated: 1…`maximumSteps` non-empty lines of at most 300 printable characters, their
    /// numbering and bullets removed.
    static func workflow(_ lines: [String], maximumSteps: Int = 30) -> [String]? {
        let cleaned = lines.map { line -> String in
            let printable = String(line.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) })
            // Only the leading numbering or bullet goes: "1. go to cabinet 1" keeps its last number.
            let trimmed = printable.trimmingWhitespace()
            return String(trimmed.drop { $0.isNumber || $0 == "." || $0 == ")" || $0 == "-" || $0 == "*" || $0 == " " })
        }.filter { !$0.isEmpty }
        guard (1...maximumSteps).contains(cleaned.count), cleaned.allSatisfy({ $0.count <= 300 }) else { return nil }
        return cleaned
    }
}
