import Embeddings
import Foundation
import RetrievalCore
import VectorIndex

extension MemoryStore {
    /// What a user who exported with `filter` and got `manifest` should hear: each source the filter names that no
    /// stored trajectory has (a misspelt source exports nothing without failing), that the bundle is empty, and
    /// `refused` (a record an import with the default text limits refuses) with the count of such records.
    private func exportWarnings(
        filter: MemoryFilter, manifest: BundleManifest, refused: (first: MemoryError, count: Int)?
    ) async throws(MemoryError) -> [String] {
        let known = try await statistics().trajectoriesBySource
        var warnings = (filter.sources ?? []).sorted().filter { known[$0] == nil }.map { source in
            "no trajectory or memory has source \(source); the store's sources are "
                + "\(known.keys.sorted().joined(separator: ", "))."
        }
        if manifest.memoryCount == 0 { warnings.append("no memory matched; the bundle is empty.") }
        if let refused {
            let record: String
            switch refused.first {
            case .textTooLarge(let path, let line, let field, let bytes, let limit):
                record =
                    "\(path) line \(line), field \(field): \(bytes) bytes, over the default limit of \(limit) bytes; "
                    + "import it with a larger text limit"
            case .invalidRecord(let path, let line, let field, let reason):
                record = "\(path) line \(line), field \(field): \(reason); change it in this store and export again"
            default:
                record = refused.first.description
            }
            warnings.append(
                "an import with the default text limits refuses this bundle: " + record
                    + (refused.count > 1 ? " (\(refused.count) records in all)." : "."))
        }
        return warnings
    }

    /// ``export(to:filter:)``, and what the user should hear about the bundle: each source `filter` names that no
    /// stored trajectory has, an empty bundle, and a record that an import with the default ``TextLimits`` refuses
    /// (a store whose imports raised a limit can hold texts over it), with how many there are.
    package func exportReporting(to directory: String, filter: MemoryFilter = MemoryFilter()) async throws(MemoryError)
        -> (manifest: BundleManifest, warnings: [String])
    {
        let (manifest, refused) = try await writeBundle(to: directory, filter: filter)
        return (manifest, try await exportWarnings(filter: filter, manifest: manifest, refused: refused))
    }

    /// Writes memories and their source trajectories to a new bundle directory, for another store (possibly of
    /// another agent or model) to import with ``importBundle(at:duplicates:)``.
    ///
    /// The bundle is written into a temporary directory beside `directory` and renamed into place, so a bundle
    /// either is complete or does not exist. An empty directory found there is replaced by the rename itself, so a
    /// failed export leaves it as it was. The temporaries of exports to the same directory that were killed before
    /// renaming theirs are removed first, unless some export is still writing beside it.
    ///
    /// - Parameters:
    ///   - directory: The bundle directory (a trailing `/` is dropped); it must not exist, or be empty.
    ///   - filter: Which memories; the default exports every active one.
    /// - Returns: The bundle's manifest.
    /// - Throws: ``MemoryError/io(path:reason:)`` when the directory exists with files in it, a file has its name,
    ///   it names no new directory (`.`, `..`, `/`), or it can't be written.
    @discardableResult
    public func export(to directory: String, filter: MemoryFilter = MemoryFilter()) async throws(MemoryError)
        -> BundleManifest
    {
        try await writeBundle(to: directory, filter: filter).manifest
    }

