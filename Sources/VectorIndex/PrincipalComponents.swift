internal import CBLAS
import Foundation
import RetrievalCore

/// Principal component analysis (optionally with whitening) fitted with LAPACK's `ssyevd` on the covariance
/// matrix, to store embeddings in fewer dimensions.
///
/// Projection: y = W·(x − μ), with W's rows the top components (unit length, orthogonal, by descending
/// variance); with whitening each yᵢ is further divided by √λᵢ. ``reconstruct(_:)`` inverts the map on the kept
/// subspace. Saved in the Memp index container (magic `MPCA`) next to the index it reduced.
///
///     let pca = try PrincipalComponents.fit(vectors, components: 128)
///     let small = pca.project(vectors)   // n × 128
public struct PrincipalComponents: Sendable, Equatable {
    /// The file format version written by ``save(to:)``.
    public static let formatVersion: UInt32 = 1
    /// The four-character magic of a saved model.
    public static let magic = "MPCA"

    /// Length of the input vectors.
    public let inputDimension: Int
    /// Number of components kept: the length of projected vectors.
    public let outputDimension: Int
    /// Whether projections are scaled to unit variance per component.
    public let whitened: Bool
    /// The training mean, `inputDimension` values.
    public let mean: [Float]
    /// The kept components, row-major `outputDimension × inputDimension`, each of unit length.
    public let components: [Float]
    /// The variance along each kept component (the covariance eigenvalues), descending.
    public let variances: [Float]
    /// The total variance of the training data (the covariance trace), for explained-variance ratios.
    public let totalVariance: Float

    /// The share of the training variance each kept component explains.
    public var explainedVarianceRatios: [Float] {
        totalVariance > 0 ? variances.map { $0 / totalVariance } : variances.map { _ in 0 }
    }

    /// Added to a variance before whitening divides by its square root, so flat directions don't blow up.
    static let whiteningEpsilon: Float = 1e-8

    /// Fits the components of `count` row-major vectors.
    ///
    /// - Parameters:
    ///   - values: `count × dimension` floats, row-major.
    ///   - dimension: The input dimension.
    ///   - components: How many components to keep (1…`dimension`).
    ///   - whiten: Whether projections get unit variance per component.
    /// - Throws: ``IndexError/invalidParameter(name:value:expected:)`` for a `dimension` below 1 or a component
    ///   count outside 1…`dimension`; ``IndexError/incompleteVector(valueCount:dimension:)`` when `values` is not
    ///   whole vectors; ``IndexError/tooFewVectors(count:minimum:)`` for fewer than 2 vectors;
    ///   ``IndexError/nonFiniteComponent(id:position:)`` for NaN or infinite input;
    ///   ``IndexError/decompositionFailed(routine:info:)`` when LAPACK fails.
    /// - Complexity: O(*n*·*d*² + *d*³).
    public static func fit(values: [Float], dimension: Int, components: Int, whiten: Bool = false)
        throws(IndexError) -> PrincipalComponents
    {
        guard dimension >= 1 else {
            throw IndexError.invalidParameter(name: "dimension", value: Double(dimension), expected: "at least 1")
        }
        guard values.count % dimension == 0 else {
            throw IndexError.incompleteVector(valueCount: values.count, dimension: dimension)
        }
        let count = values.count / dimension
        guard count >= 2 else { throw IndexError.tooFewVectors(count: count, minimum: 2) }
        guard (1...dimension).contains(components) else {
            throw IndexError.invalidParameter(
                name: "components", value: Double(components), expected: "within 1...\(dimension)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw IndexError.nonFiniteComponent(id: nil, position: bad % dimension)
        }
        // The mean in Double, so large sets don't lose precision before centring.
        var sums = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            for column in 0..<dimension { sums[column] += Double(values[row * dimension + column]) }
        }
        let mean = sums.map { Float($0 / Double(count)) }
        var centered = values
        for row in 0..<count {
            for column in 0..<dimension { centered[row * dimension + column] -= mean[column] }
        }
        // A sum of n squares of centred values up to m overflows a Float once m² · n does: the decomposition of
        // its infinities would fail, or give NaN components that the reduced vectors would inherit.
        let largest = centered.reduce(Float(0)) { max($0, abs($1)) }
        guard (largest * largest * Float(count)).isFinite else { throw IndexError.covarianceOverflow(largest: largest) }
        // Upper triangle of the sample covariance Xcᵀ·Xc / (n − 1), then its eigen-decomposition (ascending).
        var covariance = [Float](repeating: 0, count: dimension * dimension)
        var eigenvalues = [Float](repeating: 0, count: dimension)
        let info = centered.withUnsafeBufferPointer { centered in
            covariance.withUnsafeMutableBufferPointer { covariance in
                eigenvalues.withUnsafeMutableBufferPointer { eigenvalues in
                    cblas_ssyrk(
                        CblasRowMajor, CblasUpper, CblasTrans, Int32(dimension), Int32(count), 1 / Float(count - 1),
                        centered.baseAddress, Int32(dimension), 0, covariance.baseAddress, Int32(dimension))
                    return LAPACKE_ssyevd(
                        LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(dimension),
                        covariance.baseAddress, Int32(dimension), eigenvalues.baseAddress)
                }
            }
        }
        guard info == 0 else {
            throw IndexError.decompositionFailed(routine: "ssyevd", info: Int(info))
        }
        var kept: [Float] = []
        kept.reserveCapacity(components * dimension)
        for rank in 0..<components {
            // Column `dimension − 1 − rank` holds the eigenvector of the rank-th largest eigenvalue.
            let column = dimension - 1 - rank
            var vector = (0..<dimension).map { covariance[$0 * dimension + column] }
            // Fix the sign (largest-magnitude entry positive) so fits are reproducible across LAPACK builds.
            if let largest = vector.max(by: { abs($0) < abs($1) }), largest < 0 { vector = vector.map { -$0 } }
            kept += vector
        }
        return PrincipalComponents(
            inputDimension: dimension, outputDimension: components, whitened: whiten, mean: mean, components: kept,
            variances: (0..<components).map { max(eigenvalues[dimension - 1 - $0], 0) },
            totalVariance: eigenvalues.reduce(0) { $0 + max($1, 0) })
    }

