import Foundation
import RetrievalCore

/// How memories are built and revised during an update.
public struct UpdateOptions: Sendable {
    /// The update policy.
    public var policy: UpdatePolicy
    /// Thresholds, batch size and duplicate control.
    public var settings: UpdateSettings
    /// How new trajectories become memories.
    public var builder: MemoryBuilder
    /// Who rewrites memories under ``UpdatePolicy/adjustment``; on any failure the ``RuleBasedReviser`` takes over
    /// and the fallback is reported.
    public var reviser: any MemoryReviser
    /// Whether tasks the store has applied already are skipped, for running an interrupted update again.
    ///
    /// Applied are the tasks an update recorded in the transaction of their batch, whatever its policy kept of
    /// them; they are counted in ``UpdateReport/alreadyApplied``. Two resumed updates of the same tasks at once
    /// apply each task once: a batch finds the other's records in its own transaction, and is made again without
    /// those tasks. A task applied with another outcome than the one given fails the update with
    /// ``MemoryError/appliedWithOtherOutcome(id:path:line:)`` before anything is written (or, for a task another
    /// update applied meanwhile, before its batch is), and one that an update of the same source applied with
    /// another ``policy`` or ``MemoryBuilder/policy`` with
    /// ``MemoryError/resumedWithOtherMethod(id:path:line:appliedPolicy:appliedBuild:policy:build:)``. Off, an
    /// applied task fails the update with ``MemoryError/alreadyApplied(id:path:line:)``. Either way, a task whose
    /// trajectory another route stored (an import) fails it with ``MemoryError/duplicateTrajectory(id:path:line:)``.
    public var resume: Bool

    /// The policy and build the update records with each task it applies, which a resume must repeat.
    var method: UpdateMethod { UpdateMethod(policy: policy, build: builder.policy) }

    /// Creates options with the rule-based writer and reviser.
    public init(
        policy: UpdatePolicy, settings: UpdateSettings = UpdateSettings(), builder: MemoryBuilder = MemoryBuilder(),
        reviser: any MemoryReviser = RuleBasedReviser(), resume: Bool = false
    ) {
        self.policy = policy
        self.settings = settings
        self.builder = builder
        self.reviser = reviser
        self.resume = resume
    }
}