    /// ``export(to:filter:)``, and the first record an import with the default ``TextLimits`` refuses, with how
    /// many such records the bundle holds.
    private func writeBundle(to directory: String, filter: MemoryFilter) async throws(MemoryError)
        -> (manifest: BundleManifest, refused: (first: MemoryError, count: Int)?)
    {
        let fileManager = FileManager.default
        // Shell completion adds the slash; kept, it put the temporary inside the directory it was to replace.
        let requested = directory
        var directory = directory
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        let name = (directory as NSString).lastPathComponent
        guard !directory.isEmpty, directory != "/", name != ".", name != ".." else {
            throw .io(
                path: requested, reason: "names no new directory; name the bundle directory itself (as DIR/bundle)")
        }
        if let problem = pathProblem(directory) { throw .io(path: printableText(requested), reason: problem) }
        var isDirectory: ObjCBool = false
        // The empty directory found here is replaced by the finished bundle; anything else there is the user's.
        if fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw .io(path: directory, reason: "a file by that name exists; choose a new bundle directory")
        }
        if let contents = try? fileManager.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            throw .io(path: directory, reason: "the bundle directory exists and is not empty; choose a new one")
        }
        var entries: [IndexEntry] = []
        let generation = try await backend.forEachIndexEntry { entry in
            if filter.allows(entry.catalogEntry) { entries.append(entry) }
        }
        var memoryLines: [String] = []
        var trajectoryLines: [String] = []
        // By their bytes, as the database tells IDs apart: a `Set<String>` took "e\u{301}" and "é" for one and
        // left the second trajectory out of the bundle.
        var trajectoryIDs = Set<[UInt8]>()
        var producers = Set<String>()
        var refused: (first: MemoryError, count: Int)?
        func checkDefaultLimits(_ check: (TextLimits) throws(MemoryError) -> Void) {
            do throws(MemoryError) { try check(TextLimits()) } catch {
                refused = (refused?.first ?? error, (refused?.count ?? 0) + 1)
            }
        }
        for start in stride(from: 0, to: entries.count, by: 500) {
            let chunk = entries[start..<min(start + 500, entries.count)]
            let memories = try await backend.memories(numbered: chunk.map(\.number))
            for entry in chunk {
                guard var memory = memories[entry.number] else { continue }
                // A store written before built scripts were cut may hold longer ones, which no bundle carries.
                memory.script = memory.script.map(MemoryStore.clippedScript)
                memoryLines.append(
                    try bundleJSON(
                        BundledMemory(memory: memory, taskVector: entry.taskVector, keywordVector: entry.keywordVector),
                        path: directory))
                checkDefaultLimits { [line = memoryLines.count] (limits) throws(MemoryError) in
                    try limits.check(memory, path: BundleManifest.memoriesFileName, line: line, storedIDs: true)
                }
                for id in memory.sourceTrajectoryIDs where trajectoryIDs.insert(Array(id.utf8)).inserted {
                    guard let trajectory = try await backend.trajectory(id: id) else { continue }
                    if let producer = trajectory.producer { producers.insert(producer) }
                    trajectoryLines.append(try bundleJSON(trajectory, path: directory))
                    checkDefaultLimits { [line = trajectoryLines.count] (limits) throws(MemoryError) in
                        try limits.check(
                            trajectory, path: BundleManifest.trajectoriesFileName, line: line, storedIDs: true)
                    }
                }
            }
        }
        let parent = (directory as NSString).deletingLastPathComponent
        let parentPath = parent.isEmpty ? "." : parent
        do { try fileManager.createDirectories(atPath: parentPath) } catch {
            throw .io(path: parentPath, reason: "can't create the directory to hold the bundle: \(error)")
        }
        // Held shared while this export's temporary exists: an export killed meanwhile leaves one no lock holds.
        let lock = DirectoryLock.forWriting(in: parentPath, Self.isExportTemporary(of: name)) {
            try? FileManager.default.removeItem(atPath: $0)
        }
        defer { lock?.release() }
        let temporary = directory + Self.exportTemporaryMarker + UUID().uuidString
        do { try fileManager.createDirectories(atPath: temporary) } catch {
            throw .io(path: temporary, reason: "can't create the bundle directory: \(error)")
        }
        do throws(MemoryError) {
            var files: [BundleManifest.File] = []
            for (name, lines) in [
                (BundleManifest.memoriesFileName, memoryLines), (BundleManifest.trajectoriesFileName, trajectoryLines),
            ] {
                let data = Data(lines.map { $0 + "\n" }.joined().utf8)
                try writeFile(data, to: temporary + "/" + name)
                files.append(BundleManifest.File(path: name, bytes: data.count, sha256: SHA256.hexDigest(of: data)))
            }
            let manifest = BundleManifest(
                formatVersion: BundleManifest.currentFormatVersion, createdAt: Date(),
                embedderID: embedder.modelIdentifier, dimension: embedder.dimension, sourceModels: producers.sorted(),
                sourceGeneration: generation, memoryCount: memoryLines.count, trajectoryCount: trajectoryLines.count,
                files: files)
            try writeFile(
                Data(try bundleJSON(manifest, path: directory, pretty: true).utf8),
                to: temporary + "/" + BundleManifest.fileName)
            // rename(2) replaces an empty directory and refuses one with files in it, so nothing of the user's is
            // removed, even when a file arrived there after the check above.
            guard rename(temporary, directory) == 0 else {
                let reason =
                    errno == ENOTEMPTY || errno == EEXIST
                    ? "the bundle directory exists and is not empty; choose a new one"
                    : "can't move the bundle into place: \(systemErrorText())"
                throw MemoryError.io(path: directory, reason: reason)
            }
            return (manifest, refused)
        } catch {
            try? fileManager.removeItem(atPath: temporary)
            throw error
        }
    }

    /// What an export's temporary directory has after the bundle directory's name: then a UUID.
    static let exportTemporaryMarker = ".tmp-"

    /// Whether a file name is that of an export's temporary directory for the bundle directory `name`.
    static func isExportTemporary(of name: String) -> (String) -> Bool {
        { file in
            file.hasPrefix(name + exportTemporaryMarker)
                && UUID(uuidString: String(file.dropFirst(name.count + exportTemporaryMarker.count))) != nil
        }
    }

    /// Imports a bundle written by ``export(to:filter:)``: verified first, then written in one transaction.
    ///
    /// Every file's size and SHA-256 must match the manifest, every path must stay inside the bundle directory,
    /// and every record must parse; otherwise nothing is imported. Memories whose embedder differs from this
    /// store's are embedded again. Each memory keeps its producer, and records the bundle it came from.
    ///
    /// - Parameters:
    ///   - directory: The bundle directory.
    ///   - duplicates: What to do with a memory whose ID is stored already (trajectories already stored are kept
    ///     as they are).
    ///   - limits: The largest texts accepted (a bundle is refused when any memory or trajectory passes them).
    /// - Throws: ``MemoryError/bundleRefused(path:reason:)`` for a tampered, unsafe or malformed bundle, or one
    ///   holding impossible counters, memories without source trajectories or texts over `limits`;
    ///   ``MemoryError/duplicateMemory(id:bundle:)`` for a memory already stored under ``DuplicatePolicy/refuse``;
    ///   ``MemoryError/io(path:reason:)`` when `directory` does not exist.
    @discardableResult
    public func importBundle(
        at directory: String, duplicates: DuplicatePolicy = .refuse, limits: TextLimits = TextLimits()
    ) async throws(MemoryError) -> BundleImportReport {
        try limits.validate()
        let bundle = try VerifiedBundle(directory: directory, limits: limits)
        var report = BundleImportReport(manifest: bundle.manifest)
        let ours = embedder.modelIdentifier
        report.reembedded = bundle.manifest.embedderID != ours || bundle.manifest.dimension != embedder.dimension
        return try await write { (snapshot) throws(MemoryError) -> BundleImportReport in
            var records: [MemoryRecord] = []
            for item in bundle.memories {
                if try await backend.memory(id: item.memory.id) != nil {
                    switch duplicates {
                    case .refuse:
                        throw .duplicateMemory(id: item.memory.id, bundle: directory)
                    case .skip:
                        report.skippedMemories += 1
                        continue
                    case .replace:
                        break
                    }
                }
                var memory = item.memory
                memory.provenance.importedFrom =
                    "bundle \(directory) (embedder \(bundle.manifest.embedderID))"
                var vectors = MemoryVectors(task: item.taskVector, keywords: item.keywordVector)
                if report.reembedded {
                    memory.embedderID = ours
                    vectors = try await self.vectors(for: memory)
                }
                records.append(MemoryRecord(memory: memory, taskVector: vectors.task, keywordVector: vectors.keywords))
            }
            let needed = Set(records.flatMap(\.memory.sourceTrajectoryIDs))
            let stored = try await backend.existingTrajectoryIDs(among: Array(needed))
            let trajectories = bundle.trajectories.filter { needed.contains($0.id) && !stored.contains($0.id) }
            let result = try await apply(
                ChangeSet(
                    batch: WriteBatch(
                        trajectories: trajectories, memories: records, replacing: duplicates == .replace,
                        policy: "import-bundle",
                        reason: "import bundle \(directory) (source models: "
                            + (bundle.manifest.sourceModels.isEmpty
                                ? "unknown" : bundle.manifest.sourceModels.joined(separator: ", ")) + ")"),
                    changes: []), to: &snapshot)
            report.memories = records.count
            report.trajectories = trajectories.count
            report.generation = result.generation
            return report
        }
    }
}

