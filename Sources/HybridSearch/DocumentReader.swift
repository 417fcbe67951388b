import Foundation
import RetrievalCore

/// Reads documents and queries from JSON Lines files, naming the line and field of every problem.
public enum DocumentReader {
    /// Reads `{"id", "text", "vector"?, "metadata"?}` lines.
    ///
    /// `id` is a non-empty string, unique in the file; `text` a string; `vector` an array of numbers;
    /// `metadata` an object whose values are strings. Other fields are not read. Blank lines are skipped; a line
    /// longer than `maximumLineBytes` is refused as it is read, without being held in memory.
    ///
    /// - Throws: ``CollectionError/malformedInput(path:line:field:reason:)`` for the first bad or over-long line,
    ///   or ``CollectionError/io(path:reason:)`` when the file can't be read.
    /// - Complexity: O(file size).
    public static func documents(
        atPath path: String, maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes
    ) throws(CollectionError) -> [Document] {
        var unreadFields = UnreadFields()
        return try documents(atPath: path, maximumLineBytes: maximumLineBytes, unreadFields: &unreadFields)
    }

    /// The fields a document line is read from.
    package static let documentFields: Set<String> = ["id", "text", "vector", "metadata"]

    /// The warning that names the unread fields of the documents file at `path`, without its final period, or
    /// `nil` when there are none.
    package static func unreadDocumentFieldsWarning(_ fields: UnreadFields, path: String) -> String? {
        fields.warning(
            of: "the documents file \(path)", notIn: "the document schema (id, text, vector, metadata)",
            consequence: "stored")
    }

    /// Reads documents as ``documents(atPath:maximumLineBytes:)`` does, noting in `unreadFields` the fields of
    /// the lines outside ``documentFields`` (a misspelt `metdata`, whose filters would be lost unseen).
    package static func documents(
        atPath path: String, maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes,
        unreadFields: inout UnreadFields
    ) throws(CollectionError) -> [Document] {
        var documents: [Document] = []
        var firstLine: [String: Int] = [:]
        try forEachObject(atPath: path, maximumLineBytes: maximumLineBytes) { (line, object) throws(CollectionError) in
            func fail(_ field: String, _ reason: String) -> CollectionError {
                CollectionError.malformedInput(path: path, line: line, field: field, reason: reason)
            }
            guard let id = object["id"] as? String else {
                throw fail("id", object["id"] == nil ? "missing" : "must be a string")
            }
            if let reason = Document.idProblem(id) { throw fail("id", reason) }
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
            unreadFields.note(UnreadFields.names(of: object.keys, notIn: documentFields), line: line)
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
        /// The line's fields outside the query schema (``queryFields``), sorted: a `"k"` or a `"filter"`, which a
        /// query line cannot set, or fields a reader adds to the schema (an evaluation's `relevant`).
        package var unreadFields: [String] = []
    }

    /// The fields a query line is read from.
    package static let queryFields: Set<String> = ["qid", "id", "query", "text", "vector"]

    /// The warning that names the unread fields of the query file at `path`, without its final period, or `nil`
    /// when there are none.
    package static func unreadQueryFieldsWarning(_ fields: UnreadFields, path: String) -> String? {
        fields.warning(
            of: "the query file \(path)", notIn: "the query schema (qid, query or text, vector)", consequence: "read")
    }

    /// Reads the one query-file schema of Memp: `{"qid", "query"?, "vector"?}` lines.
    ///
    /// `qid` (or `id`) is a string or a number; `query` the text (`text` is read as a synonym; give one of the
    /// two); `vector` an array of numbers. At least one of a text and a vector is required.
    ///
    /// - Throws: ``CollectionError/malformedInput(path:line:field:reason:)`` for the first bad line,
    ///   ``CollectionError/noQueries(path:)`` for a file without a query (empty, or all blank lines), or
    ///   ``CollectionError/io(path:reason:)`` when the file can't be read.
    public static func queries(
        atPath path: String, maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes
    ) throws(CollectionError) -> [Query] {
        var queries: [Query] = []
        for line in try queryLines(atPath: path, maximumLineBytes: maximumLineBytes) {
            queries.append(try line.get())
        }
        guard !queries.isEmpty else { throw .noQueries(path: path) }
        return queries
    }

    /// Reads a query file (the schema of ``queries(atPath:maximumLineBytes:)``) one line at a time: each non-blank
    /// line's query, or why it is not one.
    ///
    /// A batch can answer the good lines and report the bad ones. Lines are read as the sequence is walked, so
    /// memory stays flat for any number of queries.
    ///
    /// - Throws: ``CollectionError/io(path:reason:)`` when the file can't be read.
    public static func queryLines(
        atPath path: String, maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes
    ) throws(CollectionError) -> some Sequence<Result<Query, CollectionError>> {
        try queryLines(atPath: path, maximumLineBytes: maximumLineBytes) { _, _ throws(CollectionError) in }.lazy
            .map { line in line.map(\.query) }
    }

    /// Reads a query file whose lines add fields of their own to the query schema (an evaluation's relevance
    /// judgments), one line at a time: each non-blank line's query and what `fields` reads from the line, or why
    /// the line is not one.
    ///
    /// - Parameter fields: Reads the added fields from a line's JSON object, given the line's number; it throws
    ///   ``CollectionError/malformedInput(path:line:field:reason:)`` naming the field it refuses.
    /// - Throws: ``CollectionError/io(path:reason:)`` when the file can't be read.
    public static func queryLines<Fields>(
        atPath path: String, maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes,
        fields: @escaping (_ object: [String: Any], _ line: Int) throws(CollectionError) -> Fields
    ) throws(CollectionError) -> some Sequence<Result<(query: Query, fields: Fields), CollectionError>> {
        let reader = JSONLinesReader(path: path, maximumLineBytes: maximumLineBytes)
        if let reason = reader.unreadableReason { throw CollectionError.io(path: path, reason: reason) }
        return reader.lazy.map { line in
            Result { () throws(CollectionError) in
                if let reason = line.unreadable { throw .io(path: path, reason: reason) }
                let object = try object(line, path: path, maximumLineBytes: maximumLineBytes)
                return (try query(object, line: line.number, path: path), try fields(object, line.number))
            }
        }
    }

    private static func query(_ object: [String: Any], line: Int, path: String) throws(CollectionError) -> Query {
        func fail(_ field: String, _ reason: String) -> CollectionError {
            CollectionError.malformedInput(path: path, line: line, field: field, reason: reason)
        }
        let field = object["qid"] != nil ? "qid" : "id"
        let id: String
        switch object[field] {
        case let string as String: id = string
        // JSON true/false arrive as NSNumbers too (and `is Bool` holds for the numbers 0 and 1 as well).
        case let flag where JSONSyntax.isBoolean(flag as Any): throw fail(field, "must be a string or a number")
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
        return Query(
            id: id, text: text ?? "", vector: vector, line: line,
            unreadFields: UnreadFields.names(of: object.keys, notIn: queryFields))
    }

    private static func numbers(_ value: Any) -> [Float]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Float] = []
        result.reserveCapacity(array.count)
        for element in array {
            // JSON true/false arrive as NSNumbers of 1 and 0.
            guard !JSONSyntax.isBoolean(element), let number = element as? NSNumber else { return nil }
            result.append(number.floatValue)
        }
        return result
    }

