internal import CKernels

/// How vectors are compared; every score is "higher is better".
public enum Metric: String, CaseIterable, Sendable, Codable {
    /// Cosine similarity: vectors and queries are L2-normalized, then compared by dot product.
    case cosine
    /// Inner (dot) product of the vectors as given.
    case innerProduct = "ip"
    /// Squared Euclidean distance, negated so that nearer vectors score higher.
    case l2

    /// The code stored in index files.
    var fileCode: UInt64 {
        switch self {
        case .cosine: 0
        case .innerProduct: 1
        case .l2: 2
        }
    }

    init?(fileCode: UInt64) {
        guard let metric = Metric.allCases.first(where: { $0.fileCode == fileCode }) else { return nil }
        self = metric
    }

    var kernelMetric: vk_metric { self == .l2 ? VK_METRIC_L2 : VK_METRIC_IP }

    /// The largest L2 norm a vector may have: `nil` for cosine, which normalizes; for inner product and L2,
    /// √`Float.greatestFiniteMagnitude` / 2 (about 9.2e18), so that no score of two such vectors overflows a Float
    /// (|q·x| ≤ ‖q‖‖x‖ and ‖q − x‖² ≤ (‖q‖ + ‖x‖)²), which would make infinite scores tie.
    package var maximumNorm: Double? {
        self == .cosine ? nil : Double(Float.greatestFiniteMagnitude).squareRoot() / 2
    }

    /// The norm of a vector whose squared L2 norm is `squaredNorm`, with ``maximumNorm``, when it is over that;
    /// else `nil`.
    package func excessiveNorm(squaredNorm: Double) -> (norm: Double, limit: Double)? {
        guard let maximumNorm else { return nil }
        let norm = squaredNorm.squareRoot()
        return norm > maximumNorm ? (norm, maximumNorm) : nil
    }

    /// ``excessiveNorm(squaredNorm:)`` of `vector`, summed in Double (a Float sum of squares overflows first).
    package func excessiveNorm(of vector: some Collection<Float>) -> (norm: Double, limit: Double)? {
        guard maximumNorm != nil else { return nil }
        var sum = 0.0
        for value in vector { sum += Double(value) * Double(value) }
        return excessiveNorm(squaredNorm: sum)
    }
}

/// How an index stores its vectors.
public enum VectorStorage: String, CaseIterable, Sendable, Codable {
    /// 32-bit floats; every search is exact.
    case f32
    /// 32-bit floats plus an int8 copy (one scale per vector) that is scanned first; the best candidates are
    /// then rescored exactly in f32, so scores are exact and only recall can suffer.
    case int8

    var fileCode: UInt64 { self == .f32 ? 0 : 1 }

    init?(fileCode: UInt64) {
        guard let storage = VectorStorage.allCases.first(where: { $0.fileCode == fileCode }) else { return nil }
        self = storage
    }
}
