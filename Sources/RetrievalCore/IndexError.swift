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
    /// An argument is outside what the operation accepts; `reason` says which and why.
    case invalidArgument(String)
    /// A search parameter is out of range: `name` is the parameter, `value` what was given, `expected` the range.
    case invalidParameter(name: String, value: Double, expected: String)
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
        case .invalidArgument(let reason):
            reason
        case .invalidParameter(let name, let value, let expected):
            "\(name) must be \(expected) (got "
                + "\(value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)))."
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
