import Embeddings
import Foundation
import RetrievalCore

/// What a store holds, summarized so that two stores on different backends can be compared with `==`.
///
/// ``description`` and the JSON encoding give the counts of trajectories, memories, history rows and records of
/// applied tasks with the ``checksum``; ``MemoryStore/statistics()`` gives the counts of an open store.
public struct StoreDigest: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Stored trajectories.
    package var trajectories: Int
    /// Stored memories.
    package var memories: Int
    /// History rows.
    package var historyEntries: Int
    /// Records of the tasks updates applied (``AppliedTask``).
    package var appliedTasks: Int
    /// SHA-256 (hex) over every trajectory and every memory with its vectors, in ID order (memory numbers left
    /// out), then every history row in number order, then every record of an applied task in the order recorded.
    public var checksum: String

    /// The counts and the checksum in one line.
    public var description: String {
        "\(trajectories) trajectories, \(memories) memories, \(historyEntries) history rows, \(appliedTasks) applied "
            + "tasks, SHA-256 \(checksum)"
    }

    /// Computes the digest of a backend's store from one pass over its trajectories, memories and history.
    package init(of backend: any MemoryBackend) async throws(MemoryError) {
        // IDs are ordered by their bytes, as the database tells them apart: Swift's `String` takes IDs that are
        // one text in two Unicode forms ("e\u{301}" and "é") for one, and a dictionary of them left one out.
        var trajectories: [(id: String, record: Data)] = []
        try await backend.forEachTrajectory { (trajectory) throws(MemoryError) in
            trajectories.append((trajectory.id, try Self.canonical(trajectory)))
        }
        let contents = try await StoreContents(of: backend)
        var hash = SHA256()
        for trajectory in trajectories.sorted(by: { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }) {
            hash.update(trajectory.record)
        }
        for record in contents.memories.sorted(by: { $0.memory.id.utf8.lexicographicallyPrecedes($1.memory.id.utf8) }) {
            hash.update(try Self.canonical(record.memory))
            for vector in [record.taskVector, record.keywordVector ?? []] {
                hash.update(Data(vector.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
            }
        }
        var historyEntries = 0
        try await backend.forEachHistoryEntry { (entry) throws(MemoryError) in
            hash.update(try Self.canonical(entry))
            historyEntries += 1
        }
        let applied = try await backend.appliedTasks(among: nil)
        for task in applied { hash.update(try Self.canonical(task)) }
        self.trajectories = trajectories.count
        self.memories = contents.memories.count
        self.historyEntries = historyEntries
        appliedTasks = applied.count
        checksum = hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func canonical(_ value: some Encodable) throws(MemoryError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        do { return try encoder.encode(value) } catch {
            throw .encodingFailed(what: "A record to checksum", reason: "\(error)")
        }
    }
}

/// Every memory of a store with its vectors, in number order.
struct StoreContents {
    var memories: [MemoryRecord]

    init(of backend: any MemoryBackend) async throws(MemoryError) {
        var vectors: [(DocumentID, [Float], [Float]?)] = []
        _ = try await backend.forEachIndexEntry { entry in
            vectors.append((entry.number, entry.taskVector, entry.keywordVector))
        }
        var memories: [MemoryRecord] = []
        memories.reserveCapacity(vectors.count)
        for start in stride(from: 0, to: vectors.count, by: 1000) {
            let chunk = vectors[start..<min(start + 1000, vectors.count)]
            let found = try await backend.memories(numbered: chunk.map(\.0))
            for (number, task, keywords) in chunk {
                // A memory deleted between the two reads is left out, as if the copy had started later.
                guard let memory = found[number] else { continue }
                memories.append(MemoryRecord(memory: memory, taskVector: task, keywordVector: keywords))
            }
        }
        self.memories = memories
    }
}

/// Copies a memory store from one backend to another (SQLite to PostgreSQL and back); MemoryLocation's
/// `MemoryStore.copy(from:to:batchSize:)` calls it with the backends of two store locations.
package enum StoreMigration {
    /// Copies every trajectory and memory (with its counters, status, revision and vectors) into `destination`,
    /// which must be empty, in batches, then the whole history (numbers, dates and reverted entries kept, so
    /// `memp history` and `memp revert` work on the copy as on the source) and the record of fusion choices
    /// (``FusionTuning``), then verifies that both stores have the same ``StoreDigest``.
    ///
    /// The destination is marked as an incomplete copy (``MemoryBackend/beginCopy(from:)``) from the check that it
    /// is empty until the verification: a copy killed or failed half-way is refused by every open, and a second
    /// copy into the same store is refused at once.
    ///
    /// The source must not change during the copy; a write to it makes the verification fail.
    ///
    /// - Parameters:
    ///   - sourceName: The source's location, for the mark and messages.
    ///   - reason: Why, recorded on the batches while they are written (their history rows are then replaced by
    ///     the source's).
    /// - Returns: The digest both stores share.
    /// - Throws: ``ProceduralMemory/MemoryError/notAStore(path:)`` when the source holds no store;
    ///   ``ProceduralMemory/MemoryError/incompleteCopy(source:)`` when the source is a copy that did not finish;
    ///   ``ProceduralMemory/MemoryError/storeExists(path:)`` when the destination holds trajectories, memories,
    ///   history or a fusion record; ``ProceduralMemory/MemoryError/incompleteCopy(source:)`` when another copy into
    ///   it is under way or did not finish;
    ///   ``ProceduralMemory/MemoryError/copyEmbedderMismatch(destination:destinationEmbedder:sourceEmbedder:)`` when
    ///   it was initialized for another embedder; ``ProceduralMemory/MemoryError/database(reason:)`` when the
    ///   verification fails.
    @discardableResult
    package static func copy(
        from source: any MemoryBackend, sourceName: String, to destination: any MemoryBackend,
        destinationName: String, reason: String, batchSize: Int = 500
    ) async throws(MemoryError) -> StoreDigest {
        try await copy(
            from: source, sourceName: sourceName,
            toBackendMadeBy: { (_) throws(MemoryError) in .existing(destination) }, destinationName: destinationName,
            reason: reason, batchSize: batchSize)
    }

    /// Refuses a copy's destination that holds data, only reading it.
    ///
    /// Throws ``ProceduralMemory/MemoryError/storeExists(path:)`` when the store `backend` reaches holds trajectories,
    /// memories, history or a fusion record, as ``MemoryBackend/beginCopy(from:)`` does: a destination is checked
    /// before it is opened for writing, which upgrades an older schema (finding 210: a refused migration upgraded the
    /// store it refused). A database without a store holds nothing; a copy that did not finish is refused as
    /// ``ProceduralMemory/MemoryError/incompleteCopy(source:)``.
    package static func refuseHeldData(in backend: any MemoryBackend, destinationName: String)
        async throws(MemoryError)
    {
        guard let info = try await backend.storeInfo() else { return }
        if let copied = info.incompleteCopyOf { throw .incompleteCopy(source: copied) }
        let held = try await backend.statistics()
        guard held.trajectories == 0, held.memories == 0, held.historyEntries == 0,
            try await backend.fusionTuning().entries.isEmpty
        else { throw .storeExists(path: destinationName) }
    }

    /// The store a copy writes into, as ``copy(from:sourceName:toBackendMadeBy:destinationName:reason:batchSize:)``'s
    /// `makeDestination` gives it.
    package enum Destination {
        /// A store that was there already, or a database without a store: the copy gives it the source's settings
        /// if it has none, and marks it (``MemoryBackend/beginCopy(from:)``).
        case existing(any MemoryBackend)
        /// A store made for this copy, with the source's settings and marked as its copy already; `discard` closes
        /// and removes it, and is called when the copy fails.
        case made(any MemoryBackend, discard: @Sendable () -> Void)
    }

    /// Copies as ``copy(from:sourceName:to:destinationName:reason:batchSize:)`` does, into the backend that
    /// `makeDestination` opens or creates.
    ///
    /// `makeDestination` is given the source's settings, and called once the source has been read and checked: a
    /// source that holds no store, or a record that can't be copied, leaves nothing behind at the destination
    /// (hostile run 10: a migration from a PostgreSQL schema without a store left a SQLite database without settings
    /// that every later command refused). A store made for the copy is removed when the copy fails.
    ///
    /// - Throws: As ``copy(from:sourceName:to:destinationName:reason:batchSize:)``, and what `makeDestination`
    ///   throws.
    @discardableResult
    package static func copy(
        from source: any MemoryBackend, sourceName: String,
        toBackendMadeBy makeDestination: (StoreInfo) async throws(MemoryError) -> Destination, destinationName: String,
        reason: String, batchSize: Int = 500
    ) async throws(MemoryError) -> StoreDigest {
        guard batchSize > 0 else {
            throw .invalidParameter(name: "batchSize", value: Double(batchSize), expected: "at least 1")
        }
        guard let info = try await source.storeInfo() else { throw .notAStore(path: sourceName) }
        // Hostile run 20: a copy of half a store was an ordinary store, verified and without the mark.
        if let copied = info.incompleteCopyOf { throw .incompleteCopy(source: copied) }
        // Read, and checked, before anything is written: a memory no store could hold (hostile run 8: a NaN date
        // failed the copy half-way with "NOT NULL constraint failed: memory.createdAt", naming no memory).
        var trajectories: [Trajectory] = []
        try await source.forEachTrajectory { trajectory in trajectories.append(trajectory) }
        let memories = try await StoreContents(of: source).memories
        let history = try await source.history(memoryID: nil)
        for record in memories {
            guard let fault = record.memory.impossibleState else { continue }
            throw .database(
                reason: "\(sourceName): memory \(record.memory.id) is in an impossible state (\(fault)), so it can't "
                    + "be copied; run memp verify on the source")
        }
        // A record over the limits every store shares could be in a store written before they were checked (or a
        // SQLite store, which has none of PostgreSQL's index limits of its own): named before anything is written.
        for trajectory in trajectories {
            guard let problem = TextLimits.storeLimitProblem(of: trajectory) else { continue }
            throw .database(
                reason: "\(sourceName): trajectory \(Self.shown(trajectory.id)) can't be copied, field "
                    + "\(problem.field): \(problem.reason)")
        }
        for record in memories {
            guard let problem = TextLimits.storeLimitProblem(of: record.memory) else { continue }
            throw .database(
                reason: "\(sourceName): memory \(Self.shown(record.memory.id)) can't be copied, field "
                    + "\(problem.field): \(problem.reason)")
        }
        switch try await makeDestination(info) {
        case .existing(let destination):
            if let existing = try await destination.storeInfo() {
                guard existing.embedderID == info.embedderID, existing.dimension == info.dimension else {
                    // Hostile run 20: "the store holds vectors from …", of an empty store, with advice for an open.
                    throw .copyEmbedderMismatch(
                        destination: destinationName, destinationEmbedder: existing.embedderID,
                        sourceEmbedder: info.embedderID)
                }
            } else {
                try await destination.initialize(
                    embedderID: info.embedderID, dimension: info.dimension, configuration: info.embedderConfiguration)
            }
            do throws(MemoryError) {
                try await destination.beginCopy(from: sourceName)
            } catch .storeExists {
                throw .storeExists(path: destinationName)
            }
            return try await fill(
                destination, from: source, trajectories: trajectories, memories: memories, history: history,
                destinationName: destinationName, removedOnFailure: false, reason: reason, batchSize: batchSize)
        case .made(let destination, let discard):
            do throws(MemoryError) {
                return try await fill(
                    destination, from: source, trajectories: trajectories, memories: memories, history: history,
                    destinationName: destinationName, removedOnFailure: true, reason: reason, batchSize: batchSize)
            } catch {
                discard()
                throw error
            }
        }
    }

    /// Writes the records read from `source` into `destination`, marked as its copy, checks that both stores have
    /// the same digest, and removes the mark.
    ///
    /// `removedOnFailure` says whether the caller removes a destination the copy fails in, for the message.
    private static func fill(
        _ destination: any MemoryBackend, from source: any MemoryBackend, trajectories: [Trajectory],
        memories: [MemoryRecord], history: [HistoryEntry], destinationName: String, removedOnFailure: Bool,
        reason: String, batchSize: Int
    ) async throws(MemoryError) -> StoreDigest {
        for start in stride(from: 0, to: trajectories.count, by: batchSize) {
            _ = try await destination.write(
                WriteBatch(
                    trajectories: Array(trajectories[start..<min(start + batchSize, trajectories.count)]),
                    memories: [], replacing: false, policy: "migrate", reason: reason))
        }
        for start in stride(from: 0, to: memories.count, by: batchSize) {
            _ = try await destination.write(
                WriteBatch(
                    trajectories: [], memories: Array(memories[start..<min(start + batchSize, memories.count)]),
                    replacing: false, policy: "migrate", reason: reason))
        }
        try await destination.replaceHistory(with: history)
        let applied = try await source.appliedTasks(among: nil)
        for start in stride(from: 0, to: applied.count, by: batchSize) {
            try await destination.transaction(commit: true) { (transaction) throws(MemoryError) in
                try await transaction.recordAppliedTasks(Array(applied[start..<min(start + batchSize, applied.count)]))
            }
        }
        let tuning = try await source.fusionTuning()
        if !tuning.entries.isEmpty {
            let existing = try await destination.fusionTuning()
            try await destination.saveFusionTuning(tuning, expectedEntries: existing.entries.count)
        }
        let copied = try await StoreDigest(of: destination)
        let original = try await StoreDigest(of: source)
        guard copied == original else {
            // Hostile run 20: "remove it", of a copy already removed, and nothing of the likeliest cause.
            throw .database(
                reason: "the copy in \(destinationName) does not match its source (source \(original), copy "
                    + "\(copied)), so it "
                    + (removedOnFailure ? "was removed" : "stays marked as an incomplete copy: remove it")
                    + ". The source must not change during a copy: migrate again when nothing writes to it")
        }
        try await destination.endCopy()
        return copied
    }

    /// An ID as a message shows it: its first 64 characters and its length when it is longer.
    private static func shown(_ id: String) -> String {
        id.count <= 64 ? id : "\(id.prefix(64))… (\(id.utf8.count) bytes)"
    }
}
