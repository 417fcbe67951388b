import Foundation
import MCP
import MempService

extension Value {
    /// `value` as a tool result's structured content: the JSON it encodes to, as a `Value`.
    ///
    /// The SDK's `Value(_:)` decodes that JSON through `Value`'s `Decodable` conformance, which tries each JSON type
    /// in turn, with a thrown error for each miss, at every node: for a lookup's ten hits with their steps that took
    /// about a quarter of the server's CPU time per call. `JSONSerialization` reads the same JSON in one pass.
    ///
    /// The JSON is the HTTP API's (``MempService/ServiceJSON``): dates are ISO-8601 strings there and here.
    static func structuredContent(_ value: some Encodable) throws -> Value {
        let data = try ServiceJSON.encode(value)
        return Value(jsonObject: try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed))
    }

    /// The value of a tree `JSONSerialization` read, as the SDK's decoding makes it: JSON `true` and `false` (the
    /// numbers of type `c`) are booleans, a number that is a whole number within `Int` is an integer (`1.0` and `1e2`
    /// too), any other number a double.
    private init(jsonObject: Any) {
        switch jsonObject {
        case let string as String: self = .string(string)
        case let array as [Any]: self = .array(array.map(Value.init(jsonObject:)))
        case let object as [String: Any]: self = .object(object.mapValues(Value.init(jsonObject:)))
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c": self = .bool(number.boolValue)
            case "Q" where number.uint64Value > UInt64(Int.max): self = .double(number.doubleValue)
            case "d", "f":
                // Large negative integers come as decimal numbers of type `d`; their int64Value is exact.
                let double = number.doubleValue
                let whole = double.rounded() == double && double >= -0x1p63 && double < 0x1p63
                self = whole ? .int(Int(number.int64Value)) : .double(double)
            default: self = .int(number.intValue)
            }
        default: self = .null
        }
    }
}
