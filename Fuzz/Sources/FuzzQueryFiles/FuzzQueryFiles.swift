import Evaluation
import FuzzSupport
import HybridSearch

/// One input = one query file, read by each of Memp's query-file readers: the evaluation's query set
/// (`{"qid", "query", "relevant", "labels"}`, `memp eval`), the batch-query reader (`{"qid", "query"|"text",
/// "vector"}`, `memp collection search --queries`) and, for the same bytes, the document reader
/// (`memp collection add`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let path = FuzzInput.write(bytes, count, to: "queries.jsonl")
    if let set = try? QuerySet(contentsOf: path) {
        // What the reader promises: unique, non-empty IDs and non-blank texts.
        fuzzCheck(Set(set.queries.map(\.id)).count == set.queries.count, "QuerySet kept a repeated qid")
        fuzzCheck(set.queries.allSatisfy { !$0.id.isEmpty && !$0.text.allSatisfy(\.isWhitespace) },
            "QuerySet kept an empty qid or a blank query")
    }
    _ = try? DocumentReader.queries(atPath: path)
    if let documents = try? DocumentReader.documents(atPath: path) {
        fuzzCheck(Set(documents.map(\.id)).count == documents.count, "DocumentReader kept a repeated id")
    }
    return 0
}

@_cdecl("FuzzQueryFiles_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
