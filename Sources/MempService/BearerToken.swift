import Foundation
import RetrievalCore

/// The secret a client must send as `Authorization: Bearer TOKEN`, compared in constant time.
public struct BearerToken: Sendable {
    private let secret: [UInt8]

    /// Reads the token from the first line of `path` (surrounding whitespace dropped).
    ///
    /// - Throws: ``ServiceError/invalidArgument(name:reason:)`` when the file can't be read, holds fewer than
    ///   16 characters, or characters other than visible ASCII.
    public init(contentsOf path: String) throws(ServiceError) {
        let data: Data
        do { data = try RegularFile.contents(of: path, limit: RegularFile.settingsLimit) } catch {
            throw .invalidArgument(name: path, reason: "the token file \(error)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let token = text.split(whereSeparator: \.isNewline).first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let token, token.utf8.count >= 16 else {
            throw .invalidArgument(name: path, reason: "the token file must hold a token of at least 16 characters")
        }
        // A client sends the token in a header: a NUL, a control character, a space or a non-ASCII character in it
        // would make every request fail to authenticate.
        if let offset = token.utf8.firstIndex(where: { !(0x21...0x7E).contains($0) }).map({
            token.utf8.distance(from: token.utf8.startIndex, to: $0)
        }) {
            throw .invalidArgument(
                name: path,
                reason: "the token holds a byte a client can't send in an Authorization header at offset \(offset) "
                    + "(a token is visible ASCII: letters, digits and punctuation)")
        }
        self.init(token)
    }

    /// A token with this value.
    public init(_ token: String) { secret = Array(token.utf8) }

    /// Whether an `Authorization` header value carries the token.
    ///
    /// The comparison takes the same time wherever the first difference is, so timing reveals nothing of the
    /// token but its length.
    public func authorizes(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.utf8.dropFirst("Bearer ".utf8.count))
        guard given.count == secret.count else { return false }
        var difference: UInt8 = 0
        for index in secret.indices { difference |= secret[index] ^ given[index] }
        return difference == 0
    }
}
