import FuzzSupport
import KeywordIndex

/// One input = one keyword (BM25) index file, opened with and without the checksum pass, then searched.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let path = FuzzInput.write(bytes, count, to: "text.bm25")
    _ = try? KeywordIndex(contentsOf: path, verifyChecksums: true)
    if let index = try? KeywordIndex(contentsOf: path, verifyChecksums: false) {
        _ = try? index.search("take the coin", k: 3)
    }
    return 0
}

@_cdecl("FuzzKeywordIndex_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
