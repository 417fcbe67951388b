import RetrievalCore

/// How text becomes index terms; stored with every keyword index so queries are tokenized the same way.
///
/// Text is always NFKC-normalized and case-folded, then split into runs of letters, digits and combining marks
/// (see `docs/keyword-and-hybrid.md`). The fields below choose what happens to each run.
public struct TokenizerConfiguration: Codable, Sendable, Equatable, Hashable {
    /// Whether words on ``stopWords`` are dropped.
    public var removeStopWords: Bool
    /// Whether English words (ASCII letters only) are reduced to their Porter2 (Snowball English) stem.
    public var stemming: Bool
    /// The stop word list used when ``removeStopWords`` is on.
    public var stopWords: StopWordList
    /// Whether runs of Han, Hiragana, Katakana and Hangul characters become overlapping character bigrams
    /// (a lone character stays a unigram); when off, such a run is an ordinary word.
    public var cjkBigrams: Bool
    /// Whether `_` counts as a word character, so `snake_case` stays one token (as in the regex `\w`).
    public var underscoreIsWordCharacter: Bool
    /// Words shorter than this many Unicode scalars are dropped (CJK bigrams and unigrams are kept).
    ///
    /// Set by ``init(removeStopWords:stemming:stopWords:cjkBigrams:underscoreIsWordCharacter:minimumTokenLength:maximumTokenLength:)``
    /// only, which checks it: a configuration out of range would be saved into index files no reader takes.
    public internal(set) var minimumTokenLength: Int
    /// Longer words are cut to their first this-many Unicode scalars, so one huge run can't bloat the vocabulary.
    public internal(set) var maximumTokenLength: Int

    /// Creates a configuration.
    ///
    /// - Precondition: The token lengths pass ``validate(minimumTokenLength:maximumTokenLength:)``.
    public init(
        removeStopWords: Bool = true, stemming: Bool = true, stopWords: StopWordList = .english,
        cjkBigrams: Bool = true, underscoreIsWordCharacter: Bool = false, minimumTokenLength: Int = 1,
        maximumTokenLength: Int = 255
    ) {
        do {
            try Self.validate(minimumTokenLength: minimumTokenLength, maximumTokenLength: maximumTokenLength)
        } catch { preconditionFailure("TokenizerConfiguration: \(error)") }
        self.removeStopWords = removeStopWords
        self.stemming = stemming
        self.stopWords = stopWords
        self.cjkBigrams = cjkBigrams
        self.underscoreIsWordCharacter = underscoreIsWordCharacter
        self.minimumTokenLength = minimumTokenLength
        self.maximumTokenLength = maximumTokenLength
    }

    /// Checks token lengths for ``init(removeStopWords:stemming:stopWords:cjkBigrams:underscoreIsWordCharacter:minimumTokenLength:maximumTokenLength:)``:
    /// `1 <= minimumTokenLength <= maximumTokenLength`.
    ///
    /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` naming the length.
    public static func validate(minimumTokenLength: Int, maximumTokenLength: Int) throws(IndexError) {
        guard minimumTokenLength >= 1 else {
            throw .invalidParameter(
                name: "minimumTokenLength", value: Double(minimumTokenLength), expected: "at least 1")
        }
        guard maximumTokenLength >= minimumTokenLength else {
            throw .invalidParameter(
                name: "maximumTokenLength", value: Double(maximumTokenLength),
                expected: "at least minimumTokenLength (\(minimumTokenLength))")
        }
    }

    /// Decodes a configuration, refusing token lengths out of range as the initializer does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        removeStopWords = try container.decode(Bool.self, forKey: .removeStopWords)
        stemming = try container.decode(Bool.self, forKey: .stemming)
        stopWords = try container.decode(StopWordList.self, forKey: .stopWords)
        cjkBigrams = try container.decode(Bool.self, forKey: .cjkBigrams)
        underscoreIsWordCharacter = try container.decode(Bool.self, forKey: .underscoreIsWordCharacter)
        minimumTokenLength = try container.decode(Int.self, forKey: .minimumTokenLength)
        maximumTokenLength = try container.decode(Int.self, forKey: .maximumTokenLength)
        do {
            try Self.validate(minimumTokenLength: minimumTokenLength, maximumTokenLength: maximumTokenLength)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .minimumTokenLength, in: container, debugDescription: error.description)
        }
    }

    /// English search: stop words removed (``StopWordList/english``), Porter2 stemming, CJK bigrams.
    public static let english = TokenizerConfiguration()

    /// No stop words and no stemming: every word as written (after normalization and case folding).
    public static let plain = TokenizerConfiguration(removeStopWords: false, stemming: false)

    /// The tokenization of bm25s's default `bm25s.tokenize(texts, stopwords="en")`.
    ///
    /// Words of two or more word characters (regex `(?u)\b\w\w+\b`, so `_` joins words and CJK runs stay
    /// whole), lower-cased, Lucene's 33 English stop words removed, no stemming. Used to compare rankings with
    /// bm25s.
    public static let bm25sCompatible = TokenizerConfiguration(
        removeStopWords: true, stemming: false, stopWords: .lucene, cjkBigrams: false,
        underscoreIsWordCharacter: true, minimumTokenLength: 2)
}

/// A built-in stop word list.
public enum StopWordList: String, Codable, Sendable, CaseIterable {
    /// The Snowball English list, with contractions split at the apostrophe as the tokenizer splits them
    /// (`don't` → `don`, `t`): 170-odd function words.
    case english
    /// Lucene's classic 33-word English list (`EnglishAnalyzer`), which bm25s also uses.
    case lucene

    /// The words on the list, already case-folded.
    public var words: Set<String> {
        switch self {
        case .english: StopWords.english
        case .lucene: StopWords.lucene
        }
    }
}
