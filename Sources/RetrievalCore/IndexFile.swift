internal import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The layout shared by every Memp index file (vector, keyword, …), little-endian throughout.
///
///     offset 0    magic (4 ASCII bytes, one per index kind)
///            4    format version (UInt32)
///            8    flags (UInt32, 0)
///           12    section count (UInt32)
///           16    8 kind-specific header fields (UInt64: dimension, metric, count, …)
///           80    total file length (UInt64), so truncation is caught before any section is read
///           88    reserved, zero
///          124    CRC-32C of bytes 0..<124 and of the section table
///          128    section table: per section tag (4 ASCII bytes), reserved (4), offset (8), length (8),
///                 CRC-32C of the section's bytes (4), reserved (4)
///    then sections, each starting on a 64-byte boundary so a vector block can be memory-mapped in place.
package enum IndexFileLayout {
    package static let headerSize = 128
    package static let sectionEntrySize = 32
    package static let alignment = 64
    package static let fieldCount = 8
    package static let headerChecksumOffset = 124

    package static func dataStart(sectionCount: Int) -> Int {
        alignUp(headerSize + sectionCount * sectionEntrySize)
    }

    package static func alignUp(_ value: Int) -> Int { (value + alignment - 1) & ~(alignment - 1) }
}

/// A four-character code: a magic number or a section tag.
package func fourCC(_ text: String) -> UInt32 {
    let bytes = Array(text.utf8)
    precondition(bytes.count == 4, "fourCC: \"\(text)\" is not four ASCII bytes")
    return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
}

/// The printable form of a four-character code, with unprintable bytes as `?`.
package func fourCCName(_ code: UInt32) -> String {
    String(
        decoding: (0..<4).map { shift -> UInt8 in
            let byte = UInt8(truncatingIfNeeded: code >> (8 * UInt32(shift)))
            return (32..<127).contains(byte) ? byte : UInt8(ascii: "?")
        }, as: UTF8.self)
}

/// CRC-32C (Castagnoli) of a byte buffer, continuing from `crc`.
package func crc32c(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
    vk_crc32c(crc, bytes.baseAddress, bytes.count)
}

/// CRC-32C of a byte buffer, cut into pieces checksummed on every core and combined: what verifying a large
/// mapped file costs is then bounded by memory bandwidth, not by one core.
package func parallelCRC32C(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    // Below this, one core finishes before the others would start.
    let minimumPiece = 8 << 20
    let pieces = min(4 * processorCount, bytes.count / minimumPiece)
    guard pieces > 1 else { return crc32c(bytes) }
    let bounds = (0...pieces).map { bytes.count * $0 / pieces }
    var checksums = [UInt32](repeating: 0, count: pieces)
    checksums.withUnsafeMutableBufferPointer { checksums in
        parallelFor(pieces, workers: processorCount) { piece in
            checksums[piece] = crc32c(UnsafeRawBufferPointer(rebasing: bytes[bounds[piece]..<bounds[piece + 1]]))
        }
    }
    return (1..<pieces).reduce(checksums[0]) { crc, piece in
        vk_crc32c_combine(crc, checksums[piece], UInt64(bounds[piece + 1] - bounds[piece]))
    }
}

/// The text of the current `errno`.
package func systemErrorText() -> String { String(cString: strerror(errno)) }

/// A whole file mapped read-only, unmapped when the last reference goes.
///
/// An empty file has no mapping (`mmap` refuses a length of 0): its bytes are an empty buffer.
package final class FileMapping: @unchecked Sendable {  // immutable after init; the mapping is read-only
    /// The file's size in bytes.
    package let byteCount: Int
    private let base: UnsafeMutableRawPointer?

    /// Maps `path`.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` when the file can't be opened, measured or mapped.
    package convenience init(path: String) throws(IndexError) {
        try self.init(path: path) { problem in
            switch problem {
            case .missing: IndexError.io(path: path, reason: "No such file or directory")
            case .system(let reason): IndexError.io(path: path, reason: reason)
            case .notARegularFile, .tooLarge: IndexError.io(path: path, reason: problem.description)
            }
        }
    }

    /// Maps `path`, throwing what `refusal` makes of a file that can't be opened, measured or mapped (a failed
    /// mapping is ``FileProblem/system(reason:)``).
    package init<Failure: Error>(path: String, refusal: (FileProblem) -> Failure) throws(Failure) {
        // A directory opens, then fails to map with "No such device", which names nothing the user can act on; a
        // FIFO would make the open wait for a writer.
        let (handle, size): (Int32, Int)
        do { (handle, size) = try RegularFile.openForReading(path) } catch { throw refusal(error) }
        defer { close(handle) }
        byteCount = size
        guard size > 0 else {
            base = nil
            return
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, handle, 0), mapping != MAP_FAILED else {
            throw refusal(.system(reason: systemErrorText()))
        }
        base = mapping
    }

    deinit {
        if let base { munmap(base, byteCount) }
    }

    /// Calls `body` with the file's bytes.
    ///
    /// The pointer must not escape `body`.
    package func withBytes<Result, Failure>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: byteCount))
    }

    /// Tells the kernel how the pages will be read (`madvise`).
    package func advise(_ advice: Int32) {
        if let base { madvise(base, byteCount, advice) }
    }

    /// Tells the kernel how the pages holding `bytes` (offsets into the file, clamped to it) will be read, or that
    /// they won't be (`MADV_DONTNEED`): the range is widened to whole pages.
    package func advise(_ advice: Int32, bytes: Range<Int>) {
        guard let base, !bytes.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = max(0, bytes.lowerBound) / page * page
        let end = min(byteCount, (bytes.upperBound + page - 1) / page * page)
        if first < end { madvise(base + first, end - first, advice) }
    }
}

