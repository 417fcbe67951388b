import Foundation
import HybridSearch
import ProceduralMemory
import RetrievalCore

/// Procedural memory as a service: every operation an HTTP or MCP front end offers, from request bytes to
/// response values, with validation, limits and metrics.
///
/// Reads (lookups, memories, stats) run in parallel; each store's ``MemoryStore`` serializes its writes, and every
/// write returns only after its transaction committed. A write that committed but could not save the store's index
/// cache files still succeeds: its answer carries a ``ServiceWarning``, and the service logs the change once. Before a
/// read, a store catches up with writes that other processes made (``MemoryStore/refresh()``).
public final class MemoryService: Sendable {
    /// The stores served.
    public let registry: StoreRegistry
    /// The limits on requests.
    public let limits: ServiceLimits
    /// The thresholds feedback and updates deprecate by, unless a request sets its own (`minHits`,
    /// `minSuccessRate`), and the reward from which an outcome without a success flag counts as a success: what
    /// `memp serve --min-hits …` sets for every agent it serves.
    public let updateSettings: UpdateSettings
    /// Request counts and latencies, in Prometheus' text format.
    public let metrics: ServiceMetrics
    /// Where lines for whoever runs the service go (a store's index cache not saved after a write, and
    /// when that no longer holds).
    private let log: @Sendable (String) -> Void
    /// The turns of the tasks of batch lookups: one fewer at once than the machine has cores, so that batches
    /// leave a core to every other request (``TurnGate``).
    private let batchTurns = TurnGate(width: ProcessInfo.processInfo.activeProcessorCount - 1)

