/// A deterministic embedder that needs no model: signed feature hashing of word unigrams, word bigrams and
/// character trigrams, L2-normalized.
///
/// Texts sharing words or spellings get similar vectors; it knows no synonyms. Memp falls back to it when no
/// model is installed. Vectors are stable across runs, machines and versions of Memp (identifier `hashing:v1:<dim>`).
///
/// See Weinberger et al. 2009, *Feature Hashing for Large Scale Multitask Learning*
/// (https://arxiv.org/abs/0902.2206).
public struct HashingEmbedder: Embedder {
    public let dimension: Int
    public var modelIdentifier: String { "hashing:v1:\(dimension)" }

    /// The dimension a hashing embedder has unless told otherwise: MiniLM's, so that either fills a store of the
    /// same shape.
    public static let defaultDimension = 384

    /// Creates a hashing embedder with vectors of `dimension` components.
    ///
    /// - Precondition: `dimension >= 1`.
    public init(dimension: Int = HashingEmbedder.defaultDimension) {
        precondition(dimension >= 1, "HashingEmbedder: dimension must be at least 1")
        self.dimension = dimension
    }

    /// Embeds each text; a text with no letters or digits gives the zero vector.
    ///
    /// - Complexity: O(*c* + *d*) per text of *c* characters.
    public func embed(_ texts: [String]) throws(EmbeddingError) -> [[Float]] { texts.map(vector(for:)) }

    private func vector(for text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        let words = Self.words(text)
        func add(_ feature: [UInt8], weight: Float) {
            let hash = Self.fnv1a(feature)
            let slot = Int(hash % UInt64(dimension))
            // An independent bit of the hash picks the sign, so collisions cancel on average.
            vector[slot] += (hash >> 63) == 0 ? weight : -weight
        }
        for (index, word) in words.enumerated() {
            add([UInt8(ascii: "w")] + word, weight: 1)
            if index > 0 { add([UInt8(ascii: "b")] + words[index - 1] + [0x20] + word, weight: 1) }
            let padded = [0x20] + word + [0x20]
            let scalars = Array(String(decoding: padded, as: UTF8.self).unicodeScalars)
            if scalars.count >= 3 {
                for start in 0...(scalars.count - 3) {
                    var trigram = String.UnicodeScalarView()
                    trigram.append(contentsOf: scalars[start..<start + 3])
                    add([UInt8(ascii: "c")] + Array(String(trigram).utf8), weight: 0.5)
                }
            }
        }
        var squares: Float = 0
        for value in vector { squares += value * value }
        guard squares > 0 else { return vector }
        let inverse = 1 / squares.squareRoot()
        return vector.map { $0 * inverse }
    }

    /// Lowercased runs of letters and digits, as UTF-8.
    private static func words(_ text: String) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else if !current.isEmpty {
                words.append(Array(String(current).utf8))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(Array(String(current).utf8)) }
        return words
    }

    /// 64-bit FNV-1a followed by a SplitMix64 finalizer, so every output bit depends on every input byte.
    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
