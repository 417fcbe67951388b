internal import CKernels
import RetrievalCore

/// Returns the dot product of two vectors of equal length.
///
/// - Precondition: `a.count == b.count`, and `level` is in ``SIMDLevel/available``.
package func dot(_ a: [Float], _ b: [Float], level: SIMDLevel = .detected) -> Float {
    precondition(a.count == b.count, "dot: lengths differ (\(a.count) vs \(b.count))")
    precondition(SIMDLevel.available.contains(level), "dot: \(level) is not supported on this CPU")
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in vk_dot_f32(a.baseAddress, b.baseAddress, a.count, level.cValue) }
    }
}

/// Returns the squared Euclidean distance between two vectors of equal length.
///
/// - Precondition: `a.count == b.count`, and `level` is in ``SIMDLevel/available``.
package func squaredDistance(_ a: [Float], _ b: [Float], level: SIMDLevel = .detected) -> Float {
    precondition(a.count == b.count, "squaredDistance: lengths differ (\(a.count) vs \(b.count))")
    precondition(SIMDLevel.available.contains(level), "squaredDistance: \(level) is not supported on this CPU")
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in vk_l2sq_f32(a.baseAddress, b.baseAddress, a.count, level.cValue) }
    }
}

/// Scores `query` against every row of a row-major matrix: dot products, or negated squared distances for
/// ``Metric/l2`` (cosine rows are expected to be normalized already).
///
/// - Precondition: `rows.count` is a multiple of `query.count`, and `level` is in ``SIMDLevel/available``.
package func scores(
    _ query: [Float], rows: [Float], metric: Metric, level: SIMDLevel = .detected
) -> [Float] {
    precondition(!query.isEmpty && rows.count % query.count == 0, "scores: rows are not whole \(query.count)-vectors")
    precondition(SIMDLevel.available.contains(level), "scores: \(level) is not supported on this CPU")
    let count = rows.count / query.count
    return [Float](unsafeUninitializedCapacity: count) { output, initialized in
        query.withUnsafeBufferPointer { query in
            rows.withUnsafeBufferPointer { rows in
                vk_scores_f32(
                    query.baseAddress, rows.baseAddress, query.count, count, metric.kernelMetric,
                    level.cValue, output.baseAddress)
            }
        }
        initialized = count
    }
}

/// Integer dot products of a quantized query with rows of unsigned codes: sum((code - 128) * query).
///
/// - Precondition: `codes.count` is a multiple of `query.count`, and `level` is in ``SIMDLevel/available``.
package func int8Dots(_ query: [Int8], codes: [UInt8], level: SIMDLevel = .detected) -> [Int32] {
    precondition(!query.isEmpty && codes.count % query.count == 0, "int8Dots: codes are not whole rows")
    precondition(SIMDLevel.available.contains(level), "int8Dots: \(level) is not supported on this CPU")
    let count = codes.count / query.count
    let sum = query.reduce(Int32(0)) { $0 + Int32($1) }
    return [Int32](unsafeUninitializedCapacity: count) { output, initialized in
        query.withUnsafeBufferPointer { query in
            codes.withUnsafeBufferPointer { codes in
                vk_dot_i8(
                    query.baseAddress, sum, codes.baseAddress, query.count, count, level.cValue,
                    output.baseAddress)
            }
        }
        initialized = count
    }
}
