/// The fields of an input file's records that its reader does not read.
///
/// A misspelt `sorce` or `metdata`, a `"k"` a query line cannot set, an agent's own `timestamp`: readers take such
/// files (agents add metadata of their own), so the fields are counted to be named in one warning, not refused.
///
/// Encoded as the array of its ``Field``s.
package struct UnreadFields: Sendable, Equatable, Codable {
    /// A field that was not read.
    package struct Field: Sendable, Equatable, Codable {
        /// Its name: `name` at the top of a record, `outer.name` or `list[].name` inside one; printable
        /// (``RetrievalCore/printableName(_:)``), at most
        /// ``UnreadFields/maximumNameLength`` characters and an ellipsis.
        package var name: String
        /// The first line it was on.
        package var firstLine: Int
        /// How many lines had it.
        package var lines: Int
    }

    /// The fields, in the order first met: at most ``maximumCount``.
    package private(set) var fields: [Field] = []

    /// How many names are kept.
    package static let maximumCount = 100
    /// How many characters of a name are kept.
    package static let maximumNameLength = 100

    /// No field.
    package init() {}

    /// Counts the unread fields `names` of the record on `line`, each once, new ones in the order of their names.
    package mutating func note(_ names: some Sequence<String>, line: Int) {
        for raw in Set(names).sorted() {
            let name = printableName(
                raw.count > Self.maximumNameLength ? String(raw.prefix(Self.maximumNameLength)) + "…" : raw)
            if let index = fields.firstIndex(where: { $0.name == name }) {
                fields[index].lines += 1
            } else if fields.count < Self.maximumCount {
                fields.append(Field(name: name, firstLine: line, lines: 1))
            }
        }
    }

    /// The fields of `object` whose names are not in `read`, sorted.
    package static func names(of object: some Collection<String>, notIn read: Set<String>) -> [String] {
        object.filter { !read.contains($0) }.sorted()
    }

    /// The warning that names the fields, without its final period, or `nil` when there are none: "2 fields of the
    /// input are not in its trajectory format, so nothing of them was stored: "sorce" (line 1), "steps[].time"
    /// (3 lines from line 2)".
    ///
    /// - Parameters:
    ///   - input: What the fields are of (`the input`, `the query file q.jsonl`).
    ///   - schema: What they are not in (`its trajectory format`, `the query schema`).
    ///   - consequence: What nothing of them was (`stored`, `read`).
    package func warning(of input: String, notIn schema: String, consequence: String) -> String? {
        guard !fields.isEmpty else { return nil }
        let named = fields.map { field in
            "\"\(field.name)\" ("
                + (field.lines == 1 ? "line \(field.firstLine)" : "\(field.lines) lines from line \(field.firstLine)")
                + ")"
        }
        let count = fields.count == Self.maximumCount ? "\(Self.maximumCount) or more" : "\(fields.count)"
        return
            (fields.count == 1
            ? "1 field of \(input) is not in \(schema), so nothing of it was \(consequence): "
            : "\(count) fields of \(input) are not in \(schema), so nothing of them was \(consequence): ")
            + named.joined(separator: ", ")
    }

    package init(from decoder: any Decoder) throws {
        fields = try [Field](from: decoder)
    }

    package func encode(to encoder: any Encoder) throws {
        try fields.encode(to: encoder)
    }
}
