import Foundation
import KeywordIndex
import RetrievalCore

/// Where a memory store keeps its source of truth: trajectories, memories, their vectors and the history.
///
/// A backend stores and reads rows; it decides nothing. What a write means (history rows, orphaned memories,
/// deprecation, revision checks) is decided once, in ProceduralMemory (`MemoryBackend+Writes.swift`), from the row
/// operations of a ``MemoryTransaction``, so every backend behaves alike. The index caches of a ``MemoryStore`` are
/// rebuilt from a backend, so a backend must keep everything. `SQLiteBackend` (SQLiteMemory) is the embedded
/// implementation and `PostgresBackend` (PostgresMemory) the server one; MemoryLocation picks one from where a store
/// lives. Every write runs in one transaction and advances the ``StoreInfo/generation``, which is how index caches
/// detect that they are stale.
package protocol MemoryBackend: Sendable {
    /// The store's settings, or `nil` when the backend holds no store yet.
    func storeInfo() async throws(MemoryError) -> StoreInfo?

    /// Creates the store's settings in an empty backend.
    ///
    /// - Parameter configuration: How to rebuild the embedder when the store is opened, if known.
    /// - Throws: ``MemoryError/storeExists(path:)`` when the backend already holds a store.
    func initialize(
        embedderID: String, dimension: Int, configuration: EmbedderConfiguration?
    ) async throws(MemoryError)

    /// Marks the store as the destination of a copy from `source` that is under way, in one transaction that first
    /// checks it holds nothing: no trajectory, memory, history row or fusion record, and no other copy's mark.
    ///
    /// A store so marked is refused by every open (``MemoryError/incompleteCopy(source:)``) until ``endCopy()``:
    /// a copy killed or failed half-way leaves a store that must not pass for its source.
    ///
    /// - Throws: ``MemoryError/storeExists(path:)`` when the store holds something;
    ///   ``MemoryError/incompleteCopy(source:)`` when another copy marked it (nothing is written).
    func beginCopy(from source: String) async throws(MemoryError)

    /// Removes the mark of ``beginCopy(from:)`` once the copy is verified.
    func endCopy() async throws(MemoryError)

    /// Runs `body` in one transaction, committed when `body` returns and `commit` is true, rolled back when it
    /// throws or `commit` is false (a dry run).
    ///
    /// The transaction sees every write committed before it started; transactions of one backend object run one at
    /// a time.
    func transaction<Result: Sendable>(
        commit: Bool, _ body: (any MemoryTransaction) async throws(MemoryError) -> Result
    ) async throws(MemoryError) -> Result

    /// The IDs among `ids` that belong to stored trajectories.
    func existingTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String>

    /// The memories with these numbers (the ``DocumentID``s of the index caches), with those no longer stored
    /// left out.
    func memories(numbered numbers: [DocumentID]) async throws(MemoryError) -> [DocumentID: Memory]

    /// The memory with this ID, if any.
    func memory(id: String) async throws(MemoryError) -> Memory?

    /// The trajectory with this ID, if any.
    func trajectory(id: String) async throws(MemoryError) -> Trajectory?

    /// The records of the tasks among `ids` (trajectory IDs) that updates applied, or of every one when `ids` is
    /// `nil`, in the order they were recorded.
    func appliedTasks(among ids: [String]?) async throws(MemoryError) -> [AppliedTask]

    /// How the stored trajectories among `ids` ended, in one read: an entry for each that records a success or a
    /// reward.
    func trajectoryOutcomes(among ids: [String]) async throws(MemoryError) -> [String: Outcome]

    /// Calls `body` for every stored trajectory, in storage order, from one consistent snapshot (to copy a store
    /// to another backend).
    func forEachTrajectory(_ body: (Trajectory) throws(MemoryError) -> Void) async throws(MemoryError)

    /// The catalog entry of every stored memory, and the generation of the snapshot they were read from.
    func catalog() async throws(MemoryError) -> (
        entries: [DocumentID: CatalogEntry], generation: UInt64
    )

    /// Calls `body` for every stored memory with its vectors, in number order, from one consistent snapshot.
    ///
    /// - Returns: The generation of that snapshot.
    func forEachIndexEntry(_ body: (IndexEntry) throws(MemoryError) -> Void) async throws(MemoryError)
        -> UInt64

    /// Calls `body` with the number and mean keyword embedding of every stored memory that has keywords, in number
    /// order, from one consistent snapshot: what the `keyword` policy's index is built from, without reading and
    /// decoding the memories themselves.
    ///
    /// - Returns: The generation of that snapshot.
    func forEachKeywordVector(_ body: (DocumentID, [Float]) throws(MemoryError) -> Void) async throws(MemoryError)
        -> UInt64

    /// History rows, oldest first; those of one memory when `memoryID` is given; only the `last` newest of them
    /// when `last` is given (read alone: the whole history of a large store is hundreds of megabytes).
    func history(memoryID: String?, last: Int?) async throws(MemoryError) -> [HistoryEntry]

    /// Calls `body` for every history row, in number order, one at a time: the whole history of a large store is
    /// hundreds of megabytes of memory snapshots, which `memp verify` and the digest of a migration read through.
    func forEachHistoryEntry(_ body: (HistoryEntry) throws(MemoryError) -> Void) async throws(MemoryError)

    /// The history row with this number, if any.
    func historyEntry(number: Int64) async throws(MemoryError) -> HistoryEntry?

    /// How many history rows concern the memory with this ID (counted in the database, no row is read).
    func historyCount(memoryID: String) async throws(MemoryError) -> Int

    /// The number of the ``HistoryAction/revert`` row that undid entry `number`, if any.
    func revertingEntry(of number: Int64) async throws(MemoryError) -> Int64?

    /// Counts of what is stored.
    func statistics() async throws(MemoryError) -> StoreStatistics

    /// Replaces the whole history with `entries`, keeping their numbers, dates and the entries they revert.
    ///
    /// Runs in one transaction; rows written later are numbered after the largest. The numbers are positive and
    /// distinct (``replaceHistory(with:)`` checks them).
    func storeHistory(_ entries: [HistoryEntry]) async throws(MemoryError)

    /// A value that changes when another connection or process commits to the backend, and stays the same across
    /// this backend object's own commits; `nil` when the backend can't tell.
    ///
    /// A ``MemoryStore`` reads it before building its indexes and again after each write: a change means another
    /// writer committed meanwhile, so the indexes may miss its changes and are rebuilt before they are saved.
    func foreignCommitMarker() async throws(MemoryError) -> UInt64?

    /// The store's record of fusion choices (``FusionTuning``), empty when nothing was ever chosen.
    func fusionTuning() async throws(MemoryError) -> FusionTuning

    /// Replaces the record of fusion choices in one transaction, when the stored record still has
    /// `expectedEntries` entries; does not advance the generation (the indexes don't change).
    ///
    /// - Throws: ``MemoryError/tuningConflict(expectedEntries:actualEntries:)`` when it has not (nothing is
    ///   written).
    func saveFusionTuning(_ tuning: FusionTuning, expectedEntries: Int) async throws(MemoryError)
}

