import RetrievalCore

/// How one side's scores are rescaled, per query, before a convex combination.
public enum ScoreNormalization: String, CaseIterable, Sendable, Codable {
    /// `(s − min) / (max − min)` over the side's candidates: best 1, worst 0 (all 1 when every score is equal).
    case minMax
    /// `(s − mean) / standard deviation` over the side's candidates (population deviation; all 0 when it is 0).
    case zScore
    /// `(s − lower bound) / (max − lower bound)`: the scorer's theoretical lower bound (−1 for a cosine, 0 for
    /// BM25) instead of the candidates' minimum (Bruch, Gai & Ingber 2023's "TMM"), so a query whose candidates
    /// all score alike is not stretched to 0…1.
    case theoretical
}

/// How a dense and a keyword ranking are combined into one.
public enum FusionMethod: Sendable, Equatable, Hashable {
    /// Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009, <https://doi.org/10.1145/1571941.1572114>):
    /// `Σ 1 / (rankConstant + rank)` over the sides that found the document, ranks counted from 1.
    case reciprocalRank(rankConstant: Double = 60)
    /// `alpha · dense + (1 − alpha) · keyword` on normalized scores (Bruch, Gai & Ingber 2023,
    /// <https://doi.org/10.1145/3596512>); a side that did not find the document contributes 0.
    case convex(alpha: Double, normalization: ScoreNormalization)
}

extension FusionMethod: LosslessStringConvertible {
    /// Reads the text form of ``description``: `rrf:60` or `convex:minMax:0.5` (normalization, then alpha).
    ///
    /// Returns `nil` for any other text, a rank constant that isn't positive or an alpha outside 0…1.
    public init?(_ description: String) {
        let parts = description.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "rrf" where parts.count == 2:
            guard let constant = Double(parts[1]) else { return nil }
            self = .reciprocalRank(rankConstant: constant)
        case "convex" where parts.count == 3:
            guard let normalization = ScoreNormalization(rawValue: parts[1]), let alpha = Double(parts[2]) else {
                return nil
            }
            self = .convex(alpha: alpha, normalization: normalization)
        default:
            return nil
        }
        guard (try? validate()) != nil else { return nil }
    }

    /// The text form: `rrf:60`, `convex:minMax:0.5`; ``init(_:)`` reads it back as the same method.
    public var description: String {
        switch self {
        case .reciprocalRank(let rankConstant): "rrf:\(Self.exactText(rankConstant))"
        case .convex(let alpha, let normalization): "convex:\(normalization.rawValue):\(Self.exactText(alpha))"
        }
    }

    /// A parameter as ``RetrievalCore/shortNumber(_:)`` writes it (`60`, `0.35`) when that reads back as the same
    /// value, else as Swift's shortest exact text (`60.0000004`, `1e+303`): rounded to 6 decimals, a rank constant
    /// of 1e303 was written "inf" and 4e-7 "0", neither readable, and 0.1234567 read back as 0.123457 (hostile run
    /// 14; tuned fusions are stored in this form).
    private static func exactText(_ value: Double) -> String {
        let short = shortNumber(value)
        return Double(short) == value ? short : "\(value)"
    }
}

