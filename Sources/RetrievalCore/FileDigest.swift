import Foundation

/// A file's size and CRC-32C, as a manifest records them for each file it names: a file of another size or
/// checksum in its place (damaged, truncated, or another index's) is then told apart from the one written.
package struct FileDigest: Codable, Equatable, Sendable {
    /// The file's size in bytes.
    package var bytes: Int
    /// The CRC-32C (Castagnoli) of the file's bytes.
    package var crc32c: UInt32

    /// Records a size and checksum.
    package init(bytes: Int, crc32c: UInt32) {
        self.bytes = bytes
        self.crc32c = crc32c
    }

    /// Reads the regular file at `path` once (mapped) and digests it.
    ///
    /// - Throws: ``FileProblem``: `missing`, `notARegularFile`, or `system` with the system's reason.
    /// - Complexity: Reads the whole file, checksummed on every core.
    package init(ofFileAt path: String) throws(FileProblem) {
        _ = try RegularFile.size(of: path)  // refuses a FIFO or device before mapping waits on it
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw .system(reason: systemErrorText(of: error))
        }
        self.init(bytes: data.count, crc32c: data.withUnsafeBytes { parallelCRC32C($0) })
    }
}
