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
    /// - Throws: ``IndexError/invalidParameter(name:value:expected:)`` when `dimension < 1`, or
    ///   ``IndexError/incompleteVector(valueCount:dimension:)`` when `values` is not whole vectors.
    public init(dimension: Int, values: [Float]) throws(IndexError) {
        guard dimension >= 1 else {
            throw IndexError.invalidParameter(name: "dimension", value: Double(dimension), expected: "at least 1")
        }
        guard values.count % dimension == 0 else {
            throw IndexError.incompleteVector(valueCount: values.count, dimension: dimension)
        }
        self.dimension = dimension
        self.values = values
    }

    /// Creates a set from vectors of equal length.
    ///
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)`` when lengths differ, or
    ///   ``IndexError/tooFewVectors(count:minimum:)`` when `rows` is empty, or
    ///   ``IndexError/invalidParameter(name:value:expected:)`` when its vectors are.
    public init(_ rows: [[Float]]) throws(IndexError) {
        guard let first = rows.first else { throw IndexError.tooFewVectors(count: 0, minimum: 1) }
        guard !first.isEmpty else {
            throw IndexError.invalidParameter(name: "dimension", value: 0, expected: "at least 1")
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
