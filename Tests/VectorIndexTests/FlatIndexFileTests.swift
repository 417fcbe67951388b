import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct FlatIndexFileTests {
    @Test(arguments: Metric.allCases, VectorStorage.allCases)
    func roundTripsEveryMetricAndStorage(metric: Metric, storage: VectorStorage) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let vectors = gaussianVectors(count: 500, dimension: 24, normalized: false, seed: 3)
        var index = try makeIndex(vectors, metric: metric, storage: storage)
        try index.remove(17)
        try index.remove(400)
        let path = directory.file("index.mvi")
        try index.save(to: path)
        let opened = try FlatIndex(contentsOf: path)
        #expect(opened.dimension == 24 && opened.metric == metric && opened.vectorStorage == storage)
        #expect(opened.count == 498 && opened.rowCount == 498)
        #expect(!opened.contains(17) && opened.contains(18))
        #expect(opened.ids == index.ids)
        for query in gaussianVectors(count: 3, dimension: 24, seed: 4) {
            #expect(try opened.search(query, k: 10) == index.search(query, k: 10))
        }
        #expect(opened.vector(for: 499) == index.vector(for: 499))
    }

    @Test func mappedIndexAddsBesideItsMappedRows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("index.mvi")
        try makeIndex(integerVectors(count: 100, dimension: 8, seed: 1), metric: .innerProduct).save(to: path)
        let opened = try FlatIndex(contentsOf: path)
        #expect(opened.storage.vectors.isMapped && opened.additions == nil)
        var changed = opened
        try changed.add([Float](repeating: 9, count: 8), id: 1000)
        try changed.upsert([Float](repeating: 1, count: 8), id: 3)
        // The mapped rows are not copied: the two vectors are kept beside them, and row 3 is a tombstone.
        #expect(changed.storage.vectors.isMapped && changed.additions?.ids == [1000, 3])
        #expect(changed.count == 101 && changed.rowCount == 102)
        #expect(opened.storage.vectors.isMapped && opened.count == 100 && !opened.contains(1000))
        #expect(try changed.search([Float](repeating: 1, count: 8), k: 1).map(\.id) == [1000])
        #expect(changed.vector(for: 3) == [Float](repeating: 1, count: 8))
        #expect(opened.vector(for: 3) != [Float](repeating: 1, count: 8))
        // The file on disk is untouched by the mutation of the mapped copy.
        #expect(try FlatIndex(contentsOf: path).vector(for: 3) == opened.vector(for: 3))
    }

    @Test func emptyIndexRoundTrips() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("empty.mvi")
        try FlatIndex(dimension: 1536, metric: .l2, storage: .int8).save(to: path)
        let opened = try FlatIndex(contentsOf: path)
        #expect(opened.count == 0 && opened.dimension == 1536 && opened.metric == .l2)
        #expect(try opened.search([Float](repeating: 1, count: 1536), k: 3).isEmpty)
    }

    /// Every byte of every section, flipped, is caught and the error names the right section.
    @Test(arguments: [VectorStorage.f32, .int8])
    func everyCorruptedByteIsCaughtAndNamed(storage: VectorStorage) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("index.mvi")
        try makeIndex(integerVectors(count: 7, dimension: 5, seed: 2), metric: .l2, storage: storage).save(to: path)
        let layout = try MappedIndexFile(path: path, magic: "MVIX", readableVersions: 1...1)
        #expect(
            Set(layout.sections.map(\.tag))
                == (storage == .int8 ? ["IDS ", "VECS", "NORM", "CODE", "SCAL"] : ["IDS ", "VECS", "NORM"]))
        let damaged = directory.file("damaged.mvi")
        try forEachFlippedByte(of: path, mask: 0x10, writingTo: damaged) { offset in
            let section = layout.sections.first { ($0.offset..<$0.offset + $0.length).contains(offset) }
            do throws(IndexError) {
                _ = try FlatIndex(contentsOf: damaged)
                // Only padding between sections may change without notice; it is never read.
                #expect(section == nil && offset >= 128 + 32 * layout.sections.count, "byte \(offset) undetected")
            } catch {
                if let section {
                    #expect(error == .corrupted(path: damaged, section: section.tag, reason: "checksum mismatch"))
                } else if offset < 4 {
                    #expect(error == .notAnIndexFile(path: damaged, expectedMagic: "MVIX"))
                } else if offset < 8 {
                    #expect(
                        error
                            == .unsupportedFormat(
                                path: damaged, version: 1 ^ (0x10 << (8 * UInt32(offset - 4))), readable: 1...1))
                } else {
                    #expect(
                        {
                            if case .corrupted(_, _, _) = error {
                                true
                            } else if case .truncated = error {
                                true
                            } else {
                                false
                            }
                        }(),
                        "byte \(offset): \(error)")
                }
            }
        }
    }

    @Test func truncationAtAnyPointIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("index.mvi")
        try makeIndex(integerVectors(count: 40, dimension: 9, seed: 8), metric: .cosine, storage: .int8).save(to: path)
        let cut = directory.file("cut.mvi")
        try forEachTruncation(of: path, every: 13, allBelow: 300, writingTo: cut) { length in
            #expect(throws: IndexError.self, "length \(length)") { try FlatIndex(contentsOf: cut) }
            #expect(throws: IndexError.self, "length \(length)") {
                try FlatIndex(contentsOf: cut, verifyChecksums: false)
            }
        }
    }

    @Test func rejectsOtherFilesAndNewerVersions() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try expectRefusesIndexFile(ofKind: "MKIX", expecting: "MVIX", in: directory) { try FlatIndex(contentsOf: $0) }
        let newer = try writeIndexFile(
            at: directory.file("newer.mvi"), magic: "MVIX", version: 2, fields: [4, 0, 0, 0])
        #expect(throws: IndexError.unsupportedFormat(path: newer, version: 2, readable: 1...1)) {
            try FlatIndex(contentsOf: newer)
        }
        let missing = directory.file("missing.mvi")
        #expect(throws: IndexError.io(path: missing, reason: "No such file or directory")) {
            try FlatIndex(contentsOf: missing)
        }
    }

    @Test func rejectsInconsistentHeadersWithValidChecksums() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func write(_ name: String, fields: [UInt64], sections: [(tag: String, values: [UInt64])]) throws -> String {
            try writeIndexFile(at: directory.file(name), magic: "MVIX", fields: fields, sections: sections)
        }
        let badMetric = try write("metric.mvi", fields: [2, 9, 0, 0], sections: [])
        #expect(throws: IndexError.corrupted(path: badMetric, section: "header", reason: "unknown metric code 9")) {
            try FlatIndex(contentsOf: badMetric)
        }
        let badDimension = try write("dimension.mvi", fields: [0, 0, 0, 0], sections: [])
        #expect(
            throws: IndexError.corrupted(
                path: badDimension, section: "header", reason: "dimension 0 is outside 1...4096")
        ) {
            try FlatIndex(contentsOf: badDimension)
        }
        let shortVectors = try write("short.mvi", fields: [2, 1, 0, 2], sections: [("IDS ", [1, 2]), ("VECS", [0])])
        #expect(
            throws: IndexError.corrupted(
                path: shortVectors, section: "VECS", reason: "holds 8 bytes, the header implies 16")
        ) {
            try FlatIndex(contentsOf: shortVectors)
        }
        let duplicate = try write(
            "duplicate.mvi", fields: [2, 1, 0, 2], sections: [("IDS ", [5, 5]), ("VECS", [0, 0])])
        #expect(throws: IndexError.corrupted(path: duplicate, section: "IDS ", reason: "ID 5 appears twice")) {
            try FlatIndex(contentsOf: duplicate)
        }
        let noVectors = try write("novectors.mvi", fields: [2, 1, 0, 1], sections: [("IDS ", [5])])
        #expect(throws: IndexError.corrupted(path: noVectors, section: "VECS", reason: "the section is missing")) {
            try FlatIndex(contentsOf: noVectors)
        }
    }

    @Test func saveReplacesAtomicallyAndLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("index.mvi")
        try makeIndex([[1, 0]], metric: .innerProduct).save(to: path)
        let opened = try FlatIndex(contentsOf: path)
        // Overwrite the file that `opened` maps: the mapping keeps the old inode, so `opened` stays valid.
        try makeIndex([[0, 1], [1, 1]], metric: .innerProduct).save(to: path)
        #expect(opened.vector(for: 0) == [1, 0])
        #expect(try FlatIndex(contentsOf: path).count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["index.mvi"])
        #expect(throws: IndexError.self) {
            try makeIndex([[1, 0]], metric: .l2).save(to: directory.file("no/such/dir.mvi"))
        }
    }
}
