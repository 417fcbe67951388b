import Foundation
import Testing

@testable import KeywordIndex

@Suite struct TokenizerTests {
    let plain = Tokenizer(.plain)

    @Test func englishRemovesStopWordsAndStems() {
        #expect(
            Tokenizer(.english).tokens("The Running Foxes jumped over the lazy dogs") == [
                "run", "fox", "jump", "lazi", "dog",
            ])
    }

    @Test func splitsOnNonLettersAndKeepsNumbers() {
        #expect(plain.tokens("version 3.14, build #42 (x86_64)") == ["version", "3", "14", "build", "42", "x86", "64"])
        #expect(plain.tokens("don't stop") == ["don", "t", "stop"])
    }

    @Test func emptyAndSeparatorOnlyText() {
        #expect(plain.tokens("").isEmpty)
        #expect(plain.tokens("  \n\t ... !!! ").isEmpty)
    }

    @Test func accentsAreComposedAndCaseFolded() {
        // Decomposed e + combining acute composes to é; ß folds to ss; fullwidth and ligature letters map to ASCII.
        #expect(plain.tokens("Cafe\u{301} CAFÉ café") == ["café", "café", "café"])
        #expect(plain.tokens("STRASSE Straße") == ["strasse", "strasse"])
        #expect(plain.tokens("Ｆｕｌｌ ﬁle ①") == ["full", "file", "1"])
        #expect(plain.tokens("ΣΊΣΥΦΟΣ Σίσυφος") == ["σίσυφοσ", "σίσυφοσ"])
    }

    @Test func asciiFastPathMatchesUnicodePath() {
        let text = "Hello, World! snake_case x86_64 CamelCase 2024"
        // Appending one non-ASCII word forces the Unicode path for the whole text.
        #expect(plain.tokens(text + " é") == plain.tokens(text) + ["é"])
        let compatible = Tokenizer(.bm25sCompatible)
        #expect(compatible.tokens(text + " é") == compatible.tokens(text))
    }

    @Test func cjkRunsBecomeBigrams() {
        #expect(plain.tokens("東京都に住む") == ["東京", "京都", "都に", "に住", "住む"])
        #expect(plain.tokens("猫") == ["猫"])
        #expect(plain.tokens("Swift言語 is fun") == ["swift", "言語", "is", "fun"])
        #expect(plain.tokens("한국어 텍스트") == ["한국", "국어", "텍스", "스트"])
        let whole = Tokenizer(TokenizerConfiguration(removeStopWords: false, stemming: false, cjkBigrams: false))
        #expect(whole.tokens("東京都に住む") == ["東京都に住む"])
    }

    @Test func emojiAndSymbolsSeparateWords() {
        #expect(plain.tokens("I ❤️ Swift🚀rocks 👍🏽 ok") == ["i", "swift", "rocks", "ok"])
        #expect(plain.tokens("family👨‍👩‍👧time") == ["family", "time"])
        #expect(plain.tokens("1️⃣ step") == ["1", "step"])
    }

    @Test func mixedScripts() {
        #expect(plain.tokens("Привет world 世界 مرحبا नमस्ते") == ["привет", "world", "世界", "مرحبا", "नमस्ते"])
    }

    @Test func veryLongTokenIsCutToTheMaximumLength() {
        let long = String(repeating: "a", count: 10_000)
        #expect(plain.tokens("x \(long) y") == ["x", String(repeating: "a", count: 255), "y"])
        #expect(plain.tokens("é \(long) y") == ["é", String(repeating: "a", count: 255), "y"])
        let short = Tokenizer(TokenizerConfiguration(stemming: false, maximumTokenLength: 8))
        #expect(short.tokens(long) == [String(repeating: "a", count: 8)])
    }

    @Test func bm25sCompatibleConfiguration() {
        // Two or more word characters, `_` inside words, Lucene stop words, no stemming.
        #expect(
            Tokenizer(.bm25sCompatible).tokens("The snake_case of a Running x 42 is not I/O") == [
                "snake_case", "running", "42",
            ])
    }

    @Test func surfacesKeepTheUnstemmedWord() {
        #expect(
            Tokenizer(.english).tokensWithSurfaces("Running dogs") == [
                Tokenizer.Token(term: "run", surface: "running"), Tokenizer.Token(term: "dog", surface: "dogs"),
            ])
    }

    @Test func configurationRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(TokenizerConfiguration.bm25sCompatible)
        #expect(try JSONDecoder().decode(TokenizerConfiguration.self, from: data) == .bm25sCompatible)
    }
}
