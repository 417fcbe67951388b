extension StringProtocol {
    /// Whether the text holds nothing a tokenizer or an embedder reads: no scalar but whitespace, control (Cc) and
    /// format (Cf) characters and default-ignorable code points (zero-width spaces and joiners, byte order marks,
    /// soft hyphens, variation selectors).
    ///
    /// Every tokenizer here drops all of them, so such a text has no words: BM25 finds nothing for it, a hashing
    /// embedder gives it an all-zero vector and MiniLM the vector of an empty sequence, which still ranks every
    /// document. A text is searched only when it isn't blank.
    ///
    /// - Complexity: O(*n*) in the text's scalars, stopping at the first one that isn't blank.
    package var isBlank: Bool {
        unicodeScalars.allSatisfy { scalar in
            let properties = scalar.properties
            if properties.isWhitespace || properties.isDefaultIgnorableCodePoint { return true }
            switch properties.generalCategory {
            case .control, .format: return true
            default: return false
            }
        }
    }
}
