import Foundation
import RetrievalCore

/// How the service writes JSON: sorted keys, unescaped slashes, and ISO-8601 UTC dates as every Memp output
/// writes them (`JSONDates`).
public enum ServiceJSON {
    /// The JSON bytes of `value`.
    public static func encode(_ value: some Encodable) throws -> Data {
        try JSONDates.encoder().encode(value)
    }
}
