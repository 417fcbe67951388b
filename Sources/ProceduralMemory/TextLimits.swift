import Foundation

/// The largest texts a store accepts from an import, a bundle or ``MemoryStore/add(_:facts:options:)``, in UTF-8
/// bytes.
///
/// Import time and database size grow with the text stored (a 50 MB observation costs minutes of tokenizing and
/// is stored several times: in the trajectory, its memory and the history), so one huge record could stall an
/// import. Texts over a limit are refused with ``MemoryError/textTooLarge(path:line:field:bytes:limit:)``, which
/// names the field and the limit; raise a limit when such texts are expected.
///
///     var options = ImportOptions()
///     options.limits.maximumObservationBytes = 1 << 20  // 1 MiB observations
public struct TextLimits: Sendable, Equatable, Codable {
    /// The longest line of a JSON Lines input file, read before any field is parsed; default 4 MiB.
    public var maximumLineBytes: Int
    /// The longest task; default 16 KiB.
    public var maximumTaskBytes: Int
    /// The longest step action (and memory script); default 16 KiB.
    public var maximumStepTextBytes: Int
    /// The longest step observation; default 256 KiB.
    public var maximumObservationBytes: Int

    /// Creates limits; the defaults hold every record of the bundled samples with a wide margin.
    public init(
        maximumLineBytes: Int = 4 << 20, maximumTaskBytes: Int = 16 << 10, maximumStepTextBytes: Int = 16 << 10,
        maximumObservationBytes: Int = 256 << 10
    ) {
        self.maximumLineBytes = maximumLineBytes
        self.maximumTaskBytes = maximumTaskBytes
        self.maximumStepTextBytes = maximumStepTextBytes
        self.maximumObservationBytes = maximumObservationBytes
    }

    /// Checks that every limit is at least 1.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` naming the first limit below 1.
    package func validate() throws(MemoryError) {
        for (name, value) in [
            ("maximumLineBytes", maximumLineBytes), ("maximumTaskBytes", maximumTaskBytes),
            ("maximumStepTextBytes", maximumStepTextBytes), ("maximumObservationBytes", maximumObservationBytes),
        ] where value < 1 {
            throw .invalidParameter(name: name, value: Double(value), expected: "at least 1 (byte)")
        }
    }

    /// Checks a trajectory's texts against the limits, every text for a NUL character, which SQLite would cut the
    /// text at (so that `"b\u{0}x"` would be stored, and replace, as `"b"`), and its ID for control characters and
    /// decomposed text.
    ///
    /// - Parameters:
    ///   - trajectory: The trajectory.
    ///   - facts: The keywords given beside it.
    ///   - path: The input file (or a description of where the trajectory came from), named in errors.
    ///   - line: The line (or position), named in errors.
    ///   - storedIDs: Whether the IDs come from a store (a bundle from `memp export`) rather than new input: stores
    ///     written before IDs were checked may hold control characters or decomposed text, and their bundles must
    ///     still import.
    /// - Throws: ``MemoryError/textTooLarge(path:line:field:bytes:limit:)`` for a text over its limit;
    ///   ``MemoryError/invalidRecord(path:line:field:reason:)`` for a text holding a NUL character, or an ID holding
    ///   a control character or not in Unicode Normalization Form C (unless `storedIDs`).
    package func check(
        _ trajectory: Trajectory, facts: [String] = [], path: String, line: Int, storedIDs: Bool = false
    ) throws(MemoryError) {
        let checker = Checker(limits: self, path: path, line: line, storedIDs: storedIDs)
        try checker.identifier(trajectory.id, "id")
        try checker.text(trajectory.task, "task", limit: maximumTaskBytes)
        try checker.text(trajectory.source, "source", limit: maximumStepTextBytes)
        if let producer = trajectory.producer { try checker.text(producer, "producer", limit: maximumStepTextBytes) }
        try checker.steps(trajectory.steps, "steps")
        try checker.labels(trajectory.labels)
        for (index, fact) in facts.enumerated() {
            try checker.text(fact, "facts[\(index)]", limit: maximumStepTextBytes)
        }
    }

