import Foundation
import RetrievalCore

/// Reads documents and queries from JSON Lines files, naming the line and field of every problem.
public enum DocumentReader {
    /// Reads `{"id", "text", "vector"?, "metadata"?}` lines.
    ///
    /// `id` is a non-empty string, unique in the file; `text` a string; `vector` an array of numbers;
    /// `metadata` an object whose values are strings. Other fields are ignored. Blank lines are skipped.
    ///
    /// - Throws: ``CollectionError/malformedInput(path:line:field:reason:)`` for the first bad line, or
    ///   ``CollectionError/io(path:reason:)`` when the file can't be read.
    /// - Complexity: O(file size).
    public static func documents(atPath path: String) throws(CollectionError) -> [Document] {
        var documents: [Document] = []
        var firstLine: [String: Int] = [:]
        try forEachObject(atPath: path) { (line, object) throws(CollectionError) in
            func fail(_ field: String, _ reason: String) -> CollectionError {
                CollectionError.malformedInput(path: path, line: line, field: field, reason: reason)
            }
            guard let id = object["id"] as? String else {
                throw fail("id", object["id"] == nil ? "missing" : "must be a string")
            }
            guard !id.isEmpty else { throw fail("id", "must not be empty") }
            if let earlier = firstLine[id] { throw fail("id", "\"\(id)\" already appears on line \(earlier)") }
            firstLine[id] = line
            guard let text = object["text"] as? String else {
                throw fail("text", object["text"] == nil ? "missing" : "must be a string")
            }
            let vector = try object["vector"].map { (value) throws(CollectionError) in
                guard let vector = numbers(value) else { throw fail("vector", "must be an array of numbers") }
                return vector
            }
            var metadata: [String: String] = [:]
            if let value = object["metadata"] {
                guard let dictionary = value as? [String: Any] else { throw fail("metadata", "must be an object") }
                for (key, value) in dictionary {
                    guard let string = value as? String else {
                        throw fail("metadata.\(key)", "must be a string")
                    }
                    metadata[key] = string
                }
            }
            documents.append(Document(id: id, text: text, vector: vector, metadata: metadata))
        }
        return documents
    }

    /// One query of a batch file.
    public struct Query: Sendable, Equatable {
        /// The query's ID (`qid`, or `id`), echoed in the results.
        public var id: String
        /// The query text (may be empty for a vector query).
        public var text: String
        /// The query vector, if given.
        public var vector: [Float]?
        /// The 1-based line of the file the query is on, for error messages.
        public var line: Int
    }

    /// Reads the one query-file schema of Memp: `{"qid", "query"?, "vector"?}` lines.
    ///
    /// `qid` (or `id`) is a string or a number; `query` the text (`text` is read as a synonym; give one of the
    /// two); `vector` an array of numbers. At least one of a text and a vector is required.
    ///
    /// - Throws: ``CollectionError/malformedInput(path:line:field:reason:)`` or ``CollectionError/io(path:reason:)``.
    public static func queries(atPath path: String) throws(CollectionError) -> [Query] {
        var queries: [Query] = []
        try forEachObject(atPath: path) { (line, object) throws(CollectionError) in
            func fail(_ field: String, _ reason: String) -> CollectionError {
                CollectionError.malformedInput(path: path, line: line, field: field, reason: reason)
            }
            let field = object["qid"] != nil ? "qid" : "id"
            let id: String
            switch object[field] {
            case let string as String: id = string
            case let number as NSNumber: id = number.stringValue
            case nil: throw fail("qid", "missing")
            default: throw fail(field, "must be a string or a number")
            }
            if object["query"] != nil && object["text"] != nil {
                throw fail("text", "give the text once, as \"query\"")
            }
            let textField = object["query"] != nil ? "query" : "text"
            let text = object[textField] as? String
            if object[textField] != nil && text == nil { throw fail(textField, "must be a string") }
            let vector = try object["vector"].map { (value) throws(CollectionError) in
                guard let vector = numbers(value) else { throw fail("vector", "must be an array of numbers") }
                return vector
            }
            guard text != nil || vector != nil else { throw fail("query", "a query needs a text or a vector") }
            queries.append(Query(id: id, text: text ?? "", vector: vector, line: line))
        }
        return queries
    }

    private static func numbers(_ value: Any) -> [Float]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Float] = []
        result.reserveCapacity(array.count)
        for element in array {
            // JSON true/false arrive as Bool, which would otherwise bridge to NSNumber 1/0.
            guard type(of: element) != Bool.self, let number = element as? NSNumber else { return nil }
            result.append(number.floatValue)
        }
        return result
    }

    private static func forEachObject(
        atPath path: String, _ body: (Int, [String: Any]) throws(CollectionError) -> Void
    ) throws(CollectionError) {
        let reader = JSONLinesReader(path: path)
        if let reason = reader.unreadableReason { throw CollectionError.io(path: path, reason: reason) }
        for line in reader {
            guard let object = (try? JSONSerialization.jsonObject(with: line.data)) as? [String: Any] else {
                throw CollectionError.malformedInput(
                    path: path, line: line.number, field: "(line)", reason: "not a JSON object")
            }
            try body(line.number, object)
        }
    }
}
