import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

/// Files whose checksums were fixed after a change: the checksums vouch for them, so the structure and value
/// checks must refuse them (issue 17, finding 9).
@Suite struct IndexFileStructureTests {
    /// A saved index of three vectors and its bytes.
    static func saved(
        _ directory: TemporaryDirectory, metric: Metric = .cosine, storage: VectorStorage = .f32
    ) throws -> (path: String, bytes: [UInt8]) {
        var index = try FlatIndex(dimension: 4, metric: metric, storage: storage)
        try index.add([1, 2, 3, 4], id: 1)
        try index.add([-1, 0, 2, 0], id: 2)
        try index.add([0, 0, 0, 5], id: 3)
        let path = directory.file("index.mvi")
        try index.save(to: path)
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    static func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as type: T.Type) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    static func store<T: FixedWidthInteger>(_ value: T, in bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }

    /// Recomputes every section checksum and the header checksum, as a forger would, and writes the file.
    static func writeWithFixedChecksums(_ bytes: [UInt8], to path: String) throws {
        var bytes = bytes
        let sectionCount = Int(load(bytes, 12, as: UInt32.self))
        for index in 0..<sectionCount {
            let entry = 128 + index * 32
            let offset = Int(load(bytes, entry + 8, as: UInt64.self))
            let length = Int(load(bytes, entry + 16, as: UInt64.self))
            let checksum = bytes.withUnsafeBytes {
                crc32c(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + length]))
            }
            store(checksum, in: &bytes, at: entry + 24)
        }
        let tableEnd = 128 + sectionCount * 32
        let header = bytes.withUnsafeBytes {
            crc32c(
                UnsafeRawBufferPointer(rebasing: $0[128..<tableEnd]),
                continuing: crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<124])))
        }
        store(header, in: &bytes, at: 124)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func section(_ tag: String, of path: String) throws -> MappedIndexFile.Section {
        let file = try MappedIndexFile(
            path: path, magic: VectorIndexFile.magic, readableVersions: VectorIndexFile.readableVersions,
            verifyChecksums: false)
        return try #require(file.sections.first { $0.tag == tag })
    }

    /// Expects `read` to throw ``IndexError/corrupted(path:section:reason:)`` for `path`, naming `section` (any
    /// section when `nil`), with a reason that `isExpected` accepts: for reasons whose details (offsets, measured
    /// lengths) the test doesn't pin.
    static func expectCorrupted<Value>(
        _ path: String, section: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
        reading read: () throws -> Value, reason isExpected: (String) -> Bool
    ) {
        #expect(sourceLocation: sourceLocation) {
            try read()
        } throws: { error in
            guard case .corrupted(path, let named, let reason) = error as? IndexError else { return false }
            return (section == nil || named == section) && isExpected(reason)
        }
    }

    @Test func unknownFlagsAndReservedBytesAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, original) = try Self.saved(directory)
        var flagged = original
        Self.store(UInt32(1), in: &flagged, at: 8)
        try Self.writeWithFixedChecksums(flagged, to: path)
        #expect(
            throws: IndexError.corrupted(
                path: path, section: "header", reason: "unknown flags 1 (this build sets none)")
        ) { try FlatIndex(contentsOf: path) }
        var reserved = original
        reserved[100] = 7
        try Self.writeWithFixedChecksums(reserved, to: path)
        #expect(throws: IndexError.corrupted(path: path, section: "header", reason: "reserved byte 100 is not zero")) {
            try FlatIndex(contentsOf: path)
        }
        var entryReserved = original
        entryReserved[128 + 4] = 1
        try Self.writeWithFixedChecksums(entryReserved, to: path)
        #expect(
            throws: IndexError.corrupted(
                path: path, section: "IDS ", reason: "reserved bytes of its entry are not zero")
        ) { try FlatIndex(contentsOf: path) }
    }

    @Test func overlappingSectionsAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, original) = try Self.saved(directory)
        var overlapping = original
        // The second section (VECS) starts where the first (IDS ) does.
        Self.store(Self.load(original, 128 + 8, as: UInt64.self), in: &overlapping, at: 128 + 32 + 8)
        try Self.writeWithFixedChecksums(overlapping, to: path)
        Self.expectCorrupted(path, reading: { try FlatIndex(contentsOf: path) }) { $0.hasPrefix("it overlaps section") }
    }

    /// An inner-product row whose scores could overflow a Float (written before such rows were refused, or forged)
    /// is found by the value check.
    @Test func anInnerProductRowTooLargeToScoreIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, original) = try Self.saved(directory, metric: .innerProduct)
        let vectors = try Self.section("VECS", of: path)
        var large = original
        Self.store(Float(2e19).bitPattern, in: &large, at: vectors.offset)
        try Self.writeWithFixedChecksums(large, to: path)
        Self.expectCorrupted(
            path, section: "VECS", reading: { try FlatIndex(contentsOf: path).verifyValues(path: path) }
        ) {
            $0.hasPrefix("ID 1: the row's norm 2e+19 is over 9.2233715e+18")
        }
    }

    @Test func nonFiniteAndUnnormalizedRowsAndBadScalesAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, original) = try Self.saved(directory, storage: .int8)
        let vectors = try Self.section("VECS", of: path)
        #expect(throws: Never.self) { try FlatIndex(contentsOf: path).verifyValues(path: path) }

        var withNaN = original
        Self.store(Float.nan.bitPattern, in: &withNaN, at: vectors.offset)
        try Self.writeWithFixedChecksums(withNaN, to: path)
        #expect(throws: IndexError.corrupted(path: path, section: "VECS", reason: "ID 1: component 0 is nan")) {
            try FlatIndex(contentsOf: path).verifyValues(path: path)
        }

        var stretched = original
        for component in 0..<4 {
            let offset = vectors.offset + 4 * component
            let value = Float(bitPattern: Self.load(original, offset, as: UInt32.self))
            Self.store((2 * value).bitPattern, in: &stretched, at: offset)
        }
        try Self.writeWithFixedChecksums(stretched, to: path)
        Self.expectCorrupted(
            path, section: "VECS", reading: { try FlatIndex(contentsOf: path).verifyValues(path: path) }
        ) {
            $0.hasPrefix("ID 1: a cosine row has squared length") && $0.hasSuffix(", not 1")
        }

        let scales = try Self.section("SCAL", of: path)
        for bad: Float in [-1, .nan] {
            var scaled = original
            Self.store(bad.bitPattern, in: &scaled, at: scales.offset + 4)
            try Self.writeWithFixedChecksums(scaled, to: path)
            #expect(throws: IndexError.corrupted(path: path, section: "SCAL", reason: "ID 2: the scale is \(bad)")) {
                try FlatIndex(contentsOf: path).verifyValues(path: path)
            }
        }
    }
}
