import Foundation

/// How the service writes JSON: sorted keys, ISO 8601 dates, unescaped slashes.
public enum ServiceJSON {
    /// The JSON bytes of `value`.
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }
}
