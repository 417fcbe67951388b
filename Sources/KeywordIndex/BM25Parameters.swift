import Foundation
import RetrievalCore

/// The free parameters of Okapi BM25 as Lucene scores it (Kamphuis et al. 2020,
/// <https://doi.org/10.1007/978-3-030-45442-5_4>):
///
///     score(q, d) = Σ_t∈q idf(t) · tf · (k1 + 1) / (tf + k1 · (1 − b + b · |d| / avgdl))
///     idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))
public struct BM25Parameters: Codable, Sendable, Equatable, Hashable {
    /// Term-frequency saturation: how quickly repeated occurrences of a term stop adding score (0 = not at all).
    ///
    /// Set by ``init(k1:b:)`` only, which checks it: a NaN or out-of-range value scored NaN and was saved into index
    /// files no reader takes.
    public internal(set) var k1: Double = 1.5
    /// Length normalization: 0 ignores document length, 1 divides term frequency fully by relative length.
    public internal(set) var b: Double = 0.75

    /// The largest `k1` accepted.
    ///
    /// Past it a term's weight `tf · (k1 + 1) / (tf + k1 · …)` is already proportional to its frequency for any
    /// realistic term frequency (saturation is gone), so a larger `k1` changes no ranking, while one near
    /// `Float.greatestFiniteMagnitude` (1e39 is infinite as a `Float`) makes every score NaN.
    public static let maximumK1 = 1e6

    /// Creates parameters.
    ///
    /// - Precondition: The values pass ``validate(k1:b:)``.
    public init(k1: Double = 1.5, b: Double = 0.75) {
        do { try Self.validate(k1: k1, b: b) } catch { preconditionFailure("BM25Parameters: \(error)") }
        self.k1 = k1
        self.b = b
    }

    /// Checks values for ``init(k1:b:)``: `k1` within 0…``maximumK1``, `b` within 0…1 (NaN and infinities refused).
    ///
    /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` naming `k1` or `b`.
    public static func validate(k1: Double, b: Double) throws(IndexError) {
        guard k1 >= 0 && k1 <= maximumK1 else {
            throw IndexError.invalidParameter(name: "k1", value: k1, expected: "within 0…\(Int(maximumK1))")
        }
        guard b >= 0 && b <= 1 else { throw IndexError.invalidParameter(name: "b", value: b, expected: "within 0…1") }
    }

    /// Whether the values are in range (for parameters read from a file, which bypass `init`).
    var isValid: Bool { (try? Self.validate(k1: k1, b: b)) != nil }

    private enum CodingKeys: String, CodingKey { case k1, b }

    /// Decodes parameters, refusing values out of range as the initializer does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        k1 = try container.decode(Double.self, forKey: .k1)
        b = try container.decode(Double.self, forKey: .b)
        do { try Self.validate(k1: k1, b: b) } catch {
            throw DecodingError.dataCorruptedError(
                forKey: b >= 0 && b <= 1 ? .k1 : .b, in: container, debugDescription: error.description)
        }
    }

    /// Lucene's inverse document frequency of a term found in `documentFrequency` of `documentCount` documents.
    ///
    /// Always positive, so a document matching more query terms never loses score for it.
    public static func idf(documentFrequency: Int, documentCount: Int) -> Double {
        let n = Double(documentCount), df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }
}
