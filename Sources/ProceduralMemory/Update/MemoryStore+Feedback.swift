import Foundation
import RetrievalCore

extension MemoryStore {
    /// Records how a task that used some memories ended: each memory's hit count grows by one, its success count
    /// too when the task succeeded, and a memory whose counters cross the thresholds is deprecated.
    ///
    /// The counters are incremented by ``MemoryBackend/recordFeedback(_:settings:reason:)``, with every change a
    /// history row (``HistoryAction/feedback``, ``HistoryAction/deprecate``), all in one transaction: agents reporting outcomes at once, from any number of processes, lose no increment and get
    /// no conflict to retry.
    ///
    /// - Parameters:
    ///   - task: The task's text; must equal the trajectory's task when a trajectory is given.
    ///   - usedMemories: The IDs of the memories the task used (repeats count once).
    ///   - trajectory: The attempt, if recorded; its ID goes into the history.
    ///   - outcome: How the task ended: a success by its flag, else when its reward reaches
    ///     ``UpdateSettings/successReward``.
    ///   - settings: The deprecation thresholds.
    /// - Returns: The counters of each memory after the feedback.
    /// - Throws: ``MemoryError/unknownID(_:)`` for a memory that is not stored, or
    ///   ``MemoryError/notAMemory(trajectoryID:memoryIDs:)`` for a trajectory's ID (nothing is written then);
    ///   ``MemoryError/invalidParameter(name:value:expected:)`` for settings out of range or a reward that is not
    ///   a finite number;
    ///   ``MemoryError/invalidTrajectory(id:field:rule:)`` for a trajectory of another task.
    @discardableResult
    public func recordOutcome(
        task: String, usedMemories: [String], trajectory: Trajectory? = nil, outcome: Outcome,
        settings: UpdateSettings = UpdateSettings()
    ) async throws(MemoryError) -> [FeedbackChange] {
        if let trajectory, trajectory.task != task {
            throw .invalidTrajectory(
                id: trajectory.id, field: "task", rule: "must be the task the outcome is recorded for")
        }
        return try await recordOutcome(
            usedMemories: usedMemories, trajectoryID: trajectory?.id, outcome: outcome, settings: settings)
    }

    /// Records how a task ended, as ``recordOutcome(task:usedMemories:trajectory:outcome:settings:)`` does, naming
    /// the attempt by its ID: the attempt may be stored later (an update or import of it), and once it is, the
    /// report is part of the store's record of use that `memp tune` learns from (``feedbackTasks()``).
    ///
    /// - Parameter trajectoryID: The attempt's ID; `nil` when it is not recorded.
    /// - Throws: As ``recordOutcome(task:usedMemories:trajectory:outcome:settings:)``, and
    ///   ``MemoryError/invalidTrajectory(id:field:rule:)`` for an ID that is empty or holds a control or
    ///   bidirectional formatting character (as an import refuses it).
    @discardableResult
    package func recordOutcome(
        usedMemories: [String], trajectoryID: String?, outcome: Outcome, settings: UpdateSettings = UpdateSettings()
    ) async throws(MemoryError) -> [FeedbackChange] {
        try settings.validate()
        // A NaN reward counted as a failure, an infinite one as a success, silently (hostile run 15).
        if let reward = outcome.reward, !reward.isFinite {
            throw .invalidParameter(name: "outcome.reward", value: reward, expected: "a finite number")
        }
        // The rule an import holds the attempt's ID to, once it is stored: an ID no import takes names no attempt.
        if let trajectoryID {
            if let problem = idProblem(trajectoryID, what: "a trajectory ID") {
                throw .invalidTrajectory(id: trajectoryID, field: "id", rule: problem)
            }
        }
        if let named = usedMemories.first(where: Self.holdsNUL) { throw .unknownID(named) }
        var seen = Set<String>()
        let ids = usedMemories.filter { seen.insert($0).inserted }
        guard !ids.isEmpty else { return [] }
        let success = settings.isSuccess(outcome)
        let reason = Self.feedbackReason(trajectoryID: trajectoryID, success: success)
        let increments = ids.map { CounterIncrement(memoryID: $0, hits: 1, successes: success ? 1 : 0) }
        let result: FeedbackResult
        do throws(MemoryError) {
            result = try await backend.recordFeedback(increments, settings: settings, reason: reason)
        } catch .unknownID(let id) {
            throw try await missingMemory(id)
        }
        // The counters went to the database without the store's write lock; only a deprecation changes what
        // in-process lookups see, and the entries the backend returned are the memories' state after it.
        guard !result.deprecated.isEmpty else { return result.changes }
        try await publishStatuses(of: result.deprecated, committedAs: result.generation)
        return result.changes
    }

