import CKernels
import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import RetrievalCore

@Suite struct IndexFileTests {
    static let magic = "TEST"

    /// Writes a file with two sections and returns its path.
    func writeSample(in directory: TemporaryDirectory, name: String = "sample.idx") throws -> String {
        let path = directory.file(name)
        let writer = try IndexFileWriter(
            path: path, magic: Self.magic, version: 2, fields: [384, 1, 3],
            sectionCapacity: 2)
        try writer.appendSection("VECS", [Float](stride(from: 0, to: 100, by: 1)))
        try writer.appendSection("IDS ", [UInt64](arrayLiteral: 5, 6, 7))
        try writer.commit()
        return path
    }

    @Test func roundTripsFieldsAndSections() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try MappedIndexFile(path: try writeSample(in: directory), magic: Self.magic, readableVersions: 1...2)
        #expect(file.version == 2)
        #expect(Array(file.fields.prefix(4)) == [384, 1, 3, 0])
        #expect(file.sections.map(\.tag) == ["VECS", "IDS "])
        #expect(file.sections.allSatisfy { $0.offset % 64 == 0 })
        #expect(try file.array("VECS", of: Float.self) == [Float](stride(from: 0, to: 100, by: 1)))
        #expect(try file.array("IDS ", of: UInt64.self, expectedCount: 3) == [5, 6, 7])
        #expect(throws: IndexError.corrupted(path: file.path, section: "NONE", reason: "the section is missing")) {
            try file.array("NONE", of: UInt8.self)
        }
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sample.idx"])
    }

    // A directory opened, then failed to map with "No such device".
    @Test func directoryIsNamedAsOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: IndexError.io(path: directory.path, reason: "is a directory, not a regular file")) {
            try MappedIndexFile(path: directory.path, magic: Self.magic, readableVersions: 1...2)
        }
    }

    @Test func rejectsWrongMagicAndNewerVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try writeSample(in: directory)
        #expect(throws: IndexError.notAnIndexFile(path: path, expectedMagic: "OTHR")) {
            try MappedIndexFile(path: path, magic: "OTHR", readableVersions: 1...2)
        }
        #expect(throws: IndexError.unsupportedFormat(path: path, version: 2, readable: 1...1)) {
            try MappedIndexFile(path: path, magic: Self.magic, readableVersions: 1...1)
        }
    }

    @Test func everyFlippedByteIsCaughtAndNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try writeSample(in: directory)
        let layout = try MappedIndexFile(path: path, magic: Self.magic, readableVersions: 1...2)
        let damaged = directory.file("damaged.idx")
        try forEachFlippedByte(of: path, mask: 0x40, writingTo: damaged) { offset in
            let inSection = layout.sections.first { ($0.offset..<$0.offset + $0.length).contains(offset) }
            do throws(IndexError) {
                _ = try MappedIndexFile(path: damaged, magic: Self.magic, readableVersions: 1...2)
                // Padding between sections carries no data; every other byte must be caught.
                let isPadding =
                    offset >= IndexFileLayout.headerSize + 2 * IndexFileLayout.sectionEntrySize
                    && inSection == nil
                #expect(isPadding, "flipping byte \(offset) went unnoticed")
            } catch let error {
                switch error {
                case .corrupted(_, let section, _):
                    #expect(section == (inSection?.tag ?? "header"), "byte \(offset)")
                case .notAnIndexFile, .unsupportedFormat:
                    #expect(offset < 8, "byte \(offset) gave \(error)")
                default:
                    Issue.record("byte \(offset): unexpected \(error)")
                }
            }
        }
    }

    @Test func truncationAtAnyPointIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cut = directory.file("cut.idx")
        try forEachTruncation(of: try writeSample(in: directory), every: 7, writingTo: cut) { length in
            #expect(throws: IndexError.self, "length \(length)") {
                try MappedIndexFile(path: cut, magic: Self.magic, readableVersions: 1...2)
            }
        }
    }

    @Test func uncommittedWriterLeavesThePreviousFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try writeSample(in: directory)
        do {
            let writer = try IndexFileWriter(path: path, magic: Self.magic, version: 2, fields: [], sectionCapacity: 1)
            try writer.appendSection("VECS", [Float](repeating: 9, count: 10))
        }
        let file = try MappedIndexFile(path: path, magic: Self.magic, readableVersions: 1...2)
        #expect(try file.array("IDS ", of: UInt64.self) == [5, 6, 7])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sample.idx"])
    }

    @Test func crc32cMatchesPublishedCheckValues() {
        // RFC 3720 B.4 and the common "123456789" check value.
        let check = Array("123456789".utf8).withUnsafeBytes { crc32c($0) }
        #expect(check == 0xE306_9283)
        let zeros = [UInt8](repeating: 0, count: 32).withUnsafeBytes { crc32c($0) }
        #expect(zeros == 0x8A91_36AA)
        let ones = [UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { crc32c($0) }
        #expect(ones == 0x62A8_AB43)
        // Chunked computation equals one pass, across the 8-byte alignment paths.
        var rng = SplitMix64(seed: 1)
        let bytes = (0..<10_003).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = bytes.withUnsafeBytes { crc32c($0) }
        let chunked = bytes.withUnsafeBytes { all in
            crc32c(
                UnsafeRawBufferPointer(rebasing: all[4_001...]),
                continuing: crc32c(UnsafeRawBufferPointer(rebasing: all[..<4_001])))
        }
        #expect(whole == chunked)
    }

    /// CRC-32C one bit at a time: slow, obviously right, independent of every fast path.
    static func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    /// Lengths around the three-stream chunk (3 x 4,096 bytes) and misaligned starts take every path: the
    /// byte-wise head, the chunks with their combine, the 8-byte tail and the byte tail.
    @Test func crc32cMatchesTheBitwiseDefinitionOnLongBuffers() {
        var rng = SplitMix64(seed: 5)
        let bytes = (0..<40_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for (start, length) in [(0, 12_288), (1, 12_287), (3, 12_300), (7, 24_577), (0, 36_865), (5, 39_995)] {
            let piece = Array(bytes[start..<start + length])
            let fast = bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
            #expect(fast == Self.bitwiseCRC32C(piece), "start \(start), length \(length)")
        }
    }

    /// Pieces checksummed separately and combined give the checksum of the whole, for a buffer large enough to
    /// be split across cores.
    @Test func parallelCRC32CEqualsOnePass() {
        var rng = SplitMix64(seed: 6)
        let bytes = (0..<(20 << 20) + 13).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes.withUnsafeBytes { all in
            #expect(parallelCRC32C(all) == crc32c(all))
            let cut = 3_000_001
            let combined = vk_crc32c_combine(
                crc32c(UnsafeRawBufferPointer(rebasing: all[..<cut])),
                crc32c(UnsafeRawBufferPointer(rebasing: all[cut...])), UInt64(all.count - cut))
            #expect(combined == crc32c(all))
        }
    }
}
