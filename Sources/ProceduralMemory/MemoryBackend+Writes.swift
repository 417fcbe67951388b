import Foundation
import RetrievalCore

// What every write means, once for all backends: which history rows it records, which memories it leaves without a
// source trajectory and deletes, when feedback deprecates a memory, and which revision a change expects. The
// backends only run the row operations of a ``MemoryTransaction`` that these rules ask for.

extension MemoryBackend {
    /// Writes a batch in one transaction and returns what changed.
    ///
    /// A stored trajectory is overwritten in place when the batch is ``WriteBatch/replacing``; a memory built only
    /// from trajectories the batch replaces, and not rewritten by it, is deleted. Each memory written gets a history
    /// row (``HistoryAction/add``, or ``HistoryAction/replace`` with the memory before), each memory deleted a
    /// ``HistoryAction/delete`` row.
    ///
    /// - Throws: ``MemoryError/alreadyStored(_:id:)`` when an ID is stored already and the batch is not replacing;
    ///   ``MemoryError/missingSourceTrajectory(memoryID:trajectoryID:)`` when a memory names a source trajectory
    ///   that is neither stored nor in the batch (nothing is written).
    package func write(_ batch: WriteBatch) async throws(MemoryError) -> WriteResult {
        let date = Date()
        return try await transaction(commit: true) { (transaction) throws(MemoryError) -> WriteResult in
            let generation = try await transaction.advanceGeneration()
            return try await StoreWrites.write(batch, transaction, generation: generation, date: date)
        }
    }

    /// Deletes exactly the trajectories and memories in `scope`, the memories left with no source trajectory, and
    /// the trajectories that only deleted memories held as sources, recording a ``HistoryAction/delete`` row per
    /// deleted memory; a memory that loses some of its source trajectories and keeps others gets a new revision and
    /// a ``HistoryAction/detach`` row.
    ///
    /// Hostile run 22: such a memory changed with no history row and no new revision, so that no earlier entry of
    /// it could be reverted (finding 211); and the trajectories merged into a deleted memory stayed stored, reached
    /// by nothing, and refused their IDs to later imports (finding 214).
    ///
    /// With `dryRun`, the same transaction runs and is rolled back: the result says what would be deleted and
    /// nothing changes.
    ///
    /// - Throws: ``MemoryError/unknownID(_:)`` when an ID scope matches nothing.
    package func delete(_ scope: DeleteScope, dryRun: Bool = false) async throws(MemoryError) -> DeleteResult {
        let date = Date()
        return try await transaction(commit: !dryRun) { (transaction) throws(MemoryError) -> DeleteResult in
            // The store's settings first, so that the selection below sees every committed write.
            let current = try await transaction.generation(locking: true)
            let trajectories = try await transaction.trajectoryIDs(in: scope)
            let memories = try await transaction.memories(.scope(scope))
            guard !trajectories.isEmpty || !memories.isEmpty else {
                if case .id(let id) = scope { throw .unknownID(id) }
                return DeleteResult(trajectories: 0, memories: [], numbers: [], generation: current)
            }
            let generation = try await transaction.advanceGeneration()
            let scoped = Set(memories.map(\.number))
            let touched =
                trajectories.isEmpty
                ? [] : try await transaction.memories(.sourcedFrom(trajectories)).filter { !scoped.contains($0.number) }
            try await transaction.deleteTrajectories(ids: trajectories)
            let reason = "delete \(scope)"
            var deleted = try await StoreWrites.delete(
                memories, policy: "delete", reason: reason, generation: generation, date: date, transaction)
            let remaining = try await transaction.storedTrajectoryIDs(
                among: Array(Set(touched.flatMap(\.memory.sourceTrajectoryIDs))))
            deleted += try await StoreWrites.delete(
                touched.filter { !$0.memory.sourceTrajectoryIDs.contains(where: remaining.contains) },
                policy: "delete", reason: reason + " (its source trajectories were deleted)", generation: generation,
                date: date, transaction)
            var detached: [String] = []
            for (number, memory) in touched where memory.sourceTrajectoryIDs.contains(where: remaining.contains) {
                var after = memory
                after.sourceTrajectoryIDs.removeAll { !remaining.contains($0) }
                after.revision += 1
                after.updatedAt = date
                try await transaction.updateMemory(number, to: after, vectors: nil)
                let lost = memory.sourceTrajectoryIDs.filter { !remaining.contains($0) }
                _ = try await transaction.appendHistory(
                    [
                        HistoryEntry(
                            number: 0, memoryID: memory.id, action: .detach, policy: "delete",
                            reason: reason + " (source trajectories \(lost.joined(separator: ", ")) were deleted)",
                            before: memory, after: after, date: date)
                    ], generation: generation)
                detached.append(memory.id)
            }
            // Trajectories merged into a deleted memory, which no memory left holds as a source.
            let gone = Set(trajectories)
            let heldByDeleted = Array(Set(deleted.flatMap(\.memory.sourceTrajectoryIDs)).subtracting(gone))
            var stranded: [String] = []
            if !heldByDeleted.isEmpty {
                let stillHeld = Set(
                    try await transaction.memories(.sourcedFrom(heldByDeleted)).flatMap(\.memory.sourceTrajectoryIDs))
                stranded = Array(
                    try await transaction.storedTrajectoryIDs(among: heldByDeleted.filter { !stillHeld.contains($0) })
                )
                .sorted()
                try await transaction.deleteTrajectories(ids: stranded)
            }
            var result = DeleteResult(
                trajectories: trajectories.count + stranded.count, memories: deleted.map(\.memory.id),
                numbers: deleted.map(\.number), generation: generation)
            result.detached = detached
            return result
        }
    }

