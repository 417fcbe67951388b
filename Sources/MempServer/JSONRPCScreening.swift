import Foundation
import MCP
import RetrievalCore

/// Answers the JSON-RPC messages the MCP server would drop, or answer with the wrong error, before they reach it.
///
/// The server reads an `id` that is neither a string nor an integer (a fraction, `1e300`, an integer beyond 64
/// bits, an object, `true`) as no ID, so it took such a request for a notification and never answered it, and its
/// client waited forever; it answered `"id": null`, which MCP forbids, under a made-up `""`: each gets
/// ``unusableIDError``. A message that is JSON but not a request (`5`, no `method`,
/// a `jsonrpc` other than "2.0") got "Parse error: Invalid JSON"; a batch with one such element got that error,
/// under a made-up ID, in place of every answer; an empty batch got its error under a made-up ID. Each gets
/// Invalid Request (-32600) saying what is wrong, and the rest of its batch is answered. A `tools/call`,
/// `tools/list` or `initialize` request whose `params` don't decode got "Internal error: The data isn't in the
/// correct format"; it gets Invalid params (-32602) naming the field. A request that repeats a key
/// (`"arguments": {"store": null, "store": 5}`) was read with one of its values, silently, where the HTTP API refuses
/// such a body: it gets Invalid params (Invalid Request outside `params`) naming the key.
enum JSONRPCScreening {
    /// The answer to a request whose ID is neither a string nor an integer (`id` null: it can't be echoed).
    static let unusableIDError = errorResponse(
        code: -32600, message: "Invalid Request: an id must be a string or an integer of at most 64 bits")

    /// An answer given here, and its JSON-RPC error code.
    struct Answer: Equatable {
        var data: Data
        var code: Int

        /// Whether the message answered is not a usable request at all (Invalid Request, or Parse error), as
        /// opposed to a request whose parameters are wrong.
        var refusesMessage: Bool { code == -32600 || code == -32700 }
    }