extension MemoryBackend {
    /// Every history row, oldest first; those of one memory when `memoryID` is given.
    package func history(memoryID: String?) async throws(MemoryError) -> [HistoryEntry] {
        try await history(memoryID: memoryID, last: nil)
    }

    /// Backends that can't tell return `nil`: a store then trusts the generation alone.
    package func foreignCommitMarker() async throws(MemoryError) -> UInt64? { nil }

    /// Replaces the whole history with `entries`, keeping their numbers, dates and the entries they revert.
    ///
    /// Runs in one transaction; rows written later are numbered after the largest. For copying a store to another
    /// backend.
    ///
    /// - Throws: ``MemoryError/repeatedInBatch(_:id:)`` when two entries share a number,
    ///   ``MemoryError/invalidParameter(name:value:expected:)`` when a number is not positive (nothing is written).
    package func replaceHistory(with entries: [HistoryEntry]) async throws(MemoryError) {
        try HistoryEntry.checkNumbers(entries)
        try await storeHistory(entries)
    }
}

/// The row operations of one backend transaction (``MemoryBackend/transaction(commit:_:)``).
///
/// Operations store and read rows as told; they check nothing the rules of `MemoryBackend+Writes.swift` decide.
/// Numbers are the backend's row numbers, the ``DocumentID``s of the index caches.
package protocol MemoryTransaction {
    /// The store's generation; with `locking`, the transaction holds the store's settings until it ends, which
    /// orders it after every writer holding them and before every writer asking for them.
    func generation(locking: Bool) async throws(MemoryError) -> UInt64

    /// Advances the generation and returns the new one; holds the store's settings until the transaction ends.
    func advanceGeneration() async throws(MemoryError) -> UInt64

    /// The IDs among `ids` that belong to stored trajectories.
    func storedTrajectoryIDs(among ids: [String]) async throws(MemoryError) -> Set<String>

    /// The IDs among `ids` of the tasks recorded as applied (``AppliedTask``).
    func appliedTaskIDs(among ids: [String]) async throws(MemoryError) -> Set<String>

    /// Records tasks as applied, in order; none of them is recorded yet.
    func recordAppliedTasks(_ tasks: [AppliedTask]) async throws(MemoryError)

    /// The IDs of the stored trajectories in `scope`, in storage order.
    func trajectoryIDs(in scope: DeleteScope) async throws(MemoryError) -> [String]

    /// Stores trajectories, in order; one whose ID is stored already overwrites it in place, keeping the links of
    /// the memories built from it.
    func storeTrajectories(_ trajectories: [Trajectory]) async throws(MemoryError)

    /// Deletes the trajectories with these IDs; the memories built from them stop naming them.
    func deleteTrajectories(ids: [String]) async throws(MemoryError)

    /// The memories selected, in number order, each held (locked) until the transaction ends.
    func memories(_ selection: MemorySelection) async throws(MemoryError) -> [(number: DocumentID, memory: Memory)]

    /// Inserts memories with their vectors, in order, and returns their new numbers; their source trajectories are
    /// stored.
    func insertMemories(_ records: [MemoryRecord]) async throws(MemoryError) -> [DocumentID]

    /// Overwrites memory `number` with `memory`, and its vectors when `vectors` is given.
    func updateMemory(_ number: DocumentID, to memory: Memory, vectors: MemoryVectors?) async throws(MemoryError)

    /// Overwrites the counters, status, revision and modification date of memory `number` with `memory`'s.
    func updateCounters(_ number: DocumentID, to memory: Memory) async throws(MemoryError)

    /// Deletes the memories with these numbers.
    func deleteMemories(_ numbers: [DocumentID]) async throws(MemoryError)

    /// Appends history entries, in order, numbered after the last (their own ``HistoryEntry/number`` is not
    /// read), and returns their numbers; `generation` is the transaction's.
    func appendHistory(_ entries: [HistoryEntry], generation: UInt64) async throws(MemoryError) -> [Int64]

    /// The index entries of the stored memories among `numbers`, in number order.
    func indexEntries(numbers: [DocumentID]) async throws(MemoryError) -> [IndexEntry]
}

