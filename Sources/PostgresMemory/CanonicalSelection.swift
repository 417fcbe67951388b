import Foundation
import PostgresNIO
import RetrievalCore

/// How a backend's SQL selects rows by source and by label: up to canonical equivalence.
///
/// Texts compare as Swift's `String` compares them (`"cafe\u{301}"` is `"café"`), and as the in-process indexes and
/// SQLite stores do. The rows keep the bytes they were written with.
///
/// A text no other text is equivalent to (``RetrievalCore/hasNoCanonicalVariants(_:)``: ASCII without `K`, `;` and
/// `` ` ``) compares by bytes, through the `source` and `labels` indexes. Any other compares by Normalization Form C:
/// the row's `normalize(source, NFC)` or `memp_canonical_labels(labels)`, which indexes of their own serve (since
/// v5, ``PostgresSchema``), against the argument's. A database in another encoding than UTF8 can't normalize
/// (`normalize` fails there, and `SQL_ASCII` keeps bytes): there every text compares by bytes, as given.
struct CanonicalSelection: Sendable, Equatable {
    /// Whether the database normalizes text: its encoding is UTF8.
    var normalizes: Bool

    /// The SQL condition that the row's source (of `table`, when given) is one of `sources`, binding them after
    /// what `bindings` holds.
    func source(of table: String? = nil, in sources: [String], _ bindings: inout PostgresBindings) -> String {
        let column = Self.column("source", of: table)
        if normalizes, !sources.allSatisfy(hasNoCanonicalVariants) {
            bindings.append(sources.map(\.precomposedStringWithCanonicalMapping).sorted())
            return "normalize(\(column), NFC) = ANY($\(bindings.count))"
        }
        bindings.append(sources.sorted())
        return "\(column) = ANY($\(bindings.count))"
    }

    /// The SQL condition that the row's labels (of `table`, when given) hold `key` = `value`, binding the two after
    /// what `bindings` holds.
    func label(of table: String? = nil, key: String, value: String, _ bindings: inout PostgresBindings) -> String {
        var labels = Self.column("labels", of: table)
        if normalizes, !(hasNoCanonicalVariants(key) && hasNoCanonicalVariants(value)) {
            labels = "memp_canonical_labels(\(labels))"
            bindings.append(key.precomposedStringWithCanonicalMapping)
            bindings.append(value.precomposedStringWithCanonicalMapping)
        } else {
            bindings.append(key)
            bindings.append(value)
        }
        return "\(labels) @> jsonb_build_object($\(bindings.count - 1)::text, $\(bindings.count)::text)"
    }

    /// `column` of `table` (`m.source`), or `column` alone when no table is given.
    static func column(_ column: String, of table: String?) -> String {
        (table.map { $0 + "." } ?? "") + column
    }
}
