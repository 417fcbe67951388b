import RetrievalCore
import TestSupport
import Testing

@testable import Embeddings

@Suite struct PackedMatrixTests {
    /// `output + input · weightᵀ` in Double (`weight` is `[columns, inner]`), a reference independent of the
    /// kernels.
    static func reference(_ input: [Float], count: Int, weight: [Float], columns: Int, output: [Float]) -> [Double] {
        let inner = weight.count / columns
        return (0..<count * columns).map { index in
            let (row, column) = index.quotientAndRemainder(dividingBy: columns)
            return (0..<inner).reduce(Double(output[index])) {
                $0 + Double(input[row * inner + $1]) * Double(weight[column * inner + $1])
            }
        }
    }

    /// Every register-block tail (rows 1–13 around the 3- and 6-row blocks, columns around the 8-, 16- and
    /// 32-lane panels) and a width split across threads, at every instruction set this CPU has.
    @Test(arguments: SIMDLevel.available)
    func addsTheProductAtEveryShape(level: SIMDLevel) {
        var rng = SplitMix64(seed: 11)
        for count in [1, 2, 3, 5, 6, 7, 12, 13] {
            for columns in [1, 7, 8, 15, 16, 17, 31, 32, 33, 70, 300] {
                for inner in [1, 3, 40] {
                    let input = (0..<count * inner).map { _ in Float.random(in: -1...1, using: &rng) }
                    let weight = (0..<inner * columns).map { _ in Float.random(in: -1...1, using: &rng) }
                    let start = (0..<count * columns).map { _ in Float.random(in: -1...1, using: &rng) }
                    var output = start
                    PackedMatrix(transposing: weight, columns: columns)
                        .multiplyAdd(input, count: count, into: &output, level: level)
                    let expected = Self.reference(input, count: count, weight: weight, columns: columns, output: start)
                    let worst = zip(output, expected).map { abs(Double($0) - $1) }.max() ?? 0
                    #expect(worst < 1e-5, "count \(count), columns \(columns), inner \(inner): off by \(worst)")
                }
            }
        }
    }

    /// Many rows and a deep product cross the kernel's cache blocks (192 rows of A, 256 rows of B per slice), and
    /// the product is split across threads by rows.
    @Test(arguments: SIMDLevel.available)
    func addsTheProductAcrossCacheBlocks(level: SIMDLevel) {
        var rng = SplitMix64(seed: 12)
        let (count, columns, inner) = (400, 70, 600)
        let input = (0..<count * inner).map { _ in Float.random(in: -1...1, using: &rng) }
        let weight = (0..<inner * columns).map { _ in Float.random(in: -1...1, using: &rng) }
        let start = (0..<count * columns).map { _ in Float.random(in: -1...1, using: &rng) }
        var output = start
        PackedMatrix(transposing: weight, columns: columns).multiplyAdd(
            input, count: count, into: &output, level: level)
        let expected = Self.reference(input, count: count, weight: weight, columns: columns, output: start)
        let worst = zip(output, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst < 1e-4, "off by \(worst)")
    }

    /// Only the first `count × columns` outputs are written: a longer buffer keeps its tail.
    @Test func leavesTheRestOfTheOutputAlone() {
        var output = [Float](repeating: 5, count: 12)
        // [[1, 2], [3, 4], [5, 6]] as [columns, inner]: input [1, 1] gives [3, 7, 11].
        PackedMatrix(transposing: [1, 2, 3, 4, 5, 6], columns: 3).multiplyAdd([1, 1], count: 1, into: &output)
        #expect(output == [8, 12, 16] + [Float](repeating: 5, count: 9))
    }
}
