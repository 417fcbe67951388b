/// The built-in stop word lists.
enum StopWords {
    /// Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`.
    static let lucene: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ]

    /// The Snowball English stop list (snowballstem.org/algorithms/english/stop.txt); contractions appear as the
    /// pieces the tokenizer makes of them.
    static let english: Set<String> = [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
        "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they",
        "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those",
        "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
        "doing", "would", "should", "could", "ought", "a", "an", "the", "and", "but", "if", "or", "because", "as",
        "until", "while", "of", "at", "by", "for", "with", "about", "against", "between", "into", "through",
        "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
        "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "all", "any",
        "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same",
        "so", "than", "too", "very", "cannot", "let",
        // Pieces of contractions (isn't → isn + t, they'll → they + ll, …).
        "s", "t", "d", "ll", "m", "re", "ve", "isn", "aren", "wasn", "weren", "hasn", "haven", "hadn", "doesn",
        "don", "didn", "won", "wouldn", "shan", "shouldn", "couldn", "mustn",
    ]
}
