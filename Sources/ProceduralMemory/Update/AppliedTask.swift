import Foundation
import RetrievalCore

/// A store's record that an update applied a finished task: its uses are counted, and what its policy keeps of it
/// is stored.
///
/// ``MemoryStore/update(_:options:source:progress:)`` writes one for each task in the transaction of the task's
/// batch, and checks in that transaction that none is recorded yet, so that no task is applied twice: not by a
/// rerun, and not by two resumed updates of one file at once. A resumed update skips the tasks recorded. The record
/// is the update's own: a trajectory stored by an import, or an outcome an agent reported for one, is not an
/// applied task. It stays when the trajectory is deleted, as the counts it added stay.
package struct AppliedTask: Sendable, Equatable, Codable {
    /// The ID of the task's trajectory.
    package var trajectoryID: String
    /// The outcome applied; of a failure a schema upgrade recorded from a feedback row (``legacyFailure(of:)``),
    /// only `success`; `nil` when a schema upgrade recorded a trajectory stored without an outcome.
    package var outcome: Outcome?
    /// Where the update read the task (a file's path, `api`).
    package var source: String
    /// The task's line in the file it was read from, else its position in the update, from 1; `nil` when not known
    /// (a record made from a store of an earlier schema version).
    package var line: Int?
    /// When the update built the batch that applied it.
    package var date: Date
    /// The update's policy and how it built memories; `nil` in a record written before records held them (SQLite
    /// schema 3, PostgreSQL schema 6) or made from a store of an earlier schema version.
    package var method: UpdateMethod?

    /// Creates a record.
    package init(
        trajectoryID: String, outcome: Outcome?, source: String, line: Int?, date: Date, method: UpdateMethod? = nil
    ) {
        self.trajectoryID = trajectoryID
        self.outcome = outcome
        self.source = source
        self.line = line
        self.date = date
        self.method = method
    }

    /// The record that a store of an earlier schema implies by `entry`, if any.
    ///
    /// That is a feedback row of a failed task (its success count did not grow) whose reason names the task's
    /// trajectory (``MemoryStore/feedbackReason(trajectoryID:success:)``); `nil` for any other row. Before the
    /// records (SQLite schema 3, PostgreSQL schema 6), such a row was how a failure that an update kept no
    /// trajectory of was known as applied, and a stored trajectory how any other task was.
    package static func legacyFailure(of entry: HistoryEntry) -> AppliedTask? {
        guard entry.action == .feedback, let id = MemoryStore.trajectoryID(ofFeedbackReason: entry.reason),
            let before = entry.before, let after = entry.after, after.successCount == before.successCount
        else { return nil }
        return AppliedTask(
            trajectoryID: id, outcome: Outcome(success: false), source: legacySource, line: nil, date: entry.date)
    }

    /// Whether a task given `outcome` may be the task recorded: the outcome recorded; for a failure a schema
    /// upgrade recorded from a feedback row (no trajectory of it is stored, and its reward is not known), any
    /// failure under `settings`; for a record without an outcome, any.
    package func admits(_ outcome: Outcome?, trajectoryStored: Bool, settings: UpdateSettings) -> Bool {
        guard let recorded = self.outcome else { return true }
        if source == Self.legacySource, !trajectoryStored { return !settings.isSuccess(outcome) }
        return recorded == outcome
    }

    /// The ``source`` of a record made from a store of an earlier schema.
    package static let legacySource = "(recorded by the schema upgrade)"
}

/// What an update does with its tasks: its ``UpdatePolicy`` and the ``BuildPolicy`` of the memories it adds.
///
/// A resumed update must do what the interrupted one did, or the tasks of one file end under two policies.
package struct UpdateMethod: Sendable, Equatable, Codable {
    /// The update policy.
    package var policy: UpdatePolicy
    /// How the memories it adds are built.
    package var build: BuildPolicy

    /// Creates a method.
    package init(policy: UpdatePolicy, build: BuildPolicy) {
        self.policy = policy
        self.build = build
    }

    /// The method a record's stored `policy` and `build` name: `nil` when both are missing (a record written before
    /// records held them).
    ///
    /// - Throws: ``MemoryError/database(reason:)`` naming the record of `trajectoryID` when one is missing or names
    ///   no policy this build knows.
    package static func stored(policy: String?, build: String?, trajectoryID: String) throws(MemoryError)
        -> UpdateMethod?
    {
        if policy == nil, build == nil { return nil }
        guard let policy = policy.flatMap(UpdatePolicy.init(rawValue:)),
            let build = build.flatMap(BuildPolicy.init(rawValue:))
        else {
            let named = { (value: String?) in value.map { "\"\(printableText($0))\"" } ?? "none" }
            throw .database(
                reason: "the record of applied task \(printableName(trajectoryID)) holds policy \(named(policy)) and "
                    + "build \(named(build)), which this version does not know (did a later version write it?)")
        }
        return UpdateMethod(policy: policy, build: build)
    }
}
