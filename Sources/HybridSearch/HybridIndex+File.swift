import KeywordIndex
import RetrievalCore
import VectorIndex

extension HybridIndex {
    /// The names of a hybrid index's two files inside a directory.
    ///
    /// Both files are the checksummed index container: the ``VectorIndex/FlatIndex`` format (magic MVIX) and the
    /// ``KeywordIndex/KeywordIndex`` format (magic MKIX). Collections use ``standard``; the memory store's caches
    /// keep the names they were first written with.
    public struct FileNames: Sendable, Equatable {
        /// The vector file's name.
        public var vectors: String
        /// The keyword file's name.
        public var keywords: String

        /// Names the two files.
        public init(vectors: String, keywords: String) {
            self.vectors = vectors
            self.keywords = keywords
        }

        /// `vectors.mvi` and `keywords.mkix`, as in a collection generation.
        public static let standard = FileNames(vectors: "vectors.mvi", keywords: "keywords.mkix")
    }

    /// Writes both sides into `directory`, which must exist; each file is replaced atomically.
    ///
    /// - Throws: ``RetrievalCore/IndexError/io(path:reason:)``.
    /// - Complexity: Writes every vector and posting once.
    public func save(to directory: String, names: FileNames = .standard) throws(IndexError) {
        try vectors.save(to: directory + "/" + names.vectors)
        try keywords.save(to: directory + "/" + names.keywords)
    }

    /// Opens an index saved with ``save(to:names:)``.
    ///
    /// - Parameters:
    ///   - directory: The directory holding the two files.
    ///   - names: Their names.
    ///   - verifyChecksums: Whether to check every section of both files (skip it only when the caller checked
    ///     the whole files already).
    /// - Throws: What ``VectorIndex/FlatIndex/init(contentsOf:verifyChecksums:)`` and
    ///   ``KeywordIndex/KeywordIndex/init(contentsOf:verifyChecksums:)`` throw, and
    ///   ``RetrievalCore/IndexError/corrupted(path:section:reason:)`` (section `pair`) when the two files hold
    ///   different IDs.
    public init(contentsOf directory: String, names: FileNames = .standard, verifyChecksums: Bool = true)
        throws(IndexError)
    {
        try self.init(
            vectors: try FlatIndex(contentsOf: directory + "/" + names.vectors, verifyChecksums: verifyChecksums),
            keywords: try KeywordIndex(contentsOf: directory + "/" + names.keywords, verifyChecksums: verifyChecksums),
            source: directory)
    }
}