    /// Undoes one history entry: the memory goes back to its state before the entry, and the undo is itself a
    /// history row (``HistoryAction/revert``) that can be reverted in turn.
    ///
    /// An entry can be reverted once, and only while the memory is as the entry left it (revert later changes
    /// first).
    ///
    /// - Parameter entryNumber: The ``HistoryEntry/number`` of the entry to undo.
    /// - Returns: The revert's own history entry.
    /// - Throws: ``MemoryError/cannotRevert(entry:reason:)`` when the entry doesn't exist, was reverted already,
    ///   was followed by changes not reverted, or restores a memory whose source trajectories are gone.
    @discardableResult
    public func revert(_ entryNumber: Int64) async throws(MemoryError) -> HistoryEntry {
        try await write { (snapshot) throws(MemoryError) -> HistoryEntry in
            guard let entry = try await backend.historyEntry(number: entryNumber) else {
                throw .cannotRevert(entry: entryNumber, reason: "there is no such history entry")
            }
            if let reverting = try await backend.revertingEntry(of: entryNumber) {
                throw .cannotRevert(entry: entryNumber, reason: "entry \(reverting) reverted it already")
            }
            let current = try await backend.memory(id: entry.memoryID)
            guard Self.sameContent(current, entry.after) else {
                let later = try await backend.history(memoryID: entry.memoryID).filter { $0.number > entryNumber }
                throw .cannotRevert(
                    entry: entryNumber,
                    reason: "memory \(entry.memoryID) changed after it (entr\(later.count == 1 ? "y" : "ies") "
                        + later.map { String($0.number) }.joined(separator: ", ")
                        + "); revert \(later.count == 1 ? "it" : "those") first")
            }
            let reason = "revert entry \(entryNumber) (\(entry.action.rawValue))"
            var restored = entry.before
            var vectors: MemoryVectors?
            if var before = restored {
                let missing = try await missingSources(of: before)
                if before.sourceTrajectoryIDs.isEmpty {
                    throw .cannotRevert(
                        entry: entryNumber,
                        reason: "memory \(before.id) had no source trajectory left; import its trajectories again")
                }
                if !missing.isEmpty {
                    throw .cannotRevert(
                        entry: entryNumber,
                        reason: "source trajectories " + missing.joined(separator: ", ")
                            + " of memory \(before.id) are no longer stored; import them again first (if the import adds "
                            + "memory \(before.id) anew, revert that import's entry for it too, then this one)")
                }
                before.revision = (current?.revision ?? before.revision) + 1
                before.updatedAt = Date()
                if current == nil || current?.task != before.task || current?.keywords != before.keywords {
                    vectors = try await self.vectors(for: before)
                }
                restored = before
            }
            let change = MemoryChange(
                memoryID: entry.memoryID, action: .revert, after: restored, vectors: vectors,
                expectedRevision: current?.revision, policy: "revert", reason: reason, reverts: entryNumber)
            let result = try await apply(
                ChangeSet(batch: Self.emptyBatch(policy: "revert"), changes: [change]), to: &snapshot)
            guard let number = result.historyNumbers.first, let written = try await backend.historyEntry(number: number)
            else {
                throw .database(reason: "the revert's history row is missing after the write")
            }
            return written
        }
    }

    /// The source trajectories of `memory` that are not stored.
    private func missingSources(of memory: Memory) async throws(MemoryError) -> [String] {
        let stored = try await backend.existingTrajectoryIDs(among: memory.sourceTrajectoryIDs)
        return memory.sourceTrajectoryIDs.filter { !stored.contains($0) }
    }