/// A bundle whose manifest, paths, checksums and records were all checked.
struct VerifiedBundle {
    var manifest: BundleManifest
    var memories: [BundledMemory]
    var trajectories: [Trajectory]

    /// The largest manifest read.
    static let maximumManifestBytes = 1 << 20

    /// Why a bundle holding a record this store won't keep (a NUL character, a text over the limits) is refused:
    /// where, and that the record is to be changed in the store it came from, since exporting it again as it is
    /// gives the same bundle.
    private static func unstorable(_ error: MemoryError) -> String {
        switch error {
        case .invalidRecord(let path, let line, let field, let reason):
            "\(path) line \(line), field \(field): \(reason); change it in the store it came from first"
        case .textTooLarge(let path, let line, let field, let bytes, let limit):
            "\(path) line \(line), field \(field): \(bytes) bytes, over this store's limit of \(limit) bytes; import "
                + "it with a larger text limit, or shorten it in the store it came from first"
        default:
            error.description
        }
    }

    init(directory: String, limits: TextLimits = TextLimits()) throws(MemoryError) {
        func refuse(_ reason: String) -> MemoryError { .bundleRefused(path: directory, reason: reason) }
        if let problem = pathProblem(directory) { throw .io(path: printableText(directory), reason: problem) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw .io(path: directory, reason: "no such directory")
        }
        guard isDirectory.boolValue else {
            throw .io(path: directory, reason: "is a file, not a bundle directory from an export")
        }
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        let manifestPath = root + "/" + BundleManifest.fileName
        let manifestData: Data
        do { manifestData = try RegularFile.contents(of: manifestPath, limit: Self.maximumManifestBytes) } catch {
            throw error == .missing
                ? refuse("it has no \(BundleManifest.fileName)") : refuse("\(BundleManifest.fileName) \(error)")
        }
        let manifest: BundleManifest
        do {
            manifest = try bundleDecoder().decode(BundleManifest.self, from: manifestData)
        } catch {
            throw refuse(
                "\(BundleManifest.fileName) is not a valid manifest: "
                    + JSONSyntax.decodingProblem(error, in: manifestData))
        }
        let readable = BundleManifest.readableFormatVersions
        guard readable.contains(manifest.formatVersion) else {
            throw refuse(
                "it is bundle format v\(manifest.formatVersion); this build reads v\(readable.lowerBound)–"
                    + "v\(readable.upperBound)")
        }
        var contents: [String: Data] = [:]
        for file in manifest.files {
            let path = try Self.resolve(file.path, in: root, refuse: refuse)
            let data: Data
            do { data = try RegularFile.contents(of: path, limit: file.bytes) } catch {
                guard case .tooLarge = error else { throw refuse("\(file.path), listed in the manifest, \(error)") }
                throw refuse(
                    "\(file.path) differs from the manifest (size or SHA-256): it was changed after the export")
            }
            guard data.count == file.bytes, SHA256.hexDigest(of: data) == file.sha256.lowercased() else {
                throw refuse(
                    "\(file.path) differs from the manifest (size or SHA-256): it was changed after the export")
            }
            contents[file.path] = data
        }
        guard let memoryData = contents[BundleManifest.memoriesFileName],
            let trajectoryData = contents[BundleManifest.trajectoriesFileName]
        else {
            throw refuse(
                "the manifest must list \(BundleManifest.memoriesFileName) and \(BundleManifest.trajectoriesFileName)")
        }
        let memories = try Self.lines(
            of: memoryData, as: BundledMemory.self, file: BundleManifest.memoriesFileName, refuse: refuse)
        let trajectories = try Self.lines(
            of: trajectoryData, as: Trajectory.self, file: BundleManifest.trajectoriesFileName, refuse: refuse)
        guard memories.count == manifest.memoryCount, trajectories.count == manifest.trajectoryCount else {
            throw refuse(
                "it holds \(memories.count) memories and \(trajectories.count) trajectories; the manifest says "
                    + "\(manifest.memoryCount) and \(manifest.trajectoryCount)")
        }
        let trajectoryIDs = Set(trajectories.map(\.id))
        // An export never repeats a record; a repeat would reach the database as a constraint failure. Two IDs that
        // are one text in two Unicode forms ("e\u{301}" and "é", from a store written before IDs had to be in NFC)
        // are two rows to the database but one key to the store's indexes, which would fail after the commit.
        var memoryLines: [String: (line: Int, id: String)] = [:]
        for (index, item) in memories.enumerated() {
            let line = "\(BundleManifest.memoriesFileName) line \(index + 1)"
            if let first = memoryLines.updateValue((index + 1, item.memory.id), forKey: item.memory.id) {
                throw refuse(Self.repeated("memory", item.memory.id, at: line, first: first))
            }
            guard item.memory.embedderID == manifest.embedderID else {
                throw refuse(
                    "\(line): memory \(item.memory.id) names embedder \(item.memory.embedderID), not the manifest's")
            }
            for vector in [item.taskVector] + (item.keywordVector.map { [$0] } ?? []) {
                guard vector.count == manifest.dimension, vector.allSatisfy(\.isFinite) else {
                    throw refuse(
                        "\(line): a vector has \(vector.count) values or a non-finite one; expected \(manifest.dimension)"
                    )
                }
                // No store indexes such a vector: stored, it failed every later keyword lookup (hostile run 15).
                if let excess = Metric.innerProduct.excessiveNorm(of: vector) {
                    throw refuse(
                        "\(line): memory \(item.memory.id) has a vector of L2 norm \(Float(excess.norm)), over the "
                            + "\(Float(excess.limit)) a store's indexes take")
                }
            }
            // The store it came from can't have indexed it (its components are finite by now): a hand-made or
            // altered bundle.
            guard hasCosineDirection(item.taskVector) else {
                throw refuse(
                    "\(line): memory \(item.memory.id)'s task vector is all zeros, which has no cosine direction")
            }
            let memory = item.memory
            guard !memory.id.isEmpty, !memory.task.isEmpty else {
                throw refuse(
                    memory.id.isEmpty
                        ? "\(line): a memory has an empty ID" : "\(line): memory \(memory.id) has an empty task")
            }
            // The rule an export follows: it cuts longer scripts, so only a hand-made or altered bundle has one.
            if let script = memory.script, script.count > MemoryStore.maximumScriptLength {
                throw refuse(
                    "\(line): memory \(memory.id) has a script of \(script.count) characters; a bundle carries at "
                        + "most \(MemoryStore.maximumScriptLength)")
            }
            guard memory.hitCount >= 0, memory.successCount >= 0, memory.successCount <= memory.hitCount,
                memory.hitCount <= Memory.maximumCount, memory.revision >= 1, memory.revision <= Memory.maximumCount
            else {
                throw refuse(
                    "\(line): memory \(memory.id) has impossible counters (\(memory.successCount) successes of "
                        + "\(memory.hitCount) hits, revision \(memory.revision)); counts run from 0 to "
                        + "\(Memory.maximumCount), successes at most hits, revisions from 1")
            }
            guard !memory.sourceTrajectoryIDs.isEmpty else {
                throw refuse("\(line): memory \(memory.id) names no source trajectory (a store deletes such memories)")
            }
            var sources = Set<String>()
            if let repeated = memory.sourceTrajectoryIDs.first(where: { !sources.insert($0).inserted }) {
                throw refuse("\(line): memory \(memory.id) names source trajectory \(repeated) twice")
            }
            if let missing = memory.sourceTrajectoryIDs.first(where: { !trajectoryIDs.contains($0) }) {
                throw refuse("\(line): memory \(memory.id) names source trajectory \(missing), which the bundle lacks")
            }
            do throws(MemoryError) {
                try limits.check(memory, path: BundleManifest.memoriesFileName, line: index + 1, storedIDs: true)
            } catch { throw refuse(Self.unstorable(error)) }
        }
        var trajectoryLines: [String: (line: Int, id: String)] = [:]
        for (index, trajectory) in trajectories.enumerated() {
            if let first = trajectoryLines.updateValue((index + 1, trajectory.id), forKey: trajectory.id) {
                throw refuse(
                    Self.repeated(
                        "trajectory", trajectory.id, at: "\(BundleManifest.trajectoriesFileName) line \(index + 1)",
                        first: first))
            }
            do throws(MemoryError) {
                try limits.check(
                    trajectory, path: BundleManifest.trajectoriesFileName, line: index + 1, storedIDs: true)
            } catch {
                throw refuse(Self.unstorable(error))
            }
        }
        self.manifest = manifest
        self.memories = memories
        self.trajectories = trajectories
    }