/// Writes an index file atomically: sections stream into a temporary file in the target's directory, and
/// ``commit()`` writes the header, syncs, renames over the target and syncs the directory.
///
/// A crash or kill at any moment leaves either the previous file or the new one, never a mix. A writer
/// dropped without ``commit()`` deletes its temporary file; one killed leaves it, for the next writer of the same
/// file to remove (``FileReplacement/lockTemporaries(of:)``). Not for use from several tasks at once.
public final class IndexFileWriter {
    private let path: String
    /// Where the file goes: `path`, or what a symbolic link there points to (see ``FileReplacement``).
    private let destination: String
    private let temporaryPath: String
    /// Held while the temporary file exists, so that a writer that finds it free removes those of killed writers.
    private let temporaryLock: DirectoryLock?
    private var descriptor: Int32
    private let magic: UInt32
    private let version: UInt32
    private let fields: [UInt64]
    private let plannedSections: Int
    private var entries: [(tag: UInt32, offset: UInt64, length: UInt64, checksum: UInt32)] = []
    private var position: Int
    private var committed = false

    /// Starts a file of at most `sectionCapacity` sections that will replace `path` when committed.
    ///
    /// - Parameters:
    ///   - path: The file to write.
    ///   - magic: The four ASCII characters naming the kind of index.
    ///   - version: The format version.
    ///   - fields: Up to 8 kind-specific header values.
    ///   - sectionCapacity: The most sections that will be appended.
    /// - Throws: ``IndexError/io(path:reason:)`` when `path` holds a NUL or the temporary file can't be created.
    public init(path: String, magic: String, version: UInt32, fields: [UInt64], sectionCapacity: Int)
        throws(IndexError)
    {
        precondition(fields.count <= IndexFileLayout.fieldCount, "IndexFileWriter: at most 8 header fields")
        precondition(sectionCapacity >= 0, "IndexFileWriter: negative section capacity")
        self.path = path
        self.magic = fourCC(magic)
        self.version = version
        self.fields = fields + Array(repeating: 0, count: IndexFileLayout.fieldCount - fields.count)
        self.plannedSections = sectionCapacity
        let started: FileReplacement.Started
        do throws(FileReplacementError) { started = try FileReplacement.begin(path) } catch {
            throw IndexError.io(path: printableText(path), reason: error.reason)
        }
        destination = started.destination
        temporaryLock = started.lock
        temporaryPath = started.temporary
        descriptor = started.descriptor
        position = IndexFileLayout.dataStart(sectionCount: sectionCapacity)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryPath) }
        temporaryLock?.release()
    }

    /// Appends a section holding the raw bytes of `elements`.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` when the write fails.
    public func appendSection<Element: BitwiseCopyable>(_ tag: String, _ elements: [Element]) throws(IndexError) {
        try elements.withUnsafeBytes { bytes in
            Result { () throws(IndexError) in try appendSection(tag, bytes: bytes) }
        }.get()
    }

    /// Appends a section made of several chunks written one after another (for blocks too big to copy).
    ///
    /// - Parameters:
    ///   - tag: The section's four ASCII characters.
    ///   - produce: Called once; it calls its argument with each chunk in order. Pointers do not escape.
    /// - Throws: ``IndexError/io(path:reason:)`` when a write fails.
    package func appendSection(
        _ tag: String,
        chunks produce: ((UnsafeRawBufferPointer) throws(IndexError) -> Void) throws(IndexError) -> Void
    ) throws(IndexError) {
        precondition(entries.count < plannedSections, "IndexFileWriter: more sections than the declared capacity")
        precondition(!committed, "IndexFileWriter: already committed")
        let start = position
        var checksum: UInt32 = 0
        try produce { (chunk) throws(IndexError) in
            try writeAll(chunk, at: position)
            checksum = crc32c(chunk, continuing: checksum)
            position += chunk.count
        }
        entries.append((fourCC(tag), UInt64(start), UInt64(position - start), checksum))
        position = IndexFileLayout.alignUp(position)
    }

    /// Appends a section holding `bytes`.
    package func appendSection(_ tag: String, bytes: UnsafeRawBufferPointer) throws(IndexError) {
        try appendSection(tag) { (write) throws(IndexError) in try write(bytes) }
    }

    /// Writes the header, syncs the file, renames it over the target (or copies it into a device or pipe, see
    /// ``FileReplacement``) and syncs the directory.
    ///
    /// - Throws: ``IndexError/io(path:reason:)``; the previous file at the path is then untouched.
    public func commit() throws(IndexError) {
        precondition(!committed, "IndexFileWriter: already committed")
        var header = [UInt8](repeating: 0, count: IndexFileLayout.dataStart(sectionCount: plannedSections))
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { header.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(magic, at: 0)
        put(version, at: 4)
        put(UInt32(0), at: 8)
        put(UInt32(entries.count), at: 12)
        for (index, field) in fields.enumerated() { put(field, at: 16 + 8 * index) }
        let fileLength = UInt64(max(position, header.count))
        put(fileLength, at: 80)
        for (index, entry) in entries.enumerated() {
            let base = IndexFileLayout.headerSize + index * IndexFileLayout.sectionEntrySize
            put(entry.tag, at: base)
            put(entry.offset, at: base + 8)
            put(entry.length, at: base + 16)
            put(entry.checksum, at: base + 24)
        }
        let tableEnd = IndexFileLayout.headerSize + entries.count * IndexFileLayout.sectionEntrySize
        let checksum = header.withUnsafeBytes { bytes in
            crc32c(
                UnsafeRawBufferPointer(rebasing: bytes[IndexFileLayout.headerSize..<tableEnd]),
                continuing: crc32c(UnsafeRawBufferPointer(rebasing: bytes[0..<IndexFileLayout.headerChecksumOffset])))
        }
        put(checksum, at: IndexFileLayout.headerChecksumOffset)
        try header.withUnsafeBytes { bytes in Result { () throws(IndexError) in try writeAll(bytes, at: 0) } }.get()
        guard ftruncate(descriptor, off_t(fileLength)) == 0, fsync(descriptor) == 0 else {
            throw IndexError.io(path: path, reason: systemErrorText())
        }
        close(descriptor)
        descriptor = -1
        // A device or pipe is written into, not renamed over: no directory entry changes, and the directory of
        // /dev/stdout's /proc/self/fd/1 can't be synced ("Invalid argument"), which failed `index build --output
        // /dev/stdout | …` after every byte had gone out (hostile run 13).
        let renamed = !FileReplacement.isSpecialFile(destination)
        do { try FileReplacement.commit(temporaryPath, to: destination) } catch {
            throw IndexError.io(path: path, reason: error.reason)
        }
        committed = true
        if renamed { try IndexFileWriter.syncDirectory(IndexFileWriter.directory(of: destination)) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IndexError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, base + done, bytes.count - done, off_t(offset + done))
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw IndexError.io(path: path, reason: systemErrorText()) }
            done += written
        }
    }

    /// The directory part of a path, `.` when it has none.
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Makes a rename in `directory` durable.
    package static func syncDirectory(_ directory: String) throws(IndexError) {
        let handle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard handle >= 0 else { throw IndexError.io(path: directory, reason: systemErrorText()) }
        defer { close(handle) }
        guard fsync(handle) == 0 else { throw IndexError.io(path: directory, reason: systemErrorText()) }
    }
}