    /// Whether two states of a memory are the same apart from their revision and modification date.
    private static func sameContent(_ a: Memory?, _ b: Memory?) -> Bool {
        guard var a, var b else { return a == nil && b == nil }
        a.revision = 0
        b.revision = 0
        a.updatedAt = .distantPast
        b.updatedAt = .distantPast
        return a == b
    }

    static func emptyBatch(policy: String) -> WriteBatch {
        WriteBatch(trajectories: [], memories: [], replacing: false, policy: policy, reason: "")
    }

    /// The reason of a feedback's history rows: `task of trajectory ID succeeded`, or without the trajectory.
    static func feedbackReason(trajectoryID: String?, success: Bool) -> String {
        "task " + (trajectoryID.map { "\(Self.trajectoryMarker)\($0) " } ?? "") + (success ? "succeeded" : "failed")
    }

    private static let trajectoryMarker = "of trajectory "

    /// The trajectory a feedback row's reason (``feedbackReason(trajectoryID:success:)``) names; `nil` for a report
    /// without one.
    static func trajectoryID(ofFeedbackReason reason: String) -> String? {
        let prefix = "task " + trajectoryMarker
        guard reason.hasPrefix(prefix) else { return nil }
        let rest = reason.dropFirst(prefix.count)
        // `ID succeeded: 1 use, 1 succeeded`: the ID ends at the later of the last " succeeded:" and the last
        // " failed:", as the counts after it hold no colon. The first found of the two misread an ID that holds
        // the other (`job succeeded: 7` that failed was read as `job`; hostile run 20).
        let ends = [" succeeded:", " failed:"].compactMap { rest.range(of: $0, options: .backwards)?.lowerBound }
        guard let end = ends.max() else { return nil }
        return String(rest[..<end])
    }

    /// The tasks whose outcome was reported with a trajectory that the store holds, each with the memories it used
    /// and whether it succeeded: the store's own record of which retrieved memories led to success.
    ///
    /// Read from the ``HistoryAction/feedback`` rows of ``recordOutcome(task:usedMemories:trajectory:outcome:settings:)``;
    /// success is read from the counters (the success count grew), the trajectory from the row's reason. Reports
    /// without a trajectory, or whose trajectory is not stored, carry no task text and are left out.
    ///
    /// - Returns: One task per trajectory, in the order of their first report.
    /// - Throws: What the backend throws.
    package func feedbackTasks() async throws(MemoryError) -> [FeedbackTask] {
        var order: [String] = []
        var used: [String: (succeeded: [String], failed: [String])] = [:]
        // Streamed: the whole history of a large store is hundreds of megabytes of memory snapshots.
        try await backend.forEachHistoryEntry { entry throws(MemoryError) in
            guard entry.action == .feedback, let id = Self.trajectoryID(ofFeedbackReason: entry.reason),
                let before = entry.before, let after = entry.after
            else { return }
            if used[id] == nil { order.append(id) }
            if after.successCount > before.successCount {
                used[id, default: ([], [])].succeeded.append(entry.memoryID)
            } else {
                used[id, default: ([], [])].failed.append(entry.memoryID)
            }
        }
        var tasks: [FeedbackTask] = []
        for id in order {
            guard let trajectory = try await backend.trajectory(id: id), let uses = used[id] else { continue }
            tasks.append(
                FeedbackTask(
                    trajectoryID: id, task: trajectory.task, succeededWith: uses.succeeded, failedWith: uses.failed))
        }
        return tasks
    }
}

/// A task whose outcome was reported to the store, with the memories it used (``MemoryStore/feedbackTasks()``).
package struct FeedbackTask: Sendable, Equatable {
    /// The task's trajectory.
    package var trajectoryID: String
    /// The task's text.
    package var task: String
    /// The memories it used when it succeeded.
    package var succeededWith: [String]
    /// The memories it used when it failed.
    package var failedWith: [String]

    /// Creates a task.
    package init(trajectoryID: String, task: String, succeededWith: [String], failedWith: [String]) {
        self.trajectoryID = trajectoryID
        self.task = task
        self.succeededWith = succeededWith
        self.failedWith = failedWith
    }
}