    /// A JSON-RPC error response; `id` is a string, an integer or `NSNull()`.
    static func errorResponse(code: Int, message: String, id: Any = NSNull()) -> Data {
        let response: [String: Any] = ["jsonrpc": "2.0", "id": id, "error": ["code": code, "message": message]]
        return (try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])) ?? Data()
    }

    /// A message without the requests answered here (`nil` when none is left), and their answers; bytes that are
    /// not strict JSON are answered with a parse error saying where.
    static func screen(_ data: Data) -> (passed: Data?, answers: [Answer]) {
        // Hostile run 22: over HTTP, a message that is not JSON got "Invalid JSON" with no position, invalid UTF-8 in
        // `method` "method must be a string", and one with a comma before a closing bracket was answered (findings
        // 217, 218).
        if let problem = JSONSyntax.problem(in: data) {
            let outOfRange = JSONSyntax.numberOutOfRange(in: data) != nil
            return (nil, [parseError(outOfRange ? problem : "the message is not JSON (\(problem))")])
        }
        let findings = JSONSyntax.findings(in: data)
        if let comma = findings.trailingComma {
            let container = comma.container.isEmpty ? "the message" : comma.container
            return (nil, [parseError("\(container) \(JSONSyntax.trailingCommaReason(at: comma.offset))")])
        }
        let decoder = JSONDecoder()
        let repeated = findings.repeatedKey
        guard var checks = try? decoder.decode([Check].self, from: data) else {
            guard var check = try? decoder.decode(Check.self, from: data) else { return (data, []) }
            if let repeated { check.refuseRepeated(key: repeated) }
            guard let answer = check.answer else { return (data, []) }
            return (nil, [answer])
        }
        guard !checks.isEmpty else {
            return (nil, [invalidRequest("a batch must hold at least one message", id: NSNull())])
        }
        // The first repeat in a batch is under `[index].`; its element is answered, the others are read as they are.
        if let repeated, repeated.hasPrefix("["), let close = repeated.firstIndex(of: "]"),
            let index = Int(repeated.dropFirst().prefix(upTo: close)), checks.indices.contains(index)
        {
            checks[index].refuseRepeated(key: String(repeated[close...].dropFirst(2)))
        }
        let answers = checks.compactMap(\.answer)
        guard !answers.isEmpty, let batch = try? JSONSerialization.jsonObject(with: data) as? [Any],
            batch.count == checks.count
        else { return (data, []) }
        let kept = zip(batch, checks).filter { $0.1.answer == nil }.map(\.0)
        guard !kept.isEmpty, let rest = try? JSONSerialization.data(withJSONObject: kept) else { return (nil, answers) }
        return (rest, answers)
    }

    /// A JSON-RPC parse error (`id` null: the message's ID can't be known).
    private static func parseError(_ detail: String) -> Answer {
        Answer(data: errorResponse(code: -32700, message: "Parse error: \(detail)"), code: -32700)
    }

    private static func invalidRequest(_ problem: String, id: Any) -> Answer {
        Answer(data: errorResponse(code: -32600, message: "Invalid Request: \(problem)", id: id), code: -32600)
    }

    /// The answer one message gets here instead of from the server, if any.
    private struct Check: Decodable {
        var answer: Answer?
        /// The message's ID once it is a request that can be answered (`NSNull` for a notification or a response).
        private var id: Any = NSNull()

        enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params, result, error }

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: CodingKeys.self) else {
                let problem =
                    decoder.codingPath.isEmpty
                    ? "a message must be a JSON-RPC object, or a batch (an array) of them"
                    : "a batch element must be a JSON-RPC object"
                answer = invalidRequest(problem, id: NSNull())
                return
            }
            let id: Any
            if !container.contains(.id) {
                id = NSNull()
            } else if (try? container.decodeNil(forKey: .id)) == true {
                // MCP forbids a null ID; the server made one up ("") to answer it under, so two such requests got
                // answers no client could tell apart (and over HTTP none). A response with a null ID, to a request of
                // the server's the client could not read, is the server's to read.
                guard container.contains(.result) || container.contains(.error) else {
                    answer = Answer(data: unusableIDError, code: -32600)
                    return
                }
                id = NSNull()
            } else if let text = try? container.decode(String.self, forKey: .id) {
                id = text
            } else if let number = try? container.decode(Int.self, forKey: .id) {
                id = number
            } else {
                answer = Answer(data: unusableIDError, code: -32600)
                return
            }
            // A notification (no id) with a problem is dropped, as the server would: nothing may answer it.
            let answerable = !(id is NSNull)
            guard (try? container.decode(String.self, forKey: .jsonrpc)) == "2.0" else {
                if answerable { answer = invalidRequest("jsonrpc must be \"2.0\"", id: id) }
                return
            }
            guard container.contains(.method) else {
                // A response (result or error) to a request of the server's is the server's to read.
                if answerable, !container.contains(.result), !container.contains(.error) {
                    answer = invalidRequest("method is missing", id: id)
                }
                return
            }
            guard let method = try? container.decode(String.self, forKey: .method) else {
                if answerable { answer = invalidRequest("method must be a string", id: id) }
                return
            }
            guard answerable else { return }
            self.id = id
            let problem: String? =
                switch method {
                case CallTool.name: Self.problem(decoding: CallTool.Parameters.self, in: container, required: true)
                case Initialize.name: Self.problem(decoding: Initialize.Parameters.self, in: container, required: true)
                case ListTools.name: Self.problem(decoding: ListTools.Parameters.self, in: container, required: false)
                default: nil
                }
            if let problem {
                answer = Answer(
                    data: errorResponse(code: -32602, message: "Invalid params: \(problem)", id: id), code: -32602)
            }
        }

        /// Answers a request that passed the other checks but repeats `key` (a JSON path within the message).
        mutating func refuseRepeated(key: String) {
            guard answer == nil, !(id is NSNull) else { return }
            let problem = "\(key) " + JSONSyntax.repeatedKeyReason
            answer =
                key.hasPrefix("params.")
                ? Answer(data: errorResponse(code: -32602, message: "Invalid params: \(problem)", id: id), code: -32602)
                : invalidRequest(problem, id: id)
        }

        /// Why the request's `params` don't decode as `type`, as the server decodes them; `nil` when they do (or
        /// are absent and not `required`).
        private static func problem<Parameters: Decodable>(
            decoding type: Parameters.Type, in container: KeyedDecodingContainer<CodingKeys>, required: Bool
        ) -> String? {
            guard container.contains(.params), (try? container.decodeNil(forKey: .params)) != true else {
                return required ? "params is missing" : nil
            }
            do {
                _ = try container.decode(type, forKey: .params)
                return nil
            } catch {
                guard let error = error as? DecodingError, let (field, reason) = JSONSyntax.fieldProblem(error) else {
                    return "params can't be read"
                }
                return "\(field) \(reason)"
            }
        }
    }
}
