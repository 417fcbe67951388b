/// Writes a script: a short, general, numbered procedure abstracted from a trajectory's steps.
///
/// The rule-based ``RuleBasedScriptWriter`` is deterministic and needs nothing; LLM-backed writers
/// conform to the same protocol, so every build policy works with either.
///
/// A store calls its writer while it holds its write lock: a writer must not write to that store (add, import,
/// update, feedback), which would wait for the lock forever.
public protocol ScriptWriter: Sendable {
    /// A stable name of the writer and its settings, recorded in each memory's ``Provenance/scriptWriter``.
    var name: String { get }

    /// Writes the script for one trajectory.
    ///
    /// - Throws: ``MemoryError/scriptWriter(name:trajectoryID:reason:)`` when no script can be written.
    func script(for trajectory: Trajectory) async throws(MemoryError) -> String
}

/// A script writer with a fallback of its own, which names the writer that actually wrote each script (the
/// fallback, when it was used) for the memory's ``Provenance/scriptWriter``.
package protocol FallbackScriptWriter: ScriptWriter {
    /// Writes the script for one trajectory and names the writer that wrote it.
    func writtenScript(for trajectory: Trajectory) async throws(MemoryError) -> WrittenScript
}

/// A script and the writer that wrote it.
package struct WrittenScript: Sendable, Equatable {
    /// The script.
    package var text: String
    /// The writer's ``ScriptWriter/name``, with the fallback noted when one was used.
    package var writer: String

    /// Creates a written script.
    package init(text: String, writer: String) {
        self.text = text
        self.writer = writer
    }
}

/// A deterministic script writer: keeps what the agent did that had an effect, in general terms.
///
/// Applied in order:
/// 1. drops steps whose action is a thought (`think: …`) or whose observation says nothing happened
///    (the no-effect phrases given at init, matched case-insensitively);
/// 2. replaces the task's own object names with placeholders `[OBJECT1]`, `[OBJECT2]`, … in order of first
///    appearance in the task; a word of the task is an object name when some action uses it after its verb
///    (plural task words match singular action words, and an instance number after a name is folded in);
/// 3. collapses runs of consecutive actions that are equal, or equal up to their numbers
///    (`go to cabinet N for N in 1, 2, 3`);
/// 4. numbers the steps, under a first line `Task: …` with the same placeholders.
///
/// Tasks that carry a long scene description (TextWorld's "… You are in the kitchen. In one part of the room …")
/// are cut to their first sentences, up to 30 words, before object names are looked for.
///
///     RuleBasedScriptWriter().abstract(task: "put a clean apple in fridge", steps: ...)
///     // Task: put a clean [OBJECT1] in [OBJECT2]
///     // 1. go to countertop N for N in 1, 2
///     // 2. take [OBJECT1] from countertop 2
///     // ...
public struct RuleBasedScriptWriter: ScriptWriter {
    /// Phrases that, found in an observation, mean the action changed nothing; lower-cased.
    package let noEffectPhrases: [String]

    /// The default phrases, from ALFWorld, TextWorld and ScienceWorld answers to useless actions.
    public static let defaultNoEffectPhrases = [
        "nothing happens", "nothing happened", "you can't", "you cannot", "can't do that",
        "i don't understand",
        "i did not understand", "not a verb i recognise", "not a verb i recognize", "you don't see",
        "that's not something", "invalid action", "unknown action", "no known action",
    ]

    /// Creates a writer with the given no-effect phrases, matched case-insensitively.
    public init(noEffectPhrases: [String] = RuleBasedScriptWriter.defaultNoEffectPhrases) {
        self.noEffectPhrases = noEffectPhrases.map { $0.lowercased() }
    }

    /// `rule-based/v1`.
    public var name: String { "rule-based/v1" }

    /// The script of the trajectory's task and steps, by the rules in the type's discussion; never throws.
    public func script(for trajectory: Trajectory) async throws(MemoryError) -> String {
        abstract(task: trajectory.task, steps: trajectory.steps)
    }

    /// Writes the script for a task and its steps; see the type's discussion for the rules.
    ///
    /// - Complexity: O(*s* · *w*) for *s* steps of at most *w* words.
    package func abstract(task: String, steps: [Step]) -> String {
        let effective = steps.filter { hasEffect($0) }
        let taskWords = words(of: head(of: task))
        let objects = objectNames(taskWords: taskWords, actions: effective.map { words(of: $0.action) })
        let general = effective.map { replacingObjects(in: words(of: $0.action), objects: objects) }
        var lines = [
            "Task: " + replacingObjects(in: taskWords, objects: objects).joined(separator: " ")
        ]
        for (number, action) in collapsingRepeats(general).enumerated() {
            lines.append("\(number + 1). \(action)")
        }
        return lines.joined(separator: "\n")
    }

    /// The most words of a task's first sentences that a script's `Task:` line keeps (at least one sentence).
    package static let taskWordLimit = 30

