/// An error from building, querying, loading or saving an index.
///
/// Messages name IDs, counts, paths and sections, never document text.
public enum IndexError: Error, Equatable, Sendable {
    /// A vector's length differs from the index's dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// An index was asked for a dimension outside the supported range.
    case unsupportedDimension(Int, supported: ClosedRange<Int>)
    /// A document with this ID is already stored.
    case duplicateID(DocumentID)
    /// No live document has this ID.
    case unknownID(DocumentID)
    /// A vector holds NaN or an infinity at `position`.
    case nonFiniteComponent(id: DocumentID?, position: Int)
    /// A cosine index was given an all-zero vector, which has no direction.
    case zeroVector(id: DocumentID?)
    /// A parameter is out of range: `name` is the parameter, `value` what was given, `expected` the accepted
    /// values (`at least 1`, `within 0...1`).
    case invalidParameter(name: String, value: Double, expected: String)
    /// `valueCount` floats don't divide into whole vectors of `dimension` components.
    case incompleteVector(valueCount: Int, dimension: Int)
    /// An operation got `count` vectors and needs at least `minimum`.
    case tooFewVectors(count: Int, minimum: Int)
    /// Query `index` (from 0) of a batch holds NaN or an infinity at `position`.
    case nonFiniteQuery(index: Int, position: Int)
    /// Query `index` (from 0) of a batch is all zeros, which has no cosine direction.
    case zeroQuery(index: Int)
    /// A vector (`id`: a document's, `nil` for the query) whose L2 norm is over `limit`, past which inner products
    /// and squared distances overflow 32-bit floats and rank as ties.
    case vectorTooLarge(id: DocumentID?, norm: Double, limit: Double)
    /// Query `index` of a batch has an L2 norm over `limit` (see ``vectorTooLarge(id:norm:limit:)``).
    case queryTooLarge(index: Int, norm: Double, limit: Double)
    /// The index holds `rows` rows and can't take more: `limit` is the most it numbers.
    case rowLimit(rows: Int, limit: Int)
    /// The vector file at `path` has no format given and an extension that names none of `extensions`.
    case unknownFileType(path: String, extensions: [String])
    /// Component `position` of vector `row` is `value`, which a `format` file can't store.
    case notRepresentable(row: Int, position: Int, value: Float, format: String)
    /// `what` could not be encoded (as JSON); `reason` is the encoder's message.
    case encodingFailed(what: String, reason: String)
    /// The LAPACK routine `routine` failed with `info` (negative: an argument was illegal; positive: it did not
    /// converge).
    case decompositionFailed(routine: String, info: Int)
    /// The vectors' covariance overflows a `Float`: their values (up to `largest` in magnitude) are too large for
    /// principal components.
    case covarianceOverflow(largest: Float)
    /// A search that ranks by vector was given no query vector.
    case missingQueryVector
    /// Reading or writing a file failed; `reason` is the system's explanation.
    case io(path: String, reason: String)
    /// The file does not start with the expected magic number.
    case notAnIndexFile(path: String, expectedMagic: String)
    /// A saved index uses a format version this build can't read.
    case unsupportedFormat(path: String, version: UInt32, readable: ClosedRange<UInt32>)
    /// The file is shorter than its header says.
    case truncated(path: String, expectedBytes: UInt64, actualBytes: UInt64)
    /// A part of the file failed its checksum or its structure is impossible.
    case corrupted(path: String, section: String, reason: String)
    /// An input file (vectors, JSON Lines, …) is malformed at `location` (a line, record or byte offset).
    case malformedInput(path: String, location: String, reason: String)
    /// An ID is larger than `limit`, the largest the file being written at `path` can hold.
    case idOutOfRange(DocumentID, path: String, limit: UInt64)
}

