internal import CKernels
import RetrievalCore

/// Swift entry points to the encoder's C steps, for tests and benchmarks; ``BERTEncoder`` calls the C kernels on
/// its own buffers.
package enum EncoderKernels {
    /// Exact GELU, x/2 · (1 + erf(x/√2)), of every value (`vk_gelu_f32`).
    ///
    /// - Precondition: `level` is in ``SIMDLevel/available``.
    package static func gelu(_ values: [Float], level: SIMDLevel = .detected) -> [Float] {
        precondition(SIMDLevel.available.contains(level), "gelu: \(level) is not supported on this CPU")
        var values = values
        values.withUnsafeMutableBufferPointer { vk_gelu_f32($0.baseAddress, $0.count, level.cValue) }
        return values
    }

    /// Softmax of `scale · x` over each row of a row-major matrix with `columns` columns (`vk_softmax_rows_f32`).
    ///
    /// - Precondition: `columns >= 1`, `matrix.count` is a multiple of it, `scale > 0`, and `level` is in
    ///   ``SIMDLevel/available``.
    package static func softmaxRows(
        _ matrix: [Float], columns: Int, scale: Float, level: SIMDLevel = .detected
    ) -> [Float] {
        precondition(columns >= 1 && matrix.count % columns == 0 && scale > 0, "softmaxRows: bad shape or scale")
        precondition(SIMDLevel.available.contains(level), "softmaxRows: \(level) is not supported on this CPU")
        var matrix = matrix
        matrix.withUnsafeMutableBufferPointer {
            vk_softmax_rows_f32($0.baseAddress, $0.count / columns, columns, scale, level.cValue)
        }
        return matrix
    }

    /// softmax(scale · Q Kᵀ) V for one head (`vk_attention_head_f32`); `query`, `key` and `value` are
    /// `length × headSize` row-major.
    ///
    /// - Returns: The `length × headSize` context, row-major.
    /// - Precondition: The three inputs hold `length · headSize` floats, and `level` is in ``SIMDLevel/available``.
    package static func attention(
        query: [Float], key: [Float], value: [Float], length: Int, headSize: Int, scale: Float,
        level: SIMDLevel = .detected
    ) -> [Float] {
        let count = length * headSize
        precondition(
            query.count == count && key.count == count && value.count == count, "attention: inputs of wrong size")
        precondition(SIMDLevel.available.contains(level), "attention: \(level) is not supported on this CPU")
        var scratch = [Float](repeating: 0, count: vk_attention_scratch_count(length, headSize))
        return Array(unsafeUninitializedCapacity: count) { output, initialized in
            query.withUnsafeBufferPointer { query in
                key.withUnsafeBufferPointer { key in
                    value.withUnsafeBufferPointer { value in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            output.initialize(repeating: 0)
                            vk_attention_head_f32(
                                length, headSize, query.baseAddress, key.baseAddress, value.baseAddress, headSize,
                                scale, output.baseAddress, headSize, scratch.baseAddress, level.cValue)
                        }
                    }
                }
            }
            initialized = count
        }
    }
}