    /// The task's leading whole sentences, up to ``taskWordLimit`` words; always at least the first sentence.
    private func head(of task: String) -> String {
        var sentences: [Substring] = []
        var start = task.startIndex
        var index = task.startIndex
        while index < task.endIndex {
            let next = task.index(after: index)
            if ".!?".contains(task[index]), next == task.endIndex || task[next].isWhitespace {
                sentences.append(task[start..<next])
                start = next
            }
            index = next
        }
        if start < task.endIndex { sentences.append(task[start...]) }
        var kept: [Substring] = []
        var wordCount = 0
        for sentence in sentences {
            let count = sentence.split(whereSeparator: \.isWhitespace).count
            if !kept.isEmpty, wordCount + count > Self.taskWordLimit { break }
            kept.append(sentence)
            wordCount += count
        }
        return kept.joined()
    }

    /// Whether a step changed anything: its action is no thought and its observation has no no-effect phrase.
    func hasEffect(_ step: Step) -> Bool {
        let action = step.action.trimmingWhitespace().lowercased()
        if action.isEmpty || action.hasPrefix("think:") { return false }
        let observation = step.observation.lowercased()
        return !noEffectPhrases.contains { observation.contains($0) }
    }

    /// Words of a text, lower-cased, with punctuation at their ends removed (inner punctuation like `in/on` stays).
    private func words(of text: String) -> [String] {
        text.lowercased().split(whereSeparator: \.isWhitespace).compactMap {
            (word: Substring) -> String? in
            let trimmed = String(word).trimmingCharacters(where: { !$0.isLetter && !$0.isNumber })
            return trimmed.isEmpty ? nil : trimmed
        }
    }

    /// The task's object names, each with its placeholder, in order of first appearance in the task.
    private func objectNames(taskWords: [String], actions: [[String]]) -> [(
        name: String, placeholder: String
    )] {
        var argumentWords = Set<String>()
        for action in actions { argumentWords.formUnion(action.dropFirst()) }
        var objects: [(name: String, placeholder: String)] = []
        for word in taskWords where word.count >= 3 && !Self.functionWords.contains(word) {
            guard !objects.contains(where: { $0.name == word }) else { continue }
            if argumentWords.contains(where: { Self.names($0, sameObjectAs: word) }) {
                objects.append((word, "[OBJECT\(objects.count + 1)]"))
            }
        }
        return objects
    }

    /// Whether an action word names the same object as a task word (`cellphone` and `cellphones`).
    private static func names(_ actionWord: String, sameObjectAs taskWord: String) -> Bool {
        actionWord == taskWord || actionWord + "s" == taskWord || actionWord + "es" == taskWord
    }

    private func replacingObjects(in words: [String], objects: [(name: String, placeholder: String)])
        -> [String]
    {
        var result: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            if let object = objects.first(where: { Self.names(word, sameObjectAs: $0.name) }) {
                result.append(object.placeholder)
                // "apple 1" is one instance of the object: the number is episode-specific.
                if index + 1 < words.count, words[index + 1].allSatisfy(\.isNumber) { index += 1 }
            } else {
                result.append(word)
            }
            index += 1
        }
        return result
    }

    private func collapsingRepeats(_ actions: [[String]]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < actions.count {
            let shape = actions[index].map { $0.allSatisfy(\.isNumber) ? "N" : $0 }
            var end = index + 1
            while end < actions.count, actions[end].map({ $0.allSatisfy(\.isNumber) ? "N" : $0 }) == shape { end += 1 }
            let run = actions[index..<end]
            let text = actions[index].joined(separator: " ")
            if run.count == 1 {
                result.append(text)
            } else if run.allSatisfy({ $0 == actions[index] }) {
                result.append("\(text) (\(run.count) times)")
            } else {
                // The numbers that vary along the run, e.g. the cabinets visited one by one.
                let varying = run.compactMap { action in action.first { $0.allSatisfy(\.isNumber) } }
                var seen = Set<String>()
                let values = varying.filter { seen.insert($0).inserted }
                result.append("\(shape.joined(separator: " ")) for N in \(values.joined(separator: ", "))")
            }
            index = end
        }
        return result
    }

    /// Words that never name an object: articles, prepositions, pronouns, conjunctions, numbers in words.
    private static let functionWords: Set<String> = [
        "the", "and", "for", "from", "with", "into", "onto", "then", "that", "this", "these", "those",
        "some",
        "any", "all", "its", "your", "you", "his", "her", "their", "our", "them", "one", "two", "three",
        "four",
        "under", "over", "inside", "using", "use", "following", "after", "before", "while", "until",
        "each",
        "out", "off", "put", "place", "take", "get", "find", "look", "examine", "open", "close", "turn",
        "move", "bring", "make", "cook", "heat", "cool", "clean", "slice", "go", "it", "in", "on", "at",
        "to",
    ]
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    package func trimmingWhitespace() -> String { trimmingCharacters(where: \.isWhitespace) }

    /// The string without leading and trailing characters that satisfy `predicate`.
    func trimmingCharacters(where predicate: (Character) -> Bool) -> String {
        String(self.drop(while: predicate).reversed().drop(while: predicate).reversed())
    }
}
