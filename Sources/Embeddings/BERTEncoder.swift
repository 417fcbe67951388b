internal import CKernels
import Foundation
import RealModule
import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The shape of a BERT encoder, read from the model's `config.json`.
package struct BERTConfiguration: Sendable, Equatable, Decodable {
    /// Entries in the word embedding table.
    package var vocabularySize: Int
    /// Width of every hidden state.
    package var hiddenSize: Int
    /// Number of transformer layers.
    package var layerCount: Int
    /// Attention heads per layer; `hiddenSize` must be a multiple of it.
    package var headCount: Int
    /// Width of the feed-forward layer.
    package var intermediateSize: Int
    /// Rows of the position embedding table: the longest sequence the model accepts.
    package var maximumPositions: Int
    /// Rows of the token-type embedding table.
    package var typeVocabularySize: Int
    /// The LayerNorm epsilon.
    package var layerNormEpsilon: Float
    /// The feed-forward activation; only `gelu` (the exact erf form) is supported.
    package var activation: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", intermediateSize = "intermediate_size"
        case maximumPositions = "max_position_embeddings", typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps", activation = "hidden_act"
    }

    /// Width of one attention head.
    package var headSize: Int { hiddenSize / headCount }

    /// Reads and checks `config.json`.
    ///
    /// - Throws: ``EmbeddingError/io(path:reason:)`` or ``EmbeddingError/invalidModel(path:reason:)``.
    package init(contentsOf path: String) throws(EmbeddingError) {
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            throw EmbeddingError.io(path: path, reason: "the model configuration \(error)")
        }
        do { self = try JSONDecoder().decode(BERTConfiguration.self, from: data) } catch {
            throw EmbeddingError.invalidModel(path: path, reason: "not a BERT configuration (\(error))")
        }
        guard activation == "gelu" else {
            throw EmbeddingError.invalidModel(path: path, reason: "hidden_act \(activation) is not supported; use gelu")
        }
        guard hiddenSize > 0, headCount > 0, hiddenSize % headCount == 0, layerCount > 0, intermediateSize > 0,
            maximumPositions > 0, vocabularySize > 0, typeVocabularySize > 0
        else {
            throw EmbeddingError.invalidModel(path: path, reason: "inconsistent sizes in the configuration")
        }
        // Every sequence holds [CLS] and [SEP]; a shorter limit would leave the tokenizer no room for them.
        guard maximumPositions >= 2 else {
            throw EmbeddingError.invalidModel(
                path: path, reason: "max_position_embeddings is \(maximumPositions); [CLS] and [SEP] need at least 2")
        }
    }
}

/// A linear layer's weights, `y = x·W + b`: W packed for products with few rows (`[in, out]`).
struct LinearWeights: Sendable {
    var weight: PackedMatrix
    var bias: [Float]
}

/// A LayerNorm's scale (`weight`) and shift (`bias`), one of each per column.
struct LayerNormWeights: Sendable {
    var weight: [Float]
    var bias: [Float]
}

/// One transformer layer's weights.
struct BERTLayer: Sendable {
    /// Query, key and value projections side by side in one `[hidden, 3·hidden]` matrix, so one product computes
    /// all three.
    var qkv: LinearWeights
    var attentionOutput: LinearWeights
    var attentionNorm: LayerNormWeights
    var intermediate: LinearWeights
    var output: LinearWeights
    var outputNorm: LayerNormWeights
}

