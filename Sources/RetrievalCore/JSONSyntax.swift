import Foundation

/// Why bytes are not JSON, in the words of Foundation's parser, which say where: "Invalid value around character
/// 16", "Too many nested arrays or dictionaries around character 513", "Invalid UTF-8 sequence 2 bytes starting
/// from character 9".
package enum JSONSyntax {
    /// Why `data` is not JSON (characters count bytes from 0), or `nil` when it is JSON in UTF-8.
    ///
    /// JSONDecoder reports every syntax error, and every number that doesn't fit its type, as "The given data was
    /// not valid JSON." with no position or field; parsing the bytes again with JSONSerialization, whose errors
    /// carry the position, tells the two apart and says where the syntax breaks. Call it on a failure path only: it
    /// parses the whole document.
    ///
    /// Bytes holding a NUL are named as text in UTF-16 or UTF-32, whose lines hold NUL bytes, even where
    /// JSONSerialization (which reads those encodings) parses them: the line readers and JSONDecoder read UTF-8.
    package static func problem(in data: Data) -> String? {
        let encoding = "it holds NUL bytes, as text in UTF-16 or UTF-32 does: save the text as UTF-8"
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return data.contains(0) ? encoding : nil
        } catch {
            if let number = numberOutOfRange(in: data) {
                return (number.field.isEmpty ? "the number " : "field \(number.field) ")
                    + outOfRangeReason(number.literal)
            }
            let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
            let problem = text.isEmpty ? "it can't be parsed" : text.hasSuffix(".") ? String(text.dropLast()) : text
            // The parser names only a character.
            return data.contains(0) ? problem + " (\(encoding))" : problem
        }
    }
}

extension JSONSyntax {
    /// Whether `value`, read by JSONSerialization, is JSON `true` or `false`: those arrive as NSNumbers of type `c`,
    /// and `value is Bool` can't tell them apart, since the numbers 0 and 1 bridge to Bool as well.
    package static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// What is wrong with `data`, which did not decode: "field tasks[2] must be a string", or where its JSON breaks
    /// ("not JSON, Invalid value around character 16").
    package static func decodingProblem(_ error: any Error, in data: Data) -> String {
        if let error = error as? DecodingError, let (field, reason) = fieldProblem(error) {
            return "field \(field) \(reason)"
        }
        return problem(in: data).map { "not JSON, \($0)" } ?? "a number does not fit its field"
    }

    /// The field a decoding error is about, as a JSON path (`filters.labels.a`, `tasks[2]`; empty for the whole
    /// document), and what is wrong with it; `nil` when the decoder named no field (a syntax error, or a number
    /// that doesn't fit its type), which ``problem(in:)`` then explains.
    package static func fieldProblem(_ error: DecodingError) -> (field: String, reason: String)? {
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return (parent.isEmpty ? key.stringValue : parent + "." + key.stringValue, "is missing")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return (path(context.codingPath), "must be \(describe(type)), not null")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            let why = context.debugDescription
            return (path(context.codingPath), "has an invalid value" + (why.isEmpty ? "" : ": " + why))
        default:
            return nil
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is UInt64.Type, is UInt32.Type, is UInt.Type: "a non-negative integer"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Float.Type, is Double.Type: "a number"
        case is [String].Type: "a list of strings"
        default:
            // JSONDecoder names a container it could not open by these two types.
            if type == [String: String].self {
                "an object of strings"
            } else if type == [String: Any].self {
                "a JSON object"
            } else if type == [Any].self {
                "a list"
            } else {
                "of another type"
            }
        }
    }
}

extension JSONSyntax {
    /// What to say of the key ``repeatedKey(in:)`` names, after its path.
    package static let repeatedKeyReason = "appears twice in its object; keep one of the values"

    /// What to say of a comma ``laxness(in:)`` finds before a closing bracket, after the path of its container.
    package static func trailingCommaReason(at offset: Int) -> String {
        "ends with a comma before its closing bracket (character \(offset)), which JSON does not allow; remove the "
            + "comma"
    }

    /// The JSON path of the first key that an object in `data` repeats (`id`, `labels.fold`, `steps[1].action`),
    /// or `nil` when no object repeats a key.
    ///
    /// A reader keeps one of a repeated key's values (JSONDecoder the first, JSONSerialization the last), so that
    /// `{"id": "a", "id": "b"}` is silently one of two records: callers refuse it instead. Call it on JSON that
    /// parsed; it reads the bytes once.
    package static func repeatedKey(in data: Data) -> String? { findings(in: data).repeatedKey }

    /// What Foundation's parser accepted in `data` that JSON does not: the first repeated key (``repeatedKey(in:)``,
    /// its path and ``repeatedKeyReason``), else the first comma before a closing bracket (`{"a": 1,}`, the path of
    /// its object or array, `""` for the whole document, and ``trailingCommaReason(at:)``); `nil` for strict JSON.
    ///
    /// Hostile run 22: `{"task": "x", "k": 1,}` was answered, and a file with such commas imported, though Python's
    /// `json` and `jq` refuse them (finding 217). Call it on JSON that parsed; it reads the bytes once.
    package static func laxness(in data: Data) -> (field: String, reason: String)? {
        let found = findings(in: data)
        if let key = found.repeatedKey { return (key, repeatedKeyReason) }
        if let comma = found.trailingComma { return (comma.container, trailingCommaReason(at: comma.offset)) }
        return nil
    }