    /// Writes new trajectories and memories, then counter increments, then changes of stored memories, in one
    /// transaction, recording a history row per change; see ``ChangeSet``.
    ///
    /// - Throws: ``MemoryError/revisionConflict(id:expected:actual:)`` when a memory's revision is not the one its
    ///   change expects; ``MemoryError/unknownID(_:)`` for a change or increment of a memory that is not stored
    ///   (a change that adds a memory carries its vectors); the errors of ``CounterIncrement/validate(_:)`` and
    ///   ``UpdateSettings/validate()``; ``MemoryError/missingSourceTrajectory(memoryID:trajectoryID:)``;
    ///   ``MemoryError/alreadyApplied(id:path:line:)`` for a task of ``ChangeSet/appliedTasks`` recorded already.
    ///   Nothing is written then.
    package func apply(_ set: ChangeSet) async throws(MemoryError) -> ChangeResult {
        try set.settings.validate()
        try CounterIncrement.validate(set.increments, repeatsAllowed: true)
        let date = Date()
        return try await transaction(commit: true) { (transaction) throws(MemoryError) -> ChangeResult in
            let generation = try await transaction.advanceGeneration()
            // Checked while the transaction holds the store's settings, so that of two updates applying one task
            // at once (two resumes of one file, in two processes), the later finds the earlier's record.
            if !set.appliedTasks.isEmpty {
                let recorded = try await transaction.appliedTaskIDs(among: set.appliedTasks.map(\.trajectoryID))
                if let task = set.appliedTasks.first(where: { recorded.contains($0.trajectoryID) }) {
                    throw .alreadyApplied(id: task.trajectoryID, path: task.source, line: task.line ?? 0)
                }
                try await transaction.recordAppliedTasks(set.appliedTasks)
            }
            let write =
                set.batch.trajectories.isEmpty && set.batch.memories.isEmpty
                ? WriteResult(numbers: [:], removed: [], replacedTrajectories: 0, generation: generation)
                : try await StoreWrites.write(set.batch, transaction, generation: generation, date: date)
            // Every memory the set touches is held at once, in number order (the order feedback holds them in), so
            // that a change set and concurrent feedback can't deadlock on each other's rows.
            let touched = Array(Set(set.increments.map(\.memoryID) + set.changes.map(\.memoryID))).sorted()
            if !touched.isEmpty { _ = try await transaction.memories(.ids(touched)) }
            // The transaction advanced the generation, so deprecations are recorded under it.
            let feedback = try await StoreWrites.addCounters(
                set.increments, settings: set.settings, reason: set.batch.reason, date: date, current: generation,
                transaction, deprecationGeneration: { () throws(MemoryError) in generation })
            var changed = feedback?.deprecated ?? []
            var reindexed = Set<DocumentID>()
            var deleted: [DocumentID] = []
            var historyNumbers: [Int64] = []
            for change in set.changes {
                let current = try await transaction.memories(.ids([change.memoryID])).first
                guard current?.memory.revision == change.expectedRevision else {
                    throw .revisionConflict(
                        id: change.memoryID, expected: change.expectedRevision, actual: current?.memory.revision)
                }
                switch (current, change.after) {
                case (nil, nil):
                    throw .unknownID(change.memoryID)
                case (let current?, nil):
                    try await transaction.deleteMemories([current.number])
                    deleted.append(current.number)
                    changed.removeAll { $0 == current.number }
                    reindexed.remove(current.number)
                case (nil, let after?):
                    guard let vectors = change.vectors else {
                        throw .unknownID(change.memoryID)
                    }
                    try StoreWrites.checkTaskVector(vectors.task, of: after.id)
                    try await StoreWrites.checkSources(of: [after], transaction)
                    let inserted = try await transaction.insertMemories([
                        MemoryRecord(memory: after, taskVector: vectors.task, keywordVector: vectors.keywords)
                    ])
                    changed += inserted
                    reindexed.formUnion(inserted)
                case (let current?, let after?):
                    if let vectors = change.vectors { try StoreWrites.checkTaskVector(vectors.task, of: after.id) }
                    try await StoreWrites.checkSources(of: [after], transaction)
                    try await transaction.updateMemory(current.number, to: after, vectors: change.vectors)
                    if !changed.contains(current.number) { changed.append(current.number) }
                    if change.vectors != nil || !IndexEntry.indexSameText(current.memory, after) {
                        reindexed.insert(current.number)
                    }
                }
                historyNumbers += try await transaction.appendHistory(
                    [
                        HistoryEntry(
                            number: 0, memoryID: change.memoryID, action: change.action, policy: change.policy,
                            reason: change.reason, before: current?.memory, after: change.after, date: date,
                            reverts: change.reverts)
                    ], generation: generation)
            }
            let entries = try await transaction.indexEntries(numbers: changed)
            return ChangeResult(
                write: write, reindexed: entries.filter { reindexed.contains($0.number) },
                recataloged: entries.filter { !reindexed.contains($0.number) }, deleted: deleted,
                historyNumbers: historyNumbers, feedback: feedback?.changes ?? [], generation: generation)
        }
    }