/// Which memories ``MemoryTransaction/memories(_:)`` reads.
package enum MemorySelection: Sendable {
    /// The memories with these IDs.
    case ids([String])
    /// The memories in a delete's scope.
    case scope(DeleteScope)
    /// The memories naming any of these trajectories as a source.
    case sourcedFrom([String])
}

/// The settings and state of a store.
public struct StoreInfo: Sendable, Equatable {
    /// The schema version of the store.
    package var schemaVersion: Int
    /// The ``Embeddings/Embedder/modelIdentifier`` of the embedder whose vectors the store holds.
    public var embedderID: String
    /// The dimension of those vectors.
    public var dimension: Int
    /// How to rebuild the embedder, when recorded.
    public var embedderConfiguration: EmbedderConfiguration?
    /// Increases with every committed write: the store's version, against which index caches are checked (reports
    /// of writes carry it for the front ends; ``MemoryStore/refresh()`` reads it).
    package var generation: UInt64
    /// The store a copy into this one comes from, while the copy is under way or when it never finished
    /// (``MemoryBackend/beginCopy(from:)``); `nil` for every store that is whole.
    package var incompleteCopyOf: String?

    /// Creates store settings.
    package init(
        schemaVersion: Int, embedderID: String, dimension: Int, embedderConfiguration: EmbedderConfiguration?,
        generation: UInt64, incompleteCopyOf: String? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.embedderID = embedderID
        self.dimension = dimension
        self.embedderConfiguration = embedderConfiguration
        self.generation = generation
        self.incompleteCopyOf = incompleteCopyOf
    }
}

