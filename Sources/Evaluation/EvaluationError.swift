import ProceduralMemory
import RetrievalCore

/// An error from reading a query set, building an evaluation store, running an evaluation or writing its report.
///
/// Messages name files, lines, fields and IDs, never query text.
public enum EvaluationError: Error, Equatable, Sendable {
    /// A line of a query file is malformed: `field` is the offending field.
    case invalidQuery(path: String, line: Int, field: String, reason: String)
    /// Two lines of a query file share a `qid`.
    case duplicateQuery(id: String, path: String, line: Int)
    /// The query file holds no query.
    case emptyQuerySet(path: String)
    /// A file can't be read or written.
    case io(path: String, reason: String)
    /// A parameter is out of range: `name` is the parameter, `value` what was given, `expected` the accepted
    /// values (`at least 2`), as in ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)``.
    case invalidParameter(name: String, value: Double, expected: String)
    /// `what` could not be encoded (as JSON); `reason` is the encoder's message.
    case encodingFailed(what: String, reason: String)
    /// The memory store failed.
    case memory(MemoryError)
    /// Looking up (or embedding) query `queryID` failed with `cause`.
    case queryFailed(queryID: String, cause: MemoryError)
    /// The store at `path` doesn't record the embedder it was created with, so it can't be opened to be evaluated.
    case storeWithoutEmbedder(path: String)
    /// Query `queryID` names trajectories the store doesn't hold (`ids`, at most five).
    case unknownTrajectories(queryID: String, ids: [String])
    /// Only `judged` queries have a relevant memory in the store: too few for `folds` cross-validation folds.
    case tooFewQueries(judged: Int, folds: Int)
    /// The store's record of use has `tasks` successful tasks whose trajectory and used memories are still stored;
    /// tuning needs `needed`.
    case notEnoughFeedback(tasks: Int, needed: Int)
}

extension EvaluationError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidQuery(let path, let line, let field, let reason):
            "\(path), line \(line), field \(field): \(reason). Each line is {\"qid\", \"query\", \"relevant\": [trajectory IDs]}."
        case .duplicateQuery(let id, let path, let line):
            "\(path), line \(line): query \(id) appears twice; give each query its own qid."
        case .emptyQuerySet(let path):
            "\(path) holds no query; each line is {\"qid\", \"query\", \"relevant\": [trajectory IDs]}."
        case .io(let path, let reason):
            "\(path): \(reason)"
        case .invalidParameter(let name, let value, let expected):
            IndexError.invalidParameter(name: name, value: value, expected: expected).description
        case .encodingFailed(let what, let reason):
            "\(what) could not be encoded: \(reason). Look for a non-finite number in the measurements."
        case .memory(let error):
            error.description
        case .queryFailed(let queryID, let cause):
            "Query \(queryID): \(cause)"
        case .storeWithoutEmbedder(let path):
            "The store in \(path) doesn't record its embedder, so it can't be opened for an evaluation. "
                + "Evaluate a store created with a recorded embedder, or build one from its trajectories."
        case .unknownTrajectories(let queryID, let ids):
            "Query \(queryID) names trajectories the store doesn't hold: \(ids.joined(separator: ", ")). "
                + "Import them, or correct the query's relevant list."
        case .tooFewQueries(let judged, let folds):
            "Only \(judged) quer\(judged == 1 ? "y has" : "ies have") a relevant memory in the store; "
                + "\(folds)-fold cross-validation needs at least \(folds). Judge more queries or use fewer folds."
        case .notEnoughFeedback(let tasks, let needed):
            "The store's record of use has \(tasks) successful task\(tasks == 1 ? "" : "s") whose trajectory and "
                + "used memories are still stored; tuning needs at least \(needed). Record outcomes with their "
                + "trajectories (and import those), or tune on judged queries."
        }
    }
}