    /// Adds to memories' counters and deprecates those whose counters cross the thresholds, in one transaction,
    /// recording a ``HistoryAction/feedback`` row per memory and a ``HistoryAction/deprecate`` row per deprecation.
    ///
    /// The memories are held from the read of their counters to the write, so concurrent calls from any number of
    /// agents and processes lose no increment and never conflict; the deprecation decision is made on the counters
    /// after the increment, in the same transaction. Feedback that deprecates nothing leaves the generation (and the
    /// store's settings) alone, so agents reporting on different memories don't wait for each other; when a memory
    /// is to be deprecated, the transaction writes nothing and runs again holding the store's settings first, the
    /// order every writer takes them in.
    ///
    /// - Parameters:
    ///   - increments: The uses to add, each memory at most once; see ``CounterIncrement/validate(_:)``.
    ///   - settings: The deprecation thresholds.
    ///   - reason: Why, recorded in the history (each row adds the counts).
    /// - Throws: ``MemoryError/unknownID(_:)`` for a memory that is not stored, ``MemoryError/counterLimit(id:counter:current:limit:)``
    ///   for a counter that would pass ``Memory/maximumCount`` (nothing is written);
    ///   the errors of ``CounterIncrement/validate(_:)`` and ``UpdateSettings/validate()``.
    package func recordFeedback(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String
    ) async throws(MemoryError) -> FeedbackResult {
        try settings.validate()
        try CounterIncrement.validate(increments)
        let date = Date()
        for holdingStore in [false, true] {
            let attempt = try await transaction(commit: true) { (transaction) throws(MemoryError) -> FeedbackResult? in
                let current = try await transaction.generation(locking: holdingStore)
                guard
                    let counted = try await StoreWrites.addCounters(
                        increments, settings: settings, reason: reason, date: date, current: current, transaction,
                        deprecationGeneration: { () throws(MemoryError) -> UInt64? in
                            holdingStore ? try await transaction.advanceGeneration() : nil
                        })
                else { return nil }
                return FeedbackResult(
                    changes: counted.changes,
                    deprecated: try await transaction.indexEntries(numbers: counted.deprecated),
                    generation: counted.generation ?? current)
            }
            if let attempt { return attempt }
        }
        throw .database(reason: "feedback holding the store's settings did not complete")
    }
}