extension MemoryStore {
    /// Runs the update step of the Memp cycle over finished tasks, in batches of ``UpdateSettings/batchSize``.
    ///
    /// For each batch, in one transaction: the counters of every used memory, incremented in place by the backend
    /// as ``recordOutcome(task:usedMemories:trajectory:outcome:settings:)`` does (and deprecations), then the policy —
    /// ``UpdatePolicy/vanilla`` adds every trajectory, ``UpdatePolicy/validation`` the successful ones,
    /// ``UpdatePolicy/adjustment`` the successful ones and rewrites each memory a failed task used. A new memory
    /// that nearly duplicates an active one with the same outcome is merged into it (see ``UpdateSettings``); the
    /// store first catches up with what other writers committed (``refresh()``), not with what they commit while
    /// the update runs.
    /// A crash loses at most the batch in flight; earlier batches stay, and the same tasks given again with
    /// ``UpdateOptions/resume`` apply only the rest. Rewrites and merges of stored memories
    /// are checked against their revisions: when another agent changed such a memory meanwhile (its counters
    /// too), the batch writes nothing and is read, revised and written again, up to ``maximumBatchAttempts`` times
    /// in all; then it fails with ``MemoryError/revisionConflict(id:expected:actual:)``.
    ///
    /// - Returns: What was added, merged, rewritten and deprecated.
    /// - Throws: ``MemoryError/unknownID(_:)`` for a used memory that is not stored (checked, like the trajectories
    ///   already stored and the IDs given twice, before anything is written),
    ///   ``MemoryError/notAMemory(trajectoryID:memoryIDs:)`` for a used "memory" that is a trajectory's ID,
    ///   ``MemoryError/alreadyApplied(id:path:line:)`` for a task an update applied already, when not resuming
    ///   (`line` is the task's line in the file it was read from, else its position, from 1),
    ///   ``MemoryError/duplicateTrajectory(id:path:line:)`` for a trajectory stored otherwise,
    ///   ``MemoryError/appliedWithOtherOutcome(id:path:line:)`` for a task that a resumed update finds applied with
    ///   another outcome, ``MemoryError/repeatedTrajectory(id:path:line:firstLine:)`` for one given twice in
    ///   `tasks` (nothing is written then), ``MemoryError/invalidParameter(name:value:expected:)`` for bad settings,
    ///   ``MemoryError/invalidTrajectory(id:field:rule:)`` for a blank ID, task, source or action, or no step, and
    ///   ``MemoryError/invalidRecord(path:line:field:reason:)`` for a task without an outcome and what
    ///   ``TextLimits`` refuses beyond sizes.
    @discardableResult
    public func update(
        _ tasks: [FinishedTask], options: UpdateOptions, source: String = "(update)",
        progress: (@Sendable (UpdateReport) -> Void)? = nil
    ) async throws(MemoryError) -> UpdateReport {
        try options.settings.validate()
        try options.builder.validate()
        var seen: [String: Int] = [:]
        // Sizes were checked where the tasks were read (``FinishedTask/read(from:source:limits:)``); a NUL would
        // be cut by SQLite wherever they came from.
        let unlimited = TextLimits(
            maximumLineBytes: .max, maximumTaskBytes: .max, maximumStepTextBytes: .max, maximumObservationBytes: .max)
        // Hostile run 21: positions were named as lines, so blank lines in a file shifted them.
        let lines = tasks.enumerated().map { $0.element.line ?? $0.offset + 1 }
        for (line, task) in zip(lines, tasks) {
            if let first = seen.updateValue(line, forKey: task.trajectory.id) {
                throw .repeatedTrajectory(id: task.trajectory.id, path: source, line: line, firstLine: first)
            }
            try unlimited.check(task.trajectory, path: source, line: line)
            // The rules `add` holds trajectories to: an update stored an empty ID, which no export could carry.
            try Self.checkShape(task.trajectory)
            // Hostile run 20: a task without one was counted as a failure, and under adjustment rewrote what it used.
            guard task.trajectory.outcome != nil else {
                throw .invalidRecord(
                    path: source, line: line, field: "outcome",
                    reason: "is missing: an update needs each task's success or reward")
            }
            if let named = task.usedMemories.first(where: Self.holdsNUL) { throw .unknownID(named) }
        }
        // Merging compares new memories with the in-process indexes: caught up first with what other processes (or
        // other stores on the backend) committed since they were read, else a memory another process added just
        // before is not merged with (hostile run 21: over HTTP, the first update after a CLI commit added a
        // duplicate). What they commit while the update runs is not seen until it ends.
        try await refresh()
        return try await write { (snapshot) throws(MemoryError) -> UpdateReport in
            var report = UpdateReport()
            // Each task with its line, for errors and records. Before any batch is written: a rerun refused at a later
            // batch had committed the earlier ones, counting their uses again (hostile run 19).
            let pending = try await unapplied(Array(zip(lines, tasks)), options: options, source: source)
            report.alreadyApplied = tasks.count - pending.count
            // Before any batch is written too: an unknown memory on a later line failed the update after the
            // earlier batches were committed (hostile run 20).
            var known = Set<String>()
            for id in pending.lazy.flatMap(\.1.usedMemories) where known.insert(id).inserted {
                guard try await backend.memory(id: id) != nil else { throw try await missingMemory(id) }
            }
            // The stored memories merging has read, kept from batch to batch while nothing changes them.
            var screened = MergeCandidates()
            for start in stride(from: 0, to: pending.count, by: options.settings.batchSize) {
                var slice = Array(pending[start..<min(start + options.settings.batchSize, pending.count)])
                // Another agent's feedback on a memory the batch rewrites, between the batch's reads and its commit,
                // failed the whole update there, though earlier batches were committed, so that a rerun was refused
                // at its first line ("already stored"): the batch is read and written again instead. A failed batch
                // changed nothing but the report.
                var attempt = 1
                // Another update's record of a task of the batch, which the batch's transaction found.
                var foundApplied: MemoryError?
                while true {
                    // What another update applied meanwhile (a resume of the same tasks in another process) is left
                    // out, and the batch made of the rest: after its transaction found such a task, one fewer at
                    // least, else this would not end. The first batch's first attempt was checked just above.
                    let rest =
                        start == 0 && attempt == 1 && foundApplied == nil
                        ? slice : try await unapplied(slice, options: options, source: source)
                    if let foundApplied, rest.count == slice.count { throw foundApplied }
                    report.alreadyApplied += slice.count - rest.count
                    slice = rest
                    guard !slice.isEmpty else { break }
                    let reported = report
                    do throws(MemoryError) {
                        try await updateBatch(
                            slice.map(\.1), lines: slice.map(\.0), options: options, source: source,
                            snapshot: &snapshot, screened: &screened, report: &report)
                        break
                    } catch {
                        // Another writer committed: what merging read may have changed.
                        screened = MergeCandidates()
                        report = reported
                        if case .alreadyApplied = error, options.resume {
                            foundApplied = error
                            continue
                        }
                        guard case .revisionConflict = error, attempt < Self.maximumBatchAttempts else { throw error }
                        attempt += 1
                    }
                }
                guard !slice.isEmpty else { continue }
                report.batches += 1
                report.tasks += slice.count
                report.generation = snapshot.generation
                progress?(report)
            }
            report.generation = snapshot.generation
            return report
        }
    }

