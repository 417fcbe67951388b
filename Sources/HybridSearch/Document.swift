import RetrievalCore

/// A document of a ``DocumentCollection``: an ID of the caller's choosing, text for the keyword index, an optional
/// vector for the dense index (embedded from the text when absent), and string metadata for filters.
public struct Document: Codable, Sendable, Equatable {
    /// The caller's ID, unique within the collection.
    public var id: String
    /// The text indexed for keyword search and, without a vector, embedded.
    public var text: String
    /// The document's embedding; `nil` to have the collection's embedder compute it.
    public var vector: [Float]?
    /// Attributes to filter on.
    public var metadata: [String: String]

    /// Creates a document.
    public init(id: String, text: String, vector: [Float]? = nil, metadata: [String: String] = [:]) {
        self.id = id
        self.text = text
        self.vector = vector
        self.metadata = metadata
    }

    /// Why `id` can't be a document's ID, or `nil` when it can; the reason reads after the ID ("must not be empty").
    ///
    /// An ID is printed on one line of search results, where a line break, NUL or escape sequence would split or
    /// rewrite it and a bidirectional override reorder it, and white space at its ends would hide that it is another
    /// ID (``RetrievalCore/idProblem(_:what:)``); an empty one names nothing.
    static func idProblem(_ id: String) -> String? { RetrievalCore.idProblem(id, what: "an ID") }
}

/// Restricts a search to documents whose metadata match every condition: for each key, the document's value is
/// one of the allowed values (equality is a set of one).
///
///     var filter = MetadataFilter()
///     filter.require("lang", equals: "en")
///     filter.require("kind", isOneOf: ["guide", "faq"])
public struct MetadataFilter: Sendable, Equatable, Codable {
    /// For each key, the values a document may have.
    public private(set) var conditions: [String: Set<String>] = [:]

    /// Creates a filter that lets every document through.
    public init() {}

    /// Adds the condition `metadata[key] == value`, or widens an existing condition on `key` to include it.
    public mutating func require(_ key: String, equals value: String) {
        conditions[key, default: []].insert(value)
    }

    /// Adds the condition `metadata[key] ∈ values`, or widens an existing condition on `key` by them.
    public mutating func require(_ key: String, isOneOf values: Set<String>) {
        conditions[key, default: []].formUnion(values)
    }

    /// Whether metadata pass every condition.
    public func matches(_ metadata: [String: String]) -> Bool {
        conditions.allSatisfy { key, values in metadata[key].map(values.contains) ?? false }
    }
}
