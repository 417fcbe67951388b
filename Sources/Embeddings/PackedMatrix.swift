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

    /// Up to this many rows, threads claim one panel at a time; up to ``rowsPerBlockTask``, two.
    private static let rowsPerPanelTask = 64

    /// Rows of one task when a product has many (`VK_GEMM_BLOCK`, the kernel's L2 block): from twice that,
    /// threads claim blocks of rows, each over every panel, so a block of A stays in its core's L2.
    private static let rowsPerBlockTask = 192

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
    /// Threads claim small tasks one at a time, so that a thread the OS delays on a busy machine holds up one task
    /// rather than half of the product: one or two panels each for up to a few hundred rows, blocks of
    /// ``rowsPerBlockTask`` rows over all panels beyond.
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
                    let panelCount = (columns + width - 1) / width
                    let workers = max(1, min(processorCount, panelCount / Self.panelsPerThread))
                    if count >= 2 * Self.rowsPerBlockTask {
                        let block = Self.rowsPerBlockTask
                        parallelFor((count + block - 1) / block, workers: workers) { task in
                            let first = task * block
                            vk_gemm_packed_f32(
                                min(block, count - first), columns, rows, inputStart + first * rows, rows,
                                panelStart, outputStart + first * columns, columns, kernelLevel)
                        }
                        return
                    }
                    let panelsPerTask = count > Self.rowsPerPanelTask ? 2 : 1
                    let tasks = (panelCount + panelsPerTask - 1) / panelsPerTask
                    parallelFor(tasks, workers: workers) { task in
                        let firstPanel = task * panelsPerTask
                        let first = firstPanel * width
                        let end = min((firstPanel + panelsPerTask) * width, columns)
                        vk_gemm_packed_f32(
                            count, end - first, rows, inputStart, rows, panelStart + firstPanel * rows * width,
                            outputStart + first, columns, kernelLevel)
                    }
                }
            }
        }
    }
}