/// A memory as a backend stores it: the memory and its vectors.
package struct MemoryRecord: Sendable, Equatable {
    /// The memory.
    package var memory: Memory
    /// The embedding of the memory's task.
    package var taskVector: [Float]
    /// The mean of the embeddings of the memory's keywords; `nil` when it has none.
    package var keywordVector: [Float]?

    /// Creates a record.
    package init(memory: Memory, taskVector: [Float], keywordVector: [Float]?) {
        self.memory = memory
        self.taskVector = taskVector
        self.keywordVector = keywordVector
    }
}

/// Trajectories and the memories built from them, written in one transaction.
package struct WriteBatch: Sendable {
    /// The trajectories to store.
    package var trajectories: [Trajectory]
    /// The memories to store; each names its source trajectories, which must be stored or in this batch.
    package var memories: [MemoryRecord]
    /// Whether trajectories and memories whose IDs are stored already replace the stored ones; when `false`,
    /// such an ID fails the write.
    package var replacing: Bool
    /// The build or update policy that produced the batch, recorded in the history.
    package var policy: String
    /// Why the batch is written, recorded in the history (`import trajectories.jsonl`).
    package var reason: String

    /// Creates a batch.
    package init(
        trajectories: [Trajectory], memories: [MemoryRecord], replacing: Bool, policy: String,
        reason: String
    ) {
        self.trajectories = trajectories
        self.memories = memories
        self.replacing = replacing
        self.policy = policy
        self.reason = reason
    }
}

/// What a write changed.
package struct WriteResult: Sendable, Equatable {
    /// The number given to each memory written, by memory ID.
    package var numbers: [String: DocumentID]
    /// The numbers of memories removed because they were replaced or lost their sources.
    package var removed: [DocumentID]
    /// How many stored trajectories were replaced.
    package var replacedTrajectories: Int
    /// The generation after the write.
    package var generation: UInt64
}

/// What a scoped delete removes.
public enum DeleteScope: Sendable, Equatable, CustomStringConvertible {
    /// The trajectory and the memory with this ID.
    case id(String)
    /// The trajectories and memories from this source.
    case source(String)
    /// The trajectories and memories with this label value.
    case label(key: String, value: String)

    /// The scope as it reads in the history and in messages: `id ID`, `source NAME` or `label KEY=VALUE`.
    public var description: String {
        switch self {
        case .id(let id): "id \(id)"
        case .source(let source): "source \(source)"
        case .label(let key, let value): "label \(key)=\(value)"
        }
    }
}

/// What a scoped delete removed.
public struct DeleteResult: Sendable, Equatable {
    /// How many trajectories were deleted.
    public var trajectories: Int
    /// The IDs of the memories deleted, those in the scope and those left without a source trajectory.
    public var memories: [String]
    /// The IDs of the memories that lost some of their source trajectories and keep the others
    /// (``HistoryAction/detach``).
    package var detached: [String] = []
    /// The numbers of those memories (their ``DocumentID``s in the index caches), in the same order.
    package var numbers: [DocumentID]
    /// The generation after the delete.
    package var generation: UInt64

    /// Creates a delete result.
    package init(trajectories: Int, memories: [String], numbers: [DocumentID], generation: UInt64) {
        self.trajectories = trajectories
        self.memories = memories
        self.numbers = numbers
        self.generation = generation
    }
}

