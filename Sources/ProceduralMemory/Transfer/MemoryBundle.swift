import Foundation

/// The manifest of a memory bundle: what it holds, where it comes from, and the SHA-256 of every file.
///
/// A bundle is a directory: `manifest.json`, `memories.jsonl` (one ``BundledMemory`` per line) and
/// `trajectories.jsonl` (the memories' source trajectories in Memp's JSON Lines format).
public struct BundleManifest: Codable, Sendable, Equatable {
    /// The bundle format version this build writes: 2, whose dates are ISO-8601 UTC strings (format 1 wrote
    /// seconds since 1970).
    package static let currentFormatVersion = 2
    /// The bundle format versions this build reads.
    package static let readableFormatVersions = 1...2
    /// The manifest's file name.
    package static let fileName = "manifest.json"
    /// The memories file's name.
    package static let memoriesFileName = "memories.jsonl"
    /// The trajectories file's name.
    package static let trajectoriesFileName = "trajectories.jsonl"

    /// One file of the bundle.
    package struct File: Codable, Sendable, Equatable {
        /// The path relative to the bundle directory.
        package var path: String
        /// Its size in bytes.
        package var bytes: Int
        /// Its SHA-256, lower-case hex.
        package var sha256: String
    }

    /// The bundle format version.
    package var formatVersion: Int
    /// When the bundle was written.
    public var createdAt: Date
    /// The embedder whose vectors the bundle holds.
    public var embedderID: String
    /// The dimension of those vectors.
    public var dimension: Int
    /// The models or agents that produced the memories' trajectories, sorted (the source models).
    public var sourceModels: [String]
    /// The store generation the bundle was exported at.
    package var sourceGeneration: UInt64
    /// How many memories the bundle holds.
    public var memoryCount: Int
    /// How many trajectories the bundle holds.
    public var trajectoryCount: Int
    /// Every file besides the manifest.
    package var files: [File]
}

/// One memory of a bundle, with its vectors.
package struct BundledMemory: Codable, Sendable, Equatable {
    /// The memory.
    package var memory: Memory
    /// Its task embedding, by the manifest's embedder.
    package var taskVector: [Float]
    /// Its mean keyword embedding, if it has keywords.
    package var keywordVector: [Float]?
}

/// What an import of a bundle did.
///
/// Encoded (as `memp import-bundle --json` prints it), it also holds the bundle's manifest.
public struct BundleImportReport: Sendable, Equatable, Codable {
    /// Memories imported.
    public var memories = 0
    /// Trajectories imported.
    public var trajectories = 0
    /// Memories skipped because their ID is stored already.
    public var skippedMemories = 0
    /// Whether the memories were embedded again because the bundle's embedder differs from the store's.
    public var reembedded = false
    /// The manifest of the bundle (what its files hold, by which embedder; the counts above say what was imported).
    package var manifest: BundleManifest?
    /// The store's generation after the import.
    package var generation: UInt64 = 0
}
