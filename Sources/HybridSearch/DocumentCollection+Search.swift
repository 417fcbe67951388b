import KeywordIndex
import RetrievalCore
import VectorIndex

/// Which side of a collection answers a query.
public enum SearchMode: String, CaseIterable, Sendable, Codable {
    /// Dense vectors only.
    case vector
    /// BM25 only (the keyword index).
    case bm25
    /// Both, fused (see ``FusionMethod``).
    case hybrid
}

/// A query against a ``DocumentCollection``.
public struct HybridQuery: Sendable {
    /// The query text: BM25's input, and embedded when no ``vector`` is given.
    public var text: String
    /// The query embedding; `nil` to embed ``text`` with the collection's embedder.
    public var vector: [Float]?
    /// Which side answers.
    public var mode: SearchMode
    /// The number of hits.
    public var k: Int
    /// How a hybrid query fuses the two sides.
    public var fusion: FusionMethod
    /// How many candidates each side contributes to a hybrid query; `nil` for max(5k, 50).
    public var candidateDepth: Int?
    /// Which documents may be returned; applied on both sides before their top-k.
    public var filter: MetadataFilter?

    /// Creates a query.
    public init(
        text: String, vector: [Float]? = nil, mode: SearchMode = .hybrid, k: Int = 10,
        fusion: FusionMethod = .reciprocalRank(), candidateDepth: Int? = nil, filter: MetadataFilter? = nil
    ) {
        self.text = text
        self.vector = vector
        self.mode = mode
        self.k = k
        self.fusion = fusion
        self.candidateDepth = candidateDepth
        self.filter = filter
    }

    /// The candidate depth in effect: ``candidateDepth``, or max(5k, 50).
    public var effectiveCandidateDepth: Int { candidateDepth ?? max(5 * k, 50) }
}

/// Why a document ranked where it did.
public struct HitExplanation: Sendable, Equatable, Codable {
    /// The query's mode.
    public var mode: SearchMode
    /// The fusion used in hybrid mode, such as `rrf(rankConstant: 60)` or `convex(alpha: 0.5, minMax)`.
    public var fusion: String?
    /// The dense score (cosine, inner product or negated squared L2), if the dense side found the document.
    public var denseScore: Float?
    /// The 1-based dense rank, if found there.
    public var denseRank: Int?
    /// The BM25 score, if the keyword side found the document.
    public var keywordScore: Float?
    /// The 1-based BM25 rank, if found there.
    public var keywordRank: Int?
    /// The normalized dense score (convex fusion).
    public var normalizedDense: Double?
    /// The normalized BM25 score (convex fusion).
    public var normalizedKeyword: Double?
    /// The score the hit is ranked by.
    public var fusedScore: Double
    /// The query words found in the document (normalized, before stemming).
    public var matchedTerms: [String]
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

extension FusionMethod {
    /// A short description for explanations.
    public var summary: String {
        switch self {
        case .reciprocalRank(let rankConstant): "rrf(rankConstant: \(rankConstant.formatted))"
        case .convex(let alpha, let normalization): "convex(alpha: \(alpha.formatted), \(normalization.rawValue))"
        }
    }
}

extension Double {
    fileprivate var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

extension DocumentCollection {
    /// Searches the collection.
    ///
    /// In hybrid mode each side returns up to ``HybridQuery/effectiveCandidateDepth`` candidates that pass the
    /// filter; their union is fused, so a document found by one side only is kept.
    ///
    /// - Returns: At most `k` hits, best first (ties to the earlier-added document).
    /// - Throws: ``CollectionError/queryNeedsVector`` (vector or hybrid mode with neither a vector nor an
    ///   embedder), ``CollectionError/dimensionMismatch(documentID:expected:actual:)``,
    ///   ``CollectionError/invalidVector(documentID:reason:)``, ``CollectionError/embedding(_:)`` or
    ///   ``CollectionError/invalidArgument(_:)`` for `k < 1` or a bad fusion parameter.
    /// - Complexity: One exact vector scan (O(*n* *d*)) and one BM25 evaluation, plus O(*c* log *c*) fusion for
    ///   *c* candidates.
    public func search(_ query: HybridQuery) throws(CollectionError) -> [HybridHit] {
        guard query.k >= 1 else { throw CollectionError.invalidArgument("k must be at least 1 (got \(query.k)).") }
        guard query.effectiveCandidateDepth >= 1 else {
            throw CollectionError.invalidArgument(
                "The candidate depth must be at least 1 (got \(query.effectiveCandidateDepth)).")
        }
        switch query.fusion {
        case .reciprocalRank(let rankConstant) where !(rankConstant > 0):
            throw CollectionError.invalidArgument("The RRF rank constant must be positive (got \(rankConstant)).")
        case .convex(let alpha, _) where !(alpha >= 0 && alpha <= 1):
            throw CollectionError.invalidArgument("alpha must lie in 0...1 (got \(alpha)).")
        default: break
        }
        let allowed = allowedIDs(query.filter)
        if allowed?.isEmpty == true || records.isEmpty { return [] }
        let filter = allowed.map { SearchFilter.allowing($0) }
        let depth = query.mode == .hybrid ? query.effectiveCandidateDepth : query.k
        let vector = query.mode == .bm25 ? nil : try queryVector(query)
        var dense: [SearchHit] = []
        var keyword: [SearchHit] = []
        do {
            if let vector { dense = try vectors.search(vector, k: depth, filter: filter) }
            if query.mode != .vector { keyword = try keywords.search(query.text, k: depth, filter: filter) }
        } catch {
            throw CollectionError.index(error)
        }
        let fused: [FusedHit]
        switch query.mode {
        case .vector:
            fused = dense.enumerated().map {
                FusedHit(id: $1.id, score: Double($1.score), denseScore: $1.score, denseRank: $0 + 1)
            }
        case .bm25:
            fused = keyword.enumerated().map {
                FusedHit(id: $1.id, score: Double($1.score), keywordScore: $1.score, keywordRank: $0 + 1)
            }
        case .hybrid:
            fused = Array(fuse(dense: dense, keyword: keyword, method: query.fusion).prefix(query.k))
        }
        return fused.compactMap { hit in
            guard let record = records[hit.id] else { return nil }
            let explanation = HitExplanation(
                mode: query.mode, fusion: query.mode == .hybrid ? query.fusion.summary : nil,
                denseScore: hit.denseScore, denseRank: hit.denseRank, keywordScore: hit.keywordScore,
                keywordRank: hit.keywordRank, normalizedDense: hit.normalizedDense,
                normalizedKeyword: hit.normalizedKeyword, fusedScore: hit.score,
                matchedTerms: keywords.matchedTerms(query.text, in: hit.id))
            return HybridHit(id: record.id, score: hit.score, metadata: record.metadata, explanation: explanation)
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
