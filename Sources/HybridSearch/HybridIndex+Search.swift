import KeywordIndex
import RetrievalCore
import VectorIndex

/// Which side of a hybrid index answers a query.
public enum SearchMode: String, CaseIterable, Sendable, Codable {
    /// Dense vectors only.
    case vector
    /// BM25 only (the keyword index).
    case bm25
    /// Both, fused (see ``FusionMethod``).
    case hybrid
}

/// Why a document ranked where it did: what each side of a ``HybridIndex`` said about it and how that was fused.
///
/// The sides' scores and ranks are those of ``ranking`` and read as properties of the explanation:
/// `explanation.denseScore`, `explanation.keywordRank`, `explanation.extraRank`, `explanation.normalizedDense`.
@dynamicMemberLookup
public struct HitExplanation: Sendable, Equatable {
    /// The query's mode.
    public var mode: SearchMode
    /// The fusion in hybrid mode (``FusionMethod/summary``).
    public var fusion: String?
    /// What each side said about the document (a side that did not find it has `nil` there), and the score the
    /// index ranked it by.
    public var ranking: FusedHit
    /// The query words found in the document (normalized, before stemming).
    public var matchedTerms: [String]

    /// Creates an explanation; a store whose database ranked a lookup reports its ranking this way too.
    package init(mode: SearchMode, fusion: String?, ranking: FusedHit, matchedTerms: [String]) {
        self.mode = mode
        self.fusion = fusion
        self.ranking = ranking
        self.matchedTerms = matchedTerms
    }

    /// The score the index ranked the hit by.
    public var fusedScore: Double { ranking.score }

    /// A property of ``ranking``.
    public subscript<Value>(dynamicMember keyPath: KeyPath<FusedHit, Value>) -> Value { ranking[keyPath: keyPath] }
}

extension FusionMethod {
    /// A short description for explanations: `reciprocal rank fusion (rank constant 60)`,
    /// `convex fusion (alpha 0.5, minMax normalization)`; numbers are written as in ``description`` (`rrf:60`).
    public var summary: String {
        switch self {
        case .reciprocalRank(let rankConstant): "reciprocal rank fusion (rank constant \(shortNumber(rankConstant)))"
        case .convex(let alpha, let normalization):
            "convex fusion (alpha \(shortNumber(alpha)), \(normalization.rawValue) normalization)"
        }
    }
}

extension HybridIndex {
    /// The candidates each side gives a hybrid query of `k` hits unless told otherwise: max(50, 4k).
    ///
    /// Measured on the TextWorld sample in docs/keyword-and-hybrid.md ("Candidate depth"): quality is flat from
    /// 50 candidates on, while lookups grow with the depth.
    public static func defaultCandidateDepth(k: Int) -> Int {
        let fourfold = k.multipliedReportingOverflow(by: 4)  // a k near Int.max must not overflow
        return max(50, fourfold.overflow ? Int.max : fourfold.partialValue)
    }

    /// A keyword ranking over another field of the same documents (a memory's procedure beside its task), fused
    /// with weight ``weight`` in hybrid mode.
    public struct WeightedKeywordSide: Sendable {
        /// The field's BM25 index, over the same IDs (a document it lacks is simply not found there; one the
        /// ``HybridIndex`` lacks is left out).
        public var index: KeywordIndex
        /// The side's weight relative to the dense and keyword sides (see
        /// ``fuse(dense:keyword:extra:extraWeight:method:)``); 0 leaves it out.
        public var weight: Double

        /// Creates an extra side.
        public init(index: KeywordIndex, weight: Double) {
            self.index = index
            self.weight = weight
        }
    }

    /// A search of a ``HybridIndex``.
    public struct Query: Sendable {
        /// The query text: BM25's input.
        public var text: String
        /// The query embedding; required in vector and hybrid mode (a ``DocumentCollection`` embeds ``text`` when
        /// it is `nil`).
        public var vector: [Float]?
        /// Which side answers.
        public var mode: SearchMode
        /// The number of hits.
        public var k: Int
        /// How a hybrid query fuses the sides.
        public var fusion: FusionMethod
        /// How many candidates each side contributes to a hybrid query; `nil` for
        /// ``HybridIndex/defaultCandidateDepth(k:)``.
        public var candidateDepth: Int?
        /// Which documents may be returned; applied on every side before its top-k.
        public var filter: SearchFilter?
        /// Drops documents whose dense score is below this.
        ///
        /// In hybrid mode a candidate only the keyword sides found is scored on the dense side too, exactly, and
        /// dropped below it like any other.
        public var minimumDenseScore: Float?
        /// A third, weighted keyword ranking fused in hybrid mode.
        public var extraSide: WeightedKeywordSide?

        /// Creates a query.
        public init(
            text: String, vector: [Float]? = nil, mode: SearchMode = .hybrid, k: Int = 10,
            fusion: FusionMethod = .reciprocalRank(), candidateDepth: Int? = nil, filter: SearchFilter? = nil,
            minimumDenseScore: Float? = nil, extraSide: WeightedKeywordSide? = nil
        ) {
            self.text = text
            self.vector = vector
            self.mode = mode
            self.k = k
            self.fusion = fusion
            self.candidateDepth = candidateDepth
            self.filter = filter
            self.minimumDenseScore = minimumDenseScore
            self.extraSide = extraSide
        }

