import Foundation
import RetrievalCore

extension HistoryEntry {
    /// Checks that entries can be stored with their own numbers (``MemoryBackend/replaceHistory(with:)``).
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` for the first number that is not positive,
    ///   ``MemoryError/repeatedInBatch(_:id:)`` for the first that repeats.
    package static func checkNumbers(_ entries: [HistoryEntry]) throws(MemoryError) {
        var seen = Set<Int64>()
        for entry in entries {
            guard entry.number > 0 else {
                throw .invalidParameter(
                    name: "history entry number", value: Double(entry.number), expected: "at least 1")
            }
            guard seen.insert(entry.number).inserted else {
                throw .repeatedInBatch(.historyEntry, id: "\(entry.number)")
            }
        }
    }

    /// What the entry changed, one short line per field (`hits 2 → 3`, `status active → deprecated`,
    /// `script + Warning: …`); `created` or `deleted` for an add or a delete.
    package var changes: [String] {
        switch (before, after) {
        case (nil, nil): return []
        case (nil, _?): return ["created"]
        case (_?, nil): return ["deleted"]
        case (let before?, let after?):
            var lines: [String] = []
            func compare<Value: Equatable>(_ name: String, _ a: Value, _ b: Value, _ text: (Value) -> String) {
                if a != b { lines.append("\(name) \(text(a)) → \(text(b))") }
            }
            compare("hits", before.hitCount, after.hitCount, String.init)
            compare("successes", before.successCount, after.successCount, String.init)
            compare("status", before.status, after.status, \.rawValue)
            compare("kind", before.kind, after.kind, \.rawValue)
            compare("revision", before.revision, after.revision, String.init)
            if before.sourceTrajectoryIDs != after.sourceTrajectoryIDs {
                lines.append("sources " + after.sourceTrajectoryIDs.joined(separator: ", "))
            }
            if before.steps != after.steps {
                lines.append("steps \(before.steps?.count ?? 0) → \(after.steps?.count ?? 0)")
            }
            if before.script != after.script {
                let old = Set((before.script ?? "").split(separator: "\n"))
                let new = (after.script ?? "").split(separator: "\n")
                let added = new.filter { !old.contains($0) }
                let removed = old.subtracting(new).count
                lines += added.map { "script + \($0)" }
                if removed > 0 { lines.append("script − \(removed) line\(removed == 1 ? "" : "s")") }
            }
            return lines
        }
    }
}

extension HistoryEntry {
    /// The memory a history row's `before` or `after` column holds as JSON (dates in seconds since 1970), as
    /// every backend stores it.
    ///
    /// - Throws: ``MemoryError/database(reason:)`` naming the row, the column and what is wrong, so that a damaged
    ///   row can be found ("history row 300, column after, holds no memory: not JSON, …").
    package static func snapshot(_ text: String?, row: Int64, column: String) throws(MemoryError) -> Memory? {
        guard let text else { return nil }
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do { return try decoder.decode(Memory.self, from: data) } catch {
            throw .database(
                reason: "history row \(row), column \(column), holds no memory: "
                    + JSONSyntax.decodingProblem(error, in: data))
        }
    }
}
