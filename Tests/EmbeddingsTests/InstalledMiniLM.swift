import Embeddings
import Foundation
import Testing

/// The MiniLM model in the default cache, installed with pip on first use.
///
/// So `swift test` works on a fresh machine that has Python and pip. A failed install fails the test with the installer's message.
enum InstalledMiniLM {
    static let store = ModelStore()

    static let embedder: Result<MiniLMEmbedder, EmbeddingError> = Result { () throws(EmbeddingError) in
        try store.install(.minilm)
        return try MiniLMEmbedder(modelDirectory: store.modelDirectory(for: .minilm))
    }

    /// The loaded embedder, or a test failure naming why the model is unavailable.
    static func load() throws -> MiniLMEmbedder {
        switch embedder {
        case .success(let embedder): return embedder
        case .failure(let error):
            Issue.record("all-MiniLM-L6-v2 is unavailable: \(error)")
            throw error
        }
    }
}

/// One line of the sentence-transformers parity fixture.
struct ParityCase: Decodable, Sendable {
    let text: String
    let inputIDs: [Int32]
    let embedding: [Float]

    enum CodingKeys: String, CodingKey {
        case text, inputIDs = "input_ids", embedding
    }

    static let all: [ParityCase] = {
        guard
            let url = Bundle.module.url(forResource: "minilm-parity", withExtension: "jsonl", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url)
        else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONDecoder().decode(ParityCase.self, from: Data($0))
        }
    }()
}
