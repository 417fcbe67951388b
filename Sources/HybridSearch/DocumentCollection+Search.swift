import KeywordIndex
import RetrievalCore
import VectorIndex

/// A query against a ``DocumentCollection``: a ``HybridIndex/Query`` whose filter is on metadata and whose vector
/// may be left out, to embed the text with the collection's embedder.
///
/// The index query's properties read and write as the collection query's: `query.k = 5`, `query.mode = .bm25`.
@dynamicMemberLookup
public struct HybridQuery: Sendable {
    /// The text, vector, mode, `k`, fusion and candidate depth; the collection sets its filter from ``filter``.
    public var search: HybridIndex.Query
    /// Which documents may be returned; applied on both sides before their top-k.
    public var filter: MetadataFilter?

    /// Creates a query; `vector` is `nil` to embed `text` with the collection's embedder.
    public init(
        text: String, vector: [Float]? = nil, mode: SearchMode = .hybrid, k: Int = 10,
        fusion: FusionMethod = .reciprocalRank(), candidateDepth: Int? = nil, filter: MetadataFilter? = nil
    ) {
        search = HybridIndex.Query(
            text: text, vector: vector, mode: mode, k: k, fusion: fusion, candidateDepth: candidateDepth)
        self.filter = filter
    }

    /// A property of ``search``.
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<HybridIndex.Query, Value>) -> Value {
        get { search[keyPath: keyPath] }
        set { search[keyPath: keyPath] = newValue }
    }

    /// A read-only property of ``search``, such as ``HybridIndex/Query/effectiveCandidateDepth``.
    public subscript<Value>(dynamicMember keyPath: KeyPath<HybridIndex.Query, Value>) -> Value {
        search[keyPath: keyPath]
    }
}

extension DocumentCollection {
    /// Searches the queries of a query file (``DocumentReader/queries(atPath:maximumLineBytes:)``) in order, each
    /// as the query `makeQuery` makes of it.
    ///
    /// - Returns: Each query's ID and hits, in file order.
    /// - Throws: ``CollectionError/duplicateQuery(path:queryID:firstLine:line:)`` for a query ID on two lines
    ///   (before any search); ``CollectionError/queryRefused(path:line:queryID:reason:)`` for the first query the
    ///   collection refuses (a vector of another dimension or not finite, no vector where the mode needs one),
    ///   naming its line and ID; what reading the file throws.
    public func search(
        queriesAt path: String, _ makeQuery: (DocumentReader.Query) -> HybridQuery
    ) throws(CollectionError) -> [(id: String, hits: [HybridHit])] {
        let entries = try DocumentReader.queries(atPath: path)
        // Results are keyed by query ID, so a repeated one would make two answers no reader can tell apart.
        var firstLines: [String: Int] = [:]
        for entry in entries {
            if let firstLine = firstLines.updateValue(entry.line, forKey: entry.id) {
                throw .duplicateQuery(path: path, queryID: entry.id, firstLine: firstLine, line: entry.line)
            }
        }
        return try entries.map { (entry) throws(CollectionError) in
            do throws(CollectionError) {
                return (entry.id, try search(makeQuery(entry)))
            } catch {
                throw .queryRefused(path: path, line: entry.line, queryID: entry.id, reason: error.description)
            }
        }
    }
}

/// One result of a collection search.
public struct HybridHit: Sendable, Equatable {
    /// The document's ID.
    public var id: String
    /// The score it is ranked by (see ``HitExplanation/fusedScore``).
    public var score: Double
    /// The document's metadata.
    public var metadata: [String: String]
    /// How the score came about.
    public var explanation: HitExplanation
}

extension DocumentCollection {
    /// Searches the collection: its metadata filter becomes the index's search filter, its text is embedded when
    /// no vector is given, and ``HybridIndex/search(_:)`` ranks.
    ///
    /// In hybrid mode each side returns up to ``HybridQuery/candidateDepth`` candidates that pass the
    /// filter; their union is fused, so a document found by one side only is kept.
    ///
    /// - Returns: At most `k` hits, best first (ties to the earlier-added document).
    /// - Throws: ``CollectionError/queryNeedsVector`` (vector or hybrid mode with neither a vector nor an
    ///   embedder), ``CollectionError/dimensionMismatch(documentID:expected:actual:)``,
    ///   ``CollectionError/invalidVector(documentID:reason:)``, ``CollectionError/blankQuery(mode:)`` (a text
    ///   that is empty or only spaces and invisible characters, in bm25 mode or without a vector),
    ///   ``CollectionError/embedding(_:)`` or ``CollectionError/index(_:)`` with ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` for
    ///   `k < 1`, a candidate depth below 1 or a bad fusion parameter.
    /// - Complexity: One exact vector scan (O(*n* *d*)) and one BM25 evaluation, plus O(*c* log *c*) fusion for
    ///   *c* candidates.
    public func search(_ query: HybridQuery) throws(CollectionError) -> [HybridHit] {
        var request = query.search
        do { try request.validate() } catch { throw CollectionError.index(error) }
        // BM25 finds nothing for a blank text and an embedder makes a meaningless vector of it (MiniLM's ranks
        // every document), so a search by the text needs some: a vector query in hybrid mode fuses the dense side.
        if query.text.isBlank && (query.mode == .bm25 || query.vector == nil) {
            throw CollectionError.blankQuery(mode: query.mode)
        }
        let allowed = allowedIDs(query.filter)
        if allowed?.isEmpty == true || records.isEmpty { return [] }
        request.filter = allowed.map { SearchFilter.allowing($0) }
        if query.mode != .bm25 { request.vector = try queryVector(query) }
        let hits: [HybridIndex.Hit]
        do { hits = try index.search(request) } catch { throw CollectionError.index(error) }
        return hits.compactMap { hit in
            records[hit.id].map {
                HybridHit(id: $0.id, score: hit.score, metadata: $0.metadata, explanation: hit.explanation)
            }
        }
    }

    /// The query's vector, given or embedded, checked.
    private func queryVector(_ query: HybridQuery) throws(CollectionError) -> [Float] {
        let vector: [Float]
        if let given = query.vector {
            vector = given
        } else if let embedder {
            do {
                vector = try embedder.embed(query.text)
            } catch {
                throw CollectionError.embedding(error)
            }
        } else {
            throw CollectionError.queryNeedsVector
        }
        try validate(vector, documentID: nil)
        return vector
    }
}
