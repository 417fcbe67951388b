import Foundation
import RetrievalCore

/// The JSON Lines formats a trajectory file can be in.
public enum TrajectoryFormat: String, CaseIterable, Codable, Sendable {
    /// Decide from the first record: `query` and `trajectory` mean ``reference``, anything else ``memp``.
    case automatic
    /// Memp's format: `{"id", "task", "steps": [{"action", "observation"}], "outcome": {"success", "reward"},
    /// "source", "labels", "producer", "facts"}`; `id`, `task` and `steps` are required.
    case memp
    /// The Memp reference implementation's format: `{"source", "query", "trajectory", "facts"}`.
    ///
    /// `source` (or `id`, when present) is the record's unique ID; the task is the first paragraph of `query`;
    /// `trajectory` is one string whose `Action:`/`Act N:`/`> ` lines are actions, `Observation:`/`Obs N:` lines
    /// (or the unmarked lines after an action) observations and `Thought:` lines thoughts; `facts` is a list of
    /// keyword strings or an object whose values are the facts. Optional `success` and `reward` give the outcome.
    case reference
}

/// A trajectory read from one line of an input file, with the keywords given beside it.
package struct TrajectoryRecord: Sendable {
    /// The trajectory.
    package var trajectory: Trajectory
    /// Keywords (facts) given in the record; empty when none were.
    package var facts: [String]
    /// The 1-based line of the input file, or the position in a batch given in code.
    package var line: Int
    /// The record's fields the format does not read, so nothing of them is stored (a misspelt `sorce`, an
    /// agent's own `timestamp`): `name`, `outcome.name` or `steps[].name` (a name may repeat, once per step).
    package var unreadFields: [String] = []

    /// The keywords kept of those given: each trimmed of surrounding white space, the blank ones dropped (an empty
    /// keyword has no meaning to embed).
    package static func keptFacts(_ given: [String]) -> [String] {
        given.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }
}

