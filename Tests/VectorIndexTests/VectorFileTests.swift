import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import VectorIndex

@Suite struct VectorFileTests {
    static func sample() throws -> VectorSet { try VectorSet([[1, 2, 3], [0, 255, 7], [4, 5, 6]]) }

    @Test(arguments: VectorFileFormat.allCases)
    func roundTrips(format: VectorFileFormat) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("vectors." + format.rawValue)
        try VectorFile.write(try Self.sample(), to: path)
        #expect(try VectorFile.read(path) == Self.sample())
    }

    @Test func texmexLayoutIsLittleEndianDimensionThenComponents() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("one.bvecs")
        try VectorFile.write(try VectorSet([[1, 2]]), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([2, 0, 0, 0, 1, 2]))
        let ivecs = directory.file("ids.ivecs")
        try VectorFile.writeIntegers([[7, -1], [3, 4]], to: ivecs)
        #expect(try VectorFile.readIntegers(ivecs) == [[7, -1], [3, 4]])
    }

    @Test func searchResultsBecomeFixedWidthRowsPaddedWithMinusOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("results.ivecs")
        let results = [
            [SearchHit(id: 4, score: 1), SearchHit(id: 0, score: 0.5), SearchHit(id: 9, score: 0.1)],
            [SearchHit(id: 2, score: 3)],
            [],
        ]
        try VectorFile.writeResults(results, width: 2, to: path)
        #expect(try VectorFile.readIntegers(path) == [[4, 0], [2, -1], [-1, -1]])
    }

    @Test func resultIDsBeyondInt32AreRejectedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("results.ivecs")
        let large = DocumentID(UInt64(Int32.max) + 1)
        #expect(throws: IndexError.idOutOfRange(large, path: path, limit: 2_147_483_647)) {
            try VectorFile.writeResults(
                [[SearchHit(id: 1, score: 1)], [SearchHit(id: large, score: 0)]], width: 1, to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(
            IndexError.idOutOfRange(large, path: path, limit: 2_147_483_647).description
                == "ID 2147483648 does not fit \(path), which holds IDs up to 2147483647; nothing was written. "
                + "Renumber the documents so that their IDs fit.")
    }

    @Test func fractionalValuesDoNotFitIntegerFormats() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let values = try VectorSet([[1, 2.5]])
        #expect(throws: IndexError.notRepresentable(row: 0, position: 1, value: 2.5, format: "ivecs")) {
            try VectorFile.write(values, to: directory.file("x.ivecs"))
        }
        #expect(throws: IndexError.notRepresentable(row: 0, position: 0, value: 300, format: "bvecs")) {
            try VectorFile.write(try VectorSet([[300]]), to: directory.file("x.bvecs"))
        }
    }

    @Test func malformedTexmexFilesNameTheRecord() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.fvecs")
        func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        let record: [UInt8] = [2, 0, 0, 0] + Array(repeating: 0, count: 8)
        try write(record + record.prefix(5))
        #expect(
            throws: IndexError.malformedInput(
                path: path, location: "record 1 (byte 12)",
                reason: "the file ends inside a record: 17 bytes is not a multiple of the 12-byte record of dimension 2"
            )
        ) {
            try VectorFile.read(path)
        }
        try write(record + [3, 0, 0, 0] + Array(repeating: 0, count: 8))
        #expect(
            throws: IndexError.malformedInput(
                path: path, location: "record 1 (byte 12)",
                reason: "dimension 3, but the first record has 2")
        ) {
            try VectorFile.read(path)
        }
        try write([])
        #expect(throws: IndexError.malformedInput(path: path, location: "byte 0", reason: "the file holds no vectors"))
        {
            try VectorFile.read(path)
        }
        try write([0, 0, 0, 0x80] + Array(repeating: 0, count: 8))
        #expect(
            throws: IndexError.malformedInput(
                path: path, location: "record 0",
                reason: "dimension -2147483648 is outside 1...4096; is this a TEXMEX file?")
        ) {
            try VectorFile.read(path)
        }
        #expect(
            throws: IndexError.unknownFileType(path: "data.txt", extensions: ["fvecs", "ivecs", "bvecs", "npy"])
        ) {
            try VectorFile.read("data.txt")
        }
        let missing = directory.file("missing.fvecs")
        #expect(throws: IndexError.io(path: missing, reason: "No such file or directory")) {
            try VectorFile.read(missing)
        }
    }

    /// Writes a version 1.0 NumPy file with `header` and `payload` zero bytes of data.
    static func writeNumPy(header: String, payload: Int, to path: String) throws {
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
        bytes += Array(repeating: 0, count: payload)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// NumPy headers this build can't read, the data bytes after each, and where and why reading fails.
    static let unreadableNumPy: [(header: String, payload: Int, location: String, reason: String)] = [
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", 48, "header",
            "dtype '<f8' is not supported; save the array as little-endian float32"
        ),
        (
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24, "header",
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray"
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }\n", 96, "header",
            "shape (2, 3, 4) is not a vector (d,) or a matrix (n, d)"
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20, "byte 70",
            "shape (2, 3) needs 24 data bytes, the file has 20"
        ),
        // A row count whose byte count overflows once trapped (hostile run 4).
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }\n", 16, "byte 88",
            "shape (9223372036854775807, 4) needs more than 9223372036854775807 data bytes, the file has 16"
        ),
        // A repeated key was read with its first value, NumPy's reader keeps the last: the same 24 bytes were two
        // rows of 3 here and three rows of 2 in NumPy (hostile run 5). NumPy refuses keys it doesn't write.
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (3, 2), }\n", 24, "header",
            "key 'shape' appears twice; NumPy reads the last value, so the shape of the data is ambiguous"
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'offset': 8, }\n", 24, "header",
            "key 'offset' is not one NumPy writes (descr, fortran_order, shape)"
        ),
        (
            "{'descr': '<f4', 'fortran_order': False 'shape': (2, 3)}\n", 24, "header",
            "expected , or } after the value of 'fortran_order' at character 40 of the header dictionary"
        ),
    ]

    @Test(arguments: unreadableNumPy)
    func unreadableNumPyFilesSayWhy(header: String, payload: Int, location: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.npy")
        try Self.writeNumPy(header: header, payload: payload, to: path)
        #expect(throws: IndexError.malformedInput(path: path, location: location, reason: reason)) {
            try VectorFile.read(path)
        }
    }

    /// NumPy headers this build reads, the data bytes after each, and the rows read: a vector (a 1-D shape) is one
    /// row, and a header may quote its keys with double quotes.
    static let readableNumPy: [(header: String, payload: Int, rows: [[Float]])] = [
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 12, [[0, 0, 0]]),
        (#"{"descr": "<f4", "fortran_order": False, "shape": (1, 2)}"# + "\n", 8, [[0, 0]]),
    ]

    @Test(arguments: readableNumPy)
    func readableNumPyHeadersGiveTheirRows(header: String, payload: Int, rows: [[Float]]) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("good.npy")
        try Self.writeNumPy(header: header, payload: payload, to: path)
        #expect(try VectorFile.read(path) == VectorSet(rows))
    }

    @Test func otherFilesAreNotNumPy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.npy")
        try Data("not numpy at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(
            throws: IndexError.malformedInput(
                path: path, location: "byte 0",
                reason: "not a NumPy .npy file (missing the \\x93NUMPY magic)")
        ) {
            try VectorFile.read(path)
        }
    }

    @Test func numPyFilesFromNumPyAreReadable() throws {
        // Bytes of np.save(f, np.array([[1.5, -2]], dtype=np.float32)) with NumPy 2.x.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"
        let padded = header + String(repeating: " ", count: 128 - 10 - header.utf8.count - 1) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(padded.utf8.count), 0] + Array(padded.utf8)
        withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: Float(-2).bitPattern.littleEndian) { bytes += $0 }
        let path = directory.file("numpy.npy")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try VectorFile.read(path) == VectorSet([[1.5, -2]]))
        // What we write has the same 64-byte-aligned layout.
        let ours = directory.file("ours.npy")
        try VectorFile.write(try VectorSet([[1.5, -2]]), to: ours)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ours)).count == 128 + 8)
    }
}
