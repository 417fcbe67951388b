import Foundation
import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The vector file formats Memp reads and writes.
///
/// TEXMEX formats (<http://corpus-texmex.irisa.fr>) store each vector as a little-endian `Int32` dimension and
/// then its components: `Float32` (`.fvecs`), `Int32` (`.ivecs`) or `UInt8` (`.bvecs`). NumPy `.npy` files
/// (<https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>) must hold a C-ordered
/// little-endian float32 array of shape `(n, d)` or `(d,)`.
public enum VectorFileFormat: String, CaseIterable, Sendable {
    /// TEXMEX 32-bit floats.
    case fvecs
    /// TEXMEX 32-bit signed integers (ground-truth neighbour lists, result IDs).
    case ivecs
    /// TEXMEX unsigned bytes.
    case bvecs
    /// NumPy array of little-endian float32.
    case npy

    /// The format named by the path's extension, or nil.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."), path[dot...].contains("/") == false else { return nil }
        self.init(rawValue: path[path.index(after: dot)...].lowercased())
    }
}

/// Reads and writes vector files, with errors that name the file and the record or byte at fault.
public enum VectorFile {
    /// Reads a vector file; `.ivecs` and `.bvecs` components are converted to `Float`.
    ///
    /// - Parameters:
    ///   - path: The file to read.
    ///   - format: Its format; by default taken from the extension.
    /// - Throws: ``IndexError/unknownFileType(path:extensions:)`` when no format is given and the extension names
    ///   none; ``IndexError/io(path:reason:)`` or ``IndexError/malformedInput(path:location:reason:)``.
    /// - Complexity: One pass over the file, which is memory-mapped rather than read into a buffer.
    public static func read(_ path: String, format: VectorFileFormat? = nil) throws(IndexError) -> VectorSet {
        let format = try resolve(format, path)
        return try FileMapping(path: path).withBytes { (bytes) throws(IndexError) in
            switch format {
            case .fvecs, .ivecs, .bvecs: try readTexmex(bytes, path: path, format: format)
            case .npy: try readNumPy(bytes, path: path)
            }
        }
    }

