import ProceduralMemory
import RetrievalCore

/// A mean over queries with a percentile bootstrap confidence interval.
///
/// The queries are resampled with replacement `resamples` times and the interval is the middle `confidence` share
/// of the resampled means (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", chapter 13).
///
/// Resampling is seeded (SplitMix64), so the same values, seed and count give the same interval on every machine.
public struct BootstrapInterval: Sendable, Equatable, Codable {
    /// The mean of the values.
    public var mean: Double
    /// The lower end of the interval.
    public var lower: Double
    /// The upper end of the interval.
    public var upper: Double

    /// The resamples an evaluation draws: enough that the 2.5 % and 97.5 % percentiles move by well under
    /// 0.01 between seeds on a few hundred queries, cheap next to the lookups.
    public static let defaultResamples = 2000
    /// The seed an evaluation resamples with.
    public static let defaultSeed: UInt64 = 18

    /// Computes the interval of the mean of `values`.
    ///
    /// - Parameters:
    ///   - values: One value per query (a metric, or a paired difference of two settings' metrics).
    ///   - resamples: How many resampled means.
    ///   - confidence: The share of resampled means inside the interval.
    ///   - seed: The seed of the resampling.
    /// - Precondition: `values` is not empty, `resamples >= 1`, `confidence` within 0…1.
    /// - Complexity: O(`resamples` · `values.count`).
    public init(
        of values: [Double], resamples: Int = BootstrapInterval.defaultResamples, confidence: Double = 0.95,
        seed: UInt64 = BootstrapInterval.defaultSeed
    ) {
        precondition(!values.isEmpty, "BootstrapInterval: no values")
        precondition(resamples >= 1 && (0...1).contains(confidence), "BootstrapInterval: bad resamples or confidence")
        var generator = SplitMix64(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in values.indices { sum += values[Int.random(in: 0..<values.count, using: &generator)] }
            means.append(sum / Double(values.count))
        }
        means.sort()
        let tail = (1 - confidence) / 2
        func percentile(_ share: Double) -> Double {
            means[min(means.count - 1, max(0, Int((share * Double(means.count)).rounded(.down))))]
        }
        mean = values.reduce(0, +) / Double(values.count)
        lower = percentile(tail)
        upper = percentile(1 - tail)
    }

    /// `0.5123 [0.4801, 0.5442]`.
    public var formatted: String {
        func four(_ value: Double) -> String { String(format: "%.4f", value) }
        return "\(four(mean)) [\(four(lower)), \(four(upper))]"
    }
}
