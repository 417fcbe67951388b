import FuzzSupport

import VectorIndex

/// One input = one checksummed vector index file: opened with and without the checksum pass (the structure checks
/// and section decoders run either way), its values checked, and one search run on what opened.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzIndexFile(
        bytes, count, writingTo: "index.mvi", open: { try FlatIndex(contentsOf: $0, verifyChecksums: $1) }
    ) { index, path in
        try? index.verifyValues(path: path)
        _ = try? index.search([Float](repeating: 0.5, count: index.dimension), k: 3)
    }
}

@_cdecl("FuzzIndexFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