    /// Why a record whose ID equals an earlier one's as text is refused: the same ID again, or the same text in
    /// another Unicode form.
    private static func repeated(_ kind: String, _ id: String, at line: String, first: (line: Int, id: String))
        -> String
    {
        guard first.id.utf8.elementsEqual(id.utf8) else {
            return "\(line): \(kind) \(id) is \(kind) \(first.id) of line \(first.line) in another Unicode form "
                + "(\(Self.scalars(id)) and \(Self.scalars(first.id))); a store can't import both. Delete one of "
                + "them from the store the bundle came from"
        }
        return "\(line): \(kind) \(id) appears again (first on line \(first.line))"
    }

    /// The code points of `id`, as `U+0065 U+0301`: the first 12, then `…`.
    private static func scalars(_ id: String) -> String {
        id.unicodeScalars.prefix(12).map { "U+" + String(format: "%04X", $0.value) }.joined(separator: " ")
            + (id.unicodeScalars.count > 12 ? " …" : "")
    }

    /// The absolute path of a file named in the manifest, refused unless it stays inside the bundle directory.
    static func resolve(_ relative: String, in root: String, refuse: (String) -> MemoryError) throws(MemoryError)
        -> String
    {
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.contains("\\"), !relative.contains("\0"),
            !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty })
        else {
            throw refuse("the manifest names the path \"\(relative)\", which would leave the bundle directory")
        }
        // A symbolic link inside the bundle could point anywhere: the resolved path must stay inside too.
        let resolved = URL(fileURLWithPath: root + "/" + relative).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root + "/") else {
            throw refuse("\(relative) resolves to a file outside the bundle directory")
        }
        return resolved
    }

    private static func lines<Value: Decodable>(
        of data: Data, as type: Value.Type, file: String, refuse: (String) -> MemoryError
    ) throws(MemoryError) -> [Value] {
        let decoder = bundleDecoder()
        var values: [Value] = []
        // Empty lines are skipped but counted, so that line numbers are the file's.
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            let record = Data(line)
            do { values.append(try decoder.decode(type, from: record)) } catch {
                throw refuse(
                    "\(file) line \(index + 1) is not a valid record: " + JSONSyntax.decodingProblem(error, in: record))
            }
            if let repeated = JSONSyntax.repeatedKey(in: record) {
                throw refuse("\(file) line \(index + 1): field \(repeated) appears twice in its object")
            }
        }
        return values
    }
}

/// Reads ISO-8601 dates (format 2) and seconds since 1970 (format 1).
private func bundleDecoder() -> JSONDecoder { JSONDates.decoder() }

private func bundleJSON(_ value: some Encodable, path: String, pretty: Bool = false) throws(MemoryError) -> String {
    let encoder = JSONDates.encoder(pretty: pretty)
    do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
        throw .io(path: path, reason: "can't encode a record: \(error.localizedDescription)")
    }
}

private func writeFile(_ data: Data, to path: String) throws(MemoryError) {
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw .io(path: path, reason: systemErrorText(of: error))
    }
}