/// The steps the writes of ``MemoryBackend`` share.
enum StoreWrites {
    /// Checks that a memory's task vector can be indexed by cosine (``RetrievalCore/hasCosineDirection(_:)``),
    /// before anything of a write is stored: the indexes refuse any other, and a memory stored with one made every
    /// later open of the store fail.
    ///
    /// - Throws: ``MemoryError/nonFiniteVector(memoryID:field:position:)``,
    ///   ``MemoryError/vectorWithoutDirection(memoryID:)``.
    static func checkTaskVector(_ vector: [Float], of memoryID: String) throws(MemoryError) {
        guard !hasCosineDirection(vector) else { return }
        if let position = vector.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteVector(memoryID: memoryID, field: "taskVector", position: position)
        }
        throw .vectorWithoutDirection(memoryID: memoryID)
    }

    /// Writes a batch inside a transaction that advanced the generation to `generation`; see
    /// ``MemoryBackend/write(_:)``.
    static func write(
        _ batch: WriteBatch, _ transaction: any MemoryTransaction, generation: UInt64, date: Date
    ) async throws(MemoryError) -> WriteResult {
        var replaced = Set<String>()
        // Memories built from a replaced trajectory, checked for orphans at the end.
        var touched: [DocumentID: Memory] = [:]
        if !batch.trajectories.isEmpty {
            let ids = batch.trajectories.map(\.id)
            replaced = try await transaction.storedTrajectoryIDs(among: ids)
            if let first = ids.first(where: replaced.contains), !batch.replacing {
                throw .alreadyStored(.trajectory, id: first)
            }
            if !replaced.isEmpty {
                for (number, memory) in try await transaction.memories(.sourcedFrom(replaced.sorted())) {
                    touched[number] = memory
                }
            }
            try await transaction.storeTrajectories(batch.trajectories)
        }
        var removed: [DocumentID] = []
        var numbers: [String: DocumentID] = [:]
        if !batch.memories.isEmpty {
            var before: [String: Memory] = [:]
            for (number, memory) in try await transaction.memories(.ids(batch.memories.map(\.memory.id))) {
                guard batch.replacing else { throw .alreadyStored(.memory, id: memory.id) }
                before[memory.id] = memory
                removed.append(number)
                touched[number] = nil
            }
            for record in batch.memories { try checkTaskVector(record.taskVector, of: record.memory.id) }
            try await checkSources(of: batch.memories.map(\.memory), transaction)
            try await transaction.deleteMemories(removed)
            let inserted = try await transaction.insertMemories(batch.memories)
            for (record, number) in zip(batch.memories, inserted) { numbers[record.memory.id] = number }
            _ = try await transaction.appendHistory(
                batch.memories.map { record in
                    let previous = before[record.memory.id]
                    return HistoryEntry(
                        number: 0, memoryID: record.memory.id, action: previous == nil ? .add : .replace,
                        policy: batch.policy, reason: batch.reason, before: previous, after: record.memory, date: date)
                }, generation: generation)
        }
        let orphans = touched.filter { _, memory in memory.sourceTrajectoryIDs.allSatisfy(replaced.contains) }
            .sorted { $0.key < $1.key }.map { (number: $0.key, memory: $0.value) }
        removed += try await delete(
            orphans, policy: batch.policy, reason: batch.reason + " (its source trajectories were replaced)",
            generation: generation, date: date, transaction
        ).map(\.number)
        return WriteResult(
            numbers: numbers, removed: removed, replacedTrajectories: replaced.count, generation: generation)
    }

    /// Deletes memories, recording a ``HistoryAction/delete`` row for each; returns them.
    static func delete(
        _ memories: [(number: DocumentID, memory: Memory)], policy: String, reason: String, generation: UInt64,
        date: Date, _ transaction: any MemoryTransaction
    ) async throws(MemoryError) -> [(number: DocumentID, memory: Memory)] {
        guard !memories.isEmpty else { return [] }
        try await transaction.deleteMemories(memories.map(\.number))
        _ = try await transaction.appendHistory(
            memories.map { _, memory in
                HistoryEntry(
                    number: 0, memoryID: memory.id, action: .delete, policy: policy, reason: reason, before: memory,
                    after: nil, date: date)
            }, generation: generation)
        return memories
    }

    /// Throws when a memory names a source trajectory that is not stored.
    static func checkSources(of memories: [Memory], _ transaction: any MemoryTransaction) async throws(MemoryError) {
        let stored = try await transaction.storedTrajectoryIDs(
            among: Array(Set(memories.flatMap(\.sourceTrajectoryIDs))))
        for memory in memories {
            if let missing = memory.sourceTrajectoryIDs.first(where: { !stored.contains($0) }) {
                throw .missingSourceTrajectory(memoryID: memory.id, trajectoryID: missing)
            }
        }
    }

    /// Adds counter increments inside a transaction, in order, deprecating where the thresholds are crossed, with
    /// their history rows: one feedback row per increment (``CounterIncrement/reason``, or `reason` when it has
    /// none), and a deprecation row where one crosses them.
    ///
    /// A memory may have several increments; each adds to what the one before it left, as outcomes reported one
    /// after the other would.
    ///
    /// - Parameters:
    ///   - current: The generation the feedback rows are recorded under when nothing is deprecated.
    ///   - deprecationGeneration: Called once, with the memories held, when a memory is to be deprecated: the
    ///     generation the rows are recorded under, or `nil` to write nothing and return `nil`.
    /// - Returns: The counters of each memory after all its increments, in the order of their first increment; the
    ///   numbers of the memories deprecated; and the generation a deprecation was recorded under (`nil` when there
    ///   was none).
    static func addCounters(
        _ increments: [CounterIncrement], settings: UpdateSettings, reason: String, date: Date, current: UInt64,
        _ transaction: any MemoryTransaction, deprecationGeneration: () async throws(MemoryError) -> UInt64?
    ) async throws(MemoryError) -> (changes: [FeedbackChange], deprecated: [DocumentID], generation: UInt64?)? {
        guard !increments.isEmpty else { return ([], [], nil) }
        var seen = Set<String>()
        let order = increments.map(\.memoryID).filter { seen.insert($0).inserted }
        var held: [String: (number: DocumentID, memory: Memory)] = [:]
        for (number, memory) in try await transaction.memories(.ids(order)) {
            held[memory.id] = (number, memory)
        }
        // Each increment's counts (`counted`) and, where it crosses the thresholds, the deprecation after it.
        var steps: [(number: DocumentID, before: Memory, counted: Memory, after: Memory, reason: String)] = []
        for increment in increments {
            guard let (number, before) = held[increment.memoryID] else { throw .unknownID(increment.memoryID) }
            for (counter, value, added) in [
                ("hitCount", before.hitCount, increment.hits),
                ("successCount", before.successCount, increment.successes),
            ] where value > Memory.maximumCount - added {
                throw .counterLimit(id: before.id, counter: counter, current: value, limit: Memory.maximumCount)
            }
            let (counted, after) = before.counting(increment, settings: settings, date: date)
            steps.append((number, before, counted, after, increment.historyReason(increment.reason ?? reason)))
            held[increment.memoryID] = (number, after)
        }
        var generation: UInt64?
        if steps.contains(where: { $0.after.status != $0.counted.status }) {
            guard let given = try await deprecationGeneration() else { return nil }
            generation = given
        }
        var deprecated: [DocumentID] = []
        var history: [HistoryEntry] = []
        for step in steps {
            history.append(
                HistoryEntry(
                    number: 0, memoryID: step.before.id, action: .feedback, policy: "feedback", reason: step.reason,
                    before: step.before, after: step.counted, date: date))
            guard step.after.status != step.counted.status else { continue }
            history.append(
                HistoryEntry(
                    number: 0, memoryID: step.before.id, action: .deprecate, policy: "feedback",
                    reason: settings.deprecationReason(hits: step.after.hitCount, successes: step.after.successCount),
                    before: step.counted, after: step.after, date: date))
            deprecated.append(step.number)
        }
        var changes: [FeedbackChange] = []
        for id in order {
            guard let (number, after) = held[id] else { continue }
            try await transaction.updateCounters(number, to: after)
            changes.append(
                FeedbackChange(
                    memoryID: id, hitCount: after.hitCount, successCount: after.successCount,
                    deprecated: deprecated.contains(number)))
        }
        _ = try await transaction.appendHistory(history, generation: generation ?? current)
        return (changes, deprecated, generation)
    }
}
