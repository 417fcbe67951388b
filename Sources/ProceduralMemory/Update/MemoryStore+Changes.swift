import Foundation
import RetrievalCore

extension MemoryStore {
    /// Writes a change set through the backend and applies what it changed to the writer's snapshot.
    func apply(_ set: ChangeSet, to snapshot: inout IndexSnapshot) async throws(MemoryError) -> ChangeResult {
        let result = try await backend.apply(set)
        let changedNumbers = Set((result.reindexed + result.recataloged).map(\.number))
        let deleted = Set(result.deleted)
        snapshot.remove(result.write.removed + result.deleted + result.reindexed.map(\.number))
        let written = Dictionary(set.batch.trajectories.map { ($0.id, $0) }) { _, last in last }
        var entries: [IndexEntry] = []
        for record in set.batch.memories {
            guard let number = result.write.numbers[record.memory.id], !changedNumbers.contains(number),
                !deleted.contains(number)
            else { continue }
            entries.append(
                IndexEntry(
                    number: number, task: record.memory.task, keywords: record.memory.keywords,
                    taskVector: record.taskVector, keywordVector: record.keywordVector,
                    catalogEntry: try await catalogEntry(of: record.memory, writtenWith: written),
                    procedureText: IndexEntry.procedureText(script: record.memory.script, steps: record.memory.steps)))
        }
        do throws(IndexError) {
            for entry in entries + result.reindexed { try snapshot.insert(entry) }
            try snapshot.recatalog(result.recataloged)
        } catch {
            throw .index(error)
        }
        snapshot.generation = result.generation
        return result
    }

    /// The catalog entry of a memory just written, its source outcome combined from the trajectories written with
    /// it (`written`, by ID) or else the stored ones: what the backend's ``MemoryBackend/catalog()`` reports for it.
    func catalogEntry(of memory: Memory, writtenWith written: [String: Trajectory]) async throws(MemoryError)
        -> CatalogEntry
    {
        var outcomes: [Outcome] = []
        for id in memory.sourceTrajectoryIDs {
            var trajectory = written[id]
            if trajectory == nil { trajectory = try await backend.trajectory(id: id) }
            if let outcome = trajectory?.outcome { outcomes.append(outcome) }
        }
        return CatalogEntry(
            source: memory.source, labels: memory.labels, status: memory.status,
            sourceOutcome: Outcome.combining(outcomes))
    }

    /// The vectors of a memory: its task embedding and the mean embedding of its keywords.
    func vectors(for memory: Memory) async throws(MemoryError) -> MemoryVectors {
        let embedded = try await embed([memory.task] + memory.keywords)
        return MemoryVectors(
            task: embedded[0], keywords: memory.keywords.isEmpty ? nil : meanVector(Array(embedded.dropFirst())))
    }
}

/// Memories being changed by one writer, each change recorded with the revision it started from.
struct ChangeRecorder {
    var working: [String: Memory] = [:]
    var changes: [MemoryChange] = []
    let date: Date

    /// Changes a memory already in ``working``, recording the change; returns the memory after it.
    @discardableResult
    mutating func change(
        _ id: String, _ action: HistoryAction, policy: String, reason: String, vectors: MemoryVectors? = nil,
        _ body: (inout Memory) -> Void
    ) -> Memory? {
        guard var memory = working[id] else { return nil }
        let expected = memory.revision
        body(&memory)
        memory.revision = expected + 1
        memory.updatedAt = date
        working[id] = memory
        changes.append(
            MemoryChange(
                memoryID: id, action: action, after: memory, vectors: vectors, expectedRevision: expected,
                policy: policy, reason: reason))
        return memory
    }

    /// Counts uses in the working copies as the backend's in-place increments will (``ChangeSet/increments``),
    /// deprecations included, without recording changes, so that later changes of the same memories expect the
    /// revision the increments leave.
    mutating func countUses(_ uses: [CounterIncrement], settings: UpdateSettings) {
        for use in uses {
            working[use.memoryID] = working[use.memoryID]?.counting(use, settings: settings, date: date).after
        }
    }
}