    /// Creates a service over the stores of `registry`.
    ///
    /// - Parameters:
    ///   - registry: The stores served.
    ///   - limits: The limits on requests; values out of range are clamped (``ServiceLimits/clamped``).
    ///   - updateSettings: The deprecation thresholds and success reward of feedback and updates that set none;
    ///     checked by each request (``ProceduralMemory/UpdateSettings/validate()``).
    ///   - log: Called with one line, without a newline, for whoever runs the service; by default, nothing.
    public init(
        registry: StoreRegistry, limits: ServiceLimits = ServiceLimits(),
        updateSettings: UpdateSettings = UpdateSettings(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.registry = registry
        self.limits = limits.clamped
        self.updateSettings = updateSettings
        self.log = log
        metrics = ServiceMetrics()
    }

    // MARK: - Reads

    /// The memories that fit one task.
    ///
    /// - Throws: ``ServiceError/invalidBody(field:reason:)`` for a body that is not a lookup;
    ///   ``ServiceError/limitExceeded(name:limit:actual:)`` for `k`, a task or the answer's memory text over the
    ///   limits;
    ///   ``ServiceError/unknownStore(name:)``; ``ServiceError/timeout(seconds:)``.
    public func lookup(_ body: Data, store name: String?) async throws(ServiceError) -> LookupResponse {
        try await lookup(try decode(LookupRequest.self, from: body), store: name)
    }

    /// The memories that fit one task; see ``lookup(_:store:)-(Data,_)``.
    public func lookup(_ request: LookupRequest, store name: String?) async throws(ServiceError) -> LookupResponse {
        let options = try retrievalOptions(
            k: request.k, mode: request.mode, filters: request.filters, seed: request.seed)
        try checkTask(request.task, field: "task")
        let open = try await store(name)
        let hits = try await withTimeout { () throws(ServiceError) in
            try await open.catchUp()
            return try await self.hits(for: request.task, field: "task", options: options, in: open)
        }
        try checkAnswerText(Self.textBytes(of: hits))
        return LookupResponse(store: open.name, hits: hits)
    }

    /// The memories that fit each of several tasks.
    ///
    /// - Throws: As ``lookup(_:store:)-(Data,_)``, and ``ServiceError/limitExceeded(name:limit:actual:)`` for too
    ///   many tasks.
    public func lookupBatch(_ body: Data, store name: String?) async throws(ServiceError) -> BatchLookupResponse {
        let request = try decode(BatchLookupRequest.self, from: body)
        guard request.tasks.count <= limits.maximumBatchTasks else {
            throw .limitExceeded(name: "tasks", limit: limits.maximumBatchTasks, actual: request.tasks.count)
        }
        let options = try retrievalOptions(
            k: request.k, mode: request.mode, filters: request.filters, seed: request.seed)
        for (index, task) in request.tasks.enumerated() { try checkTask(task, field: "tasks[\(index)]") }
        let open = try await store(name)
        let results = try await withTimeout { () throws(ServiceError) in
            try await open.catchUp()
            var results: [[LookupHit]] = []
            var textBytes = 0
            for (index, task) in request.tasks.enumerated() {
                // Hostile run 22: a batch kept looking up after its time was up, so the timeout's answer came only
                // when it ended (54 s for a limit of 30 s).
                if Task.isCancelled { throw .timeout(seconds: self.limits.lookupTimeout.inSeconds) }
                let hits = try await self.batchTurns.withTurn { () throws(ServiceError) in
                    try await self.hits(for: task, field: "tasks[\(index)]", options: options, in: open)
                }
                textBytes += Self.textBytes(of: hits)
                try self.checkAnswerText(textBytes)
                results.append(hits)
            }
            return results
        }
        return BatchLookupResponse(store: open.name, results: results)
    }

    /// One memory, with how its source trajectories ended (combined as a lookup reports it:
    /// ``ProceduralMemory/MemoryHit/sourceOutcome``) and how many history entries it has: what `memp show --json`
    /// prints, with the store's name.
    ///
    /// - Throws: ``ServiceError/unknownMemory(id:store:)``, ``ServiceError/unknownStore(name:)``.
    public func memory(id: String, store name: String?) async throws(ServiceError) -> MemoryResponse {
        let open = try await readable(name)
        do throws(MemoryError) {
            let details = try await open.store.details(ofMemory: id)
            return MemoryResponse(
                store: open.name, memory: details.memory, outcome: details.sourceOutcome,
                historyEntries: details.historyEntries)
        } catch {
            throw .from(error, store: open.name)
        }
    }

    /// Counts of what a store holds, with ``StatsResponse/warnings`` when its last write's index cache was not
    /// saved.
    public func stats(store name: String?) async throws(ServiceError) -> StatsResponse {
        let open = try await readable(name)
        do {
            return StatsResponse(
                store: open.name, embedder: open.store.embedder.modelIdentifier,
                dimension: open.store.embedder.dimension, statistics: try await open.store.statistics(),
                warnings: open.warnings(log: log))
        } catch {
            throw .from(error, store: open.name)
        }
    }

    /// The names of the stores served.
    public func stores() -> StoresResponse { StoresResponse(stores: registry.storeNames()) }

    // MARK: - Writes

    /// The parameters ``addTrajectories(_:store:parameters:)`` reads; any other is refused.
    public static let importParameters = ["duplicates", "skipInvalid", "build", "source"]

    /// Imports trajectories: one JSON object, or JSON Lines, validated as `memp import` validates a file.
    ///
    /// - Parameters:
    ///   - body: The trajectories.
    ///   - parameters: `duplicates` (refuse, skip, replace), `skipInvalid` (true, false), `build`
    ///     (trajectory, script, proceduralization), `source` (of records that name none; default `api`).
    /// - Throws: ``ServiceError/invalidBody(field:reason:)`` naming the line and field of a bad record (the
    ///   batches before it stay committed, and the message says how many);
    ///   ``ServiceError/invalidArgument(name:reason:)`` for a bad parameter, or one it doesn't read.
    public func addTrajectories(
        _ body: Data, store name: String?, parameters: [String: String] = [:]
    ) async throws(ServiceError) -> ImportResponse {
        if let unknown = parameters.keys.sorted().first(where: { !Self.importParameters.contains($0) }) {
            let known = Self.importParameters.joined(separator: ", ")
            throw .invalidArgument(name: unknown, reason: "is not a parameter of an import (its parameters: \(known))")
        }
        if let source = parameters["source"], let reason = TextLimits.defaultSourceProblem(source) {
            throw .invalidArgument(name: "source", reason: reason)
        }
        var options = ImportOptions(source: parameters["source"] ?? "api")
        if let duplicates = parameters["duplicates"] {
            options.duplicates = try choice(DuplicatePolicy.self, duplicates, name: "duplicates")
        }
        if let build = parameters["build"] {
            options.builder = MemoryBuilder(policy: try choice(BuildPolicy.self, build, name: "build"))
        }
        if let skip = parameters["skipInvalid"] {
            guard let value = Bool(skip) else {
                throw .invalidArgument(name: "skipInvalid", reason: "must be true or false (got \"\(skip)\")")
            }
            options.skipInvalid = value
        }
        let lines = try Self.jsonLines(body)
        let open = try await store(name)
        let report = try await open.write { () throws(ServiceError) in
            do throws(MemoryError) {
                return try await open.store.importTrajectories(jsonLines: lines, name: "body", options: options)
            } catch {
                throw .from(error, store: open.name)
            }
        }
        return ImportResponse(store: open.name, report: report, warnings: open.warnings(log: log))
    }

    /// Records how a task that used some memories ended (`memp feedback`).
    ///
    /// - Throws: ``ServiceError/unknownMemory(id:store:)`` when a memory is not stored (nothing is written);
    ///   ``ServiceError/invalidBody(field:reason:)`` for a bad field, `trajectory` for an ID no import would take.
    public func feedback(_ body: Data, store name: String?) async throws(ServiceError) -> FeedbackResponse {
        let request = try decode(FeedbackRequest.self, from: body)
        let ids = (request.memory.map { [$0] } ?? []) + (request.memories ?? [])
        guard !ids.isEmpty else {
            throw .invalidBody(field: "memory", reason: "give the ID of a memory the task used (or memories: [IDs])")
        }
        if let empty = ids.firstIndex(where: \.isEmpty) {
            throw .invalidBody(field: "memories[\(empty)]", reason: "must be a memory ID, not empty")
        }
        let settings = try settings(minHits: request.minHits, minSuccessRate: request.minSuccessRate)
        let open = try await store(name)
        let changes = try await open.write { () throws(ServiceError) in
            do throws(MemoryError) {
                return try await open.store.recordOutcome(
                    usedMemories: ids, trajectoryID: request.trajectory, outcome: Outcome(success: request.success),
                    settings: settings)
            } catch .invalidTrajectory(_, "id", let rule) {
                // The library names the attempt's ID by its own field; the request calls it `trajectory`.
                throw .invalidBody(field: "trajectory", reason: rule)
            } catch {
                throw .from(error, store: open.name)
            }
        }
        return FeedbackResponse(store: open.name, memories: changes, warnings: open.warnings(log: log))
    }

    /// Runs an update policy over a batch of finished tasks (`memp update`).
    ///
    /// - Throws: ``ServiceError/invalidBody(field:reason:)`` naming the task (`tasks[2].steps`) of a bad record;
    ///   ``ServiceError/limitExceeded(name:limit:actual:)`` for too many tasks.
    public func update(_ body: Data, store name: String?) async throws(ServiceError) -> UpdateResponse {
        let request = try Self.updateRequest(body)
        guard request.tasks.count <= limits.maximumBatchTasks else {
            throw .limitExceeded(name: "tasks", limit: limits.maximumBatchTasks, actual: request.tasks.count)
        }
        let policy = try choice(UpdatePolicy.self, request.policy, name: "policy")
        let build = try request.build.map { (build) throws(ServiceError) in
            try choice(BuildPolicy.self, build, name: "build")
        }
        let settings = try settings(minHits: request.minHits, minSuccessRate: request.minSuccessRate)
        if let source = request.source, let reason = TextLimits.defaultSourceProblem(source) {
            throw .invalidBody(field: "source", reason: reason)
        }
        var lines = Data()
        for task in request.tasks {
            lines.append(task)
            lines.append(UInt8(ascii: "\n"))
        }
        let tasks: [FinishedTask]
        do {
            tasks = try FinishedTask.read(jsonLines: lines, name: "tasks", source: request.source ?? "api")
        } catch {
            throw Self.updateError(error, store: name ?? StoreRegistry.defaultStoreName)
        }
        let open = try await store(name)
        let report = try await open.write { () throws(ServiceError) in
            do throws(MemoryError) {
                return try await open.store.update(
                    tasks,
                    options: UpdateOptions(
                        policy: policy, settings: settings,
                        builder: MemoryBuilder(policy: build ?? .proceduralization), resume: request.resume),
                    source: "api")
            } catch {
                throw Self.updateError(error, store: open.name)
            }
        }
        return UpdateResponse(store: open.name, report: report, warnings: open.warnings(log: log))
    }

    /// The service error for a store error of an update, naming the task it concerns as `tasks[N]`, from 0.
    private static func updateError(_ error: MemoryError, store: String) -> ServiceError {
        switch error {
        case .invalidRecord(_, let line, let field, let reason):
            .invalidBody(field: "tasks[\(line - 1)].\(field)", reason: reason)
        case .duplicateTrajectory(let id, _, let line):
            .invalidBody(
                field: "tasks[\(line - 1)].id",
                reason: "trajectory \(id) is already stored, though no update applied its task; give the attempt a "
                    + "new ID, or delete the stored trajectory first")
        case .repeatedTrajectory(let id, _, let line, let firstLine):
            .invalidBody(
                field: "tasks[\(line - 1)].id",
                reason: "trajectory \(id) appears again (first as tasks[\(firstLine - 1)]); give each attempt its own "
                    + "ID")
        default:
            .from(error, store: store)
        }
    }

    /// Deletes a memory and its trajectory (and memories left without any source trajectory).
    ///
    /// - Throws: ``ServiceError/unknownMemory(id:store:)``.
    public func delete(id: String, store name: String?) async throws(ServiceError) -> DeleteResponse {
        let open = try await store(name)
        let result = try await open.write { () throws(ServiceError) in
            do throws(MemoryError) {
                return try await open.store.delete(.id(id))
            } catch {
                throw .from(error, store: open.name)
            }
        }
        return DeleteResponse(
            store: open.name, deletedMemories: result.memories.count, deletedTrajectories: result.trajectories,
            warnings: open.warnings(log: log))
    }

    // MARK: - Helpers

    /// The store, opened if needed.
    private func store(_ name: String?) async throws(ServiceError) -> OpenStore {
        try await registry.store(named: name)
    }

    /// Refuses an answer carrying more than ``ServiceLimits/maximumAnswerTextBytes`` of memory text.
    private func checkAnswerText(_ bytes: Int) throws(ServiceError) {
        guard bytes <= limits.maximumAnswerTextBytes else {
            throw .limitExceeded(
                name: "the answer's memory text (bytes of tasks, scripts and steps)",
                limit: limits.maximumAnswerTextBytes, actual: bytes)
        }
    }

    /// The bytes of memory text `hits` carry: tasks, scripts, step actions and observations.
    private static func textBytes(of hits: [LookupHit]) -> Int {
        hits.reduce(0) { total, hit in
            total + hit.task.utf8.count + (hit.script?.utf8.count ?? 0)
                + (hit.steps ?? []).reduce(0) { $0 + $1.action.utf8.count + $1.observation.utf8.count }
        }
    }

    /// The store, caught up with other processes' writes.
    private func readable(_ name: String?) async throws(ServiceError) -> OpenStore {
        let open = try await store(name)
        try await open.catchUp()
        return open
    }

    private func hits(for task: String, field: String, options: RetrievalOptions, in open: OpenStore)
        async throws(ServiceError) -> [LookupHit]
    {
        do {
            return try await open.store.retrieve(task, options: options).map { hit in
                LookupHit(
                    memory: hit.memory, score: hit.score, outcome: hit.sourceOutcome,
                    explanation: hit.explanation.description)
            }
        } catch .emptyTask {
            throw .invalidBody(field: field, reason: "must not be empty (or only spaces and invisible characters)")
        } catch .taskWithoutDirection(let embedder) {
            // Hostile run 22: a batch's refusal named no task (finding 216).
            throw .invalidBody(
                field: field,
                reason: "holds no word the embedder \(embedder) knows, so it gives an all-zero vector that can't rank "
                    + "memories by cosine; give the task in words, or look it up with mode bm25")
        } catch .lookupTaskTooLarge(let bytes, let limit) {
            throw .invalidBody(field: field, reason: "is \(bytes) bytes; a lookup takes at most \(limit)")
        } catch {
            throw .from(error, store: open.name)
        }
    }

    private func retrievalOptions(k: Int?, mode: String?, filters: LookupFilters?, seed: UInt64?)
        throws(ServiceError) -> RetrievalOptions
    {
        let k = k ?? RetrievalOptions().k
        guard k <= limits.maximumK else { throw .limitExceeded(name: "k", limit: limits.maximumK, actual: k) }
        let policy = try mode.map { (mode) throws(ServiceError) in try choice(RetrievalPolicy.self, mode, name: "mode")
        }
        var options = RetrievalOptions(k: k, seed: seed ?? 0)
        if let policy { options.policy = policy }
        if let filters {
            options.filter = MemoryFilter(
                sources: filters.sources.map(Set.init), labels: filters.labels ?? [:],
                includeDeprecated: filters.includeDeprecated ?? false)
            options.minimumSimilarity = filters.minSimilarity
        }
        do throws(MemoryError) { try options.validate() } catch {
            throw Self.requestError(error, fields: ["k": "k", "minimumSimilarity": "filters.minSimilarity"])
        }
        return options
    }

    /// A library error about a setting (``ProceduralMemory/MemoryError/invalidParameter(name:value:expected:)``,
    /// ``ProceduralMemory/MemoryError/optionNotApplicable(option:policy:)``) told with the request field that set
    /// it, `fields` mapping the library's names to the request's: the library owns the rule, the service the names.
    private static func requestError(_ error: MemoryError, fields: [String: String]) -> ServiceError {
        switch error {
        case .invalidParameter(let name, let value, let expected):
            guard let field = fields[name] else { break }
            return .invalidBody(field: field, reason: "must be \(expected) (got \(formattedParameter(value)))")
        case .optionNotApplicable(let option, let policy):
            guard let field = fields[option] else { break }
            return .invalidBody(
                field: field, reason: "applies to the query, keyword and hybrid modes, not to \(policy.rawValue)")
        default: break
        }
        return .invalidArgument(name: "request", reason: error.description)
    }

    /// The service's ``updateSettings`` with a request's thresholds, checked by the library's rule.
    private func settings(minHits: Int?, minSuccessRate: Double?) throws(ServiceError) -> UpdateSettings {
        var settings = updateSettings
        if let minHits { settings.minimumHits = minHits }
        if let minSuccessRate { settings.minimumSuccessRate = minSuccessRate }
        do throws(MemoryError) { try settings.validate() } catch {
            throw Self.requestError(error, fields: ["minimumHits": "minHits", "minimumSuccessRate": "minSuccessRate"])
        }
        return settings
    }

    /// Checks a task against the server's length limit; whether it is blank, which the random mode allows, is the
    /// library's rule (``ProceduralMemory/MemoryError/emptyTask``, told with the task's field by ``hits(for:field:options:in:)``).
    private func checkTask(_ task: String, field: String) throws(ServiceError) {
        let count = task.count
        guard count <= limits.maximumTaskCharacters else {
            throw .limitExceeded(name: field + " length", limit: limits.maximumTaskCharacters, actual: count)
        }
    }

    /// Runs a read, answering ``ServiceError/timeout(seconds:)`` when it outlasts the lookup timeout.
    ///
    /// The read is cancelled then; a PostgreSQL store closes the connection it waits on, so a database that
    /// stopped answering doesn't hold the request.
    ///
    /// An answer that is ready only after the limit is not given either, so the limit holds however the two tasks
    /// happen to be scheduled.
    private func withTimeout<Result: Sendable>(
        _ body: @escaping @Sendable () async throws(ServiceError) -> Result
    ) async throws(ServiceError) -> Result {
        let timeout = limits.lookupTimeout
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let outcome = await withTaskGroup(of: Swift.Result<Result, ServiceError>?.self) { group in
            group.addTask {
                do throws(ServiceError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(.timeout(seconds: timeout.inSeconds))
            }
            var first: Swift.Result<Result, ServiceError>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first
        }
        guard let outcome, clock.now < deadline else { throw .timeout(seconds: timeout.inSeconds) }
        return try outcome.get()
    }
}

// MARK: - Decoding

extension MemoryService {
    /// Decodes a JSON body, turning decoding errors into ``ServiceError/invalidBody(field:reason:)``.
    func decode<Value: Decodable>(_ type: Value.Type, from body: Data) throws(ServiceError) -> Value {
        try Self.decode(type, from: body)
    }

    /// Decodes a JSON body, turning decoding errors into ``ServiceError/invalidBody(field:reason:)``.
    static func decode<Value: Decodable>(_ type: Value.Type, from body: Data) throws(ServiceError) -> Value {
        do {
            let value = try JSONDecoder().decode(type, from: body)
            try refuseRepeatedKey(in: body)
            return value
        } catch let error as ServiceError {
            throw error
        } catch let error as DecodingError {
            throw Self.invalidBody(error, body: body)
        } catch {
            throw Self.undecodable(body)
        }
    }

    /// The error for a number of `body` that no 64-bit float holds, naming its field, if there is one.
    static func numberOutOfRange(in body: Data) -> ServiceError? {
        JSONSyntax.numberOutOfRange(in: body).map {
            .invalidBody(field: $0.field, reason: JSONSyntax.outOfRangeReason($0.literal))
        }
    }

    /// Refuses a body in which an object repeats a key: a decoder keeps one of its values, silently.
    static func refuseRepeatedKey(in body: Data) throws(ServiceError) {
        if let (field, reason) = JSONSyntax.laxness(in: body) { throw .invalidBody(field: field, reason: reason) }
    }

    /// The error for a body the decoder refused without naming a field: a number no float holds, named with its
    /// field; where its JSON syntax breaks; or, when it is JSON, that a value doesn't fit its field.
    static func undecodable(_ body: Data) -> ServiceError {
        numberOutOfRange(in: body) ?? syntaxError(in: body)
    }

    /// Where the JSON syntax of `body` breaks, or, when it is JSON, that a value doesn't fit its field.
    private static func syntaxError(in body: Data) -> ServiceError {
        guard let problem = JSONSyntax.problem(in: body) else {
            return .invalidBody(field: "", reason: "holds a value that does not fit its field")
        }
        return .invalidBody(field: "", reason: "is not valid JSON: " + problem)
    }

    static func invalidBody(_ error: DecodingError, body: Data) -> ServiceError {
        // A number out of range fails as "must be a number", or names no field.
        if let outOfRange = numberOutOfRange(in: body) { return outOfRange }
        guard let (field, reason) = JSONSyntax.fieldProblem(error) else { return syntaxError(in: body) }
        return .invalidBody(field: field, reason: reason)
    }

    /// A value of a `CaseIterable` choice, or an error that lists the valid ones.
    func choice<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type, _ text: String, name: String)
        throws(ServiceError) -> Choice where Choice.RawValue == String
    {
        guard let value = Choice(rawValue: text) else {
            throw .invalidArgument(
                name: name,
                reason: "must be one of " + Choice.allCases.map(\.rawValue).joined(separator: ", ")
                    + " (got \"\(text)\")")
        }
        return value
    }

    /// The body as JSON Lines: a single JSON object (pretty-printed or not) becomes one line; anything else is
    /// taken as JSON Lines, each line validated by the importer.
    ///
    /// - Throws: ``ServiceError/invalidBody(field:reason:)`` for an empty body, a JSON array, an object that
    ///   repeats a key, or an object over several lines that is not valid JSON (its first two lines aren't JSON).
    static func jsonLines(_ body: Data) throws(ServiceError) -> Data {
        guard body.contains(where: { !$0.isWhitespaceByte }) else {
            throw .invalidBody(field: "", reason: "is empty; send a trajectory as JSON, or JSON Lines")
        }
        if let object = try? JSONSerialization.jsonObject(with: body), object is [String: Any],
            let line = try? JSONSerialization.data(withJSONObject: object)
        {
            // Written again as one line, the object keeps one value of a repeated key: refuse it as a line is refused.
            try refuseRepeatedKey(in: body)
            return line
        }
        if let first = body.first(where: { !$0.isWhitespaceByte }), first == UInt8(ascii: "[") {
            throw .invalidBody(field: "", reason: "is a JSON array; send one trajectory object, or JSON Lines")
        }
        // An object's opening line and the line after it, neither JSON of its own, are one object written over
        // several lines, broken somewhere: where the body's JSON breaks says more than "line 1" would. JSON Lines
        // whose first record is bad are read as such, so that `skipInvalid` skips it.
        let lines = body.split(separator: UInt8(ascii: "\n")).filter { $0.contains { !$0.isWhitespaceByte } }
        if lines.count > 1, lines[0].first(where: { !$0.isWhitespaceByte }) == UInt8(ascii: "{"),
            !lines.prefix(2).contains(where: { (try? JSONSerialization.jsonObject(with: Data($0))) != nil }),
            let problem = JSONSyntax.problem(in: body)
        {
            throw .invalidBody(field: "", reason: "is not valid JSON: " + problem)
        }
        return body
    }

    static func updateRequest(_ body: Data) throws(ServiceError) -> UpdateRequest {
        guard let parsed = try? JSONSerialization.jsonObject(with: body) else { throw Self.undecodable(body) }
        guard let object = parsed as? [String: Any] else {
            throw .invalidBody(field: "", reason: "must be a JSON object {\"policy\", \"tasks\"}")
        }
        guard let policy = object["policy"] else { throw .invalidBody(field: "policy", reason: "is missing") }
        guard let policy = policy as? String else { throw .invalidBody(field: "policy", reason: "must be a string") }
        guard let tasks = object["tasks"] else { throw .invalidBody(field: "tasks", reason: "is missing") }
        guard let tasks = tasks as? [Any] else {
            throw .invalidBody(field: "tasks", reason: "must be a list of finished-task objects")
        }
        var lines: [Data] = []
        for (index, task) in tasks.enumerated() {
            guard task is [String: Any], let line = try? JSONSerialization.data(withJSONObject: task) else {
                throw .invalidBody(field: "tasks[\(index)]", reason: "must be a trajectory object")
            }
            lines.append(line)
        }
        func optionalString(_ key: String) throws(ServiceError) -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw .invalidBody(field: key, reason: "must be a string") }
            return string
        }
        // The thresholds are read by the decoder, which tells a number from `true` (JSONSerialization doesn't);
        // it also refuses the fields an update doesn't have.
        struct Thresholds: Decodable {
            var minHits: Int?
            var minSuccessRate: Double?
            var resume: Bool?

            enum Fields: String, CodingKey, CaseIterable {
                case policy, tasks, build, source, minHits, minSuccessRate, resume
            }

            init(from decoder: any Decoder) throws {
                try decoder.refuseUnknownFields(Fields.self, of: "an update")
                let container = try decoder.container(keyedBy: Fields.self)
                // As feedback reads it: a number that is no integer (2.5, 1e300, 2^63) is refused naming the field.
                minHits = try LookupRequest.number(Int.self, in: container, forKey: .minHits)
                minSuccessRate = try container.decodeIfPresent(Double.self, forKey: .minSuccessRate)
                resume = try container.decodeIfPresent(Bool.self, forKey: .resume)
            }
        }
        let thresholds = try Self.decode(Thresholds.self, from: body)
        return UpdateRequest(
            policy: policy, tasks: lines, build: try optionalString("build"), source: try optionalString("source"),
            minHits: thresholds.minHits, minSuccessRate: thresholds.minSuccessRate, resume: thresholds.resume ?? false)
    }
}

extension UInt8 {
    fileprivate var isWhitespaceByte: Bool { self == 32 || self == 9 || self == 10 || self == 13 }
}
