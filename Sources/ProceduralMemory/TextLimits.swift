import Foundation
import RetrievalCore

/// The largest texts a store accepts from an import, a bundle or ``MemoryStore/add(_:facts:options:)``, in UTF-8
/// bytes.
///
/// Import time and database size grow with the text stored (a 50 MB observation costs minutes of tokenizing and
/// is stored several times: in the trajectory, its memory and the history), so one huge record could stall an
/// import. Texts over a limit are refused with ``MemoryError/textTooLarge(path:line:field:bytes:limit:)``, which
/// names the field and the limit; raise a limit when such texts are expected. Three more limits are fixed, the same
/// for SQLite and PostgreSQL stores: IDs and sources of at most 1 KiB, and a task with its facts (keywords) of at
/// most 128 KiB, refused as ``MemoryError/invalidRecord(path:line:field:reason:)``.
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

    /// The longest ID (of a trajectory or memory, and each source trajectory ID of a memory) any store keeps, in
    /// UTF-8 bytes, whatever the limits above.
    ///
    /// Fixed, so that SQLite and PostgreSQL stores accept the same records and a store can always be migrated:
    /// PostgreSQL's unique B-tree index on IDs holds at most 2,704 bytes per entry (hostile run 10: a 3,000-byte
    /// ID was stored in SQLite and refused by PostgreSQL with SQLSTATE 54000).
    package static let maximumIDBytes = 1024
    /// The longest source any store keeps, in UTF-8 bytes; fixed for the reason ``maximumIDBytes`` is (sources
    /// are indexed too).
    package static let maximumSourceBytes = 1024
    /// The most text a memory's keyword search may hold, in UTF-8 bytes: its task, a line break, and its keywords
    /// (a trajectory's facts) joined by spaces.
    ///
    /// PostgreSQL's text search vector holds at most 1 MiB of distinct words and their positions, which text
    /// with many short distinct words (or hyphenated words, counted whole and in parts) reaches at a few times
    /// less than 1 MiB of text; 128 KiB stays below it for any text.
    package static let maximumSearchTextBytes = 128 << 10

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
    /// text at (so that `"b\u{0}x"` would be stored, and replace, as `"b"`), its ID, source and labels for control
    /// characters, and its ID for decomposed text.
    ///
    /// - Parameters:
    ///   - trajectory: The trajectory.
    ///   - facts: The keywords given beside it.
    ///   - path: The input file (or a description of where the trajectory came from), named in errors.
    ///   - line: The line (or position), named in errors.
    ///   - storedIDs: Whether the record comes from a store (a bundle from `memp export`) rather than new input:
    ///     stores written before IDs, sources and labels were checked may hold control characters, or IDs in
    ///     decomposed text, and their bundles must still import.
    /// - Throws: ``MemoryError/textTooLarge(path:line:field:bytes:limit:)`` for a text over its limit;
    ///   ``MemoryError/invalidRecord(path:line:field:reason:)`` for an ID or source over 1 KiB or a task with its
    ///   facts over 128 KiB (the fixed limits every store shares, checked also when `storedIDs`), a text holding a NUL character, an ID, source or label holding a control
    ///   character, an ID not in Unicode Normalization Form C (unless `storedIDs`), an outcome with neither a success
    ///   flag nor a reward, or a reward that is not a finite number.
    package func check(
        _ trajectory: Trajectory, facts: [String] = [], path: String, line: Int, storedIDs: Bool = false
    ) throws(MemoryError) {
        let checker = Checker(limits: self, path: path, line: line, storedIDs: storedIDs)
        try checker.identifier(trajectory.id, "id")
        try checker.text(trajectory.task, "task", limit: maximumTaskBytes)
        try checker.source(trajectory.source, "source")
        if let producer = trajectory.producer { try checker.text(producer, "producer", limit: maximumStepTextBytes) }
        try checker.steps(trajectory.steps, "steps")
        if let outcome = trajectory.outcome { try checker.outcome(outcome) }
        try checker.labels(trajectory.labels)
        for (index, fact) in facts.enumerated() {
            try checker.text(fact, "facts[\(index)]", limit: maximumStepTextBytes)
        }
        try checker.searchText(task: trajectory.task, keywords: facts, "facts", what: "task and facts")
    }

    /// Checks a memory's texts as ``check(_:facts:path:line:storedIDs:)`` checks a trajectory's (its script against
    /// the step text limit or ``MemoryStore/maximumScriptLength``, whichever is larger).
    ///
    /// - Throws: As ``check(_:facts:path:line:storedIDs:)``.
    package func check(_ memory: Memory, path: String, line: Int, storedIDs: Bool = false) throws(MemoryError) {
        let checker = Checker(limits: self, path: path, line: line, storedIDs: storedIDs)
        try checker.identifier(memory.id, "memory.id")
        try checker.text(memory.task, "memory.task", limit: maximumTaskBytes)
        try checker.source(memory.source, "memory.source")
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
        try checker.searchText(
            task: memory.task, keywords: memory.keywords, "memory.keywords", what: "task and keywords")
    }

    /// Checks a stored trajectory (`facts`: the keywords of its memory) or memory against the fixed limits every
    /// store shares, as a migration does before it writes: ``maximumIDBytes``, ``maximumSourceBytes`` and
    /// ``maximumSearchTextBytes``.
    ///
    /// - Returns: The first field over its limit, and why; `nil` when every store can hold the record.
    package static func storeLimitProblem(
        of trajectory: Trajectory, facts: [String] = []
    ) -> (field: String, reason: String)? {
        firstProblem(stored: true) { (checker) throws(MemoryError) in
            try checker.storeLimit(trajectory.id, "id", limit: maximumIDBytes, what: "an ID")
            try checker.storeLimit(trajectory.source, "source", limit: maximumSourceBytes, what: "a source")
            try checker.searchText(task: trajectory.task, keywords: facts, "facts", what: "task and facts")
        }
    }

    /// ``storeLimitProblem(of:facts:)`` for a memory.
    package static func storeLimitProblem(of memory: Memory) -> (field: String, reason: String)? {
        firstProblem(stored: true) { (checker) throws(MemoryError) in
            try checker.storeLimit(memory.id, "id", limit: maximumIDBytes, what: "an ID")
            try checker.storeLimit(memory.source, "source", limit: maximumSourceBytes, what: "a source")
            for (index, id) in memory.sourceTrajectoryIDs.enumerated() {
                try checker.storeLimit(id, "sourceTrajectoryIDs[\(index)]", limit: maximumIDBytes, what: "an ID")
            }
            try checker.searchText(task: memory.task, keywords: memory.keywords, "keywords", what: "task and keywords")
        }
    }

    /// Why `source` can't be the source of the records that name none (`memp import --source`, the service's
    /// `source`), by the rules a record's own source meets; `nil` when it can be.
    package static func defaultSourceProblem(_ source: String) -> String? {
        firstProblem(stored: false) { (checker) throws(MemoryError) in try checker.source(source, "source") }?.reason
    }

    /// The field and reason of the first check `checks` refuses, run without a path or line; `stored` as
    /// ``Checker/storedIDs`` (true for a stored record's checks).
    private static func firstProblem(
        stored: Bool, _ checks: (Checker) throws(MemoryError) -> Void
    ) -> (field: String, reason: String)? {
        do throws(MemoryError) {
            try checks(Checker(limits: TextLimits(), path: "", line: 0, storedIDs: stored))
        } catch {
            switch error {
            case .invalidRecord(_, _, let field, let reason): return (field, reason)
            case .textTooLarge(_, _, let field, let bytes, let limit):
                return (field, "is \(bytes) bytes, more than the limit of \(limit)")
            default: return nil
            }
        }
        return nil
    }

    /// Checks texts of one record, naming its path and line.
    private struct Checker {
        let limits: TextLimits
        let path: String
        let line: Int
        /// Whether IDs, sources and labels may hold control characters, and IDs decomposed text: they are stored
        /// already, and refusing them would strand them.
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

        /// An outcome says something, and its reward is a number every store and export keeps.
        ///
        /// NaN ranked a memory anywhere and was read back as no outcome; an infinity made every later export and
        /// migration fail (hostile run 14). JSON input can hold neither; code can.
        func outcome(_ outcome: Outcome) throws(MemoryError) {
            guard outcome.success != nil || outcome.reward != nil else {
                throw .invalidRecord(
                    path: path, line: line, field: "outcome", reason: "holds neither a success flag nor a reward")
            }
            if let reward = outcome.reward, !reward.isFinite {
                throw .invalidRecord(
                    path: path, line: line, field: "outcome.reward", reason: "must be a finite number (got \(reward))")
            }
        }

        /// An ID is printed on one line, typed in commands and put in URLs: a line break, tab or escape sequence
        /// (U+0000–U+001F, U+007F–U+009F) in one would split or rewrite the lines it is printed on.
        ///
        /// An ID is also in Unicode Normalization Form C: the database tells IDs apart by their bytes, Swift's
        /// `String` by their canonical equivalence, so `"e\u{301}"` and `"é"` would be two stored trajectories that
        /// an export, a bundle or a migration's checksum took for one. Composed, no two IDs are equivalent.
        func identifier(_ value: String, _ field: String) throws(MemoryError) {
            try storeLimit(value, field, limit: TextLimits.maximumIDBytes, what: "an ID")
            try tag(value, field, what: "an ID")
            guard !storedIDs else { return }
            if let reason = edgeSpaceProblem(value) {
                throw .invalidRecord(path: path, line: line, field: field, reason: reason)
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

        /// A text printed within one line (an ID, a source, a label): a control character (U+0000–U+001F,
        /// U+007F–U+009F) would split or rewrite the lines of `memp stats`, `show` and `history` it is printed on, a
        /// bidirectional override reorder them (``RetrievalCore/oneLineNameProblem(_:what:)``).
        func tag(_ value: String, _ field: String, what: String) throws(MemoryError) {
            try text(value, field, limit: limits.maximumStepTextBytes)
            guard !storedIDs else { return }
            if let reason = oneLineNameProblem(value, what: what) {
                throw .invalidRecord(path: path, line: line, field: field, reason: reason)
            }
        }

        func source(_ value: String, _ field: String) throws(MemoryError) {
            try storeLimit(value, field, limit: TextLimits.maximumSourceBytes, what: "a source")
            try tag(value, field, what: "a source")
        }

        /// A limit every store shares, checked before the configurable ones: raising those can't let such a text in.
        func storeLimit(_ value: String, _ field: String, limit: Int, what: String) throws(MemoryError) {
            let bytes = value.utf8.count
            guard bytes > limit else { return }
            throw .invalidRecord(
                path: path, line: line, field: field,
                reason: "is \(bytes) bytes, more than the \(limit) bytes \(what) may have in any store (PostgreSQL "
                    + "indexes it, and an index entry holds at most 2,704 bytes); shorten it")
        }

        /// The text a memory's keyword search holds: as ``IndexEntry/searchText(task:keywords:)`` joins it.
        func searchText(task: String, keywords: [String], _ field: String, what: String) throws(MemoryError) {
            // Without keywords given, a memory's keywords are a few words of its task: the limit's margin holds them.
            let bytes = task.utf8.count + keywords.reduce(0) { $0 + $1.utf8.count + 1 }
            let limit = TextLimits.maximumSearchTextBytes
            guard bytes > limit else { return }
            throw .invalidRecord(
                path: path, line: line, field: keywords.isEmpty ? "task" : field,
                reason: (keywords.isEmpty ? "the task is \(bytes) bytes" : "the \(what) are \(bytes) bytes together")
                    + ", more than the \(limit) bytes of keyword text any "
                    + "store can search (PostgreSQL's text search holds at most 1 MiB of words and positions); give "
                    + "fewer or shorter ones")
        }

        func steps(_ steps: [Step], _ field: String) throws(MemoryError) {
            for (index, step) in steps.enumerated() {
                try text(step.action, "\(field)[\(index)].action", limit: limits.maximumStepTextBytes)
                try text(step.observation, "\(field)[\(index)].observation", limit: limits.maximumObservationBytes)
            }
        }

        func labels(_ labels: [String: String], prefix: String = "") throws(MemoryError) {
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                try tag(key, prefix + "labels", what: "a label")
                // Hostile run 22: such keys were stored, and no `key=value` filter could name them (finding 221).
                if !storedIDs, key.isEmpty || key.contains("=") {
                    throw .invalidRecord(
                        path: path, line: line, field: prefix + "labels",
                        reason: key.isEmpty
                            ? "has a label with an empty key, which no filter can name"
                            : "has the label key \(printableName(key).debugDescription), which holds \"=\": labels are "
                                + "named key=value, so a key can't hold one")
                }
                try tag(value, prefix + "labels.\(key)", what: "a label")
            }
        }
    }
}
