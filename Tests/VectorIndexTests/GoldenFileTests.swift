import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

/// The format v1 `.mvi` files written by the first release keep opening with the same contents and results, and
/// this build still writes them byte for byte.
///
/// The files in `Fixtures/` were written once by `memp index build --input golden-vectors.fvecs` (vector *i* gets
/// ID *i*) with the metric and storage in their names; see `Fixtures/README.md`. Never regenerate them: a format
/// change gets a new version and a new file beside these.
@Suite struct VectorIndexGoldenFileTests {
    /// The six small-integer vectors of `golden-vectors.fvecs`.
    static let vectors: [[Float]] = [
        [1, 0, 0, 0, 0, 0, 0, 0],
        [0, 2, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0],
        [3, -1, 0, 2, 0, 0, 1, 0],
        [0, 0, 0, 0, 5, 0, 0, -2],
        [-1, -1, 2, 0, 1, 1, 0, 4],
    ]
    static let ids = (0..<6).map { DocumentID(UInt64($0)) }
    static let queries: [[Float]] = [[1, 1, 1, 1, 1, 1, 1, 1], [2, 0, -1, 1, 0, 3, 0, 1], [0, 0, 0, 0, 1, 0, 0, 0]]

    static func golden(_ name: String) throws -> String {
        try #require(Bundle.module.path(forResource: name, ofType: "mvi", inDirectory: "Fixtures"))
    }

    @Test(arguments: [
        ("flat-index-v1-inner-product-f32", Metric.innerProduct, VectorStorage.f32),
        ("flat-index-v1-l2-f32", .l2, .f32),
        ("flat-index-v1-cosine-int8", .cosine, .int8),
    ])
    func version1FileOpensWithTheSameContentsAndResults(name: String, metric: Metric, storage: VectorStorage) throws {
        let path = try Self.golden(name)
        let index = try FlatIndex(contentsOf: path)
        #expect(index.dimension == 8 && index.metric == metric && index.vectorStorage == storage)
        #expect(index.count == 6 && index.ids == Self.ids)
        try index.verifyValues(path: path)
        for (vector, id) in zip(Self.vectors, Self.ids) {
            let stored = try #require(index.vector(for: id))
            if metric == .cosine {
                let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
                #expect(zip(stored, vector).allSatisfy { abs($0 - $1 / norm) <= 1e-6 }, "vector \(id)")
            } else {
                #expect(stored == vector, "vector \(id)")
            }
        }
        for query in Self.queries {
            let reference = referenceRanking(Self.vectors, ids: Self.ids, query: query, metric: metric)
            // Small integers: inner products and squared distances are exact in f32.
            expectMatches(
                try index.search(query, k: 6), reference, k: 6, tolerance: storage == .f32 ? 0 : 1e-6)
        }
    }

    @Test func describeReadsTheHeaderAndSectionTable() throws {
        let path = try Self.golden("flat-index-v1-l2-f32")
        let description = try VectorIndexFile.describe(path)
        #expect(description.path == path && description.formatVersion == 1 && description.byteCount == 576)
        #expect(description.dimension == 8 && description.metric == .l2 && description.storage == .f32)
        #expect(description.count == 6)
        #expect(
            description.sections.map { "\($0.tag) \($0.offset) \($0.length) \($0.checksum)" } == [
                "IDS  256 48 3944279238", "VECS 320 192 3525463852", "NORM 512 24 2128694897",
            ])
    }

    @Test func describeRefusesAFileOfAnotherKind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("zeros.mvi")
        try Data(count: 256).write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexError.notAnIndexFile(path: path, expectedMagic: "MVIX")) {
            try VectorIndexFile.describe(path)
        }
    }

    @Test(arguments: ["flat-index-v1-inner-product-f32", "flat-index-v1-l2-f32", "flat-index-v1-cosine-int8"])
    func savingTheOpenedFileWritesTheSameBytes(name: String) throws {
        let path = try Self.golden(name)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("copy.mvi")
        try FlatIndex(contentsOf: path).save(to: copy)
        #expect(FileManager.default.contents(atPath: copy) == FileManager.default.contents(atPath: path))
    }

    /// The format v1 PCA model `memp index reduce --dims 3 --whiten` wrote for the L2 golden index, and the reduced
    /// index beside it, keep opening: the model projects the golden vectors onto what the reduced index stores, and
    /// saving the opened model writes the same bytes.
    @Test func version1PCAModelProjectsOntoItsReducedIndex() throws {
        let modelPath = try #require(
            Bundle.module.path(forResource: "pca-v1-l2-3-whitened", ofType: "pca", inDirectory: "Fixtures"))
        let model = try PrincipalComponents(contentsOf: modelPath)
        #expect(model.inputDimension == 8 && model.outputDimension == 3 && model.whitened)
        #expect(model.variances.count == 3 && model.variances == model.variances.sorted(by: >))
        for row in 0..<3 {
            let component = model.components[row * 8..<(row + 1) * 8]
            #expect(abs(component.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5, "component \(row) has unit length")
        }
        let reduced = try FlatIndex(contentsOf: try Self.golden("flat-index-v1-l2-f32-reduced-3"))
        #expect(reduced.dimension == 3 && reduced.metric == .l2 && reduced.ids == Self.ids)
        for (vector, id) in zip(Self.vectors, Self.ids) {
            let stored = try #require(reduced.vector(for: id))
            #expect(zip(stored, model.project(vector)).allSatisfy { abs($0 - $1) <= 1e-5 }, "vector \(id)")
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("copy.pca")
        try model.save(to: copy)
        #expect(FileManager.default.contents(atPath: copy) == FileManager.default.contents(atPath: modelPath))
    }
}
