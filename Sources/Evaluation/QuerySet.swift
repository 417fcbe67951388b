import Embeddings
import Foundation
import HybridSearch
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
/// Each line is a query of Memp's one query-file schema (HybridSearch's ``HybridSearch/DocumentReader``, as
/// `memp query --queries` reads it) with the judgments added:
/// `{"qid": "q1", "query": "heat some milk", "relevant": ["traj-7", "traj-9"], "labels": {…}}`. `qid` is a
/// non-empty string or a number, `query` (or `text`) a non-blank task; `labels` is optional and `relevant` may be
/// empty. Nothing else about the data's origin is assumed.
public struct QuerySet: Sendable {
    /// The file.
    public var path: String
    /// The queries, in file order.
    public var queries: [EvaluationQuery]
    /// The SHA-256 of the file, hex.
    public var sha256: String
    /// The fields of the file's lines outside its schema (``fields``), which nothing reads.
    package var unreadFields = UnreadFields()

    /// The fields a line of the file is read from: the query schema's and the judgments.
    package static let fields = DocumentReader.queryFields.union(["relevant", "labels"])

    /// The warning that names ``unreadFields``, without its final period, or `nil` when there are none.
    package var unreadFieldsWarning: String? {
        unreadFields.warning(
            of: "the query file \(path)", notIn: "the evaluation query schema (qid, query or text, relevant, labels)",
            consequence: "read")
    }

    /// Reads and checks a query file.
    ///
    /// - Throws: ``EvaluationError/invalidQuery(path:line:field:reason:)`` for a malformed line,
    ///   ``EvaluationError/duplicateQuery(id:path:line:)``, ``EvaluationError/emptyQuerySet(path:)``,
    ///   ``EvaluationError/io(path:reason:)`` when the file can't be read.
    public init(contentsOf path: String) throws(EvaluationError) {
        var queries: [EvaluationQuery] = []
        var seen = Set<String>()
        var unreadFields = UnreadFields()
        let lines = try Self.reading(path) { () throws(CollectionError) in
            try DocumentReader.queryLines(atPath: path, maximumLineBytes: MemoryStore.maximumQueryLineBytes) {
                object, line throws(CollectionError) in
                try Self.judgments(object, path: path, line: line)
            }
        }
        for line in lines {
            let (query, judgments) = try Self.reading(path) { () throws(CollectionError) in try line.get() }
            func invalid(_ field: String, _ reason: String) -> EvaluationError {
                .invalidQuery(path: path, line: query.line, field: field, reason: reason)
            }
            guard !query.id.isEmpty else { throw invalid("qid", "must not be empty") }
            guard query.vector == nil else {
                throw invalid("vector", "is not read: an evaluation embeds each query's text with the store's embedder")
            }
            // The rule a lookup refuses a task by (empty, spaces, invisible characters), so it fails here by its line.
            guard !query.text.isBlank else { throw invalid("query", "must not be blank") }
            let bytes = query.text.utf8.count, limit = MemoryStore.maximumLookupTaskBytes
            guard bytes <= limit else { throw invalid("query", "is \(bytes) bytes; a lookup takes at most \(limit)") }
            guard seen.insert(query.id).inserted else {
                throw .duplicateQuery(id: query.id, path: path, line: query.line)
            }
            unreadFields.note(query.unreadFields.filter { !Self.fields.contains($0) }, line: query.line)
            queries.append(
                EvaluationQuery(
                    id: query.id, text: query.text, relevant: judgments.relevant, labels: judgments.labels))
        }
        guard !queries.isEmpty else { throw .emptyQuerySet(path: path) }
        self.path = path
        self.queries = queries
        self.unreadFields = unreadFields
        sha256 = try fileSHA256(path)
    }

    /// What `body` gives, its errors reading the query file at `path` as ``EvaluationError``s.
    private static func reading<Value>(
        _ path: String, _ body: () throws(CollectionError) -> Value
    ) throws(EvaluationError) -> Value {
        do { return try body() } catch {
            switch error {
            case .malformedInput(_, let line, let field, let reason):
                throw .invalidQuery(path: path, line: line, field: field, reason: reason)
            case .io(_, let reason):
                throw .io(path: path, reason: reason)
            default:
                throw .io(path: path, reason: error.description)
            }
        }
    }

    /// A query line's relevance judgments (`relevant`) and `labels`.
    private static func judgments(
        _ record: [String: Any], path: String, line: Int
    ) throws(CollectionError) -> (relevant: Set<String>, labels: [String: String]) {
        func invalid(_ field: String, _ reason: String) -> CollectionError {
            .malformedInput(path: path, line: line, field: field, reason: reason)
        }
        guard let relevantValue = record["relevant"] else {
            throw invalid("relevant", "missing (use [] for a query with no relevant trajectory)")
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
        return (relevant, labels)
    }
}

/// The SHA-256 of a file, hex; for recording what a report was computed from.
///
/// - Throws: ``EvaluationError/io(path:reason:)`` when the file can't be read.
public func fileSHA256(_ path: String) throws(EvaluationError) -> String {
    do { return try SHA256.hexDigest(ofFile: path) } catch { throw .io(path: path, reason: error.description) }
}
