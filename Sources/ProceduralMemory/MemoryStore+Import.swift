import Foundation
import RetrievalCore

/// What to do with a trajectory whose ID is already stored (or seen earlier in the same import).
public enum DuplicatePolicy: String, CaseIterable, Codable, Sendable {
    /// Stop the import with ``MemoryError/duplicateTrajectory(id:path:line:)``.
    case refuse
    /// Keep the stored trajectory and count the new one as skipped.
    case skip
    /// Replace the stored trajectory and rebuild its memory.
    case replace
}

/// How to import trajectories.
public struct ImportOptions: Sendable {
    /// The file's format.
    public var format: TrajectoryFormat
    /// How trajectories become memories.
    public var builder: MemoryBuilder
    /// What to do with duplicate IDs.
    public var duplicates: DuplicatePolicy
    /// Whether to skip bad lines (counting them) instead of stopping at the first one.
    public var skipInvalid: Bool
    /// Trajectories per transaction; a crash loses at most the batch in flight.
    public var batchSize: Int
    /// The source of records that name none (the reference format never does); default: the file's base name.
    public var source: String?
    /// The producer of records that name none.
    public var producer: String?
    /// The largest texts accepted; see ``TextLimits``.
    public var limits: TextLimits

    /// Creates options: automatic format, proceduralization, refuse duplicates, stop at bad lines,
    /// batches of 256.
    public init(
        format: TrajectoryFormat = .automatic, builder: MemoryBuilder = MemoryBuilder(),
        duplicates: DuplicatePolicy = .refuse, skipInvalid: Bool = false, batchSize: Int = 256,
        source: String? = nil, producer: String? = nil, limits: TextLimits = TextLimits()
    ) {
        self.limits = limits
        self.format = format
        self.builder = builder
        self.duplicates = duplicates
        self.skipInvalid = skipInvalid
        self.batchSize = batchSize
        self.source = source
        self.producer = producer
    }

    /// Checks the options of an import from JSON Lines.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` for a ``batchSize`` below 1, a negative
    ///   ``MemoryBuilder/keywordLimit``, or limits ``TextLimits/validate()`` refuses.
    package func validate() throws(MemoryError) {
        guard batchSize >= 1 else {
            throw .invalidParameter(name: "batchSize", value: Double(batchSize), expected: "at least 1")
        }
        try limits.validate()
        try builder.validate()
    }
}

/// What an import did, or has done so far when the import's progress callback gets it after each committed batch.
///
/// Encoded (as `memp import --json` and the service print it), it holds the counts and errors; the byte counts of
/// the progress are left out.
public struct ImportReport: Sendable, Equatable, Codable {
    /// Non-blank lines read.
    public var linesRead = 0
    /// Bytes of the input read: up to the end of the last committed batch while the import runs, all at its end.
    public var bytesRead = 0
    /// The input's size in bytes when the import began, or ``bytesRead`` when more than that was read (a file that
    /// grew while it was imported), so that `bytesRead / totalBytes` never passes 1.
    public var totalBytes = 0
    /// Trajectories stored (new or replacing), each with its memory.
    public var imported = 0
    /// Of those, how many replaced a stored trajectory.
    public var replaced = 0
    /// Duplicates skipped.
    public var skippedDuplicates = 0
    /// Bad lines skipped.
    public var invalid = 0
    /// The first bad lines' errors, in line order (at most 100).
    public var errors: [String] = []
    /// The fields of the records read that their format does not read, so that nothing of them was stored (a
    /// misspelt `sorce` or `outcome.rewrd`, an agent's own `steps[].time`): at most 100 names, each printable and
    /// at most 100 characters long.
    package var unreadFields = UnreadFields()
    /// The generation of the store after the import.
    package var generation: UInt64 = 0

    /// How many bad-line errors a report keeps.
    package static let maximumRecordedErrors = 100

    /// What ``unreadFields`` says, as a warning without its final period (`nil` when every field was read):
    /// "2 fields of the input are not in its trajectory format, so nothing of them was stored: "sorce" (line 1),
    /// "steps[].time" (3 lines from line 2)".
    package var unreadFieldsWarning: String? {
        unreadFields.warning(of: "the input", notIn: "its trajectory format", consequence: "stored")
    }

    private enum CodingKeys: String, CodingKey {
        case linesRead, imported, replaced, skippedDuplicates, invalid, errors, unreadFields, generation
    }
}

