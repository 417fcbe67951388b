import Foundation
import ProceduralMemory
import RetrievalCore

/// Which memories a lookup may return, besides the store it runs in.
public struct LookupFilters: Codable, Sendable, Equatable {
    /// Only memories from one of these sources.
    public var sources: [String]?
    /// Only memories carrying every one of these labels.
    public var labels: [String: String]?
    /// Whether deprecated memories can be returned (default `false`).
    public var includeDeprecated: Bool?
    /// Drops hits below this similarity (query, keyword and hybrid modes).
    public var minSimilarity: Float?

    /// Creates filters; `nil` fields don't filter.
    public init(
        sources: [String]? = nil, labels: [String: String]? = nil, includeDeprecated: Bool? = nil,
        minSimilarity: Float? = nil
    ) {
        self.sources = sources
        self.labels = labels
        self.includeDeprecated = includeDeprecated
        self.minSimilarity = minSimilarity
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case sources, labels, includeDeprecated, minSimilarity }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(CodingKeys.self, of: "filters")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sources = try container.decodeIfPresent([String].self, forKey: .sources)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels)
        includeDeprecated = try container.decodeIfPresent(Bool.self, forKey: .includeDeprecated)
        // Read as a Double and rounded: a similarity too small for a Float (5e-324) is 0, not a refused number;
        // one too large becomes infinite, which the lookup refuses as out of range.
        minSimilarity = try LookupRequest.number(Double.self, in: container, forKey: .minSimilarity).map(Float.init)
    }
}

/// `POST /v1/lookup`: the memories that fit one task.
public struct LookupRequest: Codable, Sendable, Equatable {
    /// The new task.
    public var task: String
    /// The most memories returned (default 5).
    public var k: Int?
    /// The retrieval policy's name (default `hybrid`).
    public var mode: String?
    /// Filters.
    public var filters: LookupFilters?
    /// The seed of the `random` mode: the same seed on the same store gives the same memories (default 0).
    public var seed: UInt64?

    /// Creates a request.
    public init(
        task: String, k: Int? = nil, mode: String? = nil, filters: LookupFilters? = nil, seed: UInt64? = nil
    ) {
        self.task = task
        self.k = k
        self.mode = mode
        self.filters = filters
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case task, k, mode, filters, seed }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(CodingKeys.self, of: "a lookup")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        task = try container.decode(String.self, forKey: .task)
        k = try Self.number(Int.self, in: container, forKey: .k)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        filters = try container.decodeIfPresent(LookupFilters.self, forKey: .filters)
        seed = try Self.number(UInt64.self, in: container, forKey: .seed)
    }

    /// The number under `key`, else a type mismatch at the key: the decoder's own error for a number that doesn't
    /// fit the type (`1e300` or `2.5` for an integer) names no field.
    static func number<Value: Decodable, Key: CodingKey>(
        _ type: Value.Type, in container: KeyedDecodingContainer<Key>, forKey key: Key
    ) throws -> Value? {
        do {
            return try container.decodeIfPresent(type, forKey: key)
        } catch {
            throw DecodingError.typeMismatch(
                type, DecodingError.Context(codingPath: container.codingPath + [key], debugDescription: ""))
        }
    }
}

/// `POST /v1/lookup/batch`: the memories that fit each of several tasks, with the same `k`, mode and filters.
public struct BatchLookupRequest: Codable, Sendable, Equatable {
    /// The tasks, answered in order.
    public var tasks: [String]
    /// As in ``LookupRequest``.
    public var k: Int?
    /// As in ``LookupRequest``.
    public var mode: String?
    /// As in ``LookupRequest``.
    public var filters: LookupFilters?
    /// As in ``LookupRequest``: every task of the batch is looked up with this seed.
    public var seed: UInt64?

    enum CodingKeys: String, CodingKey, CaseIterable { case tasks, k, mode, filters, seed }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(CodingKeys.self, of: "a batch lookup")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasks = try container.decode([String].self, forKey: .tasks)
        k = try LookupRequest.number(Int.self, in: container, forKey: .k)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        filters = try container.decodeIfPresent(LookupFilters.self, forKey: .filters)
        seed = try LookupRequest.number(UInt64.self, in: container, forKey: .seed)
    }
}

