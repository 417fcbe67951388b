import Foundation
import KeywordIndex
import RetrievalCore
import VectorIndex

/// What a check of a whole store found (`MemoryStore.verify(at:)` in MemoryLocation).
public struct StoreVerification: Sendable, Equatable, Codable {
    /// Everything wrong, one sentence each, naming tables, IDs and files; empty when the store is sound.
    public var problems: [String] = []
    /// What was checked that needs no action (a stale cache is rebuilt at the next open, for instance).
    public var notes: [String] = []
    /// Trajectory rows (in the JSON encoding; ``MemoryStore/statistics()`` counts them in an open store).
    package var trajectories = 0
    /// Memory rows (in the JSON encoding, as ``trajectories``).
    package var memories = 0
    /// The store's generation.
    package var generation: UInt64 = 0
    /// Whether nothing is wrong.
    package var isSound: Bool { problems.isEmpty }

    /// The most problems of one kind listed; the rest are counted.
    package static let maximumListed = 20

    /// An empty report: no problems found yet.
    package init() {}
}

/// A backend that can check its own storage, beyond what reading it through ``MemoryBackend`` shows: the
/// database's own checks and rows that break the store's invariants.
package protocol StorageChecking: MemoryBackend {
    /// What the database's own checks find (SQLite's integrity and foreign-key checks), one sentence each, naming
    /// the check; empty when they pass.
    func storageProblems() async throws(MemoryError) -> [String]

    /// Rows that break the store's invariants (counters out of range, memories without a source trajectory or a
    /// well-formed vector of `dimension` values, rows that don't decode), at most
    /// ``StoreVerification/maximumListed`` of each kind named.
    func consistencyProblems(dimension: Int) async throws(MemoryError) -> [String]
}

extension MemoryStore {
    /// Checks a whole store without changing it: the backend's own checks when it has them (``StorageChecking``),
    /// that every memory can be indexed, and that index cache files the store would trust hold exactly what the
    /// backend holds.
    ///
    /// - Parameters:
    ///   - backend: The store's source of truth, opened read-only where the backend can be.
    ///   - cacheDirectory: Where the store's index caches are; `nil` when it keeps none.
    /// - Returns: The findings; a backend that can't be read is reported as a problem, not thrown.
    /// - Complexity: O(*n*) in the rows and vectors stored.
    package static func verify(backend: any MemoryBackend, cacheDirectory: String?) async -> StoreVerification {
        var report = StoreVerification()
        let checking = backend as? any StorageChecking
        do throws(MemoryError) {
            report.problems += try await checking?.storageProblems() ?? []
        } catch {
            report.problems.append("the database can't be checked: \(error)")
            return report
        }
        let info: StoreInfo
        do throws(MemoryError) {
            guard let stored = try await backend.storeInfo() else {
                report.problems.append("the database holds no store settings (table meta)")
                return report
            }
            info = stored
            report.generation = info.generation
            if let source = info.incompleteCopyOf {
                report.problems.append(MemoryError.incompleteCopy(source: source).description)
            }
            report.problems += try await checking?.consistencyProblems(dimension: info.dimension) ?? []
            let statistics = try await backend.statistics()
            report.trajectories = statistics.trajectories
            report.memories = statistics.memories
        } catch {
            report.problems.append("the database can't be read: \(error)")
            return report
        }
        report.problems += await rowProblems(of: backend, checkingRecords: checking == nil)
        // Rebuilding the indexes reads every memory and vector the way an open does.
        let rebuilt: IndexSnapshot
        do throws(MemoryError) {
            rebuilt = try await rebuild(from: backend, dimension: info.dimension, vectorStorage: .f32)
        } catch {
            report.problems.append("the memories can't be indexed: \(error)")
            return report
        }
        guard let cacheDirectory else { return report }
        let cache = IndexCache(directory: cacheDirectory)
        let leftovers = cache.leftoverTemporaryFiles()
        if !leftovers.isEmpty {
            report.notes.append(
                "\(cacheDirectory): \(leftovers.count) temporary file\(leftovers.count == 1 ? "" : "s") left by cache saves "
                    + "that were stopped (\(leftovers.joined(separator: ", "))); the next save removes them")
        }
        // Another process may write while this one reads: the cache can only be compared with the database at the
        // generation it claims, so a store that moved meanwhile is compared next time.
        guard rebuilt.generation == info.generation else {
            report.notes.append(
                "the store changed while it was verified (generation \(info.generation) → \(rebuilt.generation)); "
                    + "the index cache was not compared")
            return report
        }
        switch cache.load(matching: info, vectorStorage: nil) {
        case .failure(let miss):
            report.notes.append("index cache not used (\(miss.reason)); it is rebuilt at the next open")
        case .success(let (indexes, _)):
            let differences = cacheDifferences(
                tasks: indexes.vectors, text: indexes.keywords, from: rebuilt)
            if differences.isEmpty {
                report.notes.append("index cache matches the database at generation \(info.generation)")
            } else {
                report.problems += differences.map { "index cache \(cache.directory): \($0)" }
            }
            do throws(IndexError) {
                try indexes.vectors.verifyValues(path: cache.directory + "/" + IndexCache.memoryFiles.vectors)
            } catch {
                report.problems.append("index cache: \(error)")
            }
        }
        return report
    }

