import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import Embeddings

@Suite struct EncoderKernelsTests {
    // Lengths around the 8- and 16-lane registers and the 32-column panels, and a sentence-sized one.
    static let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 150]

    /// GELU in Double with libm's erf.
    static func referenceGELU(_ x: Float) -> Double {
        0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
    }

    /// The rational erf keeps GELU within 5e-7·|x|/2 of the exact form, plus rounding, at every level, out to the
    /// tails where erf is ±1 in float.
    @Test(arguments: SIMDLevel.available)
    func geluMatchesLibm(level: SIMDLevel) {
        let inputs = (-100_000...100_000).map { Float($0) / 10_000 } + [0, 50, -50, 1e-20, -1e-20]
        let outputs = EncoderKernels.gelu(inputs, level: level)
        var worst: Double = 0
        for (x, y) in zip(inputs, outputs) {
            let expected = Self.referenceGELU(x)
            worst = max(worst, abs(Double(y) - expected) / max(1, abs(Double(x))))
        }
        #expect(worst < 1e-6, "\(level): worst scaled error \(worst)")
    }

    /// Every weight is within a few ulps of the Double softmax, plus the rounding of score − max in float, even
    /// with large scores (the maximum is subtracted first) and a row of one.
    @Test(arguments: SIMDLevel.available, lengths)
    func softmaxMatchesDoubleReference(level: SIMDLevel, columns: Int) {
        var rng = SplitMix64(seed: UInt64(columns))
        let rows = 3
        let matrix = (0..<rows * columns).map { _ in Float.random(in: -60...60, using: &rng) }
        let scale: Float = 0.25
        let result = EncoderKernels.softmaxRows(matrix, columns: columns, scale: scale, level: level)
        for row in 0..<rows {
            let values = matrix[row * columns..<(row + 1) * columns].map { Double($0) * Double(scale) }
            let top = values.max() ?? 0
            let exponentials = values.map { Foundation.exp($0 - top) }
            let total = exponentials.reduce(0, +)
            for column in 0..<columns {
                let expected = exponentials[column] / total
                let actual = Double(result[row * columns + column])
                // The float difference score − max is rounded to 2⁻²⁴ of itself before the exponential sees it.
                let bound = expected * (4e-7 + abs(values[column] - top) * 1.2e-7)
                #expect(abs(actual - expected) <= bound, "row \(row), column \(column)")
            }
        }
    }

    /// One head's attention equals softmax(scale · Q Kᵀ) V computed in Double, for head widths inside one panel,
    /// exactly one and more than one.
    @Test(arguments: SIMDLevel.available, lengths)
    func attentionMatchesDoubleReference(level: SIMDLevel, length: Int) {
        for headSize in [7, 32, 40] {
            var rng = SplitMix64(seed: UInt64(length * 100 + headSize))
            func random() -> [Float] { (0..<length * headSize).map { _ in Float.random(in: -2...2, using: &rng) } }
            let (query, key, value) = (random(), random(), random())
            let scale = 1 / Float(headSize).squareRoot()
            let result = EncoderKernels.attention(
                query: query, key: key, value: value, length: length, headSize: headSize, scale: scale, level: level)
            var worst: Double = 0
            for row in 0..<length {
                let scores = (0..<length).map { other in
                    (0..<headSize).reduce(0.0) {
                        $0 + Double(query[row * headSize + $1]) * Double(key[other * headSize + $1])
                    } * Double(scale)
                }
                let top = scores.max() ?? 0
                let weights = scores.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for column in 0..<headSize {
                    let expected = (0..<length).reduce(0.0) {
                        $0 + weights[$1] / total * Double(value[$1 * headSize + column])
                    }
                    worst = max(worst, abs(Double(result[row * headSize + column]) - expected))
                }
            }
            #expect(worst < 1e-5, "\(level), length \(length), head size \(headSize): off by \(worst)")
        }
    }
}
