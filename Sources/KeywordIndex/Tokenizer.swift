import Foundation

/// Turns text into index terms according to a ``TokenizerConfiguration``.
///
/// Text is NFKC-normalized and case-folded (ASCII text takes a fast path with the same result), then split into
/// words: maximal runs of letters, digits and the combining marks that follow them. Everything else (spaces,
/// punctuation, symbols, emoji) separates words; default-ignorable characters such as variation selectors and
/// zero-width joiners are skipped. Runs of CJK characters become character bigrams when configured.
///
///     let tokenizer = Tokenizer(.english)
///     tokenizer.tokens("The Running Foxes")  // ["run", "fox"]
public struct Tokenizer: Sendable {
    /// One token: the index term and the word it came from.
    public struct Token: Sendable, Equatable {
        /// The term as indexed (stemmed when stemming is on).
        public var term: String
        /// The normalized, case-folded word before stemming.
        public var surface: String
    }

    /// The rules this tokenizer applies.
    public let configuration: TokenizerConfiguration
    private let stopWords: Set<String>

    /// Creates a tokenizer.
    public init(_ configuration: TokenizerConfiguration) {
        self.configuration = configuration
        stopWords = configuration.removeStopWords ? configuration.stopWords.words : []
    }

    /// The terms of `text`, in order, duplicates kept.
    ///
    /// - Complexity: O(*n*) in the length of `text`.
    public func tokens(_ text: String) -> [String] {
        var result: [String] = []
        forEachToken(in: text) { term, _ in result.append(term) }
        return result
    }

    /// The terms of `text` with the words they came from, in order.
    public func tokensWithSurfaces(_ text: String) -> [Token] {
        var result: [Token] = []
        forEachToken(in: text) { term, surface in result.append(Token(term: term, surface: surface)) }
        return result
    }

    /// Calls `body` with each term and the word it came from, in text order.
    func forEachToken(in text: String, _ body: (_ term: String, _ surface: String) -> Void) {
        var text = text
        let handledAsASCII = text.withUTF8 { bytes -> Bool in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return false }
            forEachASCIIToken(bytes, body)
            return true
        }
        if !handledAsASCII { forEachUnicodeToken(in: text, body) }
    }

    // MARK: - ASCII

    private func forEachASCIIToken(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (String, String) -> Void) {
        let underscore = configuration.underscoreIsWordCharacter
        let maximum = configuration.maximumTokenLength
        var word: [UInt8] = []
        word.reserveCapacity(32)
        var wordLength = 0
        for byte in bytes {
            var lowered = byte
            let isWordByte: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): isWordByte = true
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                lowered = byte | 0x20
                isWordByte = true
            case UInt8(ascii: "_"): isWordByte = underscore
            default: isWordByte = false
            }
            if isWordByte {
                if wordLength < maximum { word.append(lowered) }
                wordLength += 1
            } else if wordLength > 0 {
                emitWord(word, scalarCount: min(wordLength, maximum), body)
                word.removeAll(keepingCapacity: true)
                wordLength = 0
            }
        }
        if wordLength > 0 { emitWord(word, scalarCount: min(wordLength, maximum), body) }
    }

    /// Applies the length limit, stop words and stemming to one word given as UTF-8.
    private func emitWord(_ word: [UInt8], scalarCount: Int, _ body: (String, String) -> Void) {
        guard scalarCount >= configuration.minimumTokenLength else { return }
        let surface = String(decoding: word, as: UTF8.self)
        if !stopWords.isEmpty && stopWords.contains(surface) { return }
        if configuration.stemming && word.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) {
            var stem = word
            EnglishStemmer.stem(&stem)
            body(stem == word ? surface : String(decoding: stem, as: UTF8.self), surface)
        } else {
            body(surface, surface)
        }
    }

    // MARK: - Unicode

    private func forEachUnicodeToken(in text: String, _ body: (String, String) -> Void) {
        // NFKC, full case folding, NFKC again (folding can leave decomposed sequences): NFKC_Casefold in effect.
        let normalized = text.precomposedStringWithCompatibilityMapping
            .folding(options: [.caseInsensitive], locale: nil)
            .precomposedStringWithCompatibilityMapping
        let maximum = configuration.maximumTokenLength
        var word = String.UnicodeScalarView()
        var wordLength = 0
        var cjkRun: [Unicode.Scalar] = []

        func flushWord() {
            guard wordLength > 0 else { return }
            emitWord(Array(String(word).utf8), scalarCount: min(wordLength, maximum), body)
            word.removeAll(keepingCapacity: true)
            wordLength = 0
        }
        func flushCJK() {
            guard !cjkRun.isEmpty else { return }
            if cjkRun.count == 1 {
                let unigram = String(cjkRun[0])
                body(unigram, unigram)
            } else {
                for start in 0..<(cjkRun.count - 1) {
                    var bigram = String.UnicodeScalarView()
                    bigram.append(cjkRun[start])
                    bigram.append(cjkRun[start + 1])
                    let text = String(bigram)
                    body(text, text)
                }
            }
            cjkRun.removeAll(keepingCapacity: true)
        }

        for scalar in normalized.unicodeScalars {
            let properties = scalar.properties
            if properties.isDefaultIgnorableCodePoint { continue }
            if configuration.cjkBigrams && Tokenizer.isCJK(scalar) {
                flushWord()
                cjkRun.append(scalar)
                continue
            }
            flushCJK()
            let isWordScalar: Bool
            switch properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .decimalNumber, .letterNumber, .otherNumber:
                isWordScalar = true
            case .nonspacingMark, .spacingMark:
                isWordScalar = wordLength > 0  // a mark continues a word; a leading one is dropped
                if !isWordScalar { continue }
            case .connectorPunctuation:
                isWordScalar = configuration.underscoreIsWordCharacter && scalar == "_"
            default:
                isWordScalar = false
            }
            if isWordScalar {
                if wordLength < maximum { word.append(scalar) }
                wordLength += 1
            } else {
                flushWord()
            }
        }
        flushWord()
        flushCJK()
    }

    /// Han, Hiragana, Katakana and Hangul: scripts written without spaces between words (or, for Hangul, whose
    /// words are best matched by bigrams).
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF, 0x31F0...0x31FF,  // Hiragana, Katakana, Katakana extensions
            0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x323AF,  // Han
            0x1100...0x11FF, 0x3130...0x318F, 0xAC00...0xD7AF:  // Hangul
            true
        default:
            false
        }
    }
}
