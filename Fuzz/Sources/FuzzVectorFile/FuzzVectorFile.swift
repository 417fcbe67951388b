import FuzzSupport
import VectorIndex

/// One input = one vector file, read under each extension (.fvecs, .bvecs, .ivecs, .npy).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    for name in ["input.fvecs", "input.bvecs", "input.npy"] {
        _ = try? VectorFile.read(FuzzInput.write(bytes, count, to: name))
    }
    _ = try? VectorFile.readIntegers(FuzzInput.write(bytes, count, to: "input.ivecs"))
    return 0
}

@_cdecl("FuzzVectorFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
