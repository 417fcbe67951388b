import Embeddings
import KeywordIndex
import RetrievalCore
import VectorIndex

/// What a collection is built with; saved in its directory.
public struct CollectionConfiguration: Codable, Sendable, Equatable {
    /// The length of every vector.
    public var dimension: Int
    /// How vectors are compared.
    public var metric: Metric
    /// How vectors are stored.
    public var vectorStorage: VectorStorage
    /// How text is split into terms.
    public var tokenizer: TokenizerConfiguration
    /// The BM25 parameters.
    public var bm25: BM25Parameters
    /// The ``Embedder/modelIdentifier`` of the embedder that embeds texts without vectors and text queries,
    /// or `nil` when vectors always come with documents and queries.
    public var embedder: String?

    /// Creates a configuration.
    public init(
        dimension: Int, metric: Metric = .cosine, vectorStorage: VectorStorage = .f32,
        tokenizer: TokenizerConfiguration = .english, bm25: BM25Parameters = .init(), embedder: String? = nil
    ) {
        self.dimension = dimension
        self.metric = metric
        self.vectorStorage = vectorStorage
        self.tokenizer = tokenizer
        self.bm25 = bm25
        self.embedder = embedder
    }
}

/// Documents searchable by vector, by keyword (BM25), or both fused, with metadata filters and explained hits.
///
/// A layer over one ``HybridIndex``: string IDs, texts and metadata beside it, metadata filters turned into
/// search filters, and an embedder for documents without a vector and for text queries.
///
///     var collection = try DocumentCollection(configuration: .init(dimension: 3))
///     try collection.add([Document(id: "a", text: "open a file", vector: [1, 0, 0])])
///     let hits = try collection.search(HybridQuery(text: "file", vector: [1, 0, 0], k: 5))
public struct DocumentCollection: Sendable {
    /// One document's text and metadata, by storedID ID.
    struct Record: Sendable, Equatable {
        var id: String
        var text: String
        var metadata: [String: String]
    }

    /// What the collection is built with.
    public internal(set) var configuration: CollectionConfiguration
    /// The embedder used for documents without vectors and for text queries, if any.
    public let embedder: (any Embedder)?
    var index: HybridIndex
    var internalIDs: [String: DocumentID] = [:]
    var records: [DocumentID: Record] = [:]
    /// key → value → documents with that value, for filters.
    var metadataIndex: [String: [String: Set<DocumentID>]] = [:]
    var nextID: UInt64 = 0
    /// The directory and generation this collection holds, when it was opened from or saved to one.
    var origin: Origin?

    /// A directory's identity, which two spellings of its path share.
    struct DirectoryIdentity: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// Where a collection was read from or last saved: a save there is refused once another writer saved since.
    struct Origin: Sendable, Equatable {
        var directory: DirectoryIdentity
        var generation: String
    }

    /// Creates an empty collection.
    ///
    /// - Parameters:
    ///   - configuration: Dimension, metric, tokenizer and BM25 parameters. When an embedder is given and
    ///     `configuration.embedder` is `nil`, the embedder's identifier is recorded.
    ///   - embedder: Embeds texts that come without vectors, and text queries.
    /// - Throws: ``CollectionError/embedderMismatch(collection:given:)`` or
    ///   ``CollectionError/dimensionMismatch(documentID:expected:actual:)`` when the embedder doesn't fit, and
    ///   ``CollectionError/index(_:)`` for an unsupported dimension.
    public init(configuration: CollectionConfiguration, embedder: (any Embedder)? = nil) throws(CollectionError) {
        var configuration = configuration
        if let embedder {
            try DocumentCollection.check(embedder, against: configuration)
            configuration.embedder = configuration.embedder ?? embedder.modelIdentifier
        }
        self.configuration = configuration
        self.embedder = embedder
        do {
            index = try HybridIndex(
                dimension: configuration.dimension, metric: configuration.metric,
                vectorStorage: configuration.vectorStorage, tokenizer: configuration.tokenizer,
                bm25: configuration.bm25)
        } catch {
            throw CollectionError.index(error)
        }
    }

    /// A collection of `documents`, all or none: its dimension is the embedder's or, without an embedder, that of
    /// the first document with a vector.
    ///
    /// The other parameters are those of ``CollectionConfiguration``.
    ///
    /// - Parameters:
    ///   - documents: The documents, as ``DocumentReader/documents(atPath:maximumLineBytes:)`` reads them.
    ///   - embedder: Embeds texts that come without vectors, and text queries.
    /// - Throws: ``CollectionError/dimensionUnknown`` when no document has a vector and no embedder is given;
    ///   what ``init(configuration:embedder:)`` and ``add(_:)`` throw.
    public init(
        _ documents: [Document], metric: Metric = .cosine, vectorStorage: VectorStorage = .f32,
        tokenizer: TokenizerConfiguration = .english, bm25: BM25Parameters = .init(), embedder: (any Embedder)? = nil
    ) throws(CollectionError) {
        guard let dimension = embedder?.dimension ?? documents.first(where: { $0.vector != nil })?.vector?.count
        else { throw .dimensionUnknown }
        try self.init(
            configuration: CollectionConfiguration(
                dimension: dimension, metric: metric, vectorStorage: vectorStorage, tokenizer: tokenizer, bm25: bm25),
            embedder: embedder)
        try add(documents)
    }