/// A post-LayerNorm BERT encoder evaluated on the CPU on our own packed kernels (`vk_gemm_packed_f32`); it never
/// calls BLAS, so the BLAS library's threads (and whatever `OPENBLAS_NUM_THREADS` says) play no part.
///
/// Sequences of a batch are packed back to back, so no padding is ever computed: the projections run over
/// all tokens of the batch at once, and attention runs per sequence and head over the sequence's own span (a
/// block-diagonal mask). Work is split across the cores through ``parallelFor(_:workers:_:)`` only when a step
/// is large enough to pay for waking a thread; workers claim small tasks one by one and block (never spin) when
/// there are none, so on a busy machine a delayed thread holds up one small task, not the product.
package struct BERTEncoder: Sendable {
    /// The model's shape.
    package let configuration: BERTConfiguration
    private let wordEmbeddings: [Float]
    private let positionEmbeddings: [Float]
    private let tokenTypeEmbedding: [Float]
    private let embeddingNorm: LayerNormWeights
    private let layers: [BERTLayer]

    /// Loads the weights from a safetensors file whose names carry no `bert.` prefix
    /// (`embeddings.…`, `encoder.layer.N.…`).
    ///
    /// - Throws: ``EmbeddingError/invalidModel(path:reason:)`` when a tensor is missing or misshapen.
    package init(weights file: SafeTensorsFile, configuration: BERTConfiguration) throws(EmbeddingError) {
        self.configuration = configuration
        let hidden = configuration.hiddenSize
        let inner = configuration.intermediateSize
        let prefix = file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func load(_ name: String, _ shape: [Int]) throws(EmbeddingError) -> [Float] {
            try file.floats(prefix + name, shape: shape)
        }
        wordEmbeddings = try load("embeddings.word_embeddings.weight", [configuration.vocabularySize, hidden])
        positionEmbeddings = try load(
            "embeddings.position_embeddings.weight", [configuration.maximumPositions, hidden])
        // Every token has type 0, so only the first row of the token-type table is needed.
        tokenTypeEmbedding = Array(
            try load("embeddings.token_type_embeddings.weight", [configuration.typeVocabularySize, hidden])[0..<hidden])
        // A LayerNorm or linear layer NAME is stored as NAME.weight and NAME.bias; linear weights as [out, in].
        func norm(_ name: String) throws(EmbeddingError) -> LayerNormWeights {
            LayerNormWeights(weight: try load(name + ".weight", [hidden]), bias: try load(name + ".bias", [hidden]))
        }
        func linear(_ name: String, out: Int, in width: Int) throws(EmbeddingError) -> LinearWeights {
            LinearWeights(
                weight: PackedMatrix(transposing: try load(name + ".weight", [out, width]), columns: out),
                bias: try load(name + ".bias", [out]))
        }
        embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [BERTLayer] = []
        for index in 0..<configuration.layerCount {
            let name = "encoder.layer.\(index)."
            let attention = name + "attention."
            let projections =
                try load(attention + "self.query.weight", [hidden, hidden])
                + load(attention + "self.key.weight", [hidden, hidden])
                + load(attention + "self.value.weight", [hidden, hidden])
            layers.append(
                BERTLayer(
                    qkv: LinearWeights(
                        weight: PackedMatrix(transposing: projections, columns: 3 * hidden),
                        bias: try load(attention + "self.query.bias", [hidden])
                            + load(attention + "self.key.bias", [hidden])
                            + load(attention + "self.value.bias", [hidden])),
                    attentionOutput: try linear(attention + "output.dense", out: hidden, in: hidden),
                    attentionNorm: try norm(attention + "output.LayerNorm"),
                    intermediate: try linear(name + "intermediate.dense", out: inner, in: hidden),
                    output: try linear(name + "output.dense", out: hidden, in: inner),
                    outputNorm: try norm(name + "output.LayerNorm")))
        }
        self.layers = layers
    }

    /// The buffers of one batch's forward pass, kept for the next batch.
    ///
    /// A batch of 32 texts of 126 tokens needs about 64 MB of them; allocated afresh for every batch, their pages
    /// came back from the system each time, to be zeroed by the kernel and then by the arrays' initializers.
    package struct Workspace {
        var states: [Float] = []
        var qkv: [Float] = []
        var context: [Float] = []
        var projected: [Float] = []
        var intermediate: [Float] = []

        /// An empty workspace; the first batch sizes it.
        package init() {}

        /// Sets `buffer` to `count` zeros, reusing its storage.
        static func reset(_ buffer: inout [Float], count: Int) {
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: repeatElement(0, count: count))
        }
    }

    /// Runs the encoder over a packed batch and returns each sequence's mean-pooled, L2-normalized state.
    ///
    /// - Parameters:
    ///   - sequences: Token IDs per sequence, each within the vocabulary and at most `maximumPositions` long.
    ///   - level: The kernels' instruction set; one the CPU lacks falls back to ``SIMDLevel/detected``.
    ///   - workspace: The forward pass's buffers, which a caller keeps across the batches of one call.
    /// - Returns: One vector of `hiddenSize` components per sequence; an empty sequence gives zeros.
    package func pooledEmbeddings(
        of sequences: [[Int32]], level: SIMDLevel = .detected, reusing workspace: inout Workspace
    ) -> [[Float]] {
        let level = level <= SIMDLevel.hardware ? level : SIMDLevel.detected
        let hidden = configuration.hiddenSize
        let spans = Self.spans(of: sequences)
        let tokenCount = spans.last.map { $0.upperBound } ?? 0
        guard tokenCount > 0 else { return sequences.map { _ in [Float](repeating: 0, count: hidden) } }
        Workspace.reset(&workspace.qkv, count: tokenCount * 3 * hidden)
        Workspace.reset(&workspace.context, count: tokenCount * hidden)
        embed(sequences, tokenCount: tokenCount, into: &workspace.states, typeRows: &workspace.projected)
        Workspace.reset(&workspace.intermediate, count: tokenCount * configuration.intermediateSize)
        for layer in layers {
            Self.linear(workspace.states, rows: tokenCount, layer.qkv, into: &workspace.qkv, level: level)
            attention(workspace.qkv, spans: spans, into: &workspace.context, level: level)
            Self.linear(
                workspace.context, rows: tokenCount, layer.attentionOutput, into: &workspace.projected, level: level)
            addAndNormalize(&workspace.states, workspace.projected, layer.attentionNorm)
            Self.linear(
                workspace.states, rows: tokenCount, layer.intermediate, into: &workspace.intermediate, level: level)
            Self.gelu(&workspace.intermediate, rows: tokenCount, level: level)
            Self.linear(
                workspace.intermediate, rows: tokenCount, layer.output, into: &workspace.projected, level: level)
            addAndNormalize(&workspace.states, workspace.projected, layer.outputNorm)
        }
        return spans.map { Self.meanPooledUnitVector(workspace.states, rows: $0, width: hidden) }
    }

    private static func spans(of sequences: [[Int32]]) -> [Range<Int>] {
        var start = 0
        return sequences.map { sequence in
            defer { start += sequence.count }
            return start..<start + sequence.count
        }
    }

    /// Word + position + type embeddings, LayerNormed, into `states` (resized to the batch).
    ///
    /// The type embedding, the same for every token, fills `typeRows` (as many rows as `states`), which the
    /// normalization adds as its residual: the sums are made in the order `(word + position) + type`, and no
    /// buffer of zeros is needed for a normalization without a residual.
    private func embed(
        _ sequences: [[Int32]], tokenCount: Int, into states: inout [Float], typeRows: inout [Float]
    ) {
        let hidden = configuration.hiddenSize
        Workspace.reset(&states, count: tokenCount * hidden)
        states.withUnsafeMutableBufferPointer { states in
            wordEmbeddings.withUnsafeBufferPointer { words in
                positionEmbeddings.withUnsafeBufferPointer { positions in
                    var row = 0
                    for sequence in sequences {
                        precondition(
                            sequence.count <= configuration.maximumPositions, "BERTEncoder: sequence too long")
                        for (position, id) in sequence.enumerated() {
                            precondition(
                                Int(id) >= 0 && Int(id) < configuration.vocabularySize, "BERTEncoder: bad token ID")
                            let word = Int(id) * hidden
                            let place = position * hidden
                            let target = row * hidden
                            for column in 0..<hidden {
                                states[target + column] = words[word + column] + positions[place + column]
                            }
                            row += 1
                        }
                    }
                }
            }
        }
        typeRows.removeAll(keepingCapacity: true)
        for _ in 0..<tokenCount { typeRows.append(contentsOf: tokenTypeEmbedding) }
        addAndNormalize(&states, typeRows, embeddingNorm)
    }

    /// `output = input · weight + bias` for `rows` rows.
    private static func linear(
        _ input: [Float], rows: Int, _ layer: LinearWeights, into output: inout [Float], level: SIMDLevel
    ) {
        let weight = layer.weight
        let bias = layer.bias
        let outWidth = bias.count
        precondition(weight.columns == outWidth && output.count >= rows * outWidth, "linear: buffers too small")
        output.withUnsafeMutableBufferPointer { output in
            bias.withUnsafeBufferPointer { bias in
                guard let biasStart = bias.baseAddress, let outputStart = output.baseAddress else { return }
                // Start from the bias so that the product is added to it.
                for row in 0..<rows { (outputStart + row * outWidth).update(from: biasStart, count: outWidth) }
            }
        }
        weight.multiplyAdd(input, count: rows, into: &output, level: level)
    }

    /// Scaled dot-product attention per sequence and head; `qkv` rows hold query, key and value side by side.
    ///
    /// One task per sequence and head (`vk_attention_head_f32`: two packed products and a vectorized softmax),
    /// each writing its own columns of its own rows of `context`. Split across the cores only when the batch's
    /// attention is large enough to pay for a thread: about 50 tokens of one text, or many short texts.
    private func attention(_ qkv: [Float], spans: [Range<Int>], into context: inout [Float], level: SIMDLevel) {
        let hidden = configuration.hiddenSize
        let headSize = configuration.headSize
        let headCount = configuration.headCount
        let stride = 3 * hidden
        let scale = 1 / Float(headSize).squareRoot()
        let multiplyAdds = spans.reduce(0) { $0 + 2 * $1.count * $1.count } * hidden
        let workers = multiplyAdds >= Self.attentionWorkPerThread ? processorCount : 1
        qkv.withUnsafeBufferPointer { qkv in
            context.withUnsafeMutableBufferPointer { context in
                guard let qkvStart = qkv.baseAddress, let contextStart = context.baseAddress else { return }
                parallelFor(spans.count * headCount, workers: workers) { task in
                    let (sequence, head) = task.quotientAndRemainder(dividingBy: headCount)
                    let span = spans[sequence]
                    guard !span.isEmpty else { return }
                    let scratchCount = vk_attention_scratch_count(span.count, headSize)
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { scratch in
                        let query = qkvStart + span.lowerBound * stride + head * headSize
                        vk_attention_head_f32(
                            span.count, headSize, query, query + hidden, query + 2 * hidden, stride, scale,
                            contextStart + span.lowerBound * hidden + head * headSize, hidden, scratch.baseAddress,
                            level.cValue)
                    }
                }
            }
        }
    }

    /// Multiply-adds of attention below which one thread does it all (a 50-token text at 384 hidden).
    private static let attentionWorkPerThread = 2 * 50 * 50 * 384

    /// Exact GELU, x·Φ(x) = x/2 · (1 + erf(x/√2)), in place (`vk_gelu_f32`: a rational erf, |error| < 5e-7).
    private static func gelu(_ values: inout [Float], rows: Int, level: SIMDLevel) {
        let width = values.count / max(rows, 1)
        values.withUnsafeMutableBufferPointer { values in
            guard let start = values.baseAddress else { return }
            parallelRows(rows, minimumRowsPerThread: 64) { range in
                vk_gelu_f32(start + range.lowerBound * width, range.count * width, level.cValue)
            }
        }
    }

    /// `states = LayerNorm(states + residual)` for every row (biased variance), in place.
    private func addAndNormalize(_ states: inout [Float], _ residual: [Float], _ norm: LayerNormWeights) {
        let width = configuration.hiddenSize
        let epsilon = configuration.layerNormEpsilon
        states.withUnsafeMutableBufferPointer { states in
            residual.withUnsafeBufferPointer { residual in
                norm.weight.withUnsafeBufferPointer { weight in
                    norm.bias.withUnsafeBufferPointer { bias in
                        Self.parallelRows(states.count / width, minimumRowsPerThread: 256) { rows in
                            for start in stride(from: rows.lowerBound * width, to: rows.upperBound * width, by: width) {
                                var sum: Float = 0
                                for column in 0..<width {
                                    let value = states[start + column] + residual[start + column]
                                    states[start + column] = value
                                    sum = Relaxed.sum(sum, value)
                                }
                                let mean = sum / Float(width)
                                var squares: Float = 0
                                for column in 0..<width {
                                    let centered = states[start + column] - mean
                                    squares = Relaxed.multiplyAdd(centered, centered, squares)
                                }
                                let inverseDeviation = 1 / (squares / Float(width) + epsilon).squareRoot()
                                for column in 0..<width {
                                    states[start + column] =
                                        (states[start + column] - mean) * inverseDeviation * weight[column]
                                        + bias[column]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` over `0..<rows` split into one contiguous range per core.
    ///
    /// Runs inline when the batch is too small for threads to pay off. `body` may capture the caller's pointers;
    /// ranges never overlap.
    static func parallelRows(_ rows: Int, minimumRowsPerThread: Int = 32, _ body: (Range<Int>) -> Void) {
        let threads = max(1, min(processorCount, rows / minimumRowsPerThread))
        parallelFor(threads, workers: threads) { part in body(rows * part / threads..<rows * (part + 1) / threads) }
    }

    /// The mean of `rows` of a row-major matrix, scaled to unit length (e / max(‖e‖, 1e-12)).
    private static func meanPooledUnitVector(_ states: [Float], rows: Range<Int>, width: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: width)
        guard !rows.isEmpty else { return mean }
        states.withUnsafeBufferPointer { states in
            for row in rows {
                for column in 0..<width { mean[column] += states[row * width + column] }
            }
        }
        let count = Float(rows.count)
        var squares: Float = 0
        for column in 0..<width {
            mean[column] /= count
            squares = Relaxed.multiplyAdd(mean[column], mean[column], squares)
        }
        let inverseNorm = 1 / max(squares.squareRoot(), 1e-12)
        return mean.map { $0 * inverseNorm }
    }
}
