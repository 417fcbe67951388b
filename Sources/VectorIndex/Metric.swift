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
