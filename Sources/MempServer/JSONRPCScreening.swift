import Foundation
import MCP
import RetrievalCore

/// Answers the JSON-RPC messages the MCP server would drop, or answer only with an internal error, before they reach
/// it.
///
/// The server reads an `id` that is neither a string nor an integer (a fraction, `1e300`, an integer beyond 64
/// bits, an object, `true`) as no ID, so it took such a request for a notification and never answered it, and its
/// client waited forever: it gets ``unusableIDError``. A `tools/call` or `initialize` request whose `params` don't
/// decode got "Internal error: The data isn't in the correct format"; it gets Invalid params (-32602) naming the
/// field.
enum JSONRPCScreening {
    /// The answer to a request whose ID is neither a string nor an integer (`id` null: it can't be echoed).
    static let unusableIDError = errorResponse(
        code: -32600, message: "Invalid Request: an id must be a string or an integer of at most 64 bits")

    /// A JSON-RPC error response; `id` is a string, an integer or `NSNull()`.
    static func errorResponse(code: Int, message: String, id: Any = NSNull()) -> Data {
        let response: [String: Any] = ["jsonrpc": "2.0", "id": id, "error": ["code": code, "message": message]]
        return (try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])) ?? Data()
    }

    /// A message without the requests answered here (`nil` when none is left), and their answers.
    static func screen(_ data: Data) -> (passed: Data?, answers: [Data]) {
        let decoder = JSONDecoder()
        guard let checks = try? decoder.decode([Check].self, from: data) else {
            guard let answer = (try? decoder.decode(Check.self, from: data))?.answer else { return (data, []) }
            return (nil, [answer])
        }
        let answers = checks.compactMap(\.answer)
        guard !answers.isEmpty, let batch = try? JSONSerialization.jsonObject(with: data) as? [Any],
            batch.count == checks.count
        else { return (data, []) }
        let kept = zip(batch, checks).filter { $0.1.answer == nil }.map(\.0)
        guard !kept.isEmpty, let rest = try? JSONSerialization.data(withJSONObject: kept) else { return (nil, answers) }
        return (rest, answers)
    }

    /// The answer one message gets here instead of from the server, if any.
    ///
    /// A batch element that is not an object passes (the server answers it with an error).
    private struct Check: Decodable {
        var answer: Data?

        enum CodingKeys: String, CodingKey { case id, method, params }

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: CodingKeys.self),
                container.contains(.id), (try? container.decodeNil(forKey: .id)) != true
            else { return }
            let id: Any
            if let text = try? container.decode(String.self, forKey: .id) {
                id = text
            } else if let number = try? container.decode(Int.self, forKey: .id) {
                id = number
            } else {
                answer = unusableIDError
                return
            }
            let method = (try? container.decode(String.self, forKey: .method)) ?? ""
            let problem: String? =
                switch method {
                case CallTool.name: Self.problem(decoding: CallTool.Parameters.self, in: container)
                case Initialize.name: Self.problem(decoding: Initialize.Parameters.self, in: container)
                default: nil
                }
            if let problem { answer = errorResponse(code: -32602, message: "Invalid params: \(problem)", id: id) }
        }

        /// Why the request's `params` don't decode as `type`, as the server decodes them; `nil` when they do.
        private static func problem<Parameters: Decodable>(
            decoding type: Parameters.Type, in container: KeyedDecodingContainer<CodingKeys>
        ) -> String? {
            guard container.contains(.params), (try? container.decodeNil(forKey: .params)) != true else {
                return "params is missing"
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
