import Embeddings
import MemoryLocation
import ProceduralMemory

/// Builds one memory store per build policy from the same trajectories, for build × retrieval grids.
public enum EvaluationStoreBuilder {
    /// Creates a store in `directory` and imports `trajectories` into it with `policy`.
    ///
    /// - Parameters:
    ///   - trajectories: A JSON Lines trajectory file in any format `memp import` reads.
    ///   - policy: How trajectories become memories.
    ///   - embedder: The embedder of tasks and keywords.
    ///   - configuration: How to rebuild `embedder`, recorded in the store.
    ///   - directory: A directory without a store in it.
    /// - Returns: The open store and the import's report.
    /// - Throws: ``EvaluationError/memory(_:)`` when the store can't be created or the import fails.
    public static func build(
        from trajectories: String, policy: BuildPolicy, embedder: any Embedder,
        configuration: EmbedderConfiguration?, at directory: String
    ) async throws(EvaluationError) -> (store: MemoryStore, report: ImportReport) {
        do throws(MemoryError) {
            let store = try await MemoryStore.create(
                at: directory, embedder: embedder, configuration: configuration)
            let report = try await store.importTrajectories(
                from: trajectories, options: ImportOptions(builder: MemoryBuilder(policy: policy)))
            return (store, report)
        } catch {
            throw .memory(error)
        }
    }
}
