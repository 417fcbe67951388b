import Embeddings
import Foundation
import FuzzSupport

/// all-MiniLM-L6-v2's real tokenizer (its 30,522-token `vocab.txt`), loaded once from the installed model
/// (`memp model install minilm`; `MEMP_FUZZ_MODEL` names another directory).
let embedder: MiniLMEmbedder = {
    let directory =
        ProcessInfo.processInfo.environment["MEMP_FUZZ_MODEL"] ?? ModelStore().modelDirectory(for: .minilm)
    do {
        return try MiniLMEmbedder(modelDirectory: directory)
    } catch {
        fatalError("the WordPiece target needs the installed MiniLM model: \(error)")
    }
}()

/// One input = a text `a` and, after its first NUL byte, a text `b` (both decoded as UTF-8 with replacement).
///
/// Checks what the tokenizer promises for any text: `[CLS]` first, `[SEP]` last, at most 256 IDs; and that reading a
/// text in chunks gives the pieces of reading it whole: the pieces of `a` are a prefix of those of `a + " " + b` (a
/// space ends every word, so `b` can't change how `a` is split, wherever the chunks are cut).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let parts = Data(bytes: bytes, count: count).split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let a = String(decoding: parts[0], as: UTF8.self)
    let b = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
    let empty = embedder.tokenIDs("")
    fuzzCheck(empty.count == 2, "the empty text gives \(empty.count) IDs, not [CLS] [SEP]")
    let alone = embedder.tokenIDs(a)
    let joined = embedder.tokenIDs(a + " " + b)
    for ids in [alone, joined] {
        fuzzCheck(ids.count >= 2 && ids.count <= MiniLMEmbedder.maximumSequenceLength, "\(ids.count) token IDs")
        fuzzCheck(ids.first == empty.first && ids.last == empty.last, "the sequence is not [CLS] … [SEP]")
    }
    fuzzCheck(
        joined.dropLast().starts(with: alone.dropLast()),
        "the pieces of a text (\(alone.count) IDs) are not a prefix of those of the text followed by a space and more")
    return 0
}

@_cdecl("FuzzWordPiece_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