/// One procedure found for a task.
public struct LookupHit: Codable, Sendable, Equatable {
    /// The memory's ID, to pass back in feedback.
    public var id: String
    /// The score under the mode; comparable only within one lookup.
    public var score: Double
    /// The task the memory knows how to do.
    public var task: String
    /// The general procedure, when the memory has one.
    public var script: String?
    /// The exact steps, when the memory keeps them.
    public var steps: [Step]?
    /// How the source trajectories ended, when recorded: a merged memory succeeded when any source did
    /// (``ProceduralMemory/MemoryHit/sourceOutcome``).
    public var outcome: Outcome?
    /// Times a task used the memory and reported its outcome (``ProceduralMemory/Memory/hitCount``).
    public var hitCount: Int
    /// Of those, the tasks that succeeded (``ProceduralMemory/Memory/successCount``).
    public var successCount: Int
    /// Why the memory got its score, in words.
    public var explanation: String
    /// The IDs of the trajectories the memory was built from.
    public var sources: [String]
    /// Whether the memory is active or deprecated.
    public var status: MemoryStatus

    /// The hit for `memory`: its ID, task, procedure, status, sources and counters, with the lookup's score, the
    /// source trajectories' outcome and the explanation.
    public init(memory: Memory, score: Double, outcome: Outcome?, explanation: String) {
        id = memory.id
        self.score = score
        task = memory.task
        script = memory.script
        steps = memory.steps
        self.outcome = outcome
        hitCount = memory.hitCount
        successCount = memory.successCount
        self.explanation = explanation
        sources = memory.sourceTrajectoryIDs
        status = memory.status
    }
}

/// The answer to a lookup.
public struct LookupResponse: Codable, Sendable, Equatable {
    /// The store that answered.
    public var store: String
    /// The hits, best first.
    public var hits: [LookupHit]
}

/// The answer to a batch lookup: one list of hits per task, in the tasks' order.
public struct BatchLookupResponse: Codable, Sendable, Equatable {
    /// The store that answered.
    public var store: String
    /// One result per task.
    public var results: [[LookupHit]]
}

/// `POST /v1/feedback`: how a task that used some memories ended.
public struct FeedbackRequest: Codable, Sendable, Equatable {
    /// The ID of the memory the task used; or use ``memories``.
    public var memory: String?
    /// The IDs of the memories the task used.
    public var memories: [String]?
    /// Whether the task succeeded.
    public var success: Bool
    /// The ID of the task's attempt, stored now or later (`/v1/trajectories`, `/v1/update`): once it is stored, the
    /// report is part of the record of use `memp tune` learns from.
    public var trajectory: String?
    /// Deprecate a memory used at least this many times… (default: the server's, 3 unless
    /// `memp serve --min-hits` says otherwise).
    public var minHits: Int?
    /// …whose success rate is below this (default: the server's, 0.5 unless `memp serve --min-success-rate` says
    /// otherwise).
    public var minSuccessRate: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case memory, memories, success, trajectory, minHits, minSuccessRate
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(CodingKeys.self, of: "feedback")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        memory = try container.decodeIfPresent(String.self, forKey: .memory)
        memories = try container.decodeIfPresent([String].self, forKey: .memories)
        success = try container.decode(Bool.self, forKey: .success)
        trajectory = try container.decodeIfPresent(String.self, forKey: .trajectory)
        minHits = try LookupRequest.number(Int.self, in: container, forKey: .minHits)
        minSuccessRate = try container.decodeIfPresent(Double.self, forKey: .minSuccessRate)
    }
}

/// The counters of each memory after feedback.
public struct FeedbackResponse: Codable, Sendable, Equatable {
    /// The store written.
    public var store: String
    /// One entry per memory.
    public var memories: [FeedbackChange]
    /// What the write committed but could not finish (``ServiceWarning``); absent when nothing.
    public var warnings: [ServiceWarning]?
}

/// `POST /v1/update`: a batch of finished tasks and the update policy to run over them, as `memp update`.
public struct UpdateRequest: Sendable, Equatable {
    /// The policy's name: vanilla, validation or adjustment.
    public var policy: String
    /// Finished tasks: trajectories in Memp's format with `usedMemories`, as JSON objects.
    public var tasks: [Data]
    /// How new trajectories become memories (default proceduralization).
    public var build: String?
    /// The source of tasks that name none (default `api`).
    public var source: String?
    /// Deprecate a memory used at least this many times… (default: the server's, 3 unless
    /// `memp serve --min-hits` says otherwise; as `memp update --min-hits`).
    public var minHits: Int?
    /// …whose success rate is below this (default: the server's, 0.5 unless `memp serve --min-success-rate` says
    /// otherwise).
    public var minSuccessRate: Double?
    /// Whether tasks the store has applied already are left out, so that an update cut short (a timeout, a lost
    /// connection) can be sent again as it was (``ProceduralMemory/UpdateOptions/resume``); default `false`.
    public var resume: Bool = false
}