extension MemoryStore {
    /// Imports a JSON Lines trajectory file: streamed, built into memories, embedded, and committed in batches.
    ///
    /// Lookups keep seeing the store as it was until the import ends; then they see all of it at once.
    /// If the import stops at an error, the batches committed before it stay (and become visible).
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - options: Format, build policy, duplicate handling, batch size.
    ///   - progress: Called after each committed batch with the report so far (``ImportReport/bytesRead`` and
    ///     ``ImportReport/totalBytes`` say how far through the file it is).
    /// - Returns: Counts of what was imported, skipped and rejected.
    /// - Throws: ``MemoryError/invalidRecord(path:line:field:reason:)`` for a bad line (unless skipping them),
    ///   ``MemoryError/textTooLarge(path:line:field:bytes:limit:)`` for a text over ``ImportOptions/limits``,
    ///   ``MemoryError/duplicateTrajectory(id:path:line:)`` or
    ///   ``MemoryError/repeatedTrajectory(id:path:line:firstLine:)``, wrapped in
    ///   ``MemoryError/importStopped(committedTrajectories:cause:)``
    ///   when earlier batches were committed; ``MemoryError/io(path:reason:)`` when the file can't be read.
    @discardableResult
    public func importTrajectories(
        from path: String, options: ImportOptions = ImportOptions(),
        progress: (@Sendable (ImportReport) -> Void)? = nil
    ) async throws(MemoryError) -> ImportReport {
        try options.validate()
        let reader = JSONLinesReader(path: path, maximumLineBytes: options.limits.maximumLineBytes)
        if let reason = reader.unreadableReason { throw .io(path: path, reason: reason) }
        let totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return try await importTrajectories(from: reader, totalBytes: totalBytes, options: options, progress: progress)
    }

    /// Imports JSON Lines trajectories held in memory (a request body), exactly as a file of the same bytes.
    ///
    /// - Parameters:
    ///   - data: The JSON Lines bytes.
    ///   - name: What error messages and the history call the bytes, in place of a file path.
    ///   - options: Format, build policy, duplicate handling, batch size.
    /// - Returns: Counts of what was imported, skipped and rejected.
    /// - Throws: As ``importTrajectories(from:options:progress:)``, with `name` as the path.
    @discardableResult
    public func importTrajectories(
        jsonLines data: Data, name: String, options: ImportOptions = ImportOptions()
    ) async throws(MemoryError) -> ImportReport {
        try options.validate()
        return try await importTrajectories(
            from: JSONLinesReader(data: data, name: name, maximumLineBytes: options.limits.maximumLineBytes),
            totalBytes: data.count, options: options, progress: nil)
    }

    private func importTrajectories(
        from reader: JSONLinesReader, totalBytes: Int, options: ImportOptions,
        progress: (@Sendable (ImportReport) -> Void)?
    ) async throws(MemoryError) -> ImportReport {
        let path = reader.path
        let parser = TrajectoryRecordParser(
            path: path, defaultSource: options.source, defaultProducer: options.producer)
        return try await write { (snapshot) throws(MemoryError) -> ImportReport in
            var report = ImportReport(totalBytes: totalBytes)
            var bytesRead = 0
            var format = options.format
            var pending: [TrajectoryRecord] = []
            var seen: [String: Int] = [:]  // ID → first line
            var knownVectors: [String: [Float]] = [:]
            func flush() async throws(MemoryError) {
                guard !pending.isEmpty else { return }
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                try await importBatch(
                    batch, options: options, importedFrom: path, snapshot: &snapshot, report: &report,
                    knownVectors: &knownVectors)
                report.bytesRead = bytesRead
                report.totalBytes = max(report.totalBytes, bytesRead)
                progress?(report)
            }
            do throws(MemoryError) {
                for line in reader {
                    if let reason = line.unreadable { throw MemoryError.io(path: path, reason: reason) }
                    report.linesRead += 1
                    bytesRead += line.length + 1
                    let record: TrajectoryRecord
                    do throws(MemoryError) {
                        guard line.length <= options.limits.maximumLineBytes else {
                            throw MemoryError.textTooLarge(
                                path: path, line: line.number, field: "(line)", bytes: line.length,
                                limit: options.limits.maximumLineBytes)
                        }
                        let object = try parser.object(line.data, line: line.number)
                        if format == .automatic { format = TrajectoryRecordParser.detectFormat(of: object) }
                        record = try parser.record(object, format: format, line: line.number)
                        try options.limits.check(
                            record.trajectory, facts: record.facts, path: path, line: line.number)
                    } catch {
                        guard options.skipInvalid else { throw error }
                        report.invalid += 1
                        if report.errors.count < ImportReport.maximumRecordedErrors {
                            report.errors.append(error.description)
                        }
                        continue
                    }
                    report.unreadFields.note(record.unreadFields, line: line.number)
                    let id = record.trajectory.id
                    if let firstLine = seen[id] {
                        switch options.duplicates {
                        case .refuse:
                            throw MemoryError.repeatedTrajectory(
                                id: id, path: path, line: line.number, firstLine: firstLine)
                        case .skip:
                            report.skippedDuplicates += 1
                            continue
                        case .replace:
                            // The later line wins: flush so that it replaces the earlier one in order.
                            try await flush()
                        }
                    }
                    seen[id] = seen[id] ?? line.number
                    pending.append(record)
                    if pending.count >= options.batchSize { try await flush() }
                }
                try await flush()
            } catch {
                throw report.imported > 0
                    ? .importStopped(committedTrajectories: report.imported, cause: error) : error
            }
            report.bytesRead = bytesRead
            report.totalBytes = max(report.totalBytes, bytesRead)
            report.generation = snapshot.generation
            return report
        }
    }

