import Embeddings
import Foundation
import Testing

@Suite struct MiniLMEmbedderTests {
    @Test func fixtureHasEveryLine() {
        #expect(ParityCase.all.count == 65)
    }

    @Test func tokenIDsMatchSentenceTransformers() throws {
        let embedder = try InstalledMiniLM.load()
        for (line, fixture) in ParityCase.all.enumerated() {
            #expect(embedder.tokenIDs(fixture.text) == fixture.inputIDs, "fixture line \(line + 1)")
        }
    }

    @Test func embeddingsMatchSentenceTransformersOneAtATime() throws {
        let embedder = try InstalledMiniLM.load()
        var worst: Float = 0
        for (line, fixture) in ParityCase.all.enumerated() {
            let vector = try embedder.embed(fixture.text)
            try #require(vector.count == 384)
            let difference = zip(vector, fixture.embedding).map { abs($0 - $1) }.max() ?? .infinity
            let cosine = zip(vector, fixture.embedding).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(difference <= 1e-5, "fixture line \(line + 1): max |Δ| \(difference)")
            #expect(cosine >= 0.99999, "fixture line \(line + 1): cosine \(cosine)")
            worst = max(worst, difference)
        }
        print("MiniLM parity, one at a time: max |Δ| = \(worst)")
    }

    @Test(arguments: [1, 7, 32])
    func batchedEmbeddingsMatchSentenceTransformers(batchSize: Int) throws {
        var embedder = try InstalledMiniLM.load()
        embedder.batchSize = batchSize
        let vectors = try embedder.embed(ParityCase.all.map(\.text))
        try #require(vectors.count == ParityCase.all.count)
        var worst: Float = 0
        for (vector, fixture) in zip(vectors, ParityCase.all) {
            worst = max(worst, zip(vector, fixture.embedding).map { abs($0 - $1) }.max() ?? .infinity)
        }
        #expect(worst <= 1e-5)
        print("MiniLM parity, batches of \(batchSize): max |Δ| = \(worst)")
    }

    @Test func outputIsUnitLength() throws {
        let embedder = try InstalledMiniLM.load()
        for vector in try embedder.embed(["put the mug in the sink", "", "   "]) {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        #expect(embedder.dimension == 384)
        #expect(embedder.modelIdentifier == "minilm:all-MiniLM-L6-v2")
        #expect(try embedder.embed([]).isEmpty)
    }

    @Test func asyncPathGivesTheSameVectors() async throws {
        let embedder = try InstalledMiniLM.load()
        let texts = ["go north", "take the key from the table"]
        let embedNow = { () throws -> [[Float]] in try embedder.embed(texts) }
        let synchronous = try embedNow()
        let asynchronous = try await embedder.embed(texts)
        #expect(synchronous == asynchronous)
    }
}