/// Parses one line of a trajectory file into a ``TrajectoryRecord``, or names the line and field that's wrong.
package struct TrajectoryRecordParser: Sendable {
    /// The file being parsed, named in errors.
    package let path: String
    /// The source of records that name none.
    package let defaultSource: String
    /// The producer of records that name none.
    package let defaultProducer: String?

    /// Creates a parser; records without a source get `defaultSource`, or the file's base name when it is `nil`.
    package init(path: String, defaultSource: String?, defaultProducer: String?) {
        self.path = path
        self.defaultSource =
            defaultSource ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.defaultProducer = defaultProducer
    }

    /// Decodes the line's JSON object.
    package func object(_ data: Data, line: Int) throws(MemoryError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .invalidRecord(
                path: path, line: line, field: "(line)",
                reason: JSONSyntax.problem(in: data).map { "not valid JSON: \($0)" } ?? "not valid JSON")
        }
        guard case .object(let object) = value else {
            throw .invalidRecord(
                path: path, line: line, field: "(line)", reason: "must be a JSON object")
        }
        if let (field, reason) = JSONSyntax.laxness(in: data) {
            throw .invalidRecord(path: path, line: line, field: field.isEmpty ? "(line)" : field, reason: reason)
        }
        return object
    }

    /// Which format an object is in, for ``TrajectoryFormat/automatic``.
    package static func detectFormat(of object: [String: JSONValue]) -> TrajectoryFormat {
        object["query"] != nil && object["trajectory"] != nil ? .reference : .memp
    }

    /// Parses one record in a given format (not ``TrajectoryFormat/automatic``).
    package func record(
        _ object: [String: JSONValue], format: TrajectoryFormat, line: Int
    ) throws(MemoryError) -> TrajectoryRecord {
        let fields = Fields(object: object, path: path, line: line)
        switch format {
        case .memp, .automatic:
            let id = try fields.requiredString("id")
            let task = try fields.requiredString("task")
            guard case .array(let items) = try fields.required("steps") else {
                throw fields.invalid("steps", "must be an array of {\"action\", \"observation\"} objects")
            }
            guard !items.isEmpty else { throw fields.invalid("steps", "must hold at least one step") }
            var steps: [Step] = []
            steps.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard case .object(let stepObject) = item else {
                    throw fields.invalid(
                        "steps[\(index)]", "must be an object with an action and an observation")
                }
                let stepFields = Fields(
                    object: stepObject, path: path, line: line, prefix: "steps[\(index)].")
                let action = try stepFields.requiredString("action")
                let observation = try stepFields.optionalString("observation", allowEmpty: true) ?? ""
                steps.append(Step(action: action, observation: observation))
            }
            let unreadInSteps = items.flatMap { item -> [String] in
                guard case .object(let stepObject) = item else { return [] }
                return UnreadFields.names(of: stepObject.keys, notIn: Self.stepFields).map { "steps[].\($0)" }
            }
            return TrajectoryRecord(
                trajectory: Trajectory(
                    id: id, task: task, steps: steps, outcome: try outcome(fields),
                    source: try fields.optionalString("source") ?? defaultSource, labels: try labels(fields),
                    producer: try fields.optionalString("producer") ?? defaultProducer),
                facts: try facts(fields), line: line,
                unreadFields: unread(object, format: .memp, adding: unreadInSteps))
        case .reference:
            let id: String
            if let given = try fields.optionalString("id") {
                id = given
            } else {
                id = try fields.requiredString("source")
            }
            let query = try fields.requiredString("query")
            let task = query.components(separatedBy: "\n\n").first?.trimmingWhitespace() ?? ""
            guard !task.isEmpty else { throw fields.invalid("query", "its first paragraph is empty") }
            let text = try fields.requiredString("trajectory")
            let steps = Self.steps(fromTranscript: text)
            guard !steps.isEmpty else { throw fields.invalid("trajectory", "holds no actions") }
            return TrajectoryRecord(
                trajectory: Trajectory(
                    id: id, task: task, steps: steps, outcome: try outcome(fields), source: defaultSource,
                    labels: try labels(fields),
                    producer: try fields.optionalString("producer") ?? defaultProducer),
                facts: try facts(fields), line: line, unreadFields: unread(object, format: .reference))
        }
    }

    /// The top-level fields each format reads.
    private static let readFields: [TrajectoryFormat: Set<String>] = [
        .memp: ["id", "task", "steps", "outcome", "success", "reward", "source", "labels", "producer", "facts"],
        .reference: [
            "id", "source", "query", "trajectory", "facts", "success", "reward", "outcome", "labels", "producer",
        ],
    ]
    /// The fields of a step and of an outcome object.
    private static let stepFields: Set<String> = ["action", "observation"]
    private static let outcomeFields: Set<String> = ["success", "reward"]

    /// The fields of `object` that `format` does not read, with `more` found inside its steps.
    private func unread(
        _ object: [String: JSONValue], format: TrajectoryFormat, adding more: [String] = []
    ) -> [String] {
        var names = more + UnreadFields.names(of: object.keys, notIn: Self.readFields[format] ?? [])
        if case .object(let outcome)? = object["outcome"] {
            names += UnreadFields.names(of: outcome.keys, notIn: Self.outcomeFields).map { "outcome.\($0)" }
        }
        return names
    }

    /// Reads the outcome from an `outcome` object, or from top-level `success` and `reward` fields.
    private func outcome(_ fields: Fields) throws(MemoryError) -> Outcome? {
        if let value = fields.object["outcome"], value != .null {
            guard case .object(let object) = value else {
                throw fields.invalid("outcome", "must be an object with success and/or reward")
            }
            let outcomeFields = Fields(object: object, path: path, line: fields.line, prefix: "outcome.")
            let success = try outcomeFields.optionalBool("success")
            let reward = try outcomeFields.optionalNumber("reward")
            guard success != nil || reward != nil else {
                throw fields.invalid(
                    "outcome", "must give success (true/false), reward (a number), or both")
            }
            return Outcome(success: success, reward: reward)
        }
        let success = try fields.optionalBool("success")
        let reward = try fields.optionalNumber("reward")
        return Outcome.ifAny(success: success, reward: reward)
    }

    private func labels(_ fields: Fields) throws(MemoryError) -> [String: String] {
        guard let value = fields.object["labels"], value != .null else { return [:] }
        guard case .object(let object) = value else {
            throw fields.invalid("labels", "must be an object")
        }
        var labels: [String: String] = [:]
        for (key, value) in object {
            guard let text = value.scalarText else {
                throw fields.invalid("labels.\(key)", "must be a string, a number or a boolean")
            }
            labels[key] = text
        }
        return labels
    }

    private func facts(_ fields: Fields) throws(MemoryError) -> [String] {
        switch fields.object["facts"] {
        case nil, .null?:
            return []
        case .array(let items)?:
            var facts: [String] = []
            for (index, item) in items.enumerated() {
                guard let text = item.scalarText else {
                    throw fields.invalid("facts[\(index)]", "must be a string")
                }
                facts.append(text)
            }
            return TrajectoryRecord.keptFacts(facts)
        case .object(let object)?:
            // The reference implementation compares facts key by key; their values are what it embeds.
            var facts: [String] = []
            for key in object.keys.sorted() {
                guard let text = object[key]?.scalarText else {
                    throw fields.invalid("facts.\(key)", "must be a string, a number or a boolean")
                }
                facts.append(text)
            }
            return TrajectoryRecord.keptFacts(facts)
        default:
            throw fields.invalid("facts", "must be a list of keyword strings or an object of facts")
        }
    }

    /// Splits a transcript into steps (see ``TrajectoryFormat/reference``).
    ///
    /// A transcript without any marker becomes one action per line.
    package static func steps(fromTranscript text: String) -> [Step] {
        enum Marker {
            case action(String)
            case observation(String)
            case thought(String)
            case plain(String)
        }
        func marker(_ line: String) -> Marker {
            let lower = line.lowercased()
            for (prefix, isAction) in [
                ("action:", true), ("observation:", false), ("act", true), ("obs", false),
            ] {
                guard lower.hasPrefix(prefix) else { continue }
                var rest = Substring(line.dropFirst(prefix.count))
                if !prefix.hasSuffix(":") {
                    // "Act 3:" and "Obs 3:" carry a step number.
                    let digits = rest.drop(while: \.isWhitespace)
                    let afterNumber = digits.drop(while: \.isNumber)
                    guard afterNumber.count < digits.count, afterNumber.first == ":" else { continue }
                    rest = afterNumber.dropFirst()
                }
                let content = String(rest).trimmingWhitespace()
                return isAction ? .action(content) : .observation(content)
            }
            if lower.hasPrefix("thought:") || lower.hasPrefix("think:") {
                return .thought(String(line.drop { $0 != ":" }.dropFirst()).trimmingWhitespace())
            }
            if line.hasPrefix(">") { return .action(String(line.dropFirst()).trimmingWhitespace()) }
            return .plain(line)
        }
        let lines = text.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }
            .filter {
                !$0.isEmpty
            }
        let markers = lines.map(marker)
        let isUnmarked = markers.allSatisfy { if case .plain = $0 { true } else { false } }
        guard !isUnmarked else { return lines.map { Step(action: $0) } }
        var steps: [Step] = []
        var openAction = false  // whether the last step may still receive observation lines
        for marker in markers {
            switch marker {
            case .action(let action):
                steps.append(Step(action: action))
                openAction = true
            case .thought(let thought):
                steps.append(Step(action: "think: " + thought))
                openAction = false
            case .observation(let text), .plain(let text):
                guard openAction, !steps.isEmpty else { continue }
                let previous = steps[steps.count - 1].observation
                steps[steps.count - 1].observation = previous.isEmpty ? text : previous + "\n" + text
            }
        }
        return steps.filter { !$0.action.isEmpty && $0.action != "think: " }
    }
}