    /// Adds trajectories given in code, as one batch; see ``importTrajectories(from:options:progress:)``.
    ///
    /// - Parameters:
    ///   - trajectories: Trajectories with distinct IDs, non-empty tasks and sources, and at least one step each.
    ///   - facts: Keywords per trajectory ID, for trajectories that come with them; each is trimmed and the blank
    ///     ones are dropped, as a file's are.
    ///   - options: The build policy and duplicate handling (the format, batch size and skipping don't apply).
    /// - Throws: ``MemoryError/invalidTrajectory(id:field:rule:)`` for a trajectory that breaks the rules above, or
    ///   keywords (field `facts`) for an ID the batch doesn't hold;
    ///   ``MemoryError/repeatedTrajectory(id:path:line:firstLine:)`` (path `(batch)`, lines from 1) for an ID given
    ///   twice, otherwise as ``importTrajectories(from:options:progress:)``.
    @discardableResult
    public func add(
        _ trajectories: [Trajectory], facts: [String: [String]] = [:],
        options: ImportOptions = ImportOptions()
    ) async throws(MemoryError) -> ImportReport {
        try options.limits.validate()
        try options.builder.validate()
        let facts = facts.mapValues(TrajectoryRecord.keptFacts)
        // Keywords for an ID not in the batch (a misspelt one) would be dropped unseen.
        let ids = Set(trajectories.map(\.id))
        if let stray = facts.keys.sorted().first(where: { !ids.contains($0) }) {
            throw .invalidTrajectory(id: stray, field: "facts", rule: "names no trajectory of the batch")
        }
        var firstLines: [String: Int] = [:]
        for (index, trajectory) in trajectories.enumerated() {
            // Checked first: an ID in decomposed form is refused as such, not as a repeat of its composed form.
            try options.limits.check(
                trajectory, facts: facts[trajectory.id] ?? [], path: "(batch)", line: index + 1)
            if let firstLine = firstLines[trajectory.id] {
                throw .repeatedTrajectory(id: trajectory.id, path: "(batch)", line: index + 1, firstLine: firstLine)
            }
            firstLines[trajectory.id] = index + 1
            try Self.checkShape(trajectory)
        }
        return try await write { (snapshot) throws(MemoryError) -> ImportReport in
            var report = ImportReport(linesRead: trajectories.count)
            var knownVectors: [String: [Float]] = [:]
            let records = trajectories.enumerated().map { index, trajectory in
                TrajectoryRecord(trajectory: trajectory, facts: facts[trajectory.id] ?? [], line: index + 1)
            }
            try await importBatch(
                records, options: options, importedFrom: nil, snapshot: &snapshot, report: &report,
                knownVectors: &knownVectors)
            report.generation = snapshot.generation
            return report
        }
    }

