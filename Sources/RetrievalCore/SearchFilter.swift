/// Restricts a search to some documents; applied while ranking, before top-k, so a filtered search still
/// returns up to `k` hits when that many documents pass.
public struct SearchFilter: Sendable {
    private enum Rule: Sendable {
        case allowList(Set<DocumentID>)
        case predicate(@Sendable (DocumentID) -> Bool)
    }

    private let rule: Rule

    /// Allows only the documents whose IDs are in `ids`.
    public static func allowing(_ ids: some Sequence<DocumentID>) -> SearchFilter {
        SearchFilter(rule: .allowList(Set(ids)))
    }

    /// Allows the documents for which `predicate` returns `true`; it may be called from several threads at once.
    public static func matching(_ predicate: @escaping @Sendable (DocumentID) -> Bool) -> SearchFilter {
        SearchFilter(rule: .predicate(predicate))
    }

    /// The allowed IDs when the filter is an allow-list, so an index can turn it into a bitset of rows.
    public var allowList: Set<DocumentID>? {
        if case .allowList(let ids) = rule { ids } else { nil }
    }

    /// Whether the document passes the filter.
    @inlinable
    public func allows(_ id: DocumentID) -> Bool { _allows(id) }

    @usableFromInline
    func _allows(_ id: DocumentID) -> Bool {
        switch rule {
        case .allowList(let ids): ids.contains(id)
        case .predicate(let predicate): predicate(id)
        }
    }
}
