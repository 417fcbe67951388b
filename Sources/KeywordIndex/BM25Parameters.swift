import Foundation

/// The free parameters of Okapi BM25 as Lucene scores it (Kamphuis et al. 2020,
/// <https://doi.org/10.1007/978-3-030-45442-5_4>):
///
///     score(q, d) = Σ_t∈q idf(t) · tf · (k1 + 1) / (tf + k1 · (1 − b + b · |d| / avgdl))
///     idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))
public struct BM25Parameters: Codable, Sendable, Equatable, Hashable {
    /// Term-frequency saturation: how quickly repeated occurrences of a term stop adding score (0 = not at all).
    public var k1: Double = 1.5
    /// Length normalization: 0 ignores document length, 1 divides term frequency fully by relative length.
    public var b: Double = 0.75

    /// Creates parameters.
    ///
    /// - Precondition: `k1` is finite and `k1 >= 0`; `0 <= b <= 1`.
    public init(k1: Double = 1.5, b: Double = 0.75) {
        precondition(k1.isFinite && k1 >= 0, "BM25Parameters: k1 must be finite and >= 0 (got \(k1))")
        precondition(b >= 0 && b <= 1, "BM25Parameters: b must lie in 0...1 (got \(b))")
        self.k1 = k1
        self.b = b
    }

    /// Whether the values are in range (for parameters read from a file, which bypass `init`).
    var isValid: Bool { k1.isFinite && k1 >= 0 && b >= 0 && b <= 1 }

    /// Lucene's inverse document frequency of a term found in `documentFrequency` of `documentCount` documents.
    ///
    /// Always positive, so a document matching more query terms never loses score for it.
    public static func idf(documentFrequency: Int, documentCount: Int) -> Double {
        let n = Double(documentCount), df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }
}
