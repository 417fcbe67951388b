/// The identifier of one document in an index: a 64-bit number chosen by the caller.
///
/// Ties between equal scores always go to the lower ``DocumentID``, so results are deterministic.
public struct DocumentID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The identifier's value.
    public var rawValue: UInt64

    /// Creates an identifier from its value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Creates an identifier from its value.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// Creates an identifier from an integer literal.
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static func < (lhs: DocumentID, rhs: DocumentID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
