/// Rewrites a memory after a task that used it failed: what went wrong, and the corrected procedure.
///
/// The rule-based ``RuleBasedReviser`` needs nothing; an LLM-backed reviser conforms to the same protocol and falls
/// back to it on any failure.
///
/// An update calls its reviser while the store holds its write lock: a reviser must not write to that store (add,
/// import, update, feedback), which would wait for the lock forever (hostile run 15).
public protocol MemoryReviser: Sendable {
    /// A stable name of the reviser and its settings, recorded in the history.
    var name: String { get }

    /// The memory's new script, given the failed trajectory.
    ///
    /// - Throws: ``MemoryError/scriptWriter(name:trajectoryID:reason:)`` when no revision can be written.
    func revisedScript(of memory: Memory, after failure: Trajectory) async throws(MemoryError) -> String
}

/// A deterministic correction: the step where the failed attempt went wrong, recorded as a warning in the
/// procedure.
///
/// The failing step is the last step whose observation says nothing happened (``RuleBasedScriptWriter``'s
/// no-effect phrases), else the last step. The warning quotes its action and (up to `maximumObservationLength`
/// characters of) its observation; the same warning is never added twice. A memory without a script gets the
/// rule-based script of its steps first.
public struct RuleBasedReviser: MemoryReviser {
    /// The writer whose no-effect phrases find the failing step, and that writes a missing script.
    package let scriptWriter: RuleBasedScriptWriter
    /// The longest observation quoted in a warning.
    package let maximumObservationLength: Int

    /// Creates a reviser.
    ///
    /// - Parameters:
    ///   - scriptWriter: The writer whose no-effect phrases find the failing step, and that writes a missing script.
    ///   - maximumObservationLength: The longest action or observation quoted in a warning, in characters.
    /// - Precondition: `maximumObservationLength >= 1`.
    public init(scriptWriter: RuleBasedScriptWriter = RuleBasedScriptWriter(), maximumObservationLength: Int = 160) {
        precondition(maximumObservationLength >= 1, "RuleBasedReviser: maximumObservationLength must be at least 1")
        self.scriptWriter = scriptWriter
        self.maximumObservationLength = maximumObservationLength
    }

    /// `rule-based-correction/v1`.
    public var name: String { "rule-based-correction/v1" }

    /// The memory's script (or the rule-based script of its steps) with the warning for `failure` appended once.
    public func revisedScript(of memory: Memory, after failure: Trajectory) async throws(MemoryError) -> String {
        let base = memory.script ?? scriptWriter.abstract(task: memory.task, steps: memory.steps ?? [])
        guard let warning = warning(for: failure) else { return base }
        return base.split(separator: "\n").contains(where: { $0 == warning }) ? base : base + "\n" + warning
    }

    /// The warning line for a failed trajectory; `nil` when it has no steps.
    package func warning(for failure: Trajectory) -> String? {
        guard let step = failure.steps.last(where: { !scriptWriter.hasEffect($0) }) ?? failure.steps.last else {
            return nil
        }
        let action = oneLine(step.action, limit: maximumObservationLength)
        let observation = oneLine(step.observation, limit: maximumObservationLength)
        return "Warning: a failed attempt did \"\(action)\""
            + (observation.isEmpty ? "" : " and got \"\(observation)\"") + "; avoid it or check it first."
    }

    private func oneLine(_ text: String, limit: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingWhitespace()
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