    /// Fits the components of `vectors`, which must all have the same length.
    ///
    /// - Throws: ``IndexError/dimensionMismatch(expected:actual:)`` for vectors of different lengths, and what
    ///   ``fit(values:dimension:components:whiten:)`` throws.
    public static func fit(_ vectors: [[Float]], components: Int, whiten: Bool = false) throws(IndexError)
        -> PrincipalComponents
    {
        let dimension = vectors.first?.count ?? 0
        if let odd = vectors.first(where: { $0.count != dimension }) {
            throw IndexError.dimensionMismatch(expected: dimension, actual: odd.count)
        }
        return try fit(values: vectors.flatMap { $0 }, dimension: dimension, components: components, whiten: whiten)
    }

    /// Projects row-major vectors to ``outputDimension`` components each.
    ///
    /// - Parameter values: `n × inputDimension` floats.
    /// - Returns: `n × outputDimension` floats.
    /// - Precondition: `values.count` is a multiple of ``inputDimension``.
    /// - Complexity: O(*n*·*d*·*k*), one GEMM.
    public func project(values: [Float]) -> [Float] {
        precondition(values.count % inputDimension == 0, "PrincipalComponents.project: not whole vectors")
        let count = values.count / inputDimension
        guard count > 0 else { return [] }
        var centered = values
        for row in 0..<count {
            for column in 0..<inputDimension { centered[row * inputDimension + column] -= mean[column] }
        }
        var projected = [Float](repeating: 0, count: count * outputDimension)
        centered.withUnsafeBufferPointer { centered in
            components.withUnsafeBufferPointer { components in
                projected.withUnsafeMutableBufferPointer { projected in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(outputDimension),
                        Int32(inputDimension), 1, centered.baseAddress, Int32(inputDimension), components.baseAddress,
                        Int32(inputDimension), 0, projected.baseAddress, Int32(outputDimension))
                }
            }
        }
        if whitened {
            let scales = variances.map { 1 / ($0 + Self.whiteningEpsilon).squareRoot() }
            for index in projected.indices { projected[index] *= scales[index % outputDimension] }
        }
        return projected
    }

    /// Projects each vector.
    ///
    /// - Precondition: Every vector has ``inputDimension`` components.
    public func project(_ vectors: [[Float]]) -> [[Float]] {
        precondition(vectors.allSatisfy { $0.count == inputDimension }, "PrincipalComponents.project: wrong dimension")
        let flat = project(values: vectors.flatMap { $0 })
        return (0..<vectors.count).map { Array(flat[$0 * outputDimension..<($0 + 1) * outputDimension]) }
    }

    /// Projects one vector.
    ///
    /// - Precondition: `vector.count == inputDimension`.
    public func project(_ vector: [Float]) -> [Float] { project([vector])[0] }

    /// Maps a projected vector back to the input space: the closest point of the kept subspace.
    ///
    /// - Precondition: `projected.count == outputDimension`.
    /// - Complexity: O(*d*·*k*).
    public func reconstruct(_ projected: [Float]) -> [Float] {
        precondition(projected.count == outputDimension, "PrincipalComponents.reconstruct: wrong dimension")
        var result = mean
        for rank in 0..<outputDimension {
            let weight =
                whitened ? projected[rank] * (variances[rank] + Self.whiteningEpsilon).squareRoot() : projected[rank]
            for column in 0..<inputDimension { result[column] += weight * components[rank * inputDimension + column] }
        }
        return result
    }

    /// Writes the model atomically to `path` (magic `MPCA`, format v1, CRC-32C per section).
    ///
    /// - Throws: ``IndexError/io(path:reason:)``.
    public func save(to path: String) throws(IndexError) {
        let writer = try IndexFileWriter(
            path: path, magic: Self.magic, version: Self.formatVersion,
            fields: [
                UInt64(inputDimension), UInt64(outputDimension), whitened ? 1 : 0, UInt64(totalVariance.bitPattern),
            ],
            sectionCapacity: 3)
        try writer.appendSection("MEAN", mean)
        try writer.appendSection("COMP", components)
        try writer.appendSection("VARS", variances)
        try writer.commit()
    }

    /// Loads a model written by ``save(to:)``.
    ///
    /// - Throws: ``IndexError/io(path:reason:)``, ``IndexError/notAnIndexFile(path:expectedMagic:)``,
    ///   ``IndexError/unsupportedFormat(path:version:readable:)``, ``IndexError/truncated(path:expectedBytes:actualBytes:)``
    ///   or ``IndexError/corrupted(path:section:reason:)``.
    public init(contentsOf path: String, verifyChecksums: Bool = true) throws(IndexError) {
        let file = try MappedIndexFile(
            path: path, magic: Self.magic, readableVersions: Self.formatVersion...Self.formatVersion,
            verifyChecksums: verifyChecksums)
        let input = Int(clamping: file.fields[0])
        let output = Int(clamping: file.fields[1])
        guard (1...65_536).contains(input), (1...input).contains(output), file.fields[2] <= 1 else {
            throw IndexError.corrupted(
                path: path, section: "header", reason: "dimensions \(input) → \(output) are impossible")
        }
        self.init(
            inputDimension: input, outputDimension: output, whitened: file.fields[2] == 1,
            mean: try file.array("MEAN", of: Float.self, expectedCount: input),
            components: try file.array("COMP", of: Float.self, expectedCount: input * output),
            variances: try file.array("VARS", of: Float.self, expectedCount: output),
            totalVariance: Float(bitPattern: UInt32(truncatingIfNeeded: file.fields[3])))
    }

    private init(
        inputDimension: Int, outputDimension: Int, whitened: Bool, mean: [Float], components: [Float],
        variances: [Float], totalVariance: Float
    ) {
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.whitened = whitened
        self.mean = mean
        self.components = components
        self.variances = variances
        self.totalVariance = totalVariance
    }
}

