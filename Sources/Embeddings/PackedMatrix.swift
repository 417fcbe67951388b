internal import CKernels
import Foundation
import RetrievalCore

/// A weight matrix laid out for products with few rows, as a text encoder computes for one short text.
///
/// BLAS copies the whole weight matrix into its own layout on every call, which for a few rows costs as much as
/// the product itself. Here the copy is made once: the columns are cut into panels of 32, each stored row after
/// row, so that a product streams every panel from memory once and reuses it from cache for every block of rows.
package struct PackedMatrix: Sendable {
    /// Rows of the matrix: the inner dimension of a product.
    package let rows: Int
    /// Columns of the matrix: the width of a product's output.
    package let columns: Int
    /// `ceil(columns / 32)` panels of `rows × 32` floats, zero past the last column.
    private let panels: [Float]

    /// Columns per panel (`VK_GEMM_PANEL`).
    private static let panelWidth = Int(VK_GEMM_PANEL)

    /// Panels handed to one thread at least, so that a thread's share is worth waking it.
    private static let panelsPerThread = 4

    /// Up to this many rows, threads claim one panel at a time.
    private static let rowsPerPanelTask = 64

    /// Packs the transpose of `matrix`, given `[columns, rows]` row-major: a linear layer's `[out, in]` weights
    /// become the `[in, out]` matrix that multiplies activations from the right.
    ///
    /// - Precondition: `matrix.count == columns · rows` for some `rows > 0`.
    package init(transposing matrix: [Float], columns: Int) {
        precondition(columns > 0 && matrix.count % columns == 0 && !matrix.isEmpty, "PackedMatrix: bad shape")
        let rows = matrix.count / columns
        let width = Self.panelWidth
        let panelCount = (columns + width - 1) / width
        var panels = [Float](repeating: 0, count: panelCount * rows * width)
        for column in 0..<columns {
            let (panel, lane) = column.quotientAndRemainder(dividingBy: width)
            for row in 0..<rows { panels[(panel * rows + row) * width + lane] = matrix[column * rows + row] }
        }
        self.rows = rows
        self.columns = columns
        self.panels = panels
    }

    /// `output += input · self`, row-major: `input` is `count × rows`, `output` is `count × columns`.
    ///
    /// Threads take disjoint ranges of whole panels: one panel at a time for a few rows, one range each for more.
    ///
    /// - Parameter level: The kernels' instruction set; one the CPU lacks falls back to ``SIMDLevel/detected``.
    /// - Precondition: `input` and `output` hold at least the sizes above.
    package func multiplyAdd(
        _ input: [Float], count: Int, into output: inout [Float], level: SIMDLevel = .detected
    ) {
        guard count > 0 else { return }
        precondition(
            input.count >= count * rows && output.count >= count * columns,
            "PackedMatrix.multiplyAdd: buffers too small")
        let kernelLevel = (level <= SIMDLevel.hardware ? level : SIMDLevel.detected).cValue
        let (rows, columns, width) = (rows, columns, Self.panelWidth)
        input.withUnsafeBufferPointer { input in
            panels.withUnsafeBufferPointer { panels in
                output.withUnsafeMutableBufferPointer { output in
                    guard let inputStart = input.baseAddress, let panelStart = panels.baseAddress,
                        let outputStart = output.baseAddress
                    else { return }
                    // A few rows (one query) make short tasks of one panel each, claimed one by one, so that a
                    // thread the OS delays on a busy machine holds up at most one panel; many rows (a batch) make
                    // one contiguous range per thread.
                    let panelCount = (columns + width - 1) / width
                    let workers = max(1, min(processorCount, panelCount / Self.panelsPerThread))
                    let tasks = count > Self.rowsPerPanelTask ? workers : panelCount
                    parallelFor(tasks, workers: workers) { task in
                        let firstPanel = panelCount * task / tasks
                        let first = firstPanel * width
                        let end = min(panelCount * (task + 1) / tasks * width, columns)
                        vk_gemm_packed_f32(
                            count, end - first, rows, inputStart, rows, panelStart + firstPanel * rows * width,
                            outputStart + first, columns, kernelLevel)
                    }
                }
            }
        }
    }
}