extension FusionMethod {
    /// Checks the method's parameter: the one rule for every caller that takes a fusion method (a search, a
    /// memory lookup's options, the text form).
    ///
    /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` for a `rankConstant` that is
    ///   not a positive number or an `alpha` outside 0…1.
    package func validate() throws(IndexError) {
        switch self {
        case .reciprocalRank(let rankConstant) where !(rankConstant > 0 && rankConstant.isFinite):
            throw .invalidParameter(name: "rankConstant", value: rankConstant, expected: "a positive number")
        case .convex(let alpha, _) where !(0...1).contains(alpha):
            throw .invalidParameter(name: "alpha", value: alpha, expected: "within 0…1")
        default: break
        }
    }
}

extension FusionMethod: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let method = FusionMethod(text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "\"\(text)\" is not a fusion (rrf:K or convex:NORMALIZATION:ALPHA)"))
        }
        self = method
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A document of a fused ranking, with what each side said about it.
public struct FusedHit: Sendable, Equatable {
    /// The document.
    public var id: DocumentID
    /// The fused score (higher is better).
    public var score: Double
    /// The dense (vector) score, if the dense side found the document.
    public var denseScore: Float?
    /// The 1-based rank on the dense side, if found there.
    public var denseRank: Int?
    /// The BM25 score, if the keyword side found the document.
    public var keywordScore: Float?
    /// The 1-based rank on the keyword side, if found there.
    public var keywordRank: Int?
    /// The dense score after normalization (convex fusion only).
    public var normalizedDense: Double?
    /// The BM25 score after normalization (convex fusion only).
    public var normalizedKeyword: Double?
    /// The score on the weighted extra side (``fuse(dense:keyword:extra:extraWeight:method:)``), if it found the
    /// document.
    public var extraScore: Float?
    /// The 1-based rank on the extra side, if found there.
    public var extraRank: Int?

    /// Creates a fused hit.
    public init(
        id: DocumentID, score: Double, denseScore: Float? = nil, denseRank: Int? = nil, keywordScore: Float? = nil,
        keywordRank: Int? = nil, normalizedDense: Double? = nil, normalizedKeyword: Double? = nil,
        extraScore: Float? = nil, extraRank: Int? = nil
    ) {
        self.id = id
        self.score = score
        self.denseScore = denseScore
        self.denseRank = denseRank
        self.keywordScore = keywordScore
        self.keywordRank = keywordRank
        self.normalizedDense = normalizedDense
        self.normalizedKeyword = normalizedKeyword
        self.extraScore = extraScore
        self.extraRank = extraRank
    }
}

/// Fuses a dense and a keyword ranking over the union of their documents.
///
/// A document found by only one side is kept, the other side contributing nothing (0), so keyword-only and
/// dense-only matches both survive. The result is ordered by fused score, ties to the lower ``DocumentID``.
///
///     fuse(dense: [SearchHit(id: 1, score: 0.9)], keyword: [SearchHit(id: 2, score: 7.5)],
///          method: .reciprocalRank())  // ids 1 and 2, both 1/61
///
/// - Parameters:
///   - dense: The dense side's hits, best first (a document listed twice counts at its first place).
///   - keyword: The keyword side's hits, best first.
///   - method: How to combine.
/// - Returns: Every document of either list, best first.
/// - Precondition: `rankConstant > 0`; `0 <= alpha <= 1`.
/// - Complexity: O((*d* + *w*) log(*d* + *w*)) for list lengths *d* and *w*.
public func fuse(dense: [SearchHit], keyword: [SearchHit], method: FusionMethod) -> [FusedHit] {
    fuse(dense: dense, keyword: keyword, extra: [], extraWeight: 0, method: method)
}

/// Fuses a dense and a keyword ranking with a third, weighted one: a keyword ranking over another field of the
/// documents (a memory's procedure text beside its task).
///
/// The extra side adds `extraWeight` times what a side adds under `method`: `extraWeight / (rankConstant +
/// rank)` under reciprocal rank fusion (weighted RRF), `extraWeight · normalized score` under convex fusion
/// (normalized as a BM25 side, lower bound 0), on top of the dense and keyword sides' fused score. With an empty
/// `extra` or a weight of 0 the result is ``fuse(dense:keyword:method:)``'s.
///
/// - Parameters:
///   - dense: The dense side's hits, best first.
///   - keyword: The keyword side's hits, best first.
///   - extra: The extra side's hits, best first.
///   - extraWeight: The extra side's weight relative to one side of `method`.
///   - method: How to combine.
/// - Returns: Every document of any list, best first, ties to the lower ``DocumentID``.
/// - Precondition: `rankConstant > 0`; `0 <= alpha <= 1`; `extraWeight >= 0` and finite.
/// - Complexity: O((*d* + *w* + *e*) log(*d* + *w* + *e*)) for list lengths *d*, *w* and *e*.
public func fuse(
    dense: [SearchHit], keyword: [SearchHit], extra: [SearchHit], extraWeight: Double, method: FusionMethod
) -> [FusedHit] {
    precondition(extraWeight >= 0 && extraWeight.isFinite, "fuse: the extra weight must be finite and >= 0")
    var fused: [DocumentID: FusedHit] = [:]
    for (offset, hit) in dense.enumerated() where fused[hit.id] == nil {
        fused[hit.id] = FusedHit(id: hit.id, score: 0, denseScore: hit.score, denseRank: offset + 1)
    }
    for (offset, hit) in keyword.enumerated() where fused[hit.id]?.keywordRank == nil {
        fused[hit.id, default: FusedHit(id: hit.id, score: 0)].keywordScore = hit.score
        fused[hit.id]?.keywordRank = offset + 1
    }
    // A weight of 0 adds nothing, so the extra side's documents must not join the result either.
    for (offset, hit) in (extraWeight > 0 ? extra : []).enumerated() where fused[hit.id]?.extraRank == nil {
        fused[hit.id, default: FusedHit(id: hit.id, score: 0)].extraScore = hit.score
        fused[hit.id]?.extraRank = offset + 1
    }
    var hits = Array(fused.values)
    switch method {
    case .reciprocalRank(let rankConstant):
        precondition(rankConstant > 0, "fuse: the RRF rank constant must be positive (got \(rankConstant))")
        for index in hits.indices {
            let dense = hits[index].denseRank.map { 1 / (rankConstant + Double($0)) } ?? 0
            let keyword = hits[index].keywordRank.map { 1 / (rankConstant + Double($0)) } ?? 0
            let extra = hits[index].extraRank.map { extraWeight / (rankConstant + Double($0)) } ?? 0
            hits[index].score = dense + keyword + extra
        }
    case .convex(let alpha, let normalization):
        precondition(alpha >= 0 && alpha <= 1, "fuse: alpha must lie in 0...1 (got \(alpha))")
        let denseScale = Normalizer(dense.map { Double($0.score) }, normalization, lowerBound: -1)
        let keywordScale = Normalizer(keyword.map { Double($0.score) }, normalization, lowerBound: 0)
        let extraScale = Normalizer(extra.map { Double($0.score) }, normalization, lowerBound: 0)
        for index in hits.indices {
            let dense = hits[index].denseScore.map { denseScale.apply(Double($0)) }
            let keyword = hits[index].keywordScore.map { keywordScale.apply(Double($0)) }
            let extra = hits[index].extraScore.map { extraWeight * extraScale.apply(Double($0)) } ?? 0
            hits[index].normalizedDense = dense
            hits[index].normalizedKeyword = keyword
            hits[index].score = alpha * (dense ?? 0) + (1 - alpha) * (keyword ?? 0) + extra
        }
    }
    hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    return hits
}

/// One side's per-query normalization.
struct Normalizer {
    let offset: Double
    let scale: Double
    /// The value every score maps to when the side can't be scaled (one candidate, or all scores equal).
    let constant: Double?

    /// - Parameter lowerBound: The least score the side's scorer can give (``ScoreNormalization/theoretical``).
    init(_ scores: [Double], _ normalization: ScoreNormalization, lowerBound: Double) {
        switch normalization {
        case .theoretical:
            let high = max(scores.max() ?? lowerBound, lowerBound)
            offset = lowerBound
            scale = high - lowerBound
            constant = high > lowerBound ? nil : 0
        case .minMax:
            let low = scores.min() ?? 0, high = scores.max() ?? 0
            offset = low
            scale = high - low
            constant = high > low ? nil : 1
        case .zScore:
            let count = Double(max(scores.count, 1))
            let mean = scores.reduce(0, +) / count
            let deviation = (scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count).squareRoot()
            offset = mean
            scale = deviation
            constant = deviation > 0 ? nil : 0
        }
    }

    func apply(_ score: Double) -> Double { constant ?? (score - offset) / scale }
}