    /// What every backend must be able to read, through its own reads: the whole history (hostile run 8 overwrote
    /// history rows of both backends and `verify` said OK, while `memp history` failed); with `checkingRecords`,
    /// for a backend without checks of its own, every trajectory and every memory, whose counters, revision,
    /// sources and dates must be possible (on PostgreSQL, a memory with an unknown status, a NaN date or no source
    /// passed).
    private static func rowProblems(of backend: any MemoryBackend, checkingRecords: Bool) async -> [String] {
        var problems: [String] = []
        do throws(MemoryError) { try await backend.forEachHistoryEntry { _ in } } catch {
            problems.append("the history can't be read: \(error)")
        }
        // Hostile run 21: records edited to hold a negative line passed.
        do throws(MemoryError) {
            let lines = try await backend.appliedTasks(among: nil).compactMap { record in
                record.line.flatMap { $0 < 1 ? "\(record.trajectoryID) (line \($0))" : nil }
            }
            if !lines.isEmpty { problems.append(listed("records of applied tasks with a line below 1", lines)) }
        } catch {
            problems.append("the records of applied tasks can't be read: \(error)")
        }
        guard checkingRecords else { return problems }
        do throws(MemoryError) { try await backend.forEachTrajectory { _ in } } catch {
            problems.append("the trajectories can't be read: \(error)")
        }
        var numbers: [DocumentID] = []
        do throws(MemoryError) { _ = try await backend.forEachIndexEntry { numbers.append($0.number) } } catch {
            problems.append("the memories can't be listed: \(error)")
            return problems
        }
        var impossible: [String] = []
        var undecodable: [String] = []
        for start in stride(from: 0, to: numbers.count, by: 1000) {
            let chunk = Array(numbers[start..<min(start + 1000, numbers.count)])
            var read: [Memory] = []
            do throws(MemoryError) { read = Array(try await backend.memories(numbered: chunk).values) } catch {
                for number in chunk {  // one by one: the rows of the chunk at fault, and the others
                    do throws(MemoryError) { read += try await backend.memories(numbered: [number]).values } catch {
                        undecodable.append("memory number \(number) (\(error))")
                    }
                }
            }
            for memory in read {
                if let fault = memory.verificationProblem { impossible.append("\(memory.id) (\(fault))") }
            }
        }
        for (what, items) in [
            ("memories in an impossible state", impossible), ("memories that don't decode", undecodable),
        ]
        where !items.isEmpty {
            problems.append(listed(what, items))
        }
        return problems
    }

    /// `what` and the first ``maximumListed`` of `items`, sorted, with how many more there are.
    private static func listed(_ what: String, _ items: [String]) -> String {
        let limit = StoreVerification.maximumListed
        return "\(what): \(items.sorted().prefix(limit).joined(separator: "; "))"
            + (items.count > limit ? " and \(items.count - limit) more" : "")
    }

    /// How cached indexes differ from those rebuilt from the database, memory by memory (numbers, vectors, terms).
    private static func cacheDifferences(
        tasks: FlatIndex, text: KeywordIndex, from rebuilt: IndexSnapshot
    ) -> [String] {
        var differences: [String] = []
        func note(_ text: String) {
            if differences.count < StoreVerification.maximumListed { differences.append(text) }
        }
        let expected = Set(rebuilt.numbers)
        for (name, ids) in [
            ("tasks.vectors", Set(tasks.ids)), ("text.bm25", Set(rebuilt.numbers.filter(text.contains))),
        ]
        where ids != expected {
            note(
                "\(name) holds \(ids.subtracting(expected).count) memories the database lacks and lacks "
                    + "\(expected.subtracting(ids).count) it holds")
        }
        if text.count != expected.count {
            note("text.bm25 holds \(text.count) documents, the database \(expected.count) memories")
        }
        for number in rebuilt.numbers {
            if let cached = tasks.vector(for: number), let stored = rebuilt.tasks.vector(for: number),
                zip(cached, stored).contains(where: { abs($0 - $1) > 1e-5 })
            {
                note("memory number \(number): the cached task vector differs from the database's")
            }
            if let cached = text.documentTerms(of: number), let stored = rebuilt.text.documentTerms(of: number),
                cached != stored
            {
                note("memory number \(number): the cached BM25 document differs from the memory's task and keywords")
            }
        }
        return differences
    }
}

extension Memory {
    /// What is impossible about the memory as stored, or `nil`: counters out of order or range, a revision below 1,
    /// no source trajectory, a date that is no time.
    var impossibleState: String? {
        if successCount < 0 || successCount > hitCount || hitCount > Memory.maximumCount {
            return "counters \(successCount)/\(hitCount)"
        }
        if revision < 1 { return "revision \(revision)" }
        if sourceTrajectoryIDs.isEmpty { return "no source trajectory" }
        if !createdAt.timeIntervalSince1970.isFinite || !updatedAt.timeIntervalSince1970.isFinite {
            return "a date that is no time"
        }
        return nil
    }

    /// What `verify` finds wrong with the memory, or `nil`.
    ///
    /// That is its ``impossibleState``, or a date no export can write (outside the years 1 through 9999,
    /// ``RetrievalCore/JSONDates/writableSeconds``). A copy to another backend keeps such a date as it is, so only
    /// the first stops one.
    var verificationProblem: String? {
        impossibleState
            ?? ([createdAt, updatedAt].allSatisfy { JSONDates.writableSeconds.contains($0.timeIntervalSince1970) }
                ? nil : "a date outside the years 1 through 9999")
    }
}