    /// The first comma of `data` before a closing bracket, `nil` when there is none.
    ///
    /// Returns the path of its object or array (`""` for the whole document) and its offset in bytes. See
    /// ``laxness(in:)``.
    package static func trailingComma(in data: Data) -> (container: String, offset: Int)? {
        findings(in: data).trailingComma
    }

    /// The first number of `data` that a 64-bit float can't hold, with the path of its field (`k`,
    /// `filters.minSimilarity`, `tasks[2].outcome.reward`): beyond ±1.8e308, or so close to 0 that it reads as 0
    /// (`1e-400`); `nil` when every number fits.
    ///
    /// Hostile run 22: JSONSerialization called `1e400` "not representable in Swift" and JSONDecoder called `1e-400`
    /// a value that does not fit, both without a field (finding 215).
    package static func numberOutOfRange(in data: Data) -> (field: String, literal: String)? {
        findings(in: data).numberOutOfRange
    }

    /// What to say of a number ``numberOutOfRange(in:)`` finds, after its field.
    package static func outOfRangeReason(_ literal: String) -> String {
        "is \(literal), which no 64-bit float holds: they reach about ±1.8e308, and none but 0 is nearer 0 than about "
            + "4.9e-324"
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E")
    }

    /// Whether `literal`, read as `value`, is infinite, or 0 though its digits before the exponent are not all 0.
    private static func isOutOfRange(_ value: Double, literal: String) -> Bool {
        if value.isInfinite { return true }
        guard value == 0 else { return false }
        let mantissa = literal.prefix { $0 != "e" && $0 != "E" }
        return mantissa.contains { ("1"..."9").contains($0) }
    }

    /// What one reading of `data` finds that JSON, or a 64-bit float, does not allow; see ``findings(in:)``.
    package struct Findings {
        /// The path of the first key an object repeats (``repeatedKey(in:)``).
        package var repeatedKey: String?
        /// The first comma before a closing bracket (``trailingComma(in:)``).
        package var trailingComma: (container: String, offset: Int)?
        /// The first number no 64-bit float holds (``numberOutOfRange(in:)``).
        package var numberOutOfRange: (field: String, literal: String)?
    }

    /// The first repeated key, trailing comma and number out of range of `data`, each where it is, from one reading
    /// of its bytes (it stops at a repeated key), for a caller that needs more than one of them.
    package static func findings(in data: Data) -> Findings {
        // The containers open at the current byte: an object's keys so far and the key whose value is being read,
        // or an array's index.
        struct Container {
            let isObject: Bool
            var keys: Set<String> = []
            var key = ""
            var index = 0
        }
        var open: [Container] = []
        var expectingKey = false
        /// The path through `containers`, each an object's key or an array's index.
        func path(through containers: ArraySlice<Container>) -> String {
            var text = ""
            for container in containers {
                text += container.isObject ? (text.isEmpty ? "" : ".") + container.key : "[\(container.index)]"
            }
            return text
        }
        /// The path of the innermost container, then `key` in it.
        func path(to key: String) -> String {
            let text = path(through: open.dropLast())
            return text + (text.isEmpty ? "" : ".") + key
        }
        var found = Findings()
        // The last comma read, while only white space followed it.
        var comma: Int?
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var position = 0
            while position < bytes.count, found.repeatedKey == nil {
                let byte = bytes[position]
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                    || byte == UInt8(ascii: "\t")
                {
                    position += 1
                    continue
                }
                if let offset = comma, found.trailingComma == nil,
                    byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
                {
                    found.trailingComma = (path(through: open.dropLast()), offset)
                }
                comma = nil
                switch byte {
                case UInt8(ascii: "{"):
                    open.append(Container(isObject: true))
                    expectingKey = true
                case UInt8(ascii: "["):
                    open.append(Container(isObject: false))
                    expectingKey = false
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = open.popLast()
                    expectingKey = false
                case UInt8(ascii: ","):
                    comma = position
                    guard let last = open.last else { break }
                    if last.isObject { expectingKey = true } else { open[open.count - 1].index += 1 }
                case UInt8(ascii: "\""):
                    let start = position
                    var escaped = false
                    position += 1
                    while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                        if bytes[position] == UInt8(ascii: "\\") {
                            escaped = true
                            position += 1
                        }
                        position += 1
                    }
                    guard expectingKey, !open.isEmpty, position < bytes.count else { break }
                    expectingKey = false
                    // An escaped key is compared as the text it spells ("\u0061" is "a").
                    let key =
                        escaped
                        ? (try? JSONSerialization.jsonObject(
                            with: Data(bytes[start...position]), options: .fragmentsAllowed)) as? String ?? ""
                        : String(decoding: bytes[start + 1..<position], as: UTF8.self)
                    guard open[open.count - 1].keys.insert(key).inserted else {
                        found.repeatedKey = path(to: key)
                        break
                    }
                    open[open.count - 1].key = key
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let start = position
                    while position + 1 < bytes.count, Self.isNumberByte(bytes[position + 1]) { position += 1 }
                    guard found.numberOutOfRange == nil else { break }
                    let literal = String(decoding: bytes[start...position], as: UTF8.self)
                    if let value = Double(literal), Self.isOutOfRange(value, literal: literal) {
                        found.numberOutOfRange = (path(through: open[...]), literal)
                    }
                default:
                    break
                }
                position += 1
            }
        }
        return found
    }
}