    /// Checks what every stored trajectory has, which the file readers check as they parse and code can leave out: an
    /// ID, a task and a source that are not blank, and at least one step, each with an action.
    ///
    /// - Throws: ``MemoryError/invalidTrajectory(id:field:rule:)`` naming the field.
    static func checkShape(_ trajectory: Trajectory) throws(MemoryError) {
        let blank = [
            ("id", trajectory.id), ("task", trajectory.task), ("source", trajectory.source),
        ].first { $0.1.isBlank }
        if let (field, _) = blank {
            throw .invalidTrajectory(id: trajectory.id, field: field, rule: "must not be empty")
        }
        guard !trajectory.steps.isEmpty else {
            throw .invalidTrajectory(id: trajectory.id, field: "steps", rule: "must hold at least one step")
        }
        if let step = trajectory.steps.firstIndex(where: { $0.action.isBlank }) {
            throw .invalidTrajectory(id: trajectory.id, field: "steps[\(step)].action", rule: "must not be empty")
        }
    }

    /// Builds, embeds and commits one batch, then applies it to the writer's snapshot.
    private func importBatch(
        _ records: [TrajectoryRecord], options: ImportOptions, importedFrom: String?,
        snapshot: inout IndexSnapshot,
        report: inout ImportReport, knownVectors: inout [String: [Float]]
    ) async throws(MemoryError) {
        let stored = try await backend.existingTrajectoryIDs(among: records.map(\.trajectory.id))
        var accepted: [TrajectoryRecord] = []
        for record in records {
            if stored.contains(record.trajectory.id) {
                switch options.duplicates {
                case .refuse:
                    throw .duplicateTrajectory(
                        id: record.trajectory.id, path: importedFrom ?? "(batch)", line: record.line)
                case .skip:
                    report.skippedDuplicates += 1
                    continue
                case .replace:
                    break
                }
            }
            accepted.append(record)
        }
        guard !accepted.isEmpty else { return }
        let date = Date()
        let embedderID = embedder.modelIdentifier
        var memories: [Memory] = []
        memories.reserveCapacity(accepted.count)
        for record in accepted {
            let keywords =
                record.facts.isEmpty
                ? snapshot.keywords(of: record.trajectory.task, limit: options.builder.keywordLimit) : record.facts
            memories.append(
                try await options.builder.memory(
                    from: record.trajectory, keywords: keywords, embedderID: embedderID,
                    importedFrom: importedFrom,
                    date: date))
        }
        let taskVectors = try await vectors(of: memories.map(\.task), reusing: &knownVectors)
        // A vector without a direction can't be ranked by cosine: such a task is a bad record.
        var kept: [Int] = []
        for (index, vector) in taskVectors.enumerated() {
            if hasCosineDirection(vector) {
                kept.append(index)
                continue
            }
            let error = MemoryError.invalidRecord(
                path: importedFrom ?? "(batch)", line: accepted[index].line, field: "task",
                reason: "the embedder gives it an all-zero or non-finite vector, so it can't be ranked")
            guard options.skipInvalid else { throw error }
            report.invalid += 1
            if report.errors.count < ImportReport.maximumRecordedErrors { report.errors.append(error.description) }
        }
        guard !kept.isEmpty else { return }
        _ = try await vectors(of: kept.flatMap { memories[$0].keywords }, reusing: &knownVectors)
        let records = kept.map { index in
            let memory = memories[index]
            let keywordVector =
                memory.keywords.isEmpty ? nil : meanVector(memory.keywords.compactMap { knownVectors[$0] })
            return MemoryRecord(memory: memory, taskVector: taskVectors[index], keywordVector: keywordVector)
        }
        accepted = kept.map { accepted[$0] }
        let result = try await backend.write(
            WriteBatch(
                trajectories: accepted.map(\.trajectory), memories: records,
                replacing: options.duplicates == .replace,
                policy: options.builder.policy.rawValue,
                reason: importedFrom.map { "import \($0)" } ?? "add"))
        snapshot.remove(result.removed)
        let written = Dictionary(accepted.map { ($0.trajectory.id, $0.trajectory) }) { _, last in last }
        for record in records {
            guard let number = result.numbers[record.memory.id] else { continue }
            let entry = IndexEntry(
                number: number, task: record.memory.task, keywords: record.memory.keywords,
                taskVector: record.taskVector, keywordVector: record.keywordVector,
                catalogEntry: try await catalogEntry(of: record.memory, writtenWith: written),
                procedureText: IndexEntry.procedureText(script: record.memory.script, steps: record.memory.steps))
            do throws(IndexError) { try snapshot.insert(entry) } catch { throw .index(error) }
        }
        snapshot.generation = result.generation
        report.imported += accepted.count
        report.replaced += result.replacedTrajectories
    }
}
