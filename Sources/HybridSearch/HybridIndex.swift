import KeywordIndex
import RetrievalCore
import VectorIndex

/// A dense index and a BM25 index over one ``DocumentID`` space, searched alone or fused.
///
/// Every document has a vector in ``vectors`` and a text in ``keywords``; every change reaches both indexes or
/// neither. ``DocumentCollection`` (string IDs, metadata, embedding) and the memory store's lookups are layers over
/// this one type, so they share its validation, candidate depth, fusion, explanations and files.
///
///     var index = try HybridIndex(dimension: 3)
///     try index.add(text: "open a file", vector: [1, 0, 0], id: 1)
///     let hits = try index.search(HybridIndex.Query(text: "file", vector: [1, 0, 0], k: 5))
public struct HybridIndex: Sendable {
    /// The dense side.
    public private(set) var vectors: FlatIndex
    /// The BM25 side.
    public private(set) var keywords: KeywordIndex

    /// Creates an empty index.
    ///
    /// - Throws: ``RetrievalCore/IndexError/unsupportedDimension(_:supported:)``.
    public init(
        dimension: Int, metric: Metric = .cosine, vectorStorage: VectorStorage = .f32,
        tokenizer: TokenizerConfiguration = .english, bm25: BM25Parameters = .init()
    ) throws(IndexError) {
        vectors = try FlatIndex(dimension: dimension, metric: metric, storage: vectorStorage)
        keywords = KeywordIndex(tokenizer: tokenizer, parameters: bm25)
    }

    /// Pairs two indexes that must hold the same IDs.
    ///
    /// - Throws: ``RetrievalCore/IndexError/corrupted(path:section:reason:)`` naming `source` when they don't.
    init(vectors: FlatIndex, keywords: KeywordIndex, source: String) throws(IndexError) {
        guard vectors.count == keywords.count, vectors.ids.allSatisfy(keywords.contains) else {
            throw IndexError.corrupted(
                path: source, section: "pair",
                reason: "the vector index holds \(vectors.count) documents, the keyword index \(keywords.count), "
                    + "not the same IDs")
        }
        self.vectors = vectors
        self.keywords = keywords
    }

    /// The number of documents.
    public var count: Int { vectors.count }

    /// Whether a document has this ID.
    public func contains(_ id: DocumentID) -> Bool { vectors.contains(id) }

    /// The number of removed or replaced vector rows that ``compact()`` would reclaim.
    public var reclaimableRowCount: Int { vectors.rowCount - vectors.count }

    /// Whether ``compact()`` is worth its rewrite.
    ///
    /// True when either side holds more dead rows than a quarter of the live documents plus 64 (so a small index
    /// isn't rewritten for every change). A removal leaves a dead row on both sides; a replacement on the
    /// keyword side, and on the vector side too when the vector was mapped from a file (it is added beside the mapped
    /// rows; owned vectors are replaced in place).
    public var needsCompaction: Bool { max(reclaimableRowCount, keywords.tombstoneCount) > count / 4 + 64 }

    /// Adds a document under a new ID.
    ///
    /// - Throws: ``RetrievalCore/IndexError/duplicateID(_:)``, or what ``VectorIndex/FlatIndex/add(_:id:)``
    ///   throws for the vector; the index is then unchanged.
    /// - Complexity: Amortized O(*d* + *t* log *t*) for a text of *t* tokens.
    public mutating func add(text: String, vector: [Float], id: DocumentID) throws(IndexError) {
        guard !keywords.contains(id) else { throw IndexError.duplicateID(id) }
        try vectors.add(vector, id: id)
        do {
            try keywords.add(text, id: id)
        } catch {
            try? vectors.remove(id)  // just added, so it is there
            throw error
        }
    }

    /// Adds a document, or replaces the one with the same ID.
    ///
    /// - Throws: What ``VectorIndex/FlatIndex/upsert(_:id:)`` throws for the vector; the index is then unchanged.
    /// - Complexity: That of ``remove(_:)`` plus ``add(text:vector:id:)``.
    public mutating func upsert(text: String, vector: [Float], id: DocumentID) throws(IndexError) {
        let previous = vectors.vector(for: id)
        try vectors.upsert(vector, id: id)
        do {
            try keywords.upsert(text, id: id)
        } catch {
            // Only a full keyword index fails here; put the vector side back as it was.
            if let previous { try? vectors.upsert(previous, id: id) } else { try? vectors.remove(id) }
            throw error
        }
    }

    /// Removes a document from both sides.
    ///
    /// - Throws: ``RetrievalCore/IndexError/unknownID(_:)``; nothing is removed then.
    /// - Complexity: O(*u*) for a document of *u* distinct terms.
    public mutating func remove(_ id: DocumentID) throws(IndexError) {
        guard vectors.contains(id), keywords.contains(id) else { throw IndexError.unknownID(id) }
        try vectors.remove(id)
        try keywords.remove(id)
    }

    /// Reclaims the space of removed and replaced documents on both sides; IDs and results are unchanged.
    public mutating func compact() {
        vectors.compact()
        keywords.compact()
    }

    /// Reserves room for `count` vectors in total, so that a bulk load never reallocates.
    public mutating func reserveCapacity(_ count: Int) { vectors.reserveCapacity(count) }

    /// The `limit` most characteristic terms of `text` against the indexed texts; see
    /// ``KeywordIndex/KeywordIndex/keywords(of:limit:)``.
    public func keywords(of text: String, limit: Int) -> [String] { keywords.keywords(of: text, limit: limit) }
}
