import Testing

@testable import Embeddings

@Suite struct WordPieceTokenizerTests {
    // Two spacing combining marks of different classes (216 and 226) that canonical ordering sorts and the accent
    // stripping keeps, so the words show where a run of marks was cut.
    static let stem: Unicode.Scalar = "\u{1D165}"
    static let staccato: Unicode.Scalar = "\u{1D16D}"

    @Test func runsOfMarksUpToTheStreamSafeLimitAreSortedWhole() {
        let text = "a" + String(repeating: "\u{1D16D}\u{1D165}", count: WordPieceTokenizer.maximumMarkRun / 2)
        let half = WordPieceTokenizer.maximumMarkRun / 2
        #expect(
            WordPieceTokenizer.words(text)
                == [["a"] + Array(repeating: Self.stem, count: half) + Array(repeating: Self.staccato, count: half)])
    }

    @Test func longerRunsOfMarksAreSortedInPiecesOfTheLimit() {
        let text = "a" + String(repeating: "\u{1D16D}\u{1D165}", count: 20)
        let word: [Unicode.Scalar] =
            ["a"] + Array(repeating: Self.stem, count: 15) + Array(repeating: Self.staccato, count: 15)
            + Array(repeating: Self.stem, count: 5) + Array(repeating: Self.staccato, count: 5)
        #expect(WordPieceTokenizer.maximumMarkRun == 30)
        #expect(WordPieceTokenizer.words(text) == [word])
    }

    // Canonical ordering of the unbroken run of 32K alternating accents took time quadratic in its length (seconds
    // in a release build, a minute at 128K); cut into runs of 30, it reads in linear time. The accents are stripped.
    @Test func aLongRunOfAlternatingAccentsIsStripped() {
        let text = "a" + String(repeating: "\u{0301}\u{0316}", count: 16_384) + " b"
        #expect(WordPieceTokenizer.words(text) == [["a"], ["b"]])
    }
}