/// A read-only, memory-mapped index file whose header and section table have been validated.
///
/// Sections are verified against their checksums on open unless the caller opts out; ``verify()`` checks
/// them later. The mapping lives as long as this object, so keep it while any section is in use.
/// Immutable after `init`, so it is safe to share between tasks.
public final class MappedIndexFile: @unchecked Sendable {  // immutable after init; the mapping is read-only
    /// One section's place in the file.
    public struct Section: Sendable, Equatable {
        /// The section's four-character tag.
        public let tag: String
        /// Byte offset from the start of the file (a multiple of 64).
        public let offset: Int
        /// Length in bytes.
        public let length: Int
        /// The stored CRC-32C of the section's bytes.
        public let checksum: UInt32
    }

    /// The path the file was opened from.
    public let path: String
    /// The file's format version.
    public let version: UInt32
    /// The 8 kind-specific header values.
    public let fields: [UInt64]
    /// The sections, in file order.
    public let sections: [Section]
    /// The file's size in bytes.
    public var byteCount: Int { mapping.byteCount }
    private let mapping: FileMapping

    /// Maps and validates an index file.
    ///
    /// - Parameters:
    ///   - path: The file to open.
    ///   - magic: The magic the file must start with.
    ///   - readableVersions: The format versions this build understands.
    ///   - verifyChecksums: Whether to check every section's checksum now (reads the whole file once).
    /// - Throws: ``IndexError/io(path:reason:)``, ``IndexError/notAnIndexFile(path:expectedMagic:)``,
    ///   ``IndexError/unsupportedFormat(path:version:readable:)``, ``IndexError/truncated(path:expectedBytes:actualBytes:)``
    ///   or ``IndexError/corrupted(path:section:reason:)``.
    public init(path: String, magic: String, readableVersions: ClosedRange<UInt32>, verifyChecksums: Bool = true)
        throws(IndexError)
    {
        self.path = path
        let mapping = try FileMapping(path: path)
        self.mapping = mapping
        (version, fields, sections) = try mapping.withBytes { (bytes) throws(IndexError) in
            guard let raw = bytes.baseAddress, bytes.count >= 8 else {
                throw IndexError.truncated(
                    path: path, expectedBytes: UInt64(IndexFileLayout.headerSize), actualBytes: UInt64(bytes.count))
            }
            return try MappedIndexFile.validate(
                raw, size: bytes.count, path: path, magic: magic, readableVersions: readableVersions)
        }
        if verifyChecksums {
            // The verify pass reads every page once, front to back: let the kernel read ahead in large blocks
            // instead of faulting pages in one at a time.
            mapping.advise(MADV_SEQUENTIAL | MADV_WILLNEED)
            defer { mapping.advise(MADV_NORMAL) }  // searches revisit the pages: don't let them be dropped
            try verify()
        }
    }

