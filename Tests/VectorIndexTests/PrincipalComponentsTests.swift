import Foundation
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

@Suite struct PrincipalComponentsTests {
    static let dimension = 12

    /// 600 correlated vectors: independent Gaussian factors with standard deviations 12, 6, 3, …, mixed by a
    /// fixed random matrix and shifted, so the covariance has a spread of eigenvalues and a non-zero mean.
    static func sample(count: Int = 600, seed: UInt64 = 7) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Float {
            let u = Float.random(in: Float.ulpOfOne..<1, using: &rng)
            let v = Float.random(in: 0..<1, using: &rng)
            return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
        }
        let mixing = (0..<dimension * dimension).map { _ in Float.random(in: -1...1, using: &rng) }
        let scales = (0..<dimension).map { 12 / Float(1 << min($0, 10)) }
        return (0..<count).map { _ in
            let factors = scales.map { $0 * gaussian() }
            return (0..<dimension).map { row in
                3 + (0..<dimension).reduce(Float(0)) { $0 + mixing[row * dimension + $1] * factors[$1] }
            }
        }
    }

    /// The sample covariance in Double, as a reference independent of BLAS and LAPACK.
    static func covariance(_ vectors: [[Float]]) -> [[Double]] {
        let n = Double(vectors.count)
        let mean = (0..<dimension).map { column in vectors.reduce(0) { $0 + Double($1[column]) } / n }
        return (0..<dimension).map { i in
            (0..<dimension).map { j in
                vectors.reduce(0) { $0 + (Double($1[i]) - mean[i]) * (Double($1[j]) - mean[j]) } / (n - 1)
            }
        }
    }

    @Test func componentsAreOrthonormal() throws {
        let pca = try PrincipalComponents.fit(Self.sample(), components: 8)
        for a in 0..<8 {
            for b in 0..<8 {
                let dot = (0..<Self.dimension).reduce(Float(0)) {
                    $0 + pca.components[a * Self.dimension + $1] * pca.components[b * Self.dimension + $1]
                }
                #expect(abs(dot - (a == b ? 1 : 0)) < 1e-5, "components \(a), \(b)")
            }
        }
    }

    @Test func componentsAreEigenvectorsWithDescendingVariance() throws {
        let vectors = Self.sample()
        let pca = try PrincipalComponents.fit(vectors, components: Self.dimension)
        let reference = Self.covariance(vectors)
        #expect(zip(pca.variances, pca.variances.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(pca.variances.allSatisfy { $0 >= 0 })
        let trace = (0..<Self.dimension).reduce(0) { $0 + reference[$1][$1] }
        #expect(abs(Double(pca.totalVariance) - trace) / trace < 1e-4)
        for rank in 0..<Self.dimension {
            let w = (0..<Self.dimension).map { Double(pca.components[rank * Self.dimension + $0]) }
            let cw = reference.map { row in zip(row, w).reduce(0) { $0 + $1.0 * $1.1 } }
            let lambda = Double(pca.variances[rank])
            // C·w = λ·w, within float rounding relative to the largest eigenvalue.
            let residual = zip(cw, w).map { abs($0 - lambda * $1) }.max() ?? 0
            #expect(residual / Double(pca.variances[0]) < 1e-4, "component \(rank): residual \(residual)")
        }
        let ratios = pca.explainedVarianceRatios
        #expect(abs(ratios.reduce(0, +) - 1) < 1e-4)
    }

    @Test func reconstructionErrorIsTheDiscardedVariance() throws {
        let vectors = Self.sample()
        let full = try PrincipalComponents.fit(vectors, components: Self.dimension)
        var previous = Double.infinity
        for kept in [1, 2, 4, 8, Self.dimension] {
            let pca = try PrincipalComponents.fit(vectors, components: kept)
            let projected = pca.project(vectors)
            let squaredError = zip(vectors, projected).reduce(0.0) { total, pair in
                let back = pca.reconstruct(pair.1)
                return total + zip(pair.0, back).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            }
            let meanError = squaredError / Double(vectors.count - 1)
            let discarded = full.variances[kept...].reduce(0.0) { $0 + Double($1) }
            #expect(meanError <= previous)
            #expect(abs(meanError - discarded) <= 1e-3 * Double(full.totalVariance), "kept \(kept)")
            previous = meanError
        }
        #expect(previous < 1e-6 * Double(full.totalVariance))
    }

    @Test func whiteningGivesUnitVariance() throws {
        let vectors = Self.sample()
        let pca = try PrincipalComponents.fit(vectors, components: 5, whiten: true)
        let projected = pca.project(vectors)
        for component in 0..<5 {
            let values = projected.map { Double($0[component]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            #expect(abs(mean) < 1e-4 && abs(variance - 1) < 1e-3, "component \(component): variance \(variance)")
        }
        let back = pca.reconstruct(pca.project(vectors[0]))
        let plain = try PrincipalComponents.fit(vectors, components: 5)
        let plainBack = plain.reconstruct(plain.project(vectors[0]))
        #expect(zip(back, plainBack).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    @Test func saveAndLoadRoundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pca = try PrincipalComponents.fit(Self.sample(), components: 4, whiten: true)
        try pca.save(to: directory.file("model.pca"))
        #expect(try PrincipalComponents(contentsOf: directory.file("model.pca")) == pca)
    }

    @Test func queriesUseTheModelBesideTheIndexWhenTheyHaveItsInputSize() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let index = directory.file("reduced.mvi")
        #expect(try PrincipalComponents.forQueries(dimension: 12, ofIndex: index) == nil)
        let pca = try PrincipalComponents.fit(Self.sample(), components: 4)
        try pca.save(to: index + ".pca")
        #expect(try PrincipalComponents.forQueries(dimension: 12, ofIndex: index) == pca)
        // Queries already reduced are searched as they are.
        #expect(try PrincipalComponents.forQueries(dimension: 4, ofIndex: index) == nil)
    }

    @Test func aGivenModelMustTakeTheQueries() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("model.pca")
        let pca = try PrincipalComponents.fit(Self.sample(), components: 4)
        try pca.save(to: model)
        let index = directory.file("reduced.mvi")
        #expect(try PrincipalComponents.forQueries(dimension: 12, ofIndex: index, model: model) == pca)
        #expect(throws: IndexError.dimensionMismatch(expected: 12, actual: 4)) {
            try PrincipalComponents.forQueries(dimension: 4, ofIndex: index, model: model)
        }
    }

    @Test func corruptOrForeignFilesThrow() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("model.pca")
        try PrincipalComponents.fit(Self.sample(), components: 4).save(to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // The first byte of the first section, MEAN: a 128-byte header and 3 × 32-byte entries, aligned to 64.
        bytes[256] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect { try PrincipalComponents(contentsOf: path) } throws: { error in
            guard case .corrupted(_, let section, _) = error as? IndexError else { return false }
            return section == "MEAN"
        }
        try Data("not a pca file at all, just some bytes that are long enough".utf8).write(
            to: URL(fileURLWithPath: path))
        #expect(throws: IndexError.notAnIndexFile(path: path, expectedMagic: "MPCA")) {
            try PrincipalComponents(contentsOf: path)
        }
    }

    /// Reducing an index keeps its IDs, metric and storage, and stores each vector as the model projects it.
    @Test func reducedIndexHoldsTheProjectedVectors() throws {
        let sample = Self.sample(count: 200)
        var index = try FlatIndex(dimension: Self.dimension, metric: .innerProduct, storage: .f32)
        let ids = (0..<sample.count).map { DocumentID(UInt64(3 * $0 + 1)) }
        try index.add(contentsOf: try VectorSet(sample), ids: ids)
        try index.remove(ids[5])
        let (reduced, model) = try index.reduced(toDimension: 4, whiten: true)
        #expect(reduced.dimension == 4 && model.inputDimension == Self.dimension && model.outputDimension == 4)
        #expect(reduced.metric == .innerProduct && reduced.vectorStorage == .f32)
        #expect(reduced.ids == index.ids && reduced.count == sample.count - 1)
        for id in [ids[0], ids[77], ids[199]] {
            let projected = model.project(try #require(index.vector(for: id)))
            #expect(zip(try #require(reduced.vector(for: id)), projected).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        #expect(reduced.vector(for: ids[5]) == nil)
    }

    @Test func rejectsBadInput() {
        #expect(throws: IndexError.tooFewVectors(count: 1, minimum: 2)) {
            try PrincipalComponents.fit([[1, 2, 3]], components: 1)
        }
        #expect(throws: IndexError.invalidParameter(name: "components", value: 4, expected: "within 1...3")) {
            try PrincipalComponents.fit([[1, 2, 3], [3, 2, 1]], components: 4)
        }
        #expect(throws: IndexError.invalidParameter(name: "components", value: 0, expected: "within 1...3")) {
            try PrincipalComponents.fit([[1, 2, 3], [3, 2, 1]], components: 0)
        }
        #expect(throws: IndexError.incompleteVector(valueCount: 5, dimension: 3)) {
            try PrincipalComponents.fit(values: [1, 2, 3, 4, 5], dimension: 3, components: 1)
        }
        #expect(throws: IndexError.invalidParameter(name: "dimension", value: 0, expected: "at least 1")) {
            try PrincipalComponents.fit(values: [], dimension: 0, components: 1)
        }
        #expect(throws: IndexError.nonFiniteComponent(id: nil, position: 1)) {
            try PrincipalComponents.fit([[1, 2, 3], [3, .nan, 1]], components: 2)
        }
        #expect(throws: IndexError.dimensionMismatch(expected: 3, actual: 2)) {
            try PrincipalComponents.fit([[1, 2, 3], [3, 1]], components: 2)
        }
    }
}
