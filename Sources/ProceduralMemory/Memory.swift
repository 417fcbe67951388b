import Foundation

/// How a trajectory becomes a memory (Memp's build strategies).
public enum BuildPolicy: String, CaseIterable, Codable, Sendable {
    /// Keep the exact steps.
    case trajectory
    /// Keep a short, general procedure written by a ``ScriptWriter``.
    case script
    /// Keep both the steps and the script (the paper's best).
    case proceduralization
}

/// Whether a memory is offered to agents.
public enum MemoryStatus: String, CaseIterable, Codable, Sendable {
    /// Retrieved normally.
    case active
    /// Kept for history but excluded from retrieval unless asked for (it kept failing the tasks that used it).
    case deprecated
}

/// How a memory came to be.
public enum MemoryKind: String, CaseIterable, Codable, Sendable {
    /// Built from one trajectory by a ``BuildPolicy``.
    case built
    /// Merged from near-duplicate memories (update policies).
    case merged
    /// Rewritten after a failure that used it (the adjustment update policy).
    case rewritten
}

/// Who produced a memory's content.
public struct Provenance: Codable, Sendable, Equatable {
    /// The model or agent that produced the source trajectories, when known.
    public var producer: String?
    /// The ``ScriptWriter/name`` of the writer that wrote the script, when the memory has one.
    public var scriptWriter: String?
    /// The file the source trajectories were imported from, when they came from a file.
    public var importedFrom: String?

    /// Creates a provenance record.
    package init(producer: String? = nil, scriptWriter: String? = nil, importedFrom: String? = nil) {
        self.producer = producer
        self.scriptWriter = scriptWriter
        self.importedFrom = importedFrom
    }
}

/// A unit of procedural memory: how a task was done, ready to be handed to an agent facing a similar task.
public struct Memory: Codable, Sendable, Equatable, Identifiable {
    /// The memory's unique ID; a memory built from one trajectory carries the trajectory's ID.
    public var id: String
    /// The task the memory knows how to do.
    public var task: String
    /// How the memory came to be.
    public var kind: MemoryKind
    /// What the memory holds: the steps, a script, or both.
    public var buildPolicy: BuildPolicy
    /// The exact steps, for ``BuildPolicy/trajectory`` and ``BuildPolicy/proceduralization``.
    public var steps: [Step]?
    /// The general procedure, for ``BuildPolicy/script`` and ``BuildPolicy/proceduralization``.
    public var script: String?
    /// Keywords of the task (given facts, or extracted), used by the keyword (AveFact) retrieval policy.
    public var keywords: [String]
    /// The IDs of the trajectories the memory was built from.
    public var sourceTrajectoryIDs: [String]
    /// The source of those trajectories.
    public var source: String
    /// The labels of those trajectories.
    public var labels: [String: String]
    /// The largest value ``hitCount``, ``successCount`` and ``revision`` may reach (2⁴⁸): feedback that would pass it
    /// is refused, and so is a bundle that holds more, so that no counter can overflow the database's integers.
    package static let maximumCount = 1 << 48

    /// A use record in words, as every front end shows one: `2 of 3 uses succeeded`, `0 of 1 use succeeded`, or
    /// `not used yet`.
    package static func useRecord(hitCount: Int, successCount: Int) -> String {
        hitCount == 0 ? "not used yet" : "\(successCount) of \(hitCount) use\(hitCount == 1 ? "" : "s") succeeded"
    }

    /// Times the memory was retrieved and used.
    public var hitCount: Int
    /// Times a task that used the memory then succeeded.
    public var successCount: Int
    /// Whether the memory is offered to agents.
    public var status: MemoryStatus
    /// The ``Embeddings/Embedder/modelIdentifier`` of the embedder that produced its vectors.
    public var embedderID: String
    /// Who produced the content.
    public var provenance: Provenance
    /// Increases by one with every change, so concurrent editors can detect conflicts.
    public var revision: Int
    /// When the memory was created.
    public var createdAt: Date
    /// When the memory last changed.
    public var updatedAt: Date

    /// Creates a memory.
    package init(
        id: String, task: String, kind: MemoryKind = .built, buildPolicy: BuildPolicy, steps: [Step]?,
        script: String?, keywords: [String], sourceTrajectoryIDs: [String], source: String,
        labels: [String: String], hitCount: Int = 0, successCount: Int = 0,
        status: MemoryStatus = .active,
        embedderID: String, provenance: Provenance, revision: Int = 1, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.task = task
        self.kind = kind
        self.buildPolicy = buildPolicy
        self.steps = steps
        self.script = script
        self.keywords = keywords
        self.sourceTrajectoryIDs = sourceTrajectoryIDs
        self.source = source
        self.labels = labels
        self.hitCount = hitCount
        self.successCount = successCount
        self.status = status
        self.embedderID = embedderID
        self.provenance = provenance
        self.revision = revision
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