    private static func validate(
        _ raw: UnsafeRawPointer, size: Int, path: String, magic: String, readableVersions: ClosedRange<UInt32>
    ) throws(IndexError) -> (UInt32, [UInt64], [Section]) {
        func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard load(0, as: UInt32.self) == fourCC(magic) else {
            throw IndexError.notAnIndexFile(path: path, expectedMagic: magic)
        }
        let version = load(4, as: UInt32.self)
        guard readableVersions.contains(version) else {
            throw IndexError.unsupportedFormat(path: path, version: version, readable: readableVersions)
        }
        guard size >= IndexFileLayout.headerSize else {
            throw IndexError.truncated(
                path: path, expectedBytes: UInt64(IndexFileLayout.headerSize),
                actualBytes: UInt64(size))
        }
        let recordedLength = load(80, as: UInt64.self)
        let sectionCount = Int(load(12, as: UInt32.self))
        let tableEnd = IndexFileLayout.headerSize + sectionCount * IndexFileLayout.sectionEntrySize
        guard sectionCount <= 4096 else {
            throw IndexError.corrupted(
                path: path, section: "header", reason: "section count \(sectionCount) is impossible")
        }
        guard tableEnd <= size else {
            // The section table is cut off: a truncated file, or a damaged count that the checksum can't vouch for.
            throw recordedLength > UInt64(size)
                ? IndexError.truncated(path: path, expectedBytes: recordedLength, actualBytes: UInt64(size))
                : IndexError.corrupted(path: path, section: "header", reason: "the section table runs past the end")
        }
        let checksum = crc32c(
            UnsafeRawBufferPointer(
                start: raw + IndexFileLayout.headerSize, count: tableEnd - IndexFileLayout.headerSize),
            continuing: crc32c(UnsafeRawBufferPointer(start: raw, count: IndexFileLayout.headerChecksumOffset)))
        guard checksum == load(IndexFileLayout.headerChecksumOffset, as: UInt32.self) else {
            throw IndexError.corrupted(path: path, section: "header", reason: "header checksum mismatch")
        }
        if recordedLength > UInt64(size) {
            throw IndexError.truncated(path: path, expectedBytes: recordedLength, actualBytes: UInt64(size))
        }
        guard recordedLength == UInt64(size) else {
            throw IndexError.corrupted(
                path: path, section: "header",
                reason: "file is \(size) bytes, the header says \(recordedLength)")
        }
        // The checksum says the header is as written; these say it was written by a build that knows its meaning.
        guard load(8, as: UInt32.self) == 0 else {
            throw IndexError.corrupted(
                path: path, section: "header",
                reason: "unknown flags \(load(8, as: UInt32.self)) (this build sets none)")
        }
        for offset in stride(from: 88, to: IndexFileLayout.headerChecksumOffset, by: 4)
        where load(offset, as: UInt32.self) != 0 {
            throw IndexError.corrupted(path: path, section: "header", reason: "reserved byte \(offset) is not zero")
        }
        let fields = (0..<IndexFileLayout.fieldCount).map { load(16 + 8 * $0, as: UInt64.self) }
        var sections: [Section] = []
        for index in 0..<sectionCount {
            let entry = IndexFileLayout.headerSize + index * IndexFileLayout.sectionEntrySize
            let tag = fourCCName(load(entry, as: UInt32.self))
            let offset = load(entry + 8, as: UInt64.self)
            let length = load(entry + 16, as: UInt64.self)
            guard offset % UInt64(IndexFileLayout.alignment) == 0, offset >= UInt64(tableEnd),
                offset <= UInt64(size), length <= UInt64(size) - offset
            else {
                throw IndexError.corrupted(path: path, section: tag, reason: "its bounds lie outside the file")
            }
            guard load(entry + 4, as: UInt32.self) == 0, load(entry + 28, as: UInt32.self) == 0 else {
                throw IndexError.corrupted(path: path, section: tag, reason: "reserved bytes of its entry are not zero")
            }
            guard !sections.contains(where: { $0.tag == tag }) else {
                throw IndexError.corrupted(path: path, section: tag, reason: "the section appears twice")
            }
            sections.append(
                Section(
                    tag: tag, offset: Int(offset), length: Int(length),
                    checksum: load(entry + 24, as: UInt32.self)))
        }
        // Sections are written one after another: two that share bytes were put there by hand.
        let ordered = sections.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.offset + previous.length > next.offset
        {
            throw IndexError.corrupted(
                path: path, section: next.tag, reason: "it overlaps section \(previous.tag)")
        }
        return (version, fields, sections)
    }

