import Embeddings
import RetrievalCore

/// An error from building, searching, saving or opening a ``DocumentCollection``.
///
/// Messages name document IDs, paths, lines and fields, never document text.
public enum CollectionError: Error, Equatable, Sendable {
    /// One of the two indexes failed.
    case index(IndexError)
    /// The embedder failed.
    case embedding(EmbeddingError)
    /// A document with this ID is already in the collection (or twice in one batch).
    case duplicateDocument(String)
    /// No document has this ID.
    case unknownDocument(String)
    /// A document's ID can't be one: empty, or holding a control or bidirectional formatting character; `reason`
    /// says which ("contains the control character U+000A, which an ID can't hold").
    case invalidDocumentID(String, reason: String)
    /// A document came without a vector and the collection has no embedder.
    case missingVector(documentID: String)
    /// A vector has the wrong length; `documentID` is nil for a query.
    case dimensionMismatch(documentID: String?, expected: Int, actual: Int)
    /// A vector can't be indexed (NaN, infinity, or all zeros under cosine); `documentID` is nil for a query.
    case invalidVector(documentID: String?, reason: String)
    /// The embedder given differs from the one the collection was built with.
    case embedderMismatch(collection: String, given: String)
    /// A vector or hybrid search needs a query vector: give one, or open the collection with an embedder.
    case queryNeedsVector
    /// A document without a vector whose text is blank (empty, or only spaces and invisible characters): there is
    /// nothing to embed.
    case blankDocument(documentID: String)
    /// A query whose text is blank where the text is what is searched: in `mode` bm25, or to be embedded because
    /// the query has no vector.
    case blankQuery(mode: SearchMode)
    /// A collection built from documents none of which has a vector, without an embedder: nothing says its
    /// dimension.
    case dimensionUnknown
    /// Reading or writing failed.
    case io(path: String, reason: String)
    /// The collection directory is damaged or inconsistent.
    case corrupted(path: String, reason: String)
    /// The collection was written by a format version this build can't read.
    case unsupportedFormat(path: String, version: Int)
    /// Another writer saved to the collection directory `path` since this collection was read from it: the
    /// generation it was read from is not the live one, and saving would drop the other writer's changes.
    case generationChanged(path: String, opened: String, current: String)
    /// Adding `requested` documents would take internal IDs past `limit` (the collection has allocated `nextID`).
    case idsExhausted(nextID: UInt64, requested: Int, limit: UInt64)
    /// A query file gives one query ID on two lines.
    case duplicateQuery(path: String, queryID: String, firstLine: Int, line: Int)
    /// An input file is malformed at a line, in a field.
    case malformedInput(path: String, line: Int, field: String, reason: String)
    /// The collection refused the query of a query file's line (its vector, or its lack of one).
    case queryRefused(path: String, line: Int, queryID: String, reason: String)
    /// The query file at `path` holds no query: it is empty, or every line is blank.
    case noQueries(path: String)
}

extension CollectionError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .index(let error): error.description
        case .embedding(let error): error.description
        case .duplicateDocument(let id): "Document \"\(id)\" is already in the collection; use upsert to replace it."
        case .unknownDocument(let id): "Document \"\(id)\" is not in the collection."
        case .invalidDocumentID(let id, let reason):
            "Document ID \"\(printableName(id))\" \(reason); give the document an ID of printable text."
        case .missingVector(let id):
            "Document \"\(id)\" has no vector and the collection has no embedder; give a \"vector\" or choose an "
                + "embedder. Nothing was changed."
        case .dimensionMismatch(let id, let expected, let actual):
            "\(id.map { "Document \"\($0)\"" } ?? "The query vector") has \(actual) dimensions; the collection "
                + "stores \(expected). Nothing was changed."
        case .invalidVector(let id, let reason):
            id.map { "Document \"\($0)\": \(reason). Nothing was changed." }
                ?? "The query vector: \(reason); nothing was searched. Give a query with words the embedder knows."
        case .embedderMismatch(let collection, let given):
            "The collection was built with embedder \(collection), not \(given); query it with the same embedder."
        case .queryNeedsVector:
            "Vector and hybrid searches need a query vector: pass one, or open the collection with its embedder."
        case .blankDocument(let id):
            "Document \"\(id)\" has no vector, and its text is empty or only spaces and invisible characters, so "
                + "there is nothing to embed; give it a text or a vector. Nothing was changed."
        case .blankQuery(.bm25):
            "The query's text is empty or only spaces and invisible characters, and a bm25 search ranks by its "
                + "words; nothing was searched. Give the words to search for."
        case .blankQuery:
            "The query's text is empty or only spaces and invisible characters, so there is nothing to embed; "
                + "nothing was searched. Give the words to search for, or a query vector."
        case .dimensionUnknown:
            "No document has a vector and no embedder is given, so the collection's dimension is unknown: give the "
                + "documents vectors, or an embedder to embed their texts."
        case .io(let path, let reason): "\(path): \(reason)"
        case .corrupted(let path, let reason): "\(path): the collection is damaged (\(reason)). Rebuild it."
        case .unsupportedFormat(let path, let version):
            "\(path) is collection format v\(version); this build reads "
                + "v\(CollectionFormat.readableVersions.lowerBound)–v\(CollectionFormat.readableVersions.upperBound). "
                + "Upgrade Memp."
        case .generationChanged(let path, let opened, let current):
            "\(path): another writer saved the collection (\(current) is live) since this copy was read from "
                + "\(opened); nothing was written. Open it again and repeat the change."
        case .idsExhausted(let nextID, let requested, let limit):
            "The collection has used \(nextID) of its \(limit) internal IDs and can't add \(requested) more "
                + "documents; nothing was changed. Rebuild it from its documents to renumber them."
        case .duplicateQuery(let path, let queryID, let firstLine, let line):
            "\(path), line \(line): query \(queryID) appears twice (first on line \(firstLine)); give each query its "
                + "own qid."
        case .malformedInput(let path, let line, let field, let reason):
            "\(path), line \(line), field \"\(field)\": \(reason)"
        case .queryRefused(let path, let line, let queryID, let reason):
            "\(path), line \(line), query \(queryID): \(reason)"
        case .noQueries(let path):
            "\(path) holds no query: it is empty, or every line is blank."
        }
    }
}
