/// The Porter2 (Snowball English) stemmer: `running` → `run`, `generously` → `generous`, `skies` → `sky`.
///
/// Written from the algorithm's published definition (<https://snowballstem.org/algorithms/english/stemmer.html>)
/// as revised in Snowball 3 (the `past`, `inter`, … prefixes, `dying` → `die`, `ogist` → `og`), and tested
/// against its published vocabulary and the reference implementation. It stems words of lower-case ASCII
/// letters and apostrophes; any other word is returned unchanged.
public enum EnglishStemmer {
    /// Returns the stem of a lower-case English word.
    ///
    /// - Complexity: O(*n*) in the word's length.
    public static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        guard bytes.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x27 }) else { return word }
        stem(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Stems `word` (lower-case ASCII letters and apostrophes) in place.
    static func stem(_ word: inout [UInt8]) {
        guard word.count > 2 else { return }
        if let exception = exceptions[word] {
            word = exception
            return
        }
        var state = State(word: word)
        state.run()
        word = state.word
    }

    /// Words whose stem the algorithm fixes before any step.
    private static let exceptions: [[UInt8]: [UInt8]] = {
        let pairs: [(String, String)] = [
            ("skis", "ski"), ("skies", "sky"), ("idly", "idl"), ("gently", "gentl"), ("ugly", "ugli"),
            ("early", "earli"), ("only", "onli"), ("singly", "singl"), ("sky", "sky"), ("news", "news"),
            ("howe", "howe"), ("atlas", "atlas"), ("cosmos", "cosmos"), ("bias", "bias"), ("andes", "andes"),
        ]
        return Dictionary(uniqueKeysWithValues: pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) })
    }()

    /// Stems before `ing` kept whole (`evening`, `canning`, …) when they are the entire rest of the word.
    private static let keptBeforeIng: Set<[UInt8]> = Set(
        ["even", "cann", "inn", "earr", "herr", "out"].map { Array($0.utf8) })

    /// Words before `eed` kept whole (`proceed`, `exceed`, `succeed`).
    private static let keptBeforeEed: Set<[UInt8]> = Set(["succ", "proc", "exc"].map { Array($0.utf8) })

    private static let a = UInt8(ascii: "a"), e = UInt8(ascii: "e"), i = UInt8(ascii: "i"), o = UInt8(ascii: "o")
    private static let u = UInt8(ascii: "u"), y = UInt8(ascii: "y"), capitalY = UInt8(ascii: "Y")
    private static let s = UInt8(ascii: "s"), l = UInt8(ascii: "l"), apostrophe = UInt8(ascii: "'")

    private struct Rule {
        let suffix: [UInt8]
        let replacement: [UInt8]
        init(_ suffix: String, _ replacement: String) {
            self.suffix = Array(suffix.utf8)
            self.replacement = Array(replacement.utf8)
        }
    }

    // Each list is ordered longest suffix first, so the first match is the longest, as Snowball's `among` picks.
    private static let step2Rules: [Rule] = [
        Rule("ization", "ize"), Rule("ational", "ate"), Rule("fulness", "ful"), Rule("ousness", "ous"),
        Rule("iveness", "ive"), Rule("ogist", "og"), Rule("tional", "tion"), Rule("biliti", "ble"),
        Rule("lessli", "less"),
        Rule("entli", "ent"), Rule("ation", "ate"), Rule("alism", "al"), Rule("aliti", "al"), Rule("ousli", "ous"),
        Rule("iviti", "ive"), Rule("fulli", "ful"), Rule("enci", "ence"), Rule("anci", "ance"),
        Rule("abli", "able"), Rule("izer", "ize"), Rule("ator", "ate"), Rule("alli", "al"), Rule("bli", "ble"),
        Rule("ogi", "og"), Rule("li", ""),
    ]
    private static let step3Rules: [Rule] = [
        Rule("ational", "ate"), Rule("tional", "tion"), Rule("alize", "al"), Rule("icate", "ic"),
        Rule("iciti", "ic"), Rule("ative", ""), Rule("ical", "ic"), Rule("ness", ""), Rule("ful", ""),
    ]
    private static let step4Suffixes: [[UInt8]] = [
        "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti", "ous", "ive", "ize",
        "ion", "al", "er", "ic",
    ].map { Array($0.utf8) }
    private static let step1bSuffixes: [[UInt8]] = ["eedly", "ingly", "edly", "eed", "ing", "ed"].map { Array($0.utf8) }
    private static let prefixesWithShortR1: [[UInt8]] = [
        "arsen", "commun", "emerg", "gener", "inter", "later", "organ", "past", "univers",
    ].map { Array($0.utf8) }

    private struct State {
        var word: [UInt8]
        var r1 = 0
        var r2 = 0

        init(word: [UInt8]) { self.word = word }

        func isVowel(_ index: Int) -> Bool {
            switch word[index] {
            case a, e, i, o, u, y: true
            default: false
            }
        }

        func endsWith(_ suffix: [UInt8]) -> Bool {
            word.count >= suffix.count && word[(word.count - suffix.count)...].elementsEqual(suffix)
        }

        /// The same test for a literal, read through its UTF-8 view without building an array.
        func endsWith(_ suffix: String) -> Bool {
            let bytes = suffix.utf8
            return word.count >= bytes.count && word[(word.count - bytes.count)...].elementsEqual(bytes)
        }

        /// Whether the first `length` letters end in a short syllable (or in `past`, which counts as one).
        func endsInShortSyllable(length: Int) -> Bool {
            if length >= 4 && word[(length - 4)..<length].elementsEqual("past".utf8) { return true }
            if length == 2 { return isVowel(0) && !isVowel(1) }
            guard length >= 3 else { return false }
            let last = word[length - 1]
            return !isVowel(length - 3) && isVowel(length - 2) && !isVowel(length - 1)
                && last != UInt8(ascii: "w") && last != UInt8(ascii: "x") && last != capitalY
        }

        func isShort() -> Bool { r1 == word.count && endsInShortSyllable(length: word.count) }

        func hasVowel(before end: Int) -> Bool { (0..<end).contains { isVowel($0) } }

        mutating func replaceSuffix(length: Int, with replacement: [UInt8]) {
            word.replaceSubrange((word.count - length)..., with: replacement)
        }

        /// The position after the first non-vowel that follows a vowel, at or after `start`.
        func regionStart(from start: Int) -> Int {
            var index = start
            while index < word.count && !isVowel(index) { index += 1 }
            while index < word.count && isVowel(index) { index += 1 }
            return min(index + 1, word.count)
        }

        mutating func run() {
            // Snowball checks the length (3 or more) before the leading apostrophe goes, so a word of 2 after it is
            // stemmed on: "'s'" is "s" (hostile run 14 found "s'").
            if word.first == apostrophe { word.removeFirst() }
            // Mark consonant y as Y: at the start, or after a vowel.
            if word.first == y { word[0] = capitalY }
            for index in word.indices.dropFirst() where word[index] == y && isVowel(index - 1) {
                word[index] = capitalY
            }
            if let prefix = prefixesWithShortR1.first(where: { word.starts(with: $0) }) {
                r1 = prefix.count
            } else {
                r1 = regionStart(from: 0)
            }
            r2 = regionStart(from: r1)
            step0()
            step1a()
            step1b()
            step1c()
            apply(step2Rules, condition: State.step2Condition)
            apply(step3Rules) { state, rule in
                !rule.suffix.elementsEqual("ative".utf8) || state.inR2(rule.suffix.count)
            }
            step4()
            step5()
            finish()
        }

        func inR1(_ suffixLength: Int) -> Bool { word.count - suffixLength >= r1 }
        func inR2(_ suffixLength: Int) -> Bool { word.count - suffixLength >= r2 }

        mutating func finish() {
            for index in word.indices where word[index] == capitalY { word[index] = y }
        }

        mutating func step0() {
            for suffix in ["'s'", "'s", "'"] where endsWith(suffix) {
                word.removeLast(suffix.utf8.count)
                return
            }
        }

        mutating func step1a() {
            if endsWith("sses") {
                replaceSuffix(length: 4, with: [s, s])
            } else if endsWith("ied") || endsWith("ies") {
                replaceSuffix(length: 3, with: word.count > 4 ? [i] : [i, e])
            } else if endsWith("us") || endsWith("ss") {
                return
            } else if endsWith([s]) {
                // Delete the s if a vowel appears before the letter just before it.
                if word.count >= 3 && hasVowel(before: word.count - 2) { word.removeLast() }
            }
        }

        mutating func step1b() {
            guard let suffix = EnglishStemmer.step1bSuffixes.first(where: { endsWith($0) }) else { return }
            let stemLength = word.count - suffix.count
            if suffix.starts(with: "eed".utf8) {
                if inR1(suffix.count) && !EnglishStemmer.keptBeforeEed.contains(Array(word[..<stemLength])) {
                    replaceSuffix(length: suffix.count, with: [e, e])
                }
                return
            }
            if suffix.elementsEqual("ing".utf8) {
                // dying → die, lying → lie: a consonant then y is all that precedes `ing`.
                if stemLength == 2 && word[1] == y && !isVowel(0) {
                    replaceSuffix(length: 4, with: [i, e])
                    return
                }
                if EnglishStemmer.keptBeforeIng.contains(Array(word[..<stemLength])) { return }
            }
            guard hasVowel(before: stemLength) else { return }
            word.removeLast(suffix.count)
            if endsWith("at") || endsWith("bl") || endsWith("iz") {
                word.append(e)
            } else if endsInDouble() {
                // add, ebb, odd: a lone a, e or o before the double letter keeps it.
                let isVowelPlusDouble = word.count == 3 && (word[0] == a || word[0] == e || word[0] == o)
                if !isVowelPlusDouble { word.removeLast() }
            } else if isShort() {
                word.append(e)
            }
        }

        func endsInDouble() -> Bool {
            guard word.count >= 2, word[word.count - 1] == word[word.count - 2] else { return false }
            switch word[word.count - 1] {
            case UInt8(ascii: "b"), UInt8(ascii: "d"), UInt8(ascii: "f"), UInt8(ascii: "g"), UInt8(ascii: "m"),
                UInt8(ascii: "n"), UInt8(ascii: "p"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return true
            default:
                return false
            }
        }

        mutating func step1c() {
            guard word.count > 2, word.last == y || word.last == capitalY, !isVowel(word.count - 2) else { return }
            word[word.count - 1] = i
        }

        static func isValidLiEnding(_ letter: UInt8) -> Bool {
            "cdeghkmnrt".utf8.contains(letter)
        }

        static func step2Condition(_ state: State, _ rule: Rule) -> Bool {
            let before = state.word.count - rule.suffix.count - 1
            if rule.suffix.elementsEqual("ogi".utf8) { return before >= 0 && state.word[before] == l }
            if rule.suffix.elementsEqual("li".utf8) { return before >= 0 && isValidLiEnding(state.word[before]) }
            return true
        }

        /// Replaces the longest matching suffix when it lies in R1 and `condition` holds.
        mutating func apply(_ rules: [Rule], condition: (State, Rule) -> Bool) {
            guard let rule = rules.first(where: { endsWith($0.suffix) }) else { return }
            guard inR1(rule.suffix.count), condition(self, rule) else { return }
            replaceSuffix(length: rule.suffix.count, with: rule.replacement)
        }

        mutating func step4() {
            guard let suffix = EnglishStemmer.step4Suffixes.first(where: { endsWith($0) }),
                inR2(suffix.count)
            else { return }
            if suffix.elementsEqual("ion".utf8) {
                let before = word.count - 4
                guard before >= 0, word[before] == s || word[before] == UInt8(ascii: "t") else { return }
            }
            word.removeLast(suffix.count)
        }

        mutating func step5() {
            if word.last == e {
                if inR2(1) || (inR1(1) && !endsInShortSyllable(length: word.count - 1)) { word.removeLast() }
            } else if word.last == l {
                if inR2(1) && word.count >= 2 && word[word.count - 2] == l { word.removeLast() }
            }
        }
    }
}