    static func check(_ embedder: any Embedder, against configuration: CollectionConfiguration)
        throws(CollectionError)
    {
        if let recorded = configuration.embedder, recorded != embedder.modelIdentifier {
            throw CollectionError.embedderMismatch(collection: recorded, given: embedder.modelIdentifier)
        }
        guard embedder.dimension == configuration.dimension else {
            throw CollectionError.dimensionMismatch(
                documentID: nil, expected: configuration.dimension, actual: embedder.dimension)
        }
    }

    /// The number of documents.
    public var count: Int { records.count }

    /// The IDs of all documents, sorted.
    public var documentIDs: [String] { internalIDs.keys.sorted() }

    /// Whether a document has this ID.
    public func contains(_ id: String) -> Bool { internalIDs[id] != nil }

    /// The document with this ID (its vector as stored: normalized under cosine), or `nil`.
    public func document(_ id: String) -> Document? {
        guard let storedID = internalIDs[id], let record = records[storedID] else { return nil }
        return Document(
            id: id, text: record.text, vector: index.vectors.vector(for: storedID), metadata: record.metadata)
    }

    /// The `limit` most characteristic words of `text` against the collection's texts (TF-IDF, stop words
    /// removed); see ``KeywordIndex/keywords(of:limit:)``.
    public func keywords(of text: String, limit: Int) -> [String] { index.keywords(of: text, limit: limit) }

    /// Adds documents, all or none.
    ///
    /// - Throws: ``CollectionError/duplicateDocument(_:)``, ``CollectionError/invalidDocumentID(_:reason:)`` (empty,
    ///   or holding a control or bidirectional formatting character), ``CollectionError/missingVector(documentID:)``,
    ///   ``CollectionError/blankDocument(documentID:)`` (no vector, and a text with nothing to embed),
    ///   ``CollectionError/dimensionMismatch(documentID:expected:actual:)``,
    ///   ``CollectionError/invalidVector(documentID:reason:)``, ``CollectionError/embedding(_:)`` or
    ///   ``CollectionError/idsExhausted(nextID:requested:limit:)``; the collection is then unchanged.
    /// - Complexity: O(*n* (*d* + *t*)) for *n* documents of *t* tokens, plus embedding.
    public mutating func add(_ documents: [Document]) throws(CollectionError) {
        try insert(documents, replacing: false)
    }

    /// Adds documents, replacing those whose IDs exist; all or none.
    ///
    /// Compacts the indexes once replaced documents leave more dead rows than ``HybridIndex/needsCompaction``
    /// allows.
    ///
    /// - Throws: As ``add(_:)``, except ``CollectionError/duplicateDocument(_:)`` only for an ID twice in
    ///   `documents`.
    public mutating func upsert(_ documents: [Document]) throws(CollectionError) {
        try insert(documents, replacing: true)
    }

    /// Removes documents, all or none.
    ///
    /// - Throws: ``CollectionError/unknownDocument(_:)`` naming the first unknown ID; nothing is removed then.
    /// - Complexity: O(*u*) per document of *u* distinct terms.
    public mutating func remove(_ ids: [String]) throws(CollectionError) {
        var storedIDs: [DocumentID] = []
        var seen: Set<String> = []
        for id in ids where seen.insert(id).inserted {
            guard let storedID = internalIDs[id] else { throw CollectionError.unknownDocument(id) }
            storedIDs.append(storedID)
        }
        do {
            for storedID in storedIDs {
                try index.remove(storedID)
                unindexMetadata(of: storedID)
                if let record = records.removeValue(forKey: storedID) { internalIDs[record.id] = nil }
            }
        } catch {
            // The index held every ID checked above, so this is an internal inconsistency.
            throw CollectionError.index(error)
        }
    }

    /// Reclaims the space of removed and replaced documents in both indexes.
    public mutating func compact() { index.compact() }

    private mutating func insert(_ documents: [Document], replacing: Bool) throws(CollectionError) {
        var seen: Set<String> = []
        for document in documents {
            if let reason = Document.idProblem(document.id) {
                throw CollectionError.invalidDocumentID(document.id, reason: reason)
            }
            guard seen.insert(document.id).inserted, replacing || internalIDs[document.id] == nil else {
                throw CollectionError.duplicateDocument(document.id)
            }
        }
        let newIDs = documents.count(where: { internalIDs[$0.id] == nil })
        var allocated = try allocateIDs(newIDs)
        let vectors = try resolveVectors(documents)
        // Everything that could fail has been checked; the index accepts what follows.
        do {
            for (document, vector) in zip(documents, vectors) {
                let storedID = internalIDs[document.id] ?? DocumentID(allocated.removeFirst())
                try index.upsert(text: document.text, vector: vector, id: storedID)
                unindexMetadata(of: storedID)
                internalIDs[document.id] = storedID
                records[storedID] = Record(id: document.id, text: document.text, metadata: document.metadata)
                for (key, value) in document.metadata {
                    metadataIndex[key, default: [:]][value, default: []].insert(storedID)
                }
            }
        } catch {
            throw CollectionError.index(error)
        }
        nextID += UInt64(newIDs)
        // Each replaced text leaves a dead keyword row; without this, repeated upserts grow the index without end.
        if index.needsCompaction { index.compact() }
    }

