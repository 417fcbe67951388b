import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct DotProductTests {
    // Widths around the 8- and 16-lane registers exercise both the vector body and the tail.
    static let dimensions = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 384, 385]

    @Test(arguments: SIMDLevel.available, dimensions)
    func dotMatchesStrictReference(level: SIMDLevel, dimension: Int) {
        var rng = SplitMix64(seed: 42)
        // Small integers keep every partial sum exact, so every level must agree bit for bit.
        let a = (0..<dimension).map { _ in Float(Int.random(in: -8...8, using: &rng)) }
        let b = (0..<dimension).map { _ in Float(Int.random(in: -8...8, using: &rng)) }
        #expect(dot(a, b, level: level) == zip(a, b).reduce(0) { $0 + $1.0 * $1.1 })
        #expect(squaredDistance(a, b, level: level) == zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
    }
}