extension IndexError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let actual):
            "Got \(actual) dimensions; the index stores \(expected). Embed with the model that built the index."
        case .unsupportedDimension(let dimension, let supported):
            "Dimension \(dimension) is not supported; use \(supported.lowerBound)…\(supported.upperBound)."
        case .duplicateID(let id):
            "ID \(id) is already in the index; use upsert to replace it, or remove it first."
        case .unknownID(let id):
            "ID \(id) is not in the index."
        case .nonFiniteComponent(let id, let position):
            "Vector\(id.map { " \($0)" } ?? "") has a NaN or infinite component at position \(position); "
                + "nothing was changed. Check the embedding source."
        case .zeroVector(let id):
            "Vector\(id.map { " \($0)" } ?? "") is all zeros and has no cosine direction; nothing was changed."
        case .invalidParameter(let name, let value, let expected):
            "\(name) must be \(expected) (got \(formattedParameter(value)))."
        case .incompleteVector(let valueCount, let dimension):
            "\(valueCount) values don't form whole vectors of dimension \(dimension) "
                + "(\(dimension > 0 ? valueCount % dimension : valueCount) left over); check the dimension and the "
                + "source of the values."
        case .tooFewVectors(let count, let minimum):
            "Got \(count) vector\(count == 1 ? "" : "s"); at least \(minimum) are needed. Give more vectors."
        case .nonFiniteQuery(let index, let position):
            "Query \(index) has a NaN or infinite component at position \(position); nothing was searched. "
                + "Check the embedding source."
        case .vectorTooLarge(let id, let norm, let limit):
            "\(id.map { "Vector \($0)" } ?? "The query vector") has an L2 norm of \(Float(norm)), over the "
                + "\(Float(limit)) past which inner products and distances overflow 32-bit floats and would rank as "
                + (id == nil
                    ? "ties; nothing was searched. Scale the query down."
                    : "ties; nothing was changed. Scale the vectors down.")
        case .queryTooLarge(let index, let norm, let limit):
            "Query \(index) has an L2 norm of \(Float(norm)), over the \(Float(limit)) past which inner products and "
                + "distances overflow 32-bit floats and would rank as ties; nothing was searched. Scale the queries "
                + "down."
        case .zeroQuery(let index):
            "Query \(index) is all zeros and has no cosine direction; nothing was searched. Drop it or embed it again."
        case .rowLimit(let rows, let limit):
            "The index holds \(rows) rows and can hold at most \(limit); nothing was added. Compact it (removed "
                + "rows still count) or split the collection."
        case .unknownFileType(let path, let extensions):
            "\(path): unknown vector file type; name the file with one of "
                + extensions.map { "." + $0 }.joined(separator: ", ") + ", or give the format."
        case .notRepresentable(let row, let position, let value, let format):
            "Vector \(row), component \(position) is \(value), which .\(format) cannot store; nothing was written. "
                + "Write the vectors as .fvecs, or round them to what .\(format) holds."
        case .encodingFailed(let what, let reason):
            "\(what) could not be encoded: \(reason)."
        case .decompositionFailed(let routine, let info):
            "The eigen-decomposition failed (LAPACK \(routine), info \(info)). Check the vectors for extreme "
                + "values, or fit on other vectors."
        case .covarianceOverflow(let largest):
            "The vectors' covariance is beyond what a Float holds (values up to \(largest) in magnitude), so no "
                + "principal components can be fitted; scale the vectors down first (normalize them, for example)."
        case .missingQueryVector:
            "Vector and hybrid searches need a query vector: embed the query text, or search BM25 only."
        case .io(let path, let reason):
            "\(path): \(reason)"
        case .notAnIndexFile(let path, let expectedMagic):
            "\(path) is not a Memp index file (expected magic \"\(expectedMagic)\")."
        case .unsupportedFormat(let path, let version, let readable):
            "\(path) is format v\(version); this build reads v\(readable.lowerBound)–v\(readable.upperBound). "
                + "Upgrade Memp or rebuild the index from its source."
        case .truncated(let path, let expected, let actual):
            "\(path) is truncated: \(actual) bytes, the header says \(expected). Restore it or rebuild the index."
        case .corrupted(let path, let section, let reason):
            "\(path): section \(section) is corrupted (\(reason)). Restore the file or rebuild the index."
        case .malformedInput(let path, let location, let reason):
            "\(path), \(location): \(reason)"
        case .idOutOfRange(let id, let path, let limit):
            "ID \(id) does not fit \(path), which holds IDs up to \(limit); nothing was written. "
                + "Renumber the documents so that their IDs fit."
        }
    }
}

/// A parameter's value as messages print it: a whole number without a fraction, anything else as is.
package func formattedParameter(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

extension IndexError {
    /// Checks a search's result count: every search takes a `k` of at least 1.
    ///
    /// - Throws: ``invalidParameter(name:value:expected:)`` naming `k`.
    package static func checkResultCount(_ k: Int) throws(IndexError) {
        guard k >= 1 else { throw .invalidParameter(name: "k", value: Double(k), expected: "at least 1") }
    }
}