    /// The next `count` internal IDs, which the caller claims by advancing ``nextID`` once it has used them.
    ///
    /// - Throws: ``CollectionError/idsExhausted(nextID:requested:limit:)`` when they would pass
    ///   ``CollectionFormat/maximumNextID``.
    private func allocateIDs(_ count: Int) throws(CollectionError) -> Range<UInt64> {
        // nextID <= maximumNextID holds (checked when a manifest is read, kept here), so this can't overflow.
        guard UInt64(count) <= CollectionFormat.maximumNextID - nextID else {
            throw CollectionError.idsExhausted(nextID: nextID, requested: count, limit: CollectionFormat.maximumNextID)
        }
        return nextID..<nextID + UInt64(count)
    }

    private mutating func unindexMetadata(of storedID: DocumentID) {
        guard let metadata = records[storedID]?.metadata else { return }
        for (key, value) in metadata {
            metadataIndex[key]?[value]?.remove(storedID)
            if metadataIndex[key]?[value]?.isEmpty == true { metadataIndex[key]?[value] = nil }
            if metadataIndex[key]?.isEmpty == true { metadataIndex[key] = nil }
        }
    }

    /// Each document's vector, embedding the texts that come without one (in one call), all checked.
    private func resolveVectors(_ documents: [Document]) throws(CollectionError) -> [[Float]] {
        let missing = documents.indices.filter { documents[$0].vector == nil }
        var embedded: [[Float]] = []
        if !missing.isEmpty {
            guard let embedder else { throw CollectionError.missingVector(documentID: documents[missing[0]].id) }
            if let blank = missing.first(where: { documents[$0].text.isBlank }) {
                throw CollectionError.blankDocument(documentID: documents[blank].id)
            }
            do {
                embedded = try embedder.embed(missing.map { documents[$0].text })
            } catch {
                throw CollectionError.embedding(error)
            }
            guard embedded.count == missing.count else {
                throw CollectionError.embedding(.vectorCountMismatch(expected: missing.count, actual: embedded.count))
            }
        }
        var result: [[Float]] = []
        result.reserveCapacity(documents.count)
        var next = 0
        for document in documents {
            let vector: [Float]
            if let given = document.vector {
                vector = given
            } else {
                vector = embedded[next]
                next += 1
            }
            try validate(vector, documentID: document.id)
            result.append(vector)
        }
        return result
    }

    /// Checks what ``HybridIndex`` would reject, so that a batch fails before anything changes.
    func validate(_ vector: [Float], documentID: String?) throws(CollectionError) {
        guard vector.count == configuration.dimension else {
            throw CollectionError.dimensionMismatch(
                documentID: documentID, expected: configuration.dimension, actual: vector.count)
        }
        if let position = vector.firstIndex(where: { !$0.isFinite }) {
            throw CollectionError.invalidVector(
                documentID: documentID, reason: "component \(position) is NaN or infinite")
        }
        if configuration.metric == .cosine && vector.allSatisfy({ $0 == 0 }) {
            throw CollectionError.invalidVector(
                documentID: documentID, reason: "the vector is all zeros, which has no cosine direction")
        }
        if let excess = configuration.metric.excessiveNorm(of: vector) {
            guard let documentID else {
                throw CollectionError.index(.vectorTooLarge(id: nil, norm: excess.norm, limit: excess.limit))
            }
            throw CollectionError.invalidVector(
                documentID: documentID,
                reason: "its L2 norm \(Float(excess.norm)) is over \(Float(excess.limit)), past which inner "
                    + "products and distances overflow 32-bit floats and rank as ties")
        }
    }

    /// The documents allowed by `filter`, or `nil` when it allows every document.
    func allowedIDs(_ filter: MetadataFilter?) -> Set<DocumentID>? {
        guard let filter, !filter.conditions.isEmpty else { return nil }
        var allowed: Set<DocumentID>?
        for (key, values) in filter.conditions.sorted(by: { $0.key < $1.key }) {
            let postings = metadataIndex[key] ?? [:]
            // One value (equality, the common case) shares the stored set instead of copying it.
            let matching: Set<DocumentID> =
                values.count == 1
                ? values.first.flatMap { postings[$0] } ?? []
                : values.reduce(into: []) { $0.formUnion(postings[$1] ?? []) }
            allowed = allowed.map { $0.intersection(matching) } ?? matching
            if allowed?.isEmpty == true { break }
        }
        return allowed ?? []
    }
}
