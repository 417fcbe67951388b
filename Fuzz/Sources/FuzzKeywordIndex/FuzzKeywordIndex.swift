import FuzzSupport
import KeywordIndex

/// One input = one keyword (BM25) index file, opened with and without the checksum pass, then searched.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzIndexFile(
        bytes, count, writingTo: "text.bm25", open: { try KeywordIndex(contentsOf: $0, verifyChecksums: $1) }
    ) { index, _ in
        _ = try? index.search("take the coin", k: 3)
    }
}

@_cdecl("FuzzKeywordIndex_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