    /// How many times ``update(_:options:source:progress:)`` reads and writes a batch whose memories other agents
    /// keep changing before it fails with ``MemoryError/revisionConflict(id:expected:actual:)``.
    package static let maximumBatchAttempts = 3

    /// The tasks among `tasks` (each with its line in its file, else its position, from 1) that no update applied, in
    /// order.
    ///
    /// - Throws: Without `resume`, ``MemoryError/alreadyApplied(id:path:line:)`` for the first task applied;
    ///   ``MemoryError/appliedWithOtherOutcome(id:path:line:)`` for one applied with another outcome;
    ///   ``MemoryError/resumedWithOtherMethod(id:path:line:appliedPolicy:appliedBuild:policy:build:)`` for one
    ///   that an update of the same source applied with another policy or build;
    ///   ``MemoryError/duplicateTrajectory(id:path:line:)`` for one whose trajectory is stored, not by an update
    ///   (an import: applied, its trajectory would be stored twice; hostile run 20: a resumed update took it for
    ///   applied, and never counted its uses), or by an update before the records (``AppliedTask/legacySource``),
    ///   when not resuming.
    private func unapplied(
        _ tasks: [(line: Int, task: FinishedTask)], options: UpdateOptions, source: String
    ) async throws(MemoryError) -> [(line: Int, task: FinishedTask)] {
        let ids = tasks.map(\.task.trajectory.id)
        // The trajectories first: an update commits a task's record with its trajectory, so a trajectory that an
        // update committed between the two reads is seen with its record.
        let stored = try await backend.existingTrajectoryIDs(among: ids)
        var records: [String: AppliedTask] = [:]
        for record in try await backend.appliedTasks(among: ids) { records[record.trajectoryID] = record }
        for (line, task) in tasks {
            let id = task.trajectory.id
            guard let record = records[id] else {
                if stored.contains(id) { throw .duplicateTrajectory(id: id, path: source, line: line) }
                continue
            }
            if !options.resume {
                // A schema upgrade recorded every stored trajectory, imported ones too.
                if record.source == AppliedTask.legacySource, stored.contains(id) {
                    throw .duplicateTrajectory(id: id, path: source, line: line)
                }
                throw .alreadyApplied(id: id, path: source, line: line)
            }
            guard
                record.admits(
                    task.trajectory.outcome, trajectoryStored: stored.contains(id), settings: options.settings)
            else {
                throw .appliedWithOtherOutcome(id: id, path: source, line: line)
            }
            // Finding 206: a resume with another policy applied the rest of the file another way. A task another
            // update (of another source) applied is skipped whatever its policy.
            if let applied = record.method, applied != options.method, record.source == source {
                throw .resumedWithOtherMethod(
                    id: id, path: source, line: line, appliedPolicy: applied.policy, appliedBuild: applied.build,
                    policy: options.policy, build: options.builder.policy)
            }
        }
        return tasks.filter { records[$0.task.trajectory.id] == nil }
    }

