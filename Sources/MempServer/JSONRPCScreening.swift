import Foundation

/// Checks JSON-RPC messages for what the MCP server would silently drop, before they reach it.
///
/// The server reads an `id` that is neither a string nor an integer (a fraction, `1e300`, an integer beyond 64
/// bits, an object, `true`) as no ID, so it took such a request for a notification and never answered it, and its
/// client waited forever. Both transports answer it with ``unusableIDError`` instead.
enum JSONRPCScreening {
    /// The answer to a request whose ID is neither a string nor an integer (`id` null: it can't be echoed).
    static let unusableIDError = errorResponse(
        code: -32600, message: "Invalid Request: an id must be a string or an integer of at most 64 bits")

    /// A JSON-RPC error response with `id` null.
    static func errorResponse(code: Int, message: String) -> Data {
        let response: [String: Any] = ["jsonrpc": "2.0", "id": NSNull(), "error": ["code": code, "message": message]]
        return (try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])) ?? Data()
    }

    /// A message without its requests whose `id` is neither a string nor an integer (`nil` when none is left), and
    /// how many there were.
    static func withoutUnusableIDs(_ data: Data) -> (passed: Data?, refused: Int) {
        let decoder = JSONDecoder()
        guard let checks = try? decoder.decode([IDCheck].self, from: data) else {
            return (try? decoder.decode(IDCheck.self, from: data))?.usable == false ? (nil, 1) : (data, 0)
        }
        guard checks.contains(where: { !$0.usable }),
            let batch = try? JSONSerialization.jsonObject(with: data) as? [Any], batch.count == checks.count
        else { return (data, 0) }
        let kept = zip(batch, checks).filter { $0.1.usable }.map(\.0)
        let refused = batch.count - kept.count
        guard !kept.isEmpty, let rest = try? JSONSerialization.data(withJSONObject: kept) else { return (nil, refused) }
        return (rest, refused)
    }

    /// Whether a message's `id`, if it has one, is one the server can answer: a string, an integer or null.
    ///
    /// A batch element that is not an object passes (the server answers it with an error).
    private struct IDCheck: Decodable {
        var usable = true

        enum CodingKeys: String, CodingKey { case id }

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: CodingKeys.self),
                container.contains(.id), (try? container.decodeNil(forKey: .id)) != true
            else { return }
            usable =
                (try? container.decode(String.self, forKey: .id)) != nil
                || (try? container.decode(Int.self, forKey: .id)) != nil
        }
    }
}
