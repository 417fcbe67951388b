import Foundation
import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw tensor bytes.
///
/// Tensors are read straight from the mapping; F32 and F16 (converted to Float) are supported.
/// Immutable after `init`, so it is safe to share between tasks.
package final class SafeTensorsFile: @unchecked Sendable {  // immutable after init; the mapping is read-only
    /// One tensor's entry in the header.
    package struct TensorInfo: Sendable, Equatable {
        /// The element type as spelled in the file (`F32`, `F16`, `I64`, …).
        package let dtype: String
        /// The tensor's shape, outermost dimension first.
        package let shape: [Int]
        /// Byte range relative to the start of the data area.
        package let byteRange: Range<Int>
    }

    /// The path the file was opened from.
    package let path: String
    /// Every tensor in the header, by name.
    package let tensors: [String: TensorInfo]
    private let mapping: FileMapping
    private let dataStart: Int

    /// Maps `path` and validates its header against the file size.
    ///
    /// - Throws: ``EmbeddingError/io(path:reason:)`` when the file can't be opened or mapped, and
    ///   ``EmbeddingError/invalidModel(path:reason:)`` when the header is malformed or a tensor lies outside the file.
    package init(path: String) throws(EmbeddingError) {
        self.path = path
        // A FIFO in place of the model made `memp embed` wait forever to open it: it is refused unopened.
        mapping = try FileMapping(path: path) { problem in
            switch problem {
            case .notARegularFile(let kind):
                EmbeddingError.io(path: path, reason: "is \(kind), not a model file; install the model again")
            case .missing: EmbeddingError.io(path: path, reason: "No such file or directory")
            case .system(let reason): EmbeddingError.io(path: path, reason: reason)
            case .tooLarge: EmbeddingError.io(path: path, reason: problem.description)
            }
        }
        (tensors, dataStart) = try mapping.withBytes { (bytes) throws(EmbeddingError) in
            guard let raw = bytes.baseAddress, bytes.count >= 8 else {
                throw EmbeddingError.invalidModel(path: path, reason: "file is \(bytes.count) bytes; too short")
            }
            return try SafeTensorsFile.parseHeader(raw, size: bytes.count, path: path)
        }
    }

    private static func parseHeader(_ raw: UnsafeRawPointer, size: Int, path: String) throws(EmbeddingError)
        -> ([String: TensorInfo], Int)
    {
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(size - 8) else {
            throw EmbeddingError.invalidModel(
                path: path, reason: "header length \(headerLength) exceeds the file size \(size)")
        }
        let dataStart = 8 + Int(headerLength)
        let header = Data(bytes: raw + 8, count: Int(headerLength))
        guard let object = try? JSONSerialization.jsonObject(with: header), let entries = object as? [String: Any]
        else {
            throw EmbeddingError.invalidModel(path: path, reason: "the header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in entries where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2
            else {
                throw EmbeddingError.invalidModel(path: path, reason: "tensor \(name) has a malformed header entry")
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= size - dataStart else {
                throw EmbeddingError.invalidModel(
                    path: path, reason: "tensor \(name) bytes \(offsets[0])..<\(offsets[1]) lie outside the file")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        return (tensors, dataStart)
    }

    /// Returns the named tensor as row-major Floats, checking its shape.
    ///
    /// - Parameters:
    ///   - name: The tensor's name in the header.
    ///   - shape: The shape the caller expects.
    /// - Throws: ``EmbeddingError/invalidModel(path:reason:)`` when the tensor is missing, has another shape,
    ///   an unsupported dtype, or a byte length that doesn't match its shape.
    package func floats(_ name: String, shape: [Int]) throws(EmbeddingError) -> [Float] {
        guard let info = tensors[name] else {
            throw EmbeddingError.invalidModel(path: path, reason: "tensor \(name) is missing")
        }
        guard info.shape == shape else {
            throw EmbeddingError.invalidModel(
                path: path, reason: "tensor \(name) has shape \(info.shape), expected \(shape)")
        }
        // The shape comes from the model's configuration: its product may not fit in an Int.
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, dimension >= 0, product <= Int.max / 4 else {
                throw EmbeddingError.invalidModel(
                    path: path, reason: "tensor \(name) has shape \(shape), more elements than memory can hold")
            }
            count = product
        }
        let elementSize: Int
        switch info.dtype {
        case "F32": elementSize = 4
        case "F16": elementSize = 2
        default:
            throw EmbeddingError.invalidModel(
                path: path, reason: "tensor \(name) is \(info.dtype); only F32 and F16 are supported")
        }
        guard info.byteRange.count == count * elementSize else {
            throw EmbeddingError.invalidModel(
                path: path,
                reason: "tensor \(name) has \(info.byteRange.count) bytes, its shape needs \(count * elementSize)")
        }
        let offset = dataStart + info.byteRange.lowerBound
        let floats = mapping.withBytes { bytes in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                guard let start = bytes.baseAddress.map({ $0 + offset }) else { return }
                if elementSize == 4 {
                    for index in 0..<count {
                        buffer[index] = Float(
                            bitPattern: UInt32(
                                littleEndian: start.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                    }
                } else {
                    for index in 0..<count {
                        let bits = UInt16(
                            littleEndian: start.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                        buffer[index] = Float(halfBits: bits)
                    }
                }
                initialized = count
            }
        }
        // The copy is what the model keeps: hand the mapped pages back so loading never holds the file twice.
        mapping.advise(MADV_DONTNEED, bytes: offset..<(dataStart + info.byteRange.upperBound))
        return floats
    }
}

extension Float {
    /// Widens an IEEE 754 binary16 bit pattern exactly (subnormals, infinities and NaN included).
    init(halfBits bits: UInt16) {
        let sign = UInt32(bits >> 15) << 31
        let exponent = Int(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            self = sign == 0 ? magnitude : -magnitude
        case 0x1f:
            self = Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        default:
            self = Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