/// A stored memory's data for the index caches.
package struct IndexEntry: Sendable {
    /// The memory's number, its ``DocumentID`` in the indexes.
    package var number: DocumentID
    /// The memory's task.
    package var task: String
    /// The memory's keywords.
    package var keywords: [String]
    /// The embedding of the task.
    package var taskVector: [Float]
    /// The mean keyword embedding, if the memory has keywords.
    package var keywordVector: [Float]?
    /// What filters look at.
    package var catalogEntry: CatalogEntry
    /// The text the procedure index holds for the memory (``procedureText(script:steps:)``).
    package var procedureText: String

    /// Creates an entry.
    package init(
        number: DocumentID, task: String, keywords: [String], taskVector: [Float],
        keywordVector: [Float]?,
        catalogEntry: CatalogEntry, procedureText: String
    ) {
        self.number = number
        self.task = task
        self.keywords = keywords
        self.taskVector = taskVector
        self.keywordVector = keywordVector
        self.catalogEntry = catalogEntry
        self.procedureText = procedureText
    }

    /// The text the keyword index holds for the memory (``searchText(task:keywords:)``).
    package var searchText: String { Self.searchText(task: task, keywords: keywords) }

    /// The tokenizer of the memories' keyword index (``KeywordIndex/TokenizerConfiguration/english``): the terms a
    /// memory's ``searchText(task:keywords:)`` and a lookup's task become.
    ///
    /// A PostgreSQL store's text search stores and queries these same terms, so that both backends match the same
    /// memories for a task's words.
    package static let keywordTokenizer = Tokenizer(.english)

    /// The text the keyword index holds for a memory: its task, then its keywords.
    ///
    ///     IndexEntry.searchText(task: "heat some milk", keywords: ["milk", "microwave"])
    ///     // "heat some milk\nmilk microwave"
    package static func searchText(task: String, keywords: [String]) -> String {
        keywords.isEmpty ? task : task + "\n" + keywords.joined(separator: " ")
    }

    /// The text the procedure index holds for a memory: its script, then its steps' actions, one a line.
    ///
    /// Observations are left out: they repeat the environment's descriptions, which the task text already
    /// carries, so they would make the procedure field a second copy of the task field.
    ///
    ///     IndexEntry.procedureText(script: nil, steps: [Step(action: "open fridge", observation: "…")])
    ///     // "open fridge"
    package static func procedureText(script: String?, steps: [Step]?) -> String {
        ((script.map { [$0] } ?? []) + (steps ?? []).map(\.action)).joined(separator: "\n")
    }

    /// Whether two states of a memory give the indexes the same texts.
    ///
    /// They do when the task, keywords, script and steps are the same; a change between two such states, with the
    /// vectors kept, changes only the memory's ``CatalogEntry``.
    static func indexSameText(_ a: Memory, _ b: Memory) -> Bool {
        a.task == b.task && a.keywords == b.keywords && a.script == b.script && a.steps == b.steps
    }
}

/// What retrieval filters look at, kept in memory for every memory.
package struct CatalogEntry: Sendable, Equatable {
    /// The memory's source.
    package var source: String
    /// The memory's labels.
    package var labels: [String: String]
    /// The memory's status.
    package var status: MemoryStatus
    /// How the memory's source trajectories ended, combined by ``Outcome/combining(_:)``.
    ///
    /// `nil` when none recorded an outcome. Kept here so that a lookup's outcome prior and its hits read no
    /// trajectory.
    package var sourceOutcome: Outcome?

    /// Creates an entry.
    package init(source: String, labels: [String: String], status: MemoryStatus, sourceOutcome: Outcome? = nil) {
        self.source = source
        self.labels = labels
        self.status = status
        self.sourceOutcome = sourceOutcome
    }
}