/// The answer to an import: the counts of `memp import --json`.
public struct ImportResponse: Codable, Sendable, Equatable {
    /// The store written.
    public var store: String
    /// What the import did.
    public var report: ImportReport
    /// As in ``FeedbackResponse``.
    public var warnings: [ServiceWarning]?
}

/// The answer to an update.
public struct UpdateResponse: Codable, Sendable, Equatable {
    /// The store written.
    public var store: String
    /// What the update did.
    public var report: UpdateReport
    /// As in ``FeedbackResponse``.
    public var warnings: [ServiceWarning]?
}

/// The answer to a delete.
public struct DeleteResponse: Codable, Sendable, Equatable {
    /// The store written.
    public var store: String
    /// How many memories were deleted.
    public var deletedMemories: Int
    /// How many trajectories were deleted with them.
    public var deletedTrajectories: Int
    /// As in ``FeedbackResponse``.
    public var warnings: [ServiceWarning]?
}

/// A memory as `GET /v1/memories/{id}` shows it.
public struct MemoryResponse: Codable, Sendable, Equatable {
    /// The store read.
    public var store: String
    /// The memory.
    public var memory: Memory
    /// How its source trajectories ended, when recorded (``ProceduralMemory/MemoryHit/sourceOutcome``).
    public var outcome: Outcome?
    /// How many history entries concern it (`memp history --memory ID` lists them).
    public var historyEntries: Int
}

/// `GET /v1/stats`: counts of what the store holds.
public struct StatsResponse: Codable, Sendable, Equatable {
    /// The store read.
    public var store: String
    /// The embedder's identifier.
    public var embedder: String
    /// The dimension of the embedder's vectors (as `memp stats --json` gives it).
    public var dimension: Int
    /// The counts.
    public var statistics: StoreStatistics
    /// What the store's last write committed but could not finish (``ServiceWarning``); absent when nothing.
    public var warnings: [ServiceWarning]?
}

/// The stores a server serves.
public struct StoresResponse: Codable, Sendable, Equatable {
    /// Their names.
    public var stores: [String]
}

/// Something an answer reports beside its result: the request succeeded, but whoever runs the server should know.
public struct ServiceWarning: Codable, Sendable, Equatable {
    /// What the warning is about.
    public enum Code: String, Codable, Sendable, CaseIterable {
        /// A write committed, but the store's index cache files could not be saved (a full disk, a folder that
        /// can't be written): lookups use the indexes in memory, and the next open of the store rebuilds the files.
        case indexCacheUnsaved = "index_cache_unsaved"
    }

    /// A stable, machine-readable code, as in `{"warnings": [{"code": …}]}`.
    public var code: Code
    /// What happened and what follows, naming the store and the path, never task or trajectory text.
    public var message: String
}

/// The body of every error response: `{"error": {"code", "message"}}`.
public struct ErrorResponse: Codable, Sendable, Equatable {
    /// The error.
    public struct Body: Codable, Sendable, Equatable {
        /// ``ServiceError/code``.
        public var code: String
        /// What was wrong and what to do.
        public var message: String
    }
    /// The error.
    public var error: Body

    /// The body for `error`.
    public init(_ error: ServiceError) {
        self.error = Body(code: error.code, message: error.description)
    }
}

extension Decoder {
    /// Refuses a field of the object being decoded that `Keys` doesn't name, which would otherwise be ignored and
    /// the request answered as if it were absent (`"kk": 3`, or `minSimilarity` outside `filters`).
    ///
    /// - Throws: ``ServiceError/invalidBody(field:reason:)`` naming the first unknown field (in sorted order) and
    ///   the fields `what` has.
    func refuseUnknownFields<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, of what: String) throws {
        let known = Keys.allCases.map(\.stringValue)
        let fields = try container(keyedBy: CodingKeyName.self).allKeys.map(\.stringValue)
        guard let unknown = fields.sorted().first(where: { !known.contains($0) }) else { return }
        throw ServiceError.invalidBody(
            field: (codingPath.map(\.stringValue) + [unknown]).joined(separator: "."),
            reason: "is not a field of \(what) (its fields: \(known.joined(separator: ", ")))")
    }
}
