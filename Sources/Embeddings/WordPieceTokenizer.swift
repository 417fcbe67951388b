import Foundation
import RetrievalCore

/// BERT's uncased tokenizer: the basic tokenizer (clean, split CJK, strip accents, lowercase, split on whitespace
/// and punctuation) followed by greedy longest-match WordPiece, as in Hugging Face `tokenizers`
/// (`BertNormalizer` + `BertPreTokenizer` + `WordPiece`).
///
/// Reproduces sentence-transformers' token IDs for all-MiniLM-L6-v2 exactly (see the parity tests).
package struct WordPieceTokenizer: Sendable {
    /// Words longer than this many Unicode scalars become one `[UNK]`.
    package static let maximumWordLength = 100
    /// The largest `vocab.txt` read: BERT vocabularies hold 30,000–250,000 tokens, under 5 MB.
    static let maximumVocabularyFileBytes = 64 << 20

    private let vocabulary: [String: Int32]
    /// The ID of `[UNK]`.
    package let unknownID: Int32
    /// The ID of `[CLS]`, put before every sequence.
    package let classID: Int32
    /// The ID of `[SEP]`, put after every sequence.
    package let separatorID: Int32
    /// The most IDs a sequence may have, `[CLS]` and `[SEP]` included.
    package let maximumSequenceLength: Int

    /// The number of entries in the vocabulary.
    package var vocabularySize: Int { vocabulary.count }

    /// Builds a tokenizer from a vocabulary in which a token's ID is its 0-based position.
    ///
    /// - Throws: ``EmbeddingError/invalidModel(path:reason:)`` when `[UNK]`, `[CLS]` or `[SEP]` is missing.
    package init(tokens: [String], maximumSequenceLength: Int, source: String = "vocab.txt") throws(EmbeddingError) {
        precondition(maximumSequenceLength >= 2, "WordPieceTokenizer: room for [CLS] and [SEP] is needed")
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = Int32(index) }
        func id(_ token: String) throws(EmbeddingError) -> Int32 {
            guard let id = vocabulary[token] else {
                throw EmbeddingError.invalidModel(path: source, reason: "the vocabulary has no \(token) token")
            }
            return id
        }
        self.vocabulary = vocabulary
        unknownID = try id("[UNK]")
        classID = try id("[CLS]")
        separatorID = try id("[SEP]")
        self.maximumSequenceLength = maximumSequenceLength
    }

    /// Loads `vocab.txt` (one token per line, UTF-8).
    ///
    /// - Throws: ``EmbeddingError/io(path:reason:)`` or ``EmbeddingError/invalidModel(path:reason:)``.
    package init(vocabularyFile path: String, maximumSequenceLength: Int) throws(EmbeddingError) {
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: Self.maximumVocabularyFileBytes) } catch {
            throw EmbeddingError.io(path: path, reason: "the vocabulary file \(error)")
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let tokens = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        try self.init(tokens: tokens, maximumSequenceLength: maximumSequenceLength, source: path)
    }

    /// The model input for `text`: `[CLS]`, at most `maximumSequenceLength - 2` word pieces, `[SEP]`.
    ///
    /// Only what the model sees is normalized: every word gives at least one piece, so the text is read a chunk
    /// at a time, each cut before a space or an ASCII symbol (where normalization cannot join or split words),
    /// and reading stops once the pieces fill the sequence. A 50 MB text costs what its first chunks cost.
    package func tokenIDs(_ text: String) -> [Int32] {
        let budget = maximumSequenceLength - 2
        var ids: [Int32] = [classID]
        let scalars = text.unicodeScalars
        var chunkStart = scalars.startIndex
        reading: while chunkStart < scalars.endIndex {
            let chunkEnd = Self.chunkEnd(scalars, from: chunkStart)
            for word in WordPieceTokenizer.words(String(scalars[chunkStart..<chunkEnd])) {
                appendPieces(of: word, to: &ids)
                if ids.count > budget { break reading }
            }
            chunkStart = chunkEnd
        }
        if ids.count > budget + 1 { ids.removeLast(ids.count - budget - 1) }
        ids.append(separatorID)
        return ids
    }

    /// The word piece IDs of all of `text`, without `[CLS]`/`[SEP]` or truncation.
    package func allPieceIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for word in WordPieceTokenizer.words(text) { appendPieces(of: word, to: &ids) }
        return ids
    }

    /// The word pieces of `text` as strings, without `[CLS]`/`[SEP]` or truncation (for inspection and tests).
    package func pieces(_ text: String) -> [String] {
        let names = Dictionary(vocabulary.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        return allPieceIDs(text).map { names[$0] ?? "[UNK]" }
    }

    /// Scalars a chunk holds at least before it may be cut: several times the words of a full sequence.
    static let chunkScalars = 4096

    /// Where the chunk of `scalars` from `start` ends.
    ///
    /// Before the first space or ASCII symbol after ``chunkScalars`` scalars, or at the end. Both are starters that end a word and never decompose, so words
    /// and their normalization are the same whether the text is read whole or in chunks.
    static func chunkEnd(_ scalars: String.UnicodeScalarView, from start: String.Index) -> String.Index {
        var index = start
        var count = 0
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if count >= chunkScalars, scalar.value < 128, scalar == " " || scalar == "\n" || isPunctuation(scalar) {
                return index
            }
            count += 1
            scalars.formIndex(after: &index)
        }
        return index
    }

    private func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        guard word.count <= WordPieceTokenizer.maximumWordLength else {
            ids.append(unknownID)
            return
        }
        let mark = ids.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while end > start {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else {
                ids.removeLast(ids.count - mark)
                ids.append(unknownID)
                return
            }
            ids.append(found)
            start = end
        }
    }

    /// The most combining marks (and other scalars that may decompose into them) read in a row before a
    /// U+034F COMBINING GRAPHEME JOINER is put between them, as in Unicode's Stream-Safe Text Format (UAX #15).
    ///
    /// Canonical decomposition reorders a run of marks in time quadratic in its length: one letter and 128K marks
    /// of two alternating classes took a minute to tokenize. The joiner is itself a nonspacing mark, stripped with the
    /// accents, so text whose runs are shorter (real text; UAX #15 needs no more than 30) reads as before.
    static let maximumMarkRun = 30

    /// Normalizes `text` and splits it into words and single punctuation marks.
    package static func words(_ text: String) -> [[Unicode.Scalar]] {
        var cleaned = String.UnicodeScalarView()
        var markRun = 0
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            // A scalar whose decomposition may start with a mark is a mark itself or a full composition exclusion.
            let properties = scalar.properties
            if properties.canonicalCombiningClass != .notReordered || properties.isFullCompositionExclusion {
                if markRun == maximumMarkRun {
                    cleaned.append("\u{034F}")
                    markRun = 0
                }
                markRun += 1
            } else {
                markRun = 0
            }
            if scalar.properties.isWhitespace {
                cleaned.append(" ")
            } else if isCJK(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                if lower.properties.isWhitespace {
                    if !current.isEmpty { words.append(current) }
                    current.removeAll(keepingCapacity: true)
                } else if isPunctuation(lower) {
                    if !current.isEmpty { words.append(current) }
                    current.removeAll(keepingCapacity: true)
                    words.append([lower])
                } else {
                    current.append(lower)
                }
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Control characters the cleaner drops; tab, newline and carriage return count as whitespace instead.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    /// CJK ideographs as `tokenizers` defines them (kana and Hangul are not included).
    private static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }

    /// ASCII symbols and every Unicode punctuation (P*) scalar.
    private static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        default:
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                .finalPunctuation, .otherPunctuation:
                return true
            default: return false
            }
        }
    }
}
