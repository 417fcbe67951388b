import Foundation
import RetrievalCore
import Testing

@testable import Embeddings

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

    /// Batches of 1 and 32 texts at the default level, and batches of 7 at every instruction set this CPU has (the
    /// scalar, AVX2 and AVX-512 products, softmax and GELU).
    static let batchedRuns: [(level: SIMDLevel, batchSize: Int)] =
        [(.detected, 1), (.detected, 32)] + SIMDLevel.available.map { ($0, 7) }

    @Test(arguments: batchedRuns)
    func batchedEmbeddingsMatchSentenceTransformers(level: SIMDLevel, batchSize: Int) throws {
        var embedder = try InstalledMiniLM.load()
        embedder.simdLevel = level
        embedder.batchSize = batchSize
        let vectors = try embedder.embed(ParityCase.all.map(\.text))
        try #require(vectors.count == ParityCase.all.count)
        var worst: Float = 0
        for (vector, fixture) in zip(vectors, ParityCase.all) {
            worst = max(worst, zip(vector, fixture.embedding).map { abs($0 - $1) }.max() ?? .infinity)
        }
        #expect(worst <= 1e-5, "\(level), batches of \(batchSize): max |Δ| \(worst)")
        print("MiniLM parity, \(level), batches of \(batchSize): max |Δ| = \(worst)")
    }

    /// A huge text is read only as far as the model sees: its IDs are those of the whole text's first 254 pieces,
    /// whatever the chunk boundaries cut through (Unicode edge cases of the fixture repeated past several chunks).
    @Test func longTextsTokenizeLikeTheirPrefix() throws {
        let tokenizer = try WordPieceTokenizer(
            vocabularyFile: InstalledMiniLM.store.modelDirectory(for: .minilm) + "/vocab.txt",
            maximumSequenceLength: MiniLMEmbedder.maximumSequenceLength)
        var texts = ParityCase.all.map(\.text)
        texts.append(ParityCase.all.map(\.text).joined(separator: " ").replacingOccurrences(of: " ", with: ""))
        for (line, text) in texts.enumerated() where !text.isEmpty {
            let unit = text + (line % 2 == 0 ? " " : "")
            let long = String(
                repeating: unit, count: 3 * WordPieceTokenizer.chunkScalars / unit.unicodeScalars.count + 1)
            let whole = tokenizer.allPieceIDs(long)
            let expected = [tokenizer.classID] + whole.prefix(254) + [tokenizer.separatorID]
            #expect(tokenizer.tokenIDs(long) == expected, "fixture line \(line + 1)")
        }
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
