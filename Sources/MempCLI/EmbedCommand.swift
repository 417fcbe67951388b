import ArgumentParser
import Embeddings
import Foundation
import RetrievalCore

/// `memp embed`: embed texts given as arguments, or every line of a JSON Lines file.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with MiniLM, the hashing fallback, or an OpenAI-compatible server.",
        discussion: """
            Texts come as arguments, or with --input as JSON Lines whose objects have a "text" field: each line is \
            written back with an "embedding" field added. Without --model, MiniLM is used when installed \
            (`memp model install minilm`), else the hashing fallback; a note on stderr says which. \
            --model openai posts to --base-url (or $MEMP_OPENAI_BASE_URL) with the key from the variable named by \
            --api-key-variable.
            """)

    enum Model: String, CaseIterable, ExpressibleByArgument {
        case minilm, hashing, openai
    }

    @Argument(help: "Texts to embed (one vector each).") var texts: [String] = []
    @Option(help: "The embedder: \(Model.allCases.map(\.rawValue).joined(separator: ", ")).") var model: Model?
    @Option(help: "JSON Lines input; each object's text field is embedded.") var input: String?
    @Option(help: "Where to write the JSON Lines output of --input (default: stdout).") var output: String?
    @Option(help: "The field of --input objects that holds the text.") var textField = "text"
    @Option(help: "Vector dimension of the hashing embedder.") var dimension = 384
    @Option(help: "Texts per batch.") var batchSize = 32
    @Option(help: "Base URL of the OpenAI-compatible server (default: $MEMP_OPENAI_BASE_URL).") var baseURL: String?
    @Option(help: "Model name sent to the OpenAI-compatible server.") var openaiModel = "text-embedding-3-small"
    @Option(help: "Environment variable holding the server's API key.") var apiKeyVariable = "OPENAI_API_KEY"
    @Flag(help: "Print one JSON object per text instead of bare numbers.") var json = false

    func validate() throws {
        guard texts.isEmpty != (input == nil) else {
            throw ValidationError("Give texts as arguments or --input FILE, not both and not neither.")
        }
        guard output == nil || input != nil else { throw ValidationError("--output needs --input.") }
        guard (1...4096).contains(dimension) else {
            throw ValidationError("--dimension must be 1…4096 (got \(dimension)).")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).") }
        if model == .openai, baseURL ?? ProcessInfo.processInfo.environment["MEMP_OPENAI_BASE_URL"] == nil {
            throw ValidationError("--model openai needs --base-url or $MEMP_OPENAI_BASE_URL.")
        }
    }

    func makeEmbedder() throws -> any Embedder {
        switch model {
        case nil:
            let choice = try Embedders.defaultEmbedder()
            printError(choice.note)
            guard var miniLM = choice.embedder as? MiniLMEmbedder else { return choice.embedder }
            miniLM.batchSize = batchSize
            return miniLM
        case .minilm?:
            var embedder = try MiniLMEmbedder(modelDirectory: ModelStore().modelDirectory(for: .minilm))
            embedder.batchSize = batchSize
            return embedder
        case .hashing?:
            printError("Embedding with the hashing fallback (word and character hashing, no semantics).")
            return HashingEmbedder(dimension: dimension)
        case .openai?:
            let base = baseURL ?? ProcessInfo.processInfo.environment["MEMP_OPENAI_BASE_URL"] ?? ""
            guard let url = URL(string: base), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--base-url must be an http(s) URL (got \"\(base)\").")
            }
            return OpenAICompatibleEmbedder(
                baseURL: url, model: openaiModel, apiKeyEnvironmentVariable: apiKeyVariable, batchSize: batchSize)
        }
    }

    func run() async throws {
        let embedder = try makeEmbedder()
        if let input {
            try await embedLines(of: input, with: embedder)
            return
        }
        for (text, vector) in zip(texts, try await embedder.embed(texts)) {
            if json {
                print(try jsonLine(TextEmbedding(text: text, model: embedder.modelIdentifier, embedding: vector)))
            } else {
                print(vector.map { "\($0)" }.joined(separator: " "))
            }
        }
    }

    private struct TextEmbedding: Encodable {
        let text: String
        let model: String
        let embedding: [Float]
    }

    /// Streams `path` in batches, writing each object back with an `embedding` field.
    private func embedLines(of path: String, with embedder: any Embedder) async throws {
        let reader = JSONLinesReader(path: path)
        try reader.checkReadable()
        var sink = try OutputSink(path: output)
        var pending: [(object: [String: Any], text: String)] = []
        func flush() async throws {
            let vectors = try await embedder.embed(pending.map(\.text))
            for ((object, _), vector) in zip(pending, vectors) {
                var fields = object
                fields.removeValue(forKey: "embedding")
                let head = String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
                let numbers = "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
                try sink.write(
                    String(head.dropLast()) + (fields.isEmpty ? "" : ",") + "\"embedding\":" + numbers + "}\n")
            }
            pending.removeAll(keepingCapacity: true)
        }
        var count = 0
        for line in reader {
            guard let object = try? JSONSerialization.jsonObject(with: line.data) as? [String: Any] else {
                throw InputFileError.malformed(path: path, line: line.number, reason: "not a JSON object")
            }
            guard let text = object[textField] as? String else {
                throw InputFileError.malformed(
                    path: path, line: line.number, reason: "no string field \"\(textField)\"")
            }
            pending.append((object, text))
            count += 1
            if pending.count == max(batchSize, 256) { try await flush() }
        }
        if !pending.isEmpty { try await flush() }
        try sink.close()
        printError(
            "Embedded \(counted(count, "line")) with \(embedder.modelIdentifier)\(output.map { " into \($0)" } ?? "").")
    }
}

/// Standard output, or a file written to a temporary name and renamed over the target when closed.
private struct OutputSink {
    private let handle: FileHandle
    private let path: String?
    private let temporary: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            handle = FileHandle.standardOutput
            temporary = nil
            return
        }
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw InputFileError.unwritable(path: path, reason: "can't create \(temporary)") }
        self.handle = handle
        self.temporary = temporary
    }

    mutating func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    func close() throws {
        guard let path, let temporary else { return }
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }
}
