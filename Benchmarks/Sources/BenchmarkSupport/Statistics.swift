import Foundation

/// The `q`-th percentile (0…100) of `values`, interpolating linearly between the two nearest ranks: numpy's default
/// (`numpy.percentile`), so a figure here and a peer's figure computed in Python mean the same thing.
///
/// Every benchmark reports its percentiles and medians with this one definition. Returns 0 for no values.
public func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let position = (Double(sorted.count) - 1) * min(max(q, 0), 100) / 100
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
}

/// The median of `values`: ``percentile(_:_:)`` at 50, the mean of the two middle values for an even count.
public func median(_ values: [Double]) -> Double { percentile(values, 50) }

/// `value` rounded to `digits` decimals, for the JSON a benchmark prints.
public func rounded(_ value: Double, _ digits: Int = 3) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}
