import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

/// A double-precision brute-force ranking: every vector scored, sorted by score desc then ID asc.
func referenceRanking(
    _ vectors: [[Float]], ids: [DocumentID], query: [Float], metric: Metric,
    allowed: (DocumentID) -> Bool = { _ in true }
) -> [(id: DocumentID, score: Double)] {
    func normalized(_ vector: [Float]) -> [Double] {
        let values = vector.map(Double.init)
        guard metric == .cosine else { return values }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { $0 / norm }
    }
    let q = normalized(query)
    var ranking: [(id: DocumentID, score: Double)] = []
    for (vector, id) in zip(vectors, ids) where allowed(id) {
        let v = normalized(vector)
        let score =
            metric == .l2
            ? -zip(q, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            : zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }
        ranking.append((id, score))
    }
    ranking.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    return ranking
}

/// Checks hits against a reference ranking.
///
/// The same length, scores within `tolerance` rank by rank, every reference document clearly above the cut present, and the order strict (score desc, then ID asc).
/// With `tolerance == 0` the hits must equal the reference exactly.
func expectMatches(
    _ hits: [SearchHit], _ reference: [(id: DocumentID, score: Double)], k: Int, tolerance: Double = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let expected = Array(reference.prefix(k))
    #expect(hits.count == expected.count, sourceLocation: sourceLocation)
    guard hits.count == expected.count else { return }
    if tolerance == 0 {
        #expect(hits.map(\.id) == expected.map(\.id), sourceLocation: sourceLocation)
        #expect(hits.map(\.score) == expected.map { Float($0.score) }, sourceLocation: sourceLocation)
        return
    }
    for (hit, want) in zip(hits, expected) {
        #expect(abs(Double(hit.score) - want.score) <= tolerance, sourceLocation: sourceLocation)
    }
    for pair in zip(hits, hits.dropFirst()) {
        #expect(pair.0.ranks(before: pair.1), sourceLocation: sourceLocation)
    }
    if let cut = expected.last?.score {
        let returned = Set(hits.map(\.id))
        for item in expected where item.score > cut + tolerance {
            #expect(returned.contains(item.id), "missing \(item.id)", sourceLocation: sourceLocation)
        }
    }
}

/// Vectors of small integers, so that f32 sums are exact at every level and ties are common.
func integerVectors(count: Int, dimension: Int, range: ClosedRange<Int> = -4...4, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in (0..<dimension).map { _ in Float(Int.random(in: range, using: &rng)) } }
}

/// Gaussian vectors (Box-Muller), L2-normalized when `normalized`.
func gaussianVectors(count: Int, dimension: Int, normalized: Bool = true, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        var vector = (0..<dimension).map { _ -> Float in
            let u = Double.random(in: Double.ulpOfOne..<1, using: &rng)
            let v = Double.random(in: 0..<1, using: &rng)
            return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        }
        if normalized {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            vector = vector.map { $0 / norm }
        }
        return vector
    }
}

/// Builds an index over `vectors` with IDs `ids` (default 0, 1, …).
func makeIndex(
    _ vectors: [[Float]], ids: [DocumentID]? = nil, metric: Metric, storage: VectorStorage = .f32,
    level: SIMDLevel = .detected
) throws -> FlatIndex {
    var index = try FlatIndex(dimension: vectors.first?.count ?? 1, metric: metric, storage: storage)
    index.simdLevel = level
    for (row, vector) in vectors.enumerated() {
        try index.add(vector, id: ids?[row] ?? DocumentID(UInt64(row)))
    }
    return index
}
