import Foundation
import RetrievalCore

/// all-MiniLM-L6-v2 (6-layer BERT, 384 dimensions) run natively on BLAS, giving the same vectors as
/// sentence-transformers to within 1e-5 per component.
///
/// Load it from a directory holding `model.safetensors`, `vocab.txt` and `config.json` (what
/// ``ModelStore/install(_:force:)`` puts in place). Texts longer than 256 tokens are truncated, as upstream.
///
///     let embedder = try MiniLMEmbedder(modelDirectory: ModelStore().modelDirectory(for: .minilm))
///     let vectors = try embedder.embed(["open the fridge", "take the apple"])
public struct MiniLMEmbedder: Embedder {
    /// The longest input in tokens, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
    public static let maximumSequenceLength = 256

    public var modelIdentifier: String { Self.identifier }
    /// The ``modelIdentifier`` of every MiniLM embedder.
    public static let identifier = "minilm:all-MiniLM-L6-v2"
    public var dimension: Int { encoder.configuration.hiddenSize }

    /// How many texts one forward pass holds; larger batches use the matrix kernels better.
    public var batchSize: Int

    /// The kernels' instruction set (tests run every level the CPU has).
    package var simdLevel: SIMDLevel = .detected

    private let tokenizer: WordPieceTokenizer
    private let encoder: BERTEncoder

    /// Loads the model from `modelDirectory`.
    ///
    /// - Parameters:
    ///   - modelDirectory: A directory with `model.safetensors`, `vocab.txt` and `config.json`.
    ///   - batchSize: Texts per forward pass.
    /// - Throws: ``EmbeddingError/modelNotInstalled(name:fix:)`` when a file is missing,
    ///   ``EmbeddingError/invalidModel(path:reason:)`` when one is malformed.
    /// - Precondition: `batchSize >= 1`.
    public init(modelDirectory: String, batchSize: Int = 32) throws(EmbeddingError) {
        precondition(batchSize >= 1, "MiniLMEmbedder: batchSize must be at least 1")
        for file in ["model.safetensors", "vocab.txt", "config.json"]
        where !FileManager.default.fileExists(atPath: modelDirectory + "/" + file) {
            throw EmbeddingError.modelNotInstalled(
                name: "all-MiniLM-L6-v2",
                fix: "\(modelDirectory)/\(file) is missing; run `memp model install minilm`.")
        }
        let configuration = try BERTConfiguration(contentsOf: modelDirectory + "/config.json")
        let weights = try SafeTensorsFile(path: modelDirectory + "/model.safetensors")
        encoder = try BERTEncoder(weights: weights, configuration: configuration)
        tokenizer = try WordPieceTokenizer(
            vocabularyFile: modelDirectory + "/vocab.txt",
            maximumSequenceLength: min(Self.maximumSequenceLength, configuration.maximumPositions))
        guard tokenizer.vocabularySize == configuration.vocabularySize else {
            throw EmbeddingError.invalidModel(
                path: modelDirectory + "/vocab.txt",
                reason: "has \(tokenizer.vocabularySize) tokens; config.json says \(configuration.vocabularySize)")
        }
        self.batchSize = batchSize
    }

    /// How the encoder runs in this process, for `memp doctor`: its kernels' instruction set and thread count.
    ///
    /// The encoder never calls BLAS, so the BLAS library's threads and `OPENBLAS_NUM_THREADS` do not affect it.
    package static var runtime: (kernelLevel: SIMDLevel, threads: Int, usesBLAS: Bool) {
        (SIMDLevel.detected, processorCount, false)
    }

    /// The token IDs the model sees for `text`, `[CLS]` and `[SEP]` included, after truncation.
    public func tokenIDs(_ text: String) -> [Int32] { tokenizer.tokenIDs(text) }

    /// Embeds `texts` in batches of ``batchSize``; never throws for any text.
    ///
    /// Only the first 254 word pieces of a text are tokenized (see ``tokenIDs(_:)``), so a huge text costs no more
    /// than a 256-token one.
    ///
    /// - Complexity: O(*t*·*d*²) for *t* tokens in all, plus attention O(*n*²·*d*) per text of *n* tokens.
    public func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] {
        let sequences = texts.map(tokenizer.tokenIDs)
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var workspace = BERTEncoder.Workspace()
        for start in stride(from: 0, to: sequences.count, by: batchSize) {
            let batch = Array(sequences[start..<min(start + batchSize, sequences.count)])
            vectors += encoder.pooledEmbeddings(of: batch, level: simdLevel, reusing: &workspace)
        }
        return vectors
    }
}