/// Memories' label objects as a backend reads them from its rows, each distinct text decoded once.
///
/// A store's memories mostly share a few label sets (`{"fold":"train","taskType":"heat"}`): reading the catalog of
/// 100,000 memories, as every opening of a store does, decoded 100,000 JSON objects, most of the time the opening
/// took. The decoded dictionaries share their storage, so the entries cost less memory too.
package struct LabelDecoder<Failure: Error> {
    /// The most distinct texts kept; a text seen after that is decoded each time it comes.
    package static var capacity: Int { 4096 }
    private let decode: (String) throws(Failure) -> [String: String]
    private var known: [String: [String: String]] = [:]

    /// A decoder that decodes a text it hasn't seen with `decode`.
    package init(decode: @escaping (String) throws(Failure) -> [String: String]) {
        self.decode = decode
    }

    /// The labels `text` holds.
    package mutating func labels(_ text: String) throws(Failure) -> [String: String] {
        if let labels = known[text] { return labels }
        let labels = try decode(text)
        if known.count < Self.capacity { known[text] = labels }
        return labels
    }
}

/// What happened to a memory.
public enum HistoryAction: String, CaseIterable, Codable, Sendable {
    /// The memory was created.
    case add
    /// The memory was rebuilt from a replaced trajectory.
    case replace
    /// The memory was deleted.
    case delete
    /// A near-duplicate trajectory was folded into the memory (update policies).
    case merge
    /// The memory was rewritten after a task that used it failed (the adjustment update policy).
    case rewrite
    /// The memory's hit and success counters changed after tasks that used it finished.
    case feedback
    /// The memory was deprecated: it kept failing the tasks that used it.
    case deprecate
    /// An earlier change was undone; ``HistoryEntry/reverts`` names it.
    case revert
    /// Some of the memory's source trajectories were deleted; it keeps the others, and its steps.
    case detach
}

/// One change to a memory, with its state before and after.
public struct HistoryEntry: Sendable, Equatable, Codable {
    /// The entry's sequence number.
    public var number: Int64
    /// The memory changed.
    public var memoryID: String
    /// What happened.
    public var action: HistoryAction
    /// The policy that made the change (`proceduralization`, `delete`, …).
    public var policy: String
    /// Why (`import runs.jsonl`, `delete source textworld`).
    public var reason: String
    /// The memory before the change; `nil` for an add.
    public var before: Memory?
    /// The memory after the change; `nil` for a delete.
    public var after: Memory?
    /// When.
    public var date: Date
    /// For a ``HistoryAction/revert``, the number of the entry it undid.
    public var reverts: Int64? = nil

    /// Creates a history entry.
    package init(
        number: Int64, memoryID: String, action: HistoryAction, policy: String, reason: String, before: Memory?,
        after: Memory?, date: Date, reverts: Int64? = nil
    ) {
        self.number = number
        self.memoryID = memoryID
        self.action = action
        self.policy = policy
        self.reason = reason
        self.before = before
        self.after = after
        self.date = date
        self.reverts = reverts
    }
}

/// Counts of what a store holds.
public struct StoreStatistics: Sendable, Equatable, Codable {
    /// Stored trajectories.
    public var trajectories: Int
    /// Stored memories.
    public var memories: Int
    /// Active memories.
    public var activeMemories: Int
    /// Deprecated memories.
    public var deprecatedMemories: Int
    /// Memories per build policy.
    public var memoriesByBuildPolicy: [String: Int]
    /// Trajectories per source.
    public var trajectoriesBySource: [String: Int]
    /// History rows.
    public var historyEntries: Int
    /// The store's generation.
    package var generation: UInt64

    /// Creates statistics.
    package init(
        trajectories: Int, memories: Int, activeMemories: Int, deprecatedMemories: Int,
        memoriesByBuildPolicy: [String: Int], trajectoriesBySource: [String: Int], historyEntries: Int,
        generation: UInt64
    ) {
        self.trajectories = trajectories
        self.memories = memories
        self.activeMemories = activeMemories
        self.deprecatedMemories = deprecatedMemories
        self.memoriesByBuildPolicy = memoriesByBuildPolicy
        self.trajectoriesBySource = trajectoriesBySource
        self.historyEntries = historyEntries
        self.generation = generation
    }
}