    /// Checks a memory's texts as ``check(_:facts:path:line:storedIDs:)`` checks a trajectory's (its script against
    /// the step text limit or ``MemoryStore/maximumScriptLength``, whichever is larger).
    ///
    /// - Throws: As ``check(_:facts:path:line:storedIDs:)``.
    package func check(_ memory: Memory, path: String, line: Int, storedIDs: Bool = false) throws(MemoryError) {
        let checker = Checker(limits: self, path: path, line: line, storedIDs: storedIDs)
        try checker.identifier(memory.id, "memory.id")
        try checker.text(memory.task, "memory.task", limit: maximumTaskBytes)
        try checker.text(memory.source, "memory.source", limit: maximumStepTextBytes)
        if let steps = memory.steps { try checker.steps(steps, "memory.steps") }
        if let script = memory.script {
            try checker.text(
                script, "memory.script", limit: max(maximumStepTextBytes, 4 * MemoryStore.maximumScriptLength))
        }
        for (index, keyword) in memory.keywords.enumerated() {
            try checker.text(keyword, "memory.keywords[\(index)]", limit: maximumStepTextBytes)
        }
        for (index, id) in memory.sourceTrajectoryIDs.enumerated() {
            try checker.identifier(id, "memory.sourceTrajectoryIDs[\(index)]")
        }
        try checker.labels(memory.labels, prefix: "memory.")
    }

    /// Checks texts of one record, naming its path and line.
    private struct Checker {
        let limits: TextLimits
        let path: String
        let line: Int
        /// Whether IDs may hold control characters and decomposed text: they are stored already, and refusing them
        /// would strand them.
        let storedIDs: Bool

        func text(_ value: String, _ field: String, limit: Int) throws(MemoryError) {
            let bytes = value.utf8.count
            guard bytes <= limit else {
                throw .textTooLarge(path: path, line: line, field: field, bytes: bytes, limit: limit)
            }
            guard !value.utf8.contains(0) else {
                throw .invalidRecord(
                    path: path, line: line, field: field,
                    reason: "contains a NUL character (\\u0000), which the store can't keep")
            }
        }

        /// An ID is printed on one line, typed in commands and put in URLs: a line break, tab or escape sequence
        /// (U+0000–U+001F, U+007F–U+009F) in one would split or rewrite the lines it is printed on.
        ///
        /// An ID is also in Unicode Normalization Form C: the database tells IDs apart by their bytes, Swift's
        /// `String` by their canonical equivalence, so `"e\u{301}"` and `"é"` would be two stored trajectories that
        /// an export, a bundle or a migration's checksum took for one. Composed, no two IDs are equivalent.
        func identifier(_ value: String, _ field: String) throws(MemoryError) {
            try text(value, field, limit: limits.maximumStepTextBytes)
            guard !storedIDs else { return }
            if let control = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                let hex = String(control.value, radix: 16, uppercase: true)
                let code = String(repeating: "0", count: 4 - hex.count) + hex
                throw .invalidRecord(
                    path: path, line: line, field: field,
                    reason: "contains the control character U+\(code), which an ID can't hold")
            }
            // ASCII is in every normalization form: most IDs need no normalizing to check.
            guard !value.utf8.allSatisfy({ $0 < 0x80 }) else { return }
            let composed = value.precomposedStringWithCanonicalMapping
            guard composed.utf8.elementsEqual(value.utf8) else {
                throw .invalidRecord(
                    path: path, line: line, field: field,
                    reason: "is not in Unicode Normalization Form C (NFC): it is the same text as \"\(composed)\" "
                        + "written with other code points, which the store would keep as another ID; write it as "
                        + "\"\(composed)\"")
            }
        }

        func steps(_ steps: [Step], _ field: String) throws(MemoryError) {
            for (index, step) in steps.enumerated() {
                try text(step.action, "\(field)[\(index)].action", limit: limits.maximumStepTextBytes)
                try text(step.observation, "\(field)[\(index)].observation", limit: limits.maximumObservationBytes)
            }
        }

        func labels(_ labels: [String: String], prefix: String = "") throws(MemoryError) {
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                try text(key, prefix + "labels", limit: limits.maximumStepTextBytes)
                try text(value, prefix + "labels.\(key)", limit: limits.maximumStepTextBytes)
            }
        }
    }
}