    /// Applies one batch of tasks, `lines` their lines (``unapplied(_:options:source:)``).
    private func updateBatch(
        _ tasks: [FinishedTask], lines: [Int], options: UpdateOptions, source: String, snapshot: inout IndexSnapshot,
        screened: inout MergeCandidates, report: inout UpdateReport
    ) async throws(MemoryError) {
        let settings = options.settings
        let policyName = options.policy.rawValue
        var recorder = ChangeRecorder(date: Date())
        // 1. Counters of the memories the tasks used, added in place by the backend; the working copies follow
        // them so that rewrites below expect the revision the increments leave.
        var uses: [CounterIncrement] = []
        for task in tasks {
            let success = settings.isSuccess(task.trajectory.outcome)
            var once = Set<String>()
            // One increment per task and memory, naming the task's attempt as an outcome reported for it would, so
            // that the attempts of an update are part of the record of use `memp tune` learns from.
            let reason = Self.feedbackReason(trajectoryID: task.trajectory.id, success: success)
            for id in task.usedMemories where once.insert(id).inserted {
                if recorder.working[id] == nil {
                    guard let memory = try await backend.memory(id: id) else { throw try await missingMemory(id) }
                    recorder.working[id] = memory
                }
                uses.append(CounterIncrement(memoryID: id, hits: 1, successes: success ? 1 : 0, reason: reason))
            }
        }
        recorder.countUses(uses, settings: settings)
        // 2. New memories, merged into near-duplicates where there are some.
        var trajectories: [Trajectory] = []
        var newMemories: [(memory: Memory, vectors: MemoryVectors)] = []
        let candidates = tasks.filter { options.policy == .vanilla || settings.isSuccess($0.trajectory.outcome) }
        report.skippedFailures += tasks.count - candidates.count
        var embeddedTasks: [String: [Float]] = [:]
        let taskVectors = try await vectors(of: candidates.map(\.trajectory.task), reusing: &embeddedTasks)
        for (task, taskVector) in zip(candidates, taskVectors) {
            let trajectory = task.trajectory
            let keywords = snapshot.keywords(of: trajectory.task, limit: options.builder.keywordLimit)
            var memory = try await options.builder.memory(
                from: trajectory, keywords: keywords, embedderID: embedder.modelIdentifier, importedFrom: source,
                date: recorder.date)
            memory.provenance.importedFrom = source
            trajectories.append(trajectory)
            if settings.mergeDuplicates,
                let duplicate = try await nearDuplicate(
                    of: memory, trajectory: trajectory, taskVector: taskVector, pending: newMemories,
                    batchTrajectories: trajectories, snapshot: snapshot, settings: settings, candidates: &screened,
                    recorder: &recorder)
            {
                let better = isBetter(trajectory, than: duplicate.bestTrajectory, settings: settings)
                let reason =
                    "near-duplicate trajectory \(trajectory.id) (task cosine \(format(duplicate.taskSimilarity)), "
                    + "action similarity \(format(duplicate.contentSimilarity)))"
                    + (better ? "; its steps are better and replace the memory's" : "")
                func fold(_ target: inout Memory) {
                    if better {
                        target.sourceTrajectoryIDs.insert(trajectory.id, at: 0)
                        target.steps = memory.steps
                        target.script = memory.script
                        target.provenance.scriptWriter = memory.provenance.scriptWriter
                    } else {
                        target.sourceTrajectoryIDs.append(trajectory.id)
                    }
                    target.kind = .merged
                }
                // A memory new in this batch is written as it was added, then changed by the merge, with a history
                // row as a merge into a stored memory has (hostile run 20: such merges left no trace).
                if let index = duplicate.pendingIndex, recorder.working[duplicate.memoryID] == nil {
                    recorder.working[duplicate.memoryID] = newMemories[index].memory
                }
                recorder.change(duplicate.memoryID, .merge, policy: policyName, reason: reason) { fold(&$0) }
                report.merged[trajectory.id] = duplicate.memoryID
                continue
            }
            let vectors = MemoryVectors(
                task: taskVector,
                keywords: keywords.isEmpty ? nil : meanVector(try await embed(keywords)))
            newMemories.append((memory, vectors))
        }
        // 3. Adjustment: rewrite each memory a failed task used.
        if options.policy == .adjustment {
            for task in tasks where !settings.isSuccess(task.trajectory.outcome) {
                var once = Set<String>()
                for id in task.usedMemories where once.insert(id).inserted {
                    guard let memory = recorder.working[id] else { continue }
                    var reviserName = options.reviser.name
                    let script: String
                    do throws(MemoryError) {
                        script = try await validatedRevision(
                            try await options.reviser.revisedScript(of: memory, after: task.trajectory))
                    } catch {
                        let fallback = RuleBasedReviser()
                        report.fallbacks[id] = error.description
                        reviserName = fallback.name + " (fallback from \(options.reviser.name))"
                        script = try await fallback.revisedScript(of: memory, after: task.trajectory)
                    }
                    if !trajectories.contains(where: { $0.id == task.trajectory.id }) {
                        trajectories.append(task.trajectory)
                    }
                    recorder.change(
                        id, .rewrite, policy: policyName,
                        reason: "task of trajectory \(task.trajectory.id) failed with it; revised by \(reviserName)"
                    ) { memory in
                        memory.script = script
                        memory.kind = .rewritten
                        memory.sourceTrajectoryIDs.append(task.trajectory.id)
                        memory.provenance.scriptWriter = reviserName
                    }
                    if !report.rewritten.contains(id) { report.rewritten.append(id) }
                }
            }
        }
        var set = ChangeSet(
            batch: WriteBatch(
                trajectories: trajectories,
                memories: newMemories.map {
                    MemoryRecord(memory: $0.memory, taskVector: $0.vectors.task, keywordVector: $0.vectors.keywords)
                },
                replacing: false, policy: policyName, reason: "\(policyName) update from \(source)"),
            increments: uses, settings: settings,
            changes: recorder.changes)
        set.appliedTasks = zip(lines, tasks).map { line, task in
            AppliedTask(
                trajectoryID: task.trajectory.id, outcome: task.trajectory.outcome, source: source, line: line,
                date: recorder.date, method: options.method)
        }
        let result = try await apply(set, to: &snapshot)
        screened.forget(ids: Set(set.increments.map(\.memoryID) + set.changes.map(\.memoryID)))
        report.added += newMemories.map(\.memory.id)
        report.deprecated += result.feedback.filter(\.deprecated).map(\.memoryID)
        for change in result.feedback {
            report.feedback.removeAll { $0.memoryID == change.memoryID }
            report.feedback.append(change)
        }
    }