    private static func forEachObject(
        atPath path: String, maximumLineBytes: Int, _ body: (Int, [String: Any]) throws(CollectionError) -> Void
    ) throws(CollectionError) {
        let reader = JSONLinesReader(path: path, maximumLineBytes: maximumLineBytes)
        if let reason = reader.unreadableReason { throw CollectionError.io(path: path, reason: reason) }
        for line in reader {
            if let reason = line.unreadable { throw .io(path: path, reason: reason) }
            try body(line.number, try object(line, path: path, maximumLineBytes: maximumLineBytes))
        }
    }

    /// The JSON object on `line`, which is refused when it is longer than `maximumLineBytes` (its bytes were not
    /// kept).
    private static func object(
        _ line: JSONLinesReader.Line, path: String, maximumLineBytes: Int
    ) throws(CollectionError) -> [String: Any] {
        func fail(_ reason: String) -> CollectionError {
            CollectionError.malformedInput(path: path, line: line.number, field: "(line)", reason: reason)
        }
        guard line.length <= maximumLineBytes else {
            throw fail("\(line.length) bytes, over the limit of \(maximumLineBytes) bytes")
        }
        guard let value = try? JSONSerialization.jsonObject(with: line.data) else {
            throw fail(JSONSyntax.problem(in: line.data).map { "not valid JSON: \($0)" } ?? "not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw fail("must be a JSON object") }
        if let (field, reason) = JSONSyntax.laxness(in: line.data) {
            throw CollectionError.malformedInput(
                path: path, line: line.number, field: field.isEmpty ? "(line)" : field, reason: reason)
        }
        return object
    }
}