        /// The candidate depth in effect: ``candidateDepth``, or ``HybridIndex/defaultCandidateDepth(k:)``.
        public var effectiveCandidateDepth: Int { candidateDepth ?? HybridIndex.defaultCandidateDepth(k: k) }

        /// Checks the numbers ``HybridIndex/search(_:)`` would reject, so that a caller can fail before it embeds
        /// the query: the one rule for them, which front ends tell in their own flags' or fields' names.
        ///
        /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` naming the property: `k`
        ///   or `candidateDepth` below 1, the fusion's (``FusionMethod/validate()``), the extra side's `weight`
        ///   negative or not finite, `minimumDenseScore` NaN.
        package func validate() throws(IndexError) {
            try IndexError.checkResultCount(k)
            if let candidateDepth, candidateDepth < 1 {
                throw IndexError.invalidParameter(
                    name: "candidateDepth", value: Double(candidateDepth), expected: "at least 1")
            }
            try fusion.validate()
            if let weight = extraSide?.weight, !(weight >= 0 && weight.isFinite) {
                throw IndexError.invalidParameter(name: "extraSide.weight", value: weight, expected: "finite and >= 0")
            }
            if let minimumDenseScore, minimumDenseScore.isNaN {
                throw IndexError.invalidParameter(name: "minimumDenseScore", value: .nan, expected: "a number")
            }
        }
    }

    /// One result of a ``HybridIndex`` search.
    public struct Hit: Sendable, Equatable {
        /// The document.
        public var id: DocumentID
        /// The score it is ranked by (``HitExplanation/fusedScore`` unless a caller rescored it).
        public var score: Double
        /// How the score came about.
        public var explanation: HitExplanation
    }

    /// Searches one side, or both fused.
    ///
    /// In hybrid mode each side returns up to ``Query/effectiveCandidateDepth`` candidates that pass the filter;
    /// their union is fused, so a document found by one side only is kept.
    ///
    /// - Returns: At most `k` hits, best first, ties to the lower ``DocumentID``.
    /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` for `k`, the candidate depth,
    ///   a fusion parameter, the extra side's weight or a NaN minimum score;
    ///   ``RetrievalCore/IndexError/missingQueryVector`` in vector or hybrid mode without a vector;
    ///   ``RetrievalCore/IndexError/dimensionMismatch(expected:actual:)`` and the vector errors of
    ///   ``VectorIndex/FlatIndex/search(_:k:minimumScore:filter:)``.
    /// - Complexity: One exact vector scan (O(*n* *d*)) and one BM25 evaluation per keyword side, plus
    ///   O(*c* log *c*) fusion for *c* candidates.
    public func search(_ query: Query) throws(IndexError) -> [Hit] {
        try query.validate()
        if query.mode != .bm25 && query.vector == nil { throw IndexError.missingQueryVector }
        guard count > 0 else { return [] }
        let depth = query.mode == .hybrid ? query.effectiveCandidateDepth : query.k
        var dense: [SearchHit] = []
        if query.mode != .bm25, let vector = query.vector {
            dense = try vectors.search(vector, k: depth, minimumScore: query.minimumDenseScore, filter: query.filter)
        }
        let keyword = query.mode == .vector ? [] : try keywords.search(query.text, k: depth, filter: query.filter)
        var fused: [FusedHit]
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
            let weight = query.extraSide?.weight ?? 0
            // The extra index is the caller's: a document it still holds that this index does not (removed here
            // and not there) is no hit (hostile run 14 got removed documents back).
            let extra =
                weight > 0
                ? try (query.extraSide?.index.search(query.text, k: depth, filter: query.filter) ?? [])
                    .filter { vectors.contains($0.id) } : []
            fused = fuse(dense: dense, keyword: keyword, extra: extra, extraWeight: weight, method: query.fusion)
            if let minimum = query.minimumDenseScore, let vector = query.vector {
                fused = try droppingBelow(minimum, vector: vector, fused)
            }
        }
        let top = fused.prefix(query.k)
        // One tokenization of the query for all the hits' matched terms.
        let matched = keywords.matchedTerms(query.text, in: top.map(\.id))
        return zip(top, matched).map { hit, terms in
            let explanation = HitExplanation(
                mode: query.mode, fusion: query.mode == .hybrid ? query.fusion.summary : nil, ranking: hit,
                matchedTerms: terms)
            return Hit(id: hit.id, score: hit.score, explanation: explanation)
        }
    }

    /// The fused hits without the keyword-only candidates whose exact dense score is below `minimum`: they have
    /// no dense score yet, and every dense candidate already reached it.
    private func droppingBelow(_ minimum: Float, vector: [Float], _ fused: [FusedHit]) throws(IndexError)
        -> [FusedHit]
    {
        let unscored = fused.filter { $0.denseRank == nil }.map(\.id)
        guard !unscored.isEmpty else { return fused }
        let passing = Set(
            try vectors.search(vector, k: unscored.count, minimumScore: minimum, filter: .allowing(unscored)).map(\.id))
        return fused.filter { $0.denseRank != nil || passing.contains($0.id) }
    }
}