    /// Checks every section against its checksum.
    ///
    /// - Throws: ``IndexError/corrupted(path:section:reason:)`` naming the first bad section.
    /// - Complexity: Reads the whole file once, large sections on every core.
    public func verify() throws(IndexError) {
        for section in sections {
            let actual = try withSection(at: section) { parallelCRC32C($0) }
            guard actual == section.checksum else {
                throw IndexError.corrupted(path: path, section: section.tag, reason: "checksum mismatch")
            }
        }
    }

    /// Calls `body` with the bytes of the section tagged `tag`.
    ///
    /// The pointer must not escape `body`.
    /// - Throws: ``IndexError/corrupted(path:section:reason:)`` when the section is missing, or what `body` throws.
    package func withSection<Result>(
        _ tag: String, _ body: (UnsafeRawBufferPointer) throws(IndexError) -> Result
    ) throws(IndexError) -> Result {
        guard let section = sections.first(where: { $0.tag == tag }) else {
            throw IndexError.corrupted(path: path, section: tag, reason: "the section is missing")
        }
        return try withSection(at: section, body)
    }

    private func withSection<Result>(
        at section: Section, _ body: (UnsafeRawBufferPointer) throws(IndexError) -> Result
    ) throws(IndexError) -> Result {
        try mapping.withBytes { (bytes) throws(IndexError) in
            try body(UnsafeRawBufferPointer(rebasing: bytes[section.offset..<section.offset + section.length]))
        }
    }

    /// Copies the section tagged `tag` into an array of `Element`.
    ///
    /// - Throws: ``IndexError/corrupted(path:section:reason:)`` when the section is missing or its length
    ///   is not a multiple of the element size, or differs from `expectedCount` when one is given.
    public func array<Element: BitwiseCopyable>(
        _ tag: String, of type: Element.Type, expectedCount: Int? = nil
    ) throws(IndexError) -> [Element] {
        try withSection(tag) { (bytes) throws(IndexError) in
            let stride = MemoryLayout<Element>.stride
            guard bytes.count % stride == 0 else {
                throw IndexError.corrupted(
                    path: path, section: tag,
                    reason: "\(bytes.count) bytes is not a whole number of \(stride)-byte elements")
            }
            let count = bytes.count / stride
            if let expectedCount, expectedCount != count {
                throw IndexError.corrupted(
                    path: path, section: tag,
                    reason: "holds \(count) elements, the header implies \(expectedCount)")
            }
            return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
                if let target = buffer.baseAddress, let source = bytes.baseAddress {
                    UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * stride)
                }
                initialized = count
            }
        }
    }
}