/// Typed access to a record's fields that names the line and field in every error.
private struct Fields {
    let object: [String: JSONValue]
    let path: String
    let line: Int
    var prefix = ""

    func invalid(_ field: String, _ reason: String) -> MemoryError {
        .invalidRecord(path: path, line: line, field: prefix + field, reason: reason)
    }

    func required(_ name: String) throws(MemoryError) -> JSONValue {
        guard let value = object[name], value != .null else { throw invalid(name, "is missing") }
        return value
    }

    func requiredString(_ name: String) throws(MemoryError) -> String {
        guard case .string(let text) = try required(name) else {
            throw invalid(name, "must be a string")
        }
        // Blank: empty, or only spaces and invisible characters, which lookups refuse as a task too.
        guard !text.isBlank else { throw invalid(name, "must not be empty") }
        return text
    }

    func optionalString(_ name: String, allowEmpty: Bool = false) throws(MemoryError) -> String? {
        guard let value = object[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw invalid(name, "must be a string") }
        guard allowEmpty || !text.isBlank else {
            throw invalid(name, "must not be empty")
        }
        return text
    }

    func optionalBool(_ name: String) throws(MemoryError) -> Bool? {
        guard let value = object[name], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw invalid(name, "must be true or false") }
        return flag
    }

    func optionalNumber(_ name: String) throws(MemoryError) -> Double? {
        guard let value = object[name], value != .null else { return nil }
        switch value {
        case .number(let number) where number.isFinite: return number
        case .integer(let digits): if let number = Double(digits) { return number }
        default: break
        }
        throw invalid(name, "must be a number")
    }
}

/// A JSON value, decoded without losing the difference between booleans and numbers.
package enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    /// An integer of ``exactIntegerLimit`` or more, where a `Double` no longer holds every integer, with its digits
    /// as written (`9007199254740993` would read back as …992), when it fits in 64 bits; one past 64 bits is a
    /// ``number(_:)``, as the decoder gives no other type that holds it.
    case integer(digits: String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// 2^53: from it on, a `Double` no longer holds every integer.
    static let exactIntegerLimit = 0x1p53

    /// Decodes any JSON value, trying the scalar kinds before arrays and objects.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            let digits =
                abs(number) >= Self.exactIntegerLimit && number.rounded() == number
                ? (try? container.decode(Int64.self)).map(String.init)
                    ?? (try? container.decode(UInt64.self)).map(String.init) : nil
            self = digits.map { .integer(digits: $0) } ?? .number(number)
        } else if let zero = try? container.decode(Int64.self) {
            // A number too close to 0 for a Double (1e-400), which only the integer decoder rounds, to 0, as
            // JSONSerialization and IEEE arithmetic round it: refused, it read as "not valid JSON".
            self = .number(Double(zero))
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([JSONValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The value as text when it is a string, a number or a boolean.
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .bool(let flag): String(flag)
        case .number(let number):
            // Below the limit an integral Double is the integer written; from it on, ``integer(digits:)`` holds one.
            number.rounded() == number && abs(number) < Self.exactIntegerLimit ? String(Int64(number)) : String(number)
        case .integer(let digits): digits
        case .null, .array, .object: nil
        }
    }
}