extension PrincipalComponents {
    /// Where the model of a reduced index is kept unless told otherwise: `<index>.pca`, beside it, where
    /// ``forQueries(dimension:ofIndex:model:)`` finds it.
    public static func modelPath(besideIndex indexPath: String) -> String { indexPath + ".pca" }

    /// The model to project queries of `dimension` components with before they search the index at `indexPath`.
    ///
    /// A `model` given by path must take queries of that size. Without one, the model saved beside the index
    /// (`<indexPath>.pca`) applies when it exists and takes queries of that size: queries already reduced, or an
    /// index that was never reduced, are searched as they are.
    ///
    /// - Parameters:
    ///   - dimension: The queries' dimension.
    ///   - indexPath: The index the queries search.
    ///   - model: A model file to use instead of the one beside the index.
    /// - Returns: The model, or `nil` when the queries need no projection.
    /// - Throws: ``RetrievalCore/IndexError/dimensionMismatch(expected:actual:)`` when `model` takes queries of
    ///   another size, and what ``init(contentsOf:verifyChecksums:)`` throws.
    public static func forQueries(dimension: Int, ofIndex indexPath: String, model: String? = nil)
        throws(IndexError) -> PrincipalComponents?
    {
        if let model {
            let components = try PrincipalComponents(contentsOf: model)
            guard components.inputDimension == dimension else {
                throw .dimensionMismatch(expected: components.inputDimension, actual: dimension)
            }
            return components
        }
        let beside = modelPath(besideIndex: indexPath)
        guard FileManager.default.fileExists(atPath: beside) else { return nil }
        let components = try PrincipalComponents(contentsOf: beside)
        return components.inputDimension == dimension ? components : nil
    }
}
