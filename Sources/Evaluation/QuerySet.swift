import Embeddings
import Foundation
import ProceduralMemory
import RetrievalCore

/// A query with its relevance judgments.
public struct EvaluationQuery: Sendable, Equatable, Codable {
    /// The query's unique ID.
    public var id: String
    /// The task text to retrieve memories for.
    public var text: String
    /// The IDs of the trajectories whose memories are relevant: a memory is relevant when any of its source
    /// trajectories is listed.
    public var relevant: Set<String>
    /// Free-form labels (`taskType`), kept for per-label breakdowns.
    public var labels: [String: String]
    /// The IDs of trajectories whose memories are left out of this query's rankings, the hits below moving up:
    /// a task from the store's record of use is stored itself, and its own memory is no answer to it.
    public var excluded: Set<String>

    /// Creates a query.
    public init(
        id: String, text: String, relevant: Set<String>, labels: [String: String] = [:], excluded: Set<String> = []
    ) {
        self.id = id
        self.text = text
        self.relevant = relevant
        self.labels = labels
        self.excluded = excluded
    }
}

/// A file of queries with relevance judgments, and the SHA-256 of its bytes.
///
/// Each line is `{"qid": "q1", "query": "heat some milk", "relevant": ["traj-7", "traj-9"], "labels": {…}}`;
/// `labels` is optional and `relevant` may be empty. Nothing else about the data's origin is assumed.
public struct QuerySet: Sendable {
    /// The file.
    public var path: String
    /// The queries, in file order.
    public var queries: [EvaluationQuery]
    /// The SHA-256 of the file, hex.
    public var sha256: String

    /// Reads and checks a query file.
    ///
    /// - Throws: ``EvaluationError/invalidQuery(path:line:field:reason:)`` for a malformed line,
    ///   ``EvaluationError/duplicateQuery(id:path:line:)``, ``EvaluationError/emptyQuerySet(path:)``,
    ///   ``EvaluationError/io(path:reason:)`` when the file can't be read.
    public init(contentsOf path: String) throws(EvaluationError) {
        let limit = MemoryStore.maximumQueryLineBytes
        let reader = JSONLinesReader(path: path, maximumLineBytes: limit)
        if let reason = reader.unreadableReason { throw .io(path: path, reason: reason) }
        var queries: [EvaluationQuery] = []
        var seen = Set<String>()
        for line in reader {
            guard line.length <= limit else {
                throw .invalidQuery(
                    path: path, line: line.number, field: "(record)",
                    reason: "\(line.length) bytes, over the limit of \(limit) bytes")
            }
            let query = try Self.parse(line.data, path: path, line: line.number)
            guard seen.insert(query.id).inserted else {
                throw .duplicateQuery(id: query.id, path: path, line: line.number)
            }
            queries.append(query)
        }
        guard !queries.isEmpty else { throw .emptyQuerySet(path: path) }
        self.path = path
        self.queries = queries
        sha256 = try fileSHA256(path)
    }

    static func parse(_ data: Data, path: String, line: Int) throws(EvaluationError) -> EvaluationQuery {
        func invalid(_ field: String, _ reason: String) -> EvaluationError {
            .invalidQuery(path: path, line: line, field: field, reason: reason)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) else {
            throw invalid("(record)", "not valid JSON" + (JSONSyntax.problem(in: data).map { ": " + $0 } ?? ""))
        }
        guard let record = object as? [String: Any] else { throw invalid("(record)", "must be a JSON object") }
        guard let id = record["qid"] else { throw invalid("qid", "is missing") }
        guard let id = id as? String, !id.isEmpty else { throw invalid("qid", "must be a non-empty string") }
        guard let text = record["query"] else { throw invalid("query", "is missing") }
        guard let text = text as? String, !text.allSatisfy(\.isWhitespace) else {
            throw invalid("query", "must be a non-blank string")
        }
        guard let relevantValue = record["relevant"] else {
            throw invalid("relevant", "is missing (use [] for a query with no relevant trajectory)")
        }
        guard let relevantList = relevantValue as? [Any] else {
            throw invalid("relevant", "must be an array of trajectory IDs")
        }
        var relevant = Set<String>()
        for (index, item) in relevantList.enumerated() {
            guard let trajectoryID = item as? String, !trajectoryID.isEmpty else {
                throw invalid("relevant[\(index)]", "must be a non-empty string")
            }
            relevant.insert(trajectoryID)
        }
        var labels: [String: String] = [:]
        if let labelValue = record["labels"], !(labelValue is NSNull) {
            guard let labelObject = labelValue as? [String: Any] else {
                throw invalid("labels", "must be an object of strings")
            }
            for (key, value) in labelObject {
                guard let value = value as? String else { throw invalid("labels.\(key)", "must be a string") }
                labels[key] = value
            }
        }
        return EvaluationQuery(id: id, text: text, relevant: relevant, labels: labels)
    }
}

/// The SHA-256 of a file, hex; for recording what a report was computed from.
///
/// - Throws: ``EvaluationError/io(path:reason:)`` when the file can't be read.
public func fileSHA256(_ path: String) throws(EvaluationError) -> String {
    do { return try SHA256.hexDigest(ofFile: path) } catch { throw .io(path: path, reason: error.description) }
}
