import Foundation

/// Why bytes are not JSON, in the words of Foundation's parser, which say where: "Invalid value around character
/// 16", "Too many nested arrays or dictionaries around character 513", "Invalid UTF-8 sequence 2 bytes starting
/// from character 9".
package enum JSONSyntax {
    /// Why `data` is not JSON (characters count bytes from 0), or `nil` when it is JSON.
    ///
    /// JSONDecoder reports every syntax error, and every number that doesn't fit its type, as "The given data was
    /// not valid JSON." with no position or field; parsing the bytes again with JSONSerialization, whose errors
    /// carry the position, tells the two apart and says where the syntax breaks. Call it on a failure path only: it
    /// parses the whole document.
    package static func problem(in data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
            let problem = text.isEmpty ? "it can't be parsed" : text.hasSuffix(".") ? String(text.dropLast()) : text
            // Lines of a UTF-16 or UTF-32 file hold NUL bytes, and the parser names only a character.
            guard data.contains(0) else { return problem }
            return problem + " (it holds NUL bytes, as text in UTF-16 or UTF-32 does: save the text as UTF-8)"
        }
    }
}

extension JSONSyntax {
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
            return (path(context.codingPath), "has an invalid value")
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
