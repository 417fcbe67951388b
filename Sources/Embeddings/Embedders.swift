import Foundation

/// The embedder Memp uses when none is named, and why.
public struct DefaultEmbedder: Sendable {
    /// The embedder to use.
    public let embedder: any Embedder
    /// Whether this is the hashing fallback because no model is installed.
    public let isFallback: Bool
    /// A one-line note for the user naming the embedder (and, for the fallback, how to install the model).
    public let note: String
}

/// Factories for the embedders Memp ships.
public enum Embedders {
    /// MiniLM when it is installed in `store`, else the ``HashingEmbedder`` fallback.
    ///
    /// - Parameter batchSize: MiniLM's texts per forward pass.
    /// - Throws: ``EmbeddingError`` when MiniLM is installed but its files can't be loaded (it never falls back
    ///   silently from a broken install).
    /// - Precondition: `batchSize >= 1`.
    public static func defaultEmbedder(store: ModelStore = ModelStore(), batchSize: Int = 32) throws(EmbeddingError)
        -> DefaultEmbedder
    {
        if store.isInstalled(.minilm) {
            let embedder = try MiniLMEmbedder(modelDirectory: store.modelDirectory(for: .minilm), batchSize: batchSize)
            return DefaultEmbedder(
                embedder: embedder, isFallback: false, note: "Embedding with \(embedder.modelIdentifier).")
        }
        let fallback = HashingEmbedder()
        let missing =
            store.directoryProblem.map { "No embedding model can be found in \(store.directory): \($0)" }
            ?? "No embedding model is installed"
        return DefaultEmbedder(
            embedder: fallback, isFallback: true,
            note: "\(missing); using the \(fallback.modelIdentifier) fallback (word and "
                + "character hashing, no semantics). Run `memp model install minilm` for real embeddings.")
    }
}