    /// Reads an `.ivecs` file (such as ground-truth neighbour lists) as integer rows.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` or ``IndexError/malformedInput(path:location:reason:)``.
    public static func readIntegers(_ path: String) throws(IndexError) -> [[Int32]] {
        try FileMapping(path: path).withBytes { (bytes) throws(IndexError) in
            var rows: [[Int32]] = []
            try scanTexmex(bytes, path: path, componentSize: 4) { dimension, count, record, start in
                if record == 0 { rows.reserveCapacity(count) }
                rows.append(
                    (0..<dimension).map {
                        Int32(littleEndian: start.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))
                    })
            }
            return rows
        }
    }

    /// Writes vectors in the given format, atomically (a temporary file renamed over `path`).
    ///
    /// - Throws: ``IndexError/unknownFileType(path:extensions:)`` when no format is given and the extension names
    ///   none; ``IndexError/notRepresentable(row:position:value:format:)`` when a component does not fit the format
    ///   (`.ivecs` needs integers, `.bvecs` integers in 0…255); ``IndexError/io(path:reason:)``.
    public static func write(_ vectors: VectorSet, to path: String, format: VectorFileFormat? = nil)
        throws(IndexError)
    {
        let format = try resolve(format, path)
        var data = Data()
        switch format {
        case .fvecs, .ivecs, .bvecs:
            data.reserveCapacity(vectors.count * (4 + vectors.dimension * 4))
            for row in 0..<vectors.count {
                append(Int32(vectors.dimension), to: &data)
                for (position, value) in vectors[row].enumerated() {
                    switch format {
                    case .fvecs:
                        append(value.bitPattern, to: &data)
                    case .ivecs:
                        guard let integer = Int32(exactly: value) else {
                            throw notRepresentable(value, row: row, position: position, format: format)
                        }
                        append(integer, to: &data)
                    default:
                        guard let byte = UInt8(exactly: value) else {
                            throw notRepresentable(value, row: row, position: position, format: format)
                        }
                        data.append(byte)
                    }
                }
            }
        case .npy:
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(vectors.count), \(vectors.dimension)), }"
            // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
            let unpadded = 10 + header.utf8.count + 1
            header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
            data.append(contentsOf: [0x93] + Array("NUMPY".utf8) + [1, 0])
            append(UInt16(header.utf8.count), to: &data)
            data.append(contentsOf: Array(header.utf8))
            vectors.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try writeAtomically(data, to: path)
    }

    /// Writes integer rows (such as search results) as `.ivecs`, atomically.
    ///
    /// - Throws: ``IndexError/io(path:reason:)``.
    public static func writeIntegers(_ rows: [[Int32]], to path: String) throws(IndexError) {
        var data = Data()
        for row in rows {
            append(Int32(row.count), to: &data)
            for value in row { append(value, to: &data) }
        }
        try writeAtomically(data, to: path)
    }

    /// Writes search results as `.ivecs`, atomically: one row of `width` IDs per query, best first, and `-1` where
    /// a query has fewer hits.
    ///
    /// - Parameters:
    ///   - results: The hits of each query, best first.
    ///   - width: IDs per row; hits beyond it are left out (see ``FlatIndex/resultWidth(k:)``).
    ///   - path: The file to write.
    /// - Throws: ``IndexError/idOutOfRange(_:path:limit:)`` when an ID exceeds `Int32.max`, the largest `.ivecs`
    ///   holds (nothing is written then), ``IndexError/invalidParameter(name:value:expected:)`` for a `width` below
    ///   1, or ``IndexError/io(path:reason:)``.
    public static func writeResults(_ results: [[SearchHit]], width: Int, to path: String) throws(IndexError) {
        guard width >= 1 else { throw .invalidParameter(name: "width", value: Double(width), expected: "at least 1") }
        var rows: [[Int32]] = []
        rows.reserveCapacity(results.count)
        for hits in results {
            var row = [Int32](repeating: -1, count: width)
            for (rank, hit) in hits.prefix(width).enumerated() {
                guard let id = Int32(exactly: hit.id.rawValue) else {
                    throw IndexError.idOutOfRange(hit.id, path: path, limit: UInt64(Int32.max))
                }
                row[rank] = id
            }
            rows.append(row)
        }
        try writeIntegers(rows, to: path)
    }

    private static func resolve(_ format: VectorFileFormat?, _ path: String) throws(IndexError) -> VectorFileFormat {
        if let format = format ?? VectorFileFormat(path: path) { return format }
        throw IndexError.unknownFileType(path: path, extensions: VectorFileFormat.allCases.map(\.rawValue))
    }

    private static func notRepresentable(_ value: Float, row: Int, position: Int, format: VectorFileFormat)
        -> IndexError
    {
        IndexError.notRepresentable(row: row, position: position, value: value, format: format.rawValue)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func writeAtomically(_ data: Data, to path: String) throws(IndexError) {
        do { try FileReplacement.write(data, to: path) } catch { throw IndexError.io(path: path, reason: error.reason) }
    }

    /// Checks a TEXMEX file's records and visits each.
    ///
    /// Every record is an `Int32` dimension, then `dimension` components of `componentSize` bytes. Checks the layout, then calls `visit` with each record's index and its first component.
    private static func scanTexmex(
        _ bytes: UnsafeRawBufferPointer, path: String, componentSize: Int,
        visit: (_ dimension: Int, _ count: Int, _ record: Int, _ components: UnsafeRawPointer) -> Void
    ) throws(IndexError) {
        guard let base = bytes.baseAddress, bytes.count >= 4 else {
            throw IndexError.malformedInput(path: path, location: "byte 0", reason: "the file holds no vectors")
        }
        let dimension = Int(Int32(littleEndian: base.loadUnaligned(as: Int32.self)))
        guard FlatIndex.supportedDimensions.contains(dimension) else {
            throw IndexError.malformedInput(
                path: path, location: "record 0",
                reason: "dimension \(dimension) is outside \(FlatIndex.supportedDimensions); is this a TEXMEX file?")
        }
        let recordSize = 4 + dimension * componentSize
        let count = bytes.count / recordSize
        guard bytes.count % recordSize == 0 else {
            throw IndexError.malformedInput(
                path: path, location: "record \(count) (byte \(count * recordSize))",
                reason: "the file ends inside a record: \(bytes.count) bytes is not a multiple of the "
                    + "\(recordSize)-byte record of dimension \(dimension)")
        }
        for record in 0..<count {
            let start = base + record * recordSize
            let recordDimension = Int(Int32(littleEndian: start.loadUnaligned(as: Int32.self)))
            guard recordDimension == dimension else {
                throw IndexError.malformedInput(
                    path: path, location: "record \(record) (byte \(record * recordSize))",
                    reason: "dimension \(recordDimension), but the first record has \(dimension)")
            }
            visit(dimension, count, record, start + 4)
        }
    }

    private static func readTexmex(_ bytes: UnsafeRawBufferPointer, path: String, format: VectorFileFormat)
        throws(IndexError) -> VectorSet
    {
        var values: [Float] = []
        var dimension = 0
        try scanTexmex(bytes, path: path, componentSize: format == .bvecs ? 1 : 4) { rowLength, count, record, start in
            if record == 0 {
                dimension = rowLength
                values = [Float](repeating: 0, count: count * rowLength)
            }
            values.withUnsafeMutableBufferPointer { values in
                let row = UnsafeMutableBufferPointer(rebasing: values[record * rowLength..<(record + 1) * rowLength])
                switch format {
                case .ivecs:
                    for position in 0..<rowLength {
                        row[position] = Float(
                            Int32(littleEndian: start.loadUnaligned(fromByteOffset: 4 * position, as: Int32.self)))
                    }
                case .bvecs:
                    for position in 0..<rowLength {
                        row[position] = Float(start.load(fromByteOffset: position, as: UInt8.self))
                    }
                default:
                    UnsafeMutableRawBufferPointer(row).copyMemory(
                        from: UnsafeRawBufferPointer(start: start, count: 4 * rowLength))
                }
            }
        }
        return try VectorSet(dimension: dimension, values: values)
    }

    private static func readNumPy(_ bytes: UnsafeRawBufferPointer, path: String) throws(IndexError) -> VectorSet {
        func malformed(_ location: String, _ reason: String) -> IndexError {
            IndexError.malformedInput(path: path, location: location, reason: reason)
        }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw malformed("byte 0", "not a NumPy .npy file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw malformed("byte 8", "the header length is cut off") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw malformed("byte 6", "format version \(major) is not supported (1, 2 or 3)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw malformed("byte \(headerStart)", "the header is cut off")
        }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        let fields: [String: String]
        switch headerFields(header) {
        case .success(let parsed): fields = parsed
        case .failure(let problem): throw malformed("header", problem.reason)
        }
        guard let descr = fields["descr"] else {
            throw malformed("header", "no 'descr' field")
        }
        guard descr == "'<f4'" || descr == "'float32'" || descr == "'=f4'" else {
            throw malformed("header", "dtype \(descr) is not supported; save the array as little-endian float32")
        }
        guard fields["fortran_order"] == "False" else {
            throw malformed("header", "Fortran-ordered arrays are not supported; save with np.ascontiguousarray")
        }
        guard let shapeText = fields["shape"] else {
            throw malformed("header", "no 'shape' field")
        }
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let dimensions = shape.compactMap { Int($0) }
        guard dimensions.count == shape.count, (1...2).contains(dimensions.count), dimensions.allSatisfy({ $0 >= 0 })
        else {
            throw malformed("header", "shape \(shapeText) is not a vector (d,) or a matrix (n, d)")
        }
        let count = dimensions.count == 2 ? dimensions[0] : 1
        let dimension = dimensions.last ?? 0
        guard FlatIndex.supportedDimensions.contains(dimension) else {
            throw malformed("header", "dimension \(dimension) is outside \(FlatIndex.supportedDimensions)")
        }
        let dataStart = headerStart + headerLength
        // The row count is the file's word: a count near Int.max must be refused, not multiplied into a trap.
        let (expected, overflow) = count.multipliedReportingOverflow(by: dimension * 4)
        guard !overflow, bytes.count - dataStart == expected else {
            throw malformed(
                "byte \(dataStart)",
                "shape \(shapeText) needs \(overflow ? "more than \(Int.max)" : "\(expected)") data bytes, "
                    + "the file has \(bytes.count - dataStart)")
        }
        let values = [Float](unsafeUninitializedCapacity: count * dimension) { buffer, initialized in
            if let target = buffer.baseAddress, let source = bytes.baseAddress {
                UnsafeMutableRawPointer(target).copyMemory(from: source + dataStart, byteCount: expected)
            }
            initialized = count * dimension
        }
        return try VectorSet(dimension: dimension, values: values)
    }

    /// Why a NumPy header is not a dictionary this reader takes.
    private struct HeaderProblem: Error {
        var reason: String
    }

    /// The keys NumPy writes in a `.npy` header, and the only ones its reader accepts.
    private static let headerKeys: Set<String> = ["descr", "fortran_order", "shape"]

    /// The entries of a NumPy header dictionary (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`),
    /// each value as written (a string in single quotes, a tuple with its parentheses).
    ///
    /// A key given twice is refused: NumPy keeps the last value, so a reader taking the first (as this one did)
    /// read another shape from the same bytes. So is a key NumPy doesn't write, as NumPy refuses it.
    private static func headerFields(_ header: String) -> Result<[String: String], HeaderProblem> {
        var rest = Substring(header)
        func fail(_ reason: String) -> Result<[String: String], HeaderProblem> {
            let offset = header.distance(from: header.startIndex, to: rest.startIndex)
            return .failure(HeaderProblem(reason: "\(reason) at character \(offset) of the header dictionary"))
        }
        func skipSpaces() { rest = rest.drop { $0 == " " || $0 == "\n" || $0 == "\t" } }
        /// A quoted string without escapes, with its quotes made single.
        func quoted() -> String? {
            guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
            let body = rest.dropFirst()
            guard let end = body.firstIndex(of: quote), !body[..<end].contains("\\") else { return nil }
            rest = body[body.index(after: end)...]
            return "'\(body[..<end])'"
        }
        skipSpaces()
        guard rest.first == "{" else { return fail("expected {") }
        rest = rest.dropFirst()
        var fields: [String: String] = [:]
        while true {
            skipSpaces()
            if rest.first == "}" { break }
            guard let quotedKey = quoted() else { return fail("expected a quoted key") }
            let key = String(quotedKey.dropFirst().dropLast())
            skipSpaces()
            guard rest.first == ":" else { return fail("expected : after '\(key)'") }
            rest = rest.dropFirst()
            skipSpaces()
            let value: String
            if rest.first == "(" {
                guard let close = rest.firstIndex(of: ")") else { return fail("the tuple of '\(key)' is not closed") }
                value = String(rest[...close])
                rest = rest[rest.index(after: close)...]
            } else if let string = quoted() {
                value = string
            } else {
                let word = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
                guard !word.isEmpty else { return fail("expected a value for '\(key)'") }
                value = String(word)
                rest = rest[word.endIndex...]
            }
            guard headerKeys.contains(key) else {
                return .failure(
                    HeaderProblem(
                        reason: "key '\(key)' is not one NumPy writes ("
                            + headerKeys.sorted().joined(separator: ", ") + ")"))
            }
            guard fields.updateValue(value, forKey: key) == nil else {
                return .failure(
                    HeaderProblem(
                        reason: "key '\(key)' appears twice; NumPy reads the last value, so the shape of the data "
                            + "is ambiguous"))
            }
            skipSpaces()
            if rest.first == "," {
                rest = rest.dropFirst()
            } else if rest.first != "}" {
                return fail("expected , or } after the value of '\(key)'")
            }
        }
        rest = rest.dropFirst()
        skipSpaces()
        guard rest.isEmpty else { return fail("unexpected text after }") }
        return .success(fields)
    }
}
