import Embeddings
import Foundation
import FuzzSupport

/// A tiny BERT (vocabulary of 7, hidden width 4, one layer) whose `config.json` and `vocab.txt` are fixed, so that
/// the seeds can be whole, valid weight files and mutations reach every tensor's checks and the encoder.
enum TinyModel {
    static let configuration = """
        {"vocab_size": 7, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
         "intermediate_size": 8, "max_position_embeddings": 8, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "hidden_act": "gelu"}
        """
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "##b"]

    /// The model directory, with `config.json` and `vocab.txt` written once.
    static let directory: String = {
        let path = FuzzInput.directory + "/model"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path + "/config.json", contents: Data(configuration.utf8))
        FileManager.default.createFile(
            atPath: path + "/vocab.txt", contents: Data((vocabulary.joined(separator: "\n") + "\n").utf8))
        return path
    }()
}

/// One input = one `model.safetensors`: its header (8-byte length, JSON of dtypes, shapes and byte ranges) is parsed
/// and checked against the file size, each tensor read with its expected shape, and a model that loads embeds texts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    let directory = TinyModel.directory
    FileManager.default.createFile(
        atPath: directory + "/model.safetensors", contents: Data(bytes: bytes, count: count))
    guard let embedder = try? MiniLMEmbedder(modelDirectory: directory) else { return 0 }
    let texts = ["a b ab", "", "bba [UNK] zzz"]
    let vectors = (try? embedder.embed(texts)) ?? []
    fuzzCheck(vectors.count == texts.count, "embed returned \(vectors.count) vectors for \(texts.count) texts")
    fuzzCheck(vectors.allSatisfy { $0.count == embedder.dimension }, "a vector of the wrong dimension")
    return 0
}

@_cdecl("FuzzSafeTensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
