import Foundation

/// Turns a trajectory into a memory under a ``BuildPolicy``, with a ``ScriptWriter`` for the scripts; imports
/// (``ImportOptions/builder``) and updates (``UpdateOptions/builder``) build their new memories with one.
public struct MemoryBuilder: Sendable {
    /// What the memories hold.
    public var policy: BuildPolicy
    /// Who writes the scripts of ``BuildPolicy/script`` and ``BuildPolicy/proceduralization`` memories.
    public var scriptWriter: any ScriptWriter
    /// How many keywords to extract from the task of a trajectory that comes without facts (the keywords the
    /// `keyword` retrieval policy compares).
    public var keywordLimit: Int

    /// Creates a builder; the default is the paper's best, proceduralization, with the rule-based script writer
    /// and 5 keywords.
    public init(
        policy: BuildPolicy = .proceduralization,
        scriptWriter: any ScriptWriter = RuleBasedScriptWriter(), keywordLimit: Int = 5
    ) {
        self.policy = policy
        self.scriptWriter = scriptWriter
        self.keywordLimit = keywordLimit
    }

    /// Checks the settings an initializer can't: ``keywordLimit`` is a public variable.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` for a negative ``keywordLimit``.
    package func validate() throws(MemoryError) {
        guard keywordLimit >= 0 else {
            throw .invalidParameter(name: "keywordLimit", value: Double(keywordLimit), expected: "at least 0")
        }
    }

    /// Builds the memory of one trajectory; it carries the trajectory's ID, source and labels.
    ///
    /// A script over ``MemoryStore/maximumScriptLength`` characters is cut to it by
    /// ``MemoryStore/clippedScript(_:)``.
    ///
    /// - Parameters:
    ///   - trajectory: The trajectory.
    ///   - keywords: The task's keywords, for the keyword (AveFact) retrieval policy.
    ///   - embedderID: The embedder that will embed the memory.
    ///   - importedFrom: The file the trajectory came from, if any.
    ///   - date: The creation date.
    /// - Throws: What the script writer throws.
    package func memory(
        from trajectory: Trajectory, keywords: [String], embedderID: String, importedFrom: String?,
        date: Date
    ) async throws(MemoryError) -> Memory {
        var written: WrittenScript?
        if policy != .trajectory {
            if let writer = scriptWriter as? any FallbackScriptWriter {
                written = try await writer.writtenScript(for: trajectory)
            } else {
                written = WrittenScript(text: try await scriptWriter.script(for: trajectory), writer: scriptWriter.name)
            }
        }
        // A long task (its first sentence is kept whole) or thousands of steps give a script no bundle could carry.
        let script = written.map { MemoryStore.clippedScript($0.text) }
        return Memory(
            id: trajectory.id, task: trajectory.task, buildPolicy: policy,
            steps: policy == .script ? nil : trajectory.steps, script: script, keywords: keywords,
            sourceTrajectoryIDs: [trajectory.id], source: trajectory.source, labels: trajectory.labels,
            embedderID: embedderID,
            provenance: Provenance(
                producer: trajectory.producer, scriptWriter: written?.writer,
                importedFrom: importedFrom),
            createdAt: date, updatedAt: date)
    }
}
