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
            written back with an "embedding" field added. Without --embedder, MiniLM is used when installed \
            (`memp model install minilm`), else the hashing fallback; a note on stderr says which. \
            --embedder openai posts to --base-url (or $MEMP_OPENAI_BASE_URL) with the key from the variable named \
            by --api-key-variable.
            """)

    // Every argument no option takes: a text may start with "-" (``freeValues(in:)``).
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Texts to embed (one vector each).", valueName: "texts"))
    var textArguments: [String] = []

    /// The texts, from ``textArguments``.
    var texts: [String] { freeValues(in: textArguments) }
    // `--embedder`, as `memp init`, `memp collection build` and `memp eval` name it; `--model`, its first name here,
    // still works.
    @Option(
        name: [.customLong("embedder"), .customLong("model")],
        help: "The embedder: \(EmbedderKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var embedder: EmbedderKind?
    @Option(help: "JSON Lines input; each object's text field is embedded.", transform: nonEmptyPath) var input: String?
    @Option(help: "Where to write the JSON Lines output of --input (default: stdout).", transform: nonEmptyPath)
    var output: String?
    @Option(help: "The field of --input objects that holds the text.") var textField = "text"
    @Option(
        parsing: .unconditional,
        help: "Vector dimension of the hashing embedder (default: \(HashingEmbedder.defaultDimension)).")
    var dimension: Int?
    @Option(parsing: .unconditional, help: "Texts per batch.") var batchSize = 32
    @OptionGroup var server: ServerOptions
    @Flag(help: "Print one JSON object per text instead of bare numbers.") var json = false

    func validate() throws {
        try checkFreeValues(textArguments, naming: "text", command: "memp embed")
        guard texts.isEmpty != (input == nil) else {
            throw ValidationError("Give texts as arguments or --input FILE, not both and not neither.")
        }
        guard output == nil || input != nil else { throw ValidationError("--output needs --input.") }
        try validateDimension(dimension, embedder: embedder)
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).") }
    }

    func makeEmbedder() throws -> any Embedder {
        guard let embedder else {
            let choice = try Embedders.defaultEmbedder(batchSize: batchSize)
            printError(choice.note)
            return choice.embedder
        }
        if embedder == .hashing {
            printError("Embedding with the hashing fallback (word and character hashing, no semantics).")
        }
        return try server.presentingFlagErrors {
            try Embedders.make(
                embedder, dimension: dimension, server: server.server,
                batchSize: batchSize)
        }
    }

    func run() async throws {
        let embedder = try makeEmbedder()
        if let input {
            let count = try await embedder.embedJSONLines(
                at: input, textField: textField, batchSize: max(batchSize, 256),
                to: output.map(JSONLinesDestination.file) ?? .standardOutput)
            let destination = output.map { " into \($0)" } ?? ""
            printError("Embedded \(counted(count, "line")) with \(embedder.modelIdentifier)\(destination).")
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
}
