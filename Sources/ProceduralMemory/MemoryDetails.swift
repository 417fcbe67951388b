/// Everything a store records about one memory: the memory itself, how its source trajectories ended, and how many
/// history entries it has (what `memp show` prints; the library's reads are ``MemoryStore/memory(id:)``,
/// ``MemoryStore/history(memoryID:)`` and ``MemoryStore/trajectory(id:)``).
package struct MemoryDetails: Sendable, Equatable, Codable {
    /// The memory: task, script or steps, counters, status, labels and provenance.
    package var memory: Memory
    /// How its source trajectories ended, combined as a lookup reports it (``MemoryHit/sourceOutcome``); `nil` when
    /// none recorded an outcome.
    package var sourceOutcome: Outcome?
    /// How many history entries concern it (``MemoryStore/history(memoryID:)``).
    package var historyEntries: Int

    /// JSON calls the source outcome `outcome`, as lookup hits and `GET /v1/memories/{id}` do.
    private enum CodingKeys: String, CodingKey {
        case memory
        case sourceOutcome = "outcome"
        case historyEntries
    }
}

extension MemoryStore {
    /// Everything the store records about the memory with this ID.
    ///
    /// - Throws: ``MemoryError/notAMemory(trajectoryID:memoryIDs:)`` when the ID is a stored trajectory's,
    ///   ``MemoryError/unknownID(_:)`` when nothing has it, or what the backend throws.
    package func details(ofMemory id: String) async throws(MemoryError) -> MemoryDetails {
        guard let memory = try await memory(id: id) else { throw try await missingMemory(id) }
        return MemoryDetails(
            memory: memory, sourceOutcome: try await sourceOutcome(of: memory),
            historyEntries: try await backend.historyCount(memoryID: id))
    }

    /// Why no memory has `id`: ``MemoryError/notAMemory(trajectoryID:memoryIDs:)`` when a stored trajectory has it,
    /// else ``MemoryError/unknownID(_:)``.
    ///
    /// An adjustment stores a failed attempt as a source of the memory it rewrote, and a merge stores a trajectory
    /// inside another memory, so "no memory or trajectory has this ID" would be wrong for their IDs.
    package func missingMemory(_ id: String) async throws(MemoryError) -> MemoryError {
        guard try await backend.trajectory(id: id) != nil else { return .unknownID(id) }
        // A transaction rolled back, since the backend's reads outside one don't select by source.
        let holders = try await backend.transaction(commit: false) { (transaction) throws(MemoryError) in
            try await transaction.memories(.sourcedFrom([id])).map(\.memory.id)
        }
        return .notAMemory(trajectoryID: id, memoryIDs: holders.sorted())
    }
}
