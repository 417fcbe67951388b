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
}

extension MemoryStore {
    /// Everything the store records about the memory with this ID.
    ///
    /// - Throws: ``MemoryError/unknownID(_:)`` when no memory has this ID, or what the backend throws.
    package func details(ofMemory id: String) async throws(MemoryError) -> MemoryDetails {
        guard let memory = try await memory(id: id) else { throw .unknownID(id) }
        return MemoryDetails(
            memory: memory, sourceOutcome: try await sourceOutcome(of: memory),
            historyEntries: try await backend.historyCount(memoryID: id))
    }
}
