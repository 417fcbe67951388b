import RetrievalCore

/// A row-major matrix of `count` vectors of `dimension` floats, as read from or written to vector files and
/// passed to batch searches.
public struct VectorSet: Sendable, Equatable {
    /// The length of every vector.
    public let dimension: Int
    /// All components, vector after vector.
    public private(set) var values: [Float]

    /// The number of vectors.
    public var count: Int { dimension == 0 ? 0 : values.count / dimension }

    /// Creates a set from row-major values.
    ///
    /// - Throws: ``IndexError/invalidArgument(_:)`` when `dimension < 1` or `values` is not whole vectors.
    public init(dimension: Int, values: [Float]) throws(IndexError) {
        guard dimension >= 1, values.count % dimension == 0 else {
            throw IndexError.invalidArgument(
                "\(values.count) values do not form whole vectors of dimension \(dimension).")
        }
        self.dimension = dimension
        self.values = values
    }

    /// Creates a set from vectors of equal length.
    ///
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)`` when lengths differ, or
    ///   ``IndexError/invalidArgument(_:)`` when `rows` is empty or its vectors are.
    public init(_ rows: [[Float]]) throws(IndexError) {
        guard let first = rows.first, !first.isEmpty else {
            throw IndexError.invalidArgument("A vector set needs at least one non-empty vector.")
        }
        var values: [Float] = []
        values.reserveCapacity(rows.count * first.count)
        for row in rows {
            guard row.count == first.count else {
                throw IndexError.dimensionMismatch(expected: first.count, actual: row.count)
            }
            values += row
        }
        self.dimension = first.count
        self.values = values
    }

    /// Vector `index`.
    public subscript(index: Int) -> ArraySlice<Float> {
        values[index * dimension..<(index + 1) * dimension]
    }

    /// The vectors at `rows`, as a set of their own.
    ///
    /// - Precondition: `rows` lies within `0..<count`.
    public subscript(rows rows: Range<Int>) -> VectorSet {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= count, "VectorSet: rows \(rows) outside 0..<\(count)")
        return VectorSet(
            validDimension: dimension, values: Array(values[rows.lowerBound * dimension..<rows.upperBound * dimension]))
    }

    private init(validDimension dimension: Int, values: [Float]) {
        self.dimension = dimension
        self.values = values
    }
}