    /// A revised script as it may be stored: trimmed, not empty, at most ``maximumScriptLength`` characters, no NUL.
    private func validatedRevision(_ script: String) async throws(MemoryError) -> String {
        let trimmed = script.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            throw .scriptWriter(name: "reviser", trajectoryID: "-", reason: "the revision is empty")
        }
        guard trimmed.count <= Self.maximumScriptLength else {
            throw .scriptWriter(
                name: "reviser", trajectoryID: "-",
                reason: "the revision has \(trimmed.count) characters; at most \(Self.maximumScriptLength) are kept")
        }
        // SQLite would cut the script there (hostile run 15: "a\u{0}b" was stored as "a").
        guard !trimmed.utf8.contains(0) else {
            throw .scriptWriter(
                name: "reviser", trajectoryID: "-",
                reason: "the revision holds a NUL character, which a store can't keep")
        }
        return trimmed
    }

    /// The longest script, in characters, a store writes and a bundle carries: a longer revision is refused, a
    /// longer written script (by any ``ScriptWriter``, as a memory is built) is cut by ``clippedScript(_:)``, and
    /// an export cuts a longer one stored before this rule the same way, so that every bundle imports.
    package static let maximumScriptLength = 8_000

    /// `script` without NUL characters (SQLite would cut the script at one: a ``ScriptWriter``'s `"a\u{0}b"` was
    /// stored as `"a"`, hostile run 15), if it has at most ``maximumScriptLength`` characters; else its first whole
    /// lines that fit, then a line `…` saying that the rest was left out (a first line too long alone is cut within
    /// the line).
    package static func clippedScript(_ script: String) -> String {
        let script = script.utf8.contains(0) ? script.replacingOccurrences(of: "\u{0}", with: "") : script
        guard script.count > maximumScriptLength else { return script }
        let marker = "\n…"
        var kept = script.prefix(maximumScriptLength - marker.count)
        if let newline = kept.lastIndex(of: "\n") { kept = kept[..<newline] }
        return kept + marker
    }

    /// Stored memories that merging read, with their actions, by number.
    ///
    /// They are not read again while no batch of the update changes them (its counts included). A batch that finds
    /// another writer's commit (a revision conflict, another update's record of one of its tasks) drops them all;
    /// another writer's change is otherwise seen when merging into the memory meets a revision conflict.
    struct MergeCandidates {
        private(set) var memories: [DocumentID: (memory: Memory, actions: Set<String>)] = [:]

        /// Reads those of `numbers` not held yet.
        mutating func read(_ numbers: [DocumentID], from backend: any MemoryBackend) async throws(MemoryError) {
            let unread = numbers.filter { memories[$0] == nil }
            guard !unread.isEmpty else { return }
            for (number, memory) in try await backend.memories(numbered: unread) {
                memories[number] = (memory, actionSet(of: memory))
            }
        }

        /// Drops the memories with these IDs, which a batch changed.
        mutating func forget(ids: Set<String>) {
            memories = memories.filter { !ids.contains($0.value.memory.id) }
        }
    }

    /// How many stored candidates merging reads at a time.
    private static let mergeReadSize = 16

    private struct Duplicate {
        var memoryID: String
        var pendingIndex: Int?
        var bestTrajectory: Trajectory?
        var taskSimilarity: Float
        var contentSimilarity: Double
    }

    /// The most similar active memory (stored, or new in this batch) whose task and actions are within the
    /// thresholds and whose best trajectory has the same outcome: stored ones are taken in order of task similarity
    /// down to the threshold, until one passes.
    private func nearDuplicate(
        of memory: Memory, trajectory: Trajectory, taskVector: [Float],
        pending: [(memory: Memory, vectors: MemoryVectors)], batchTrajectories: [Trajectory], snapshot: IndexSnapshot,
        settings: UpdateSettings, candidates: inout MergeCandidates, recorder: inout ChangeRecorder
    ) async throws(MemoryError) -> Duplicate? {
        let success = settings.isSuccess(trajectory.outcome)
        let actions = actionSet(of: memory)
        var best: Duplicate?
        func consider(_ candidate: Duplicate) {
            guard candidate.contentSimilarity >= settings.duplicateContentSimilarity else { return }
            if let current = best, current.taskSimilarity >= candidate.taskSimilarity { return }
            best = candidate
        }
        for (index, other) in pending.enumerated() {
            let cosine = zip(taskVector, other.vectors.task).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            guard cosine >= settings.duplicateTaskSimilarity else { continue }
            // As merged so far in this batch.
            let current = recorder.working[other.memory.id] ?? other.memory
            // A memory new in this batch holds the steps of a trajectory of the batch.
            let bestTrajectory = batchTrajectories.first { $0.id == current.sourceTrajectoryIDs.first }
            guard settings.isSuccess(bestTrajectory?.outcome) == success else { continue }
            consider(
                Duplicate(
                    memoryID: current.id, pendingIndex: index, bestTrajectory: bestTrajectory,
                    taskSimilarity: cosine, contentSimilarity: actionSimilarity(actions, actionSet(of: current))))
        }
        let catalog = snapshot.catalog
        let hits: [SearchHit]
        do throws(IndexError) {
            // Every stored memory within the threshold, as every memory new in the batch is: with the 5 most
            // similar only, a trajectory merged or not by the batch it fell in, so that the memories an update
            // left depended on its batch size (hostile run 20).
            hits = try snapshot.tasks.search(
                taskVector, k: max(snapshot.tasks.count, 1), minimumScore: settings.duplicateTaskSimilarity,
                filter: .matching { catalog[$0]?.status == .active })
        } catch {
            throw .index(error)
        }
        // In order of task similarity, read a few at a time: the first that passes is the most similar, so more
        // are read only while hits fail. All of them can be every memory of a store of near-identical tasks, and a
        // read of them all made an update twice as slow.
        for start in stride(from: 0, to: hits.count, by: Self.mergeReadSize) {
            if let current = best, current.taskSimilarity >= hits[start].score { return best }
            let chunk = hits[start..<min(start + Self.mergeReadSize, hits.count)]
            try await candidates.read(chunk.map(\.id), from: backend)
            for hit in chunk {
                if let current = best, current.taskSimilarity >= hit.score { return best }
                guard let stored = candidates.memories[hit.id] else { continue }
                let other = recorder.working[stored.memory.id] ?? stored.memory
                guard other.status == .active else { continue }
                let contentSimilarity = actionSimilarity(
                    actions, recorder.working[other.id] == nil ? stored.actions : actionSet(of: other))
                guard contentSimilarity >= settings.duplicateContentSimilarity else { continue }
                // After a merge in this batch, the best trajectory may be one of the batch, not stored yet.
                var bestTrajectory: Trajectory?
                if let id = other.sourceTrajectoryIDs.first {
                    bestTrajectory = batchTrajectories.first { $0.id == id }
                    if bestTrajectory == nil { bestTrajectory = try await backend.trajectory(id: id) }
                }
                guard settings.isSuccess(bestTrajectory?.outcome) == success else { continue }
                if recorder.working[other.id] == nil { recorder.working[other.id] = other }
                return Duplicate(
                    memoryID: other.id, pendingIndex: nil, bestTrajectory: bestTrajectory, taskSimilarity: hit.score,
                    contentSimilarity: contentSimilarity)
            }
        }
        return best
    }

    /// Whether `trajectory` is a better example than `other`: success first, then reward, then fewer steps.
    private func isBetter(_ trajectory: Trajectory, than other: Trajectory?, settings: UpdateSettings) -> Bool {
        guard let other else { return true }
        func rank(_ t: Trajectory) -> (Int, Double, Int) {
            (settings.isSuccess(t.outcome) ? 1 : 0, t.outcome?.reward ?? 0, -t.steps.count)
        }
        return rank(trajectory) > rank(other)
    }
}

/// The actions of a memory, lowercased and with numbers generalized (`go to cabinet N`); its script's lines stand
/// in for the steps of a memory without steps.
func actionSet(of memory: Memory) -> Set<String> {
    let lines = memory.steps.map { $0.map(\.action) } ?? (memory.script ?? "").split(separator: "\n").map(String.init)
    return Set(
        lines.map { line in
            line.lowercased().split(whereSeparator: \.isWhitespace).map { $0.allSatisfy(\.isNumber) ? "N" : String($0) }
                .joined(separator: " ")
        })
}

/// Jaccard similarity of two memories' ``actionSet(of:)``; 1 when both are empty.
func actionSimilarity(_ first: Set<String>, _ second: Set<String>) -> Double {
    let union = first.union(second).count
    return union == 0 ? 1 : Double(first.intersection(second).count) / Double(union)
}

private func format(_ value: some BinaryFloatingPoint) -> String {
    String(format: "%.3f", Double(value))
}
