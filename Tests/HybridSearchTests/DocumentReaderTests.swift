import Foundation
import RetrievalCore
import TestSupport
import Testing

@testable import HybridSearch

@Suite struct DocumentReaderTests {
    func write(_ lines: [String], in directory: TemporaryDirectory) throws -> String {
        try directory.write(lines.joined(separator: "\n") + "\n", to: "input.jsonl")
    }

    @Test func readsDocumentsWithOptionalFields() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try write(
            [
                #"{"id": "a", "text": "hello", "vector": [1, 0.5, -2], "metadata": {"lang": "en"}}"#, "",
                #"{"id": "b", "text": "world", "extra": 1}"#,
            ], in: directory)
        #expect(
            try DocumentReader.documents(atPath: path) == [
                Document(id: "a", text: "hello", vector: [1, 0.5, -2], metadata: ["lang": "en"]),
                Document(id: "b", text: "world"),
            ])
    }

    @Test(arguments: [
        (#"{"text": "x"}"#, "id", "missing"),
        (#"{"id": 3, "text": "x"}"#, "id", "must be a string"),
        (#"{"id": "", "text": "x"}"#, "id", "must not be empty"),
        (#"{"id": "a"}"#, "text", "missing"),
        (#"{"id": "a", "text": "x", "vector": [1, "2"]}"#, "vector", "must be an array of numbers"),
        (#"{"id": "a", "text": "x", "vector": [1, true]}"#, "vector", "must be an array of numbers"),
        (#"{"id": "a", "text": "x", "metadata": {"n": 1}}"#, "metadata.n", "must be a string"),
        (#"{"id": "a", "text": "x", "metadata": [1]}"#, "metadata", "must be an object"),
        (#"{"id": "a", "text": "#, "(line)", "not valid JSON: Unexpected end of file during JSON parse"),
        (#"["a"]"#, "(line)", "must be a JSON object"),
        (#"{"id": "first", "text": "again"}"#, "id", "\"first\" already appears on line 1"),
        // Hostile run 4: a repeated key was read with one of its values.
        (#"{"id": "b", "text": "x", "text": "y"}"#, "text", "appears twice in its object; keep one of the values"),
        // Hostile run 5: an ID with a line break, NUL or escape sequence was stored and split or recoloured every
        // line of `memp collection search` it was printed on.
        (
            #"{"id": "b\nc", "text": "x"}"#, "id",
            "contains the control character U+000A, which an ID can't hold"
        ),
        (
            #"{"id": "b\u0000", "text": "x"}"#, "id",
            "contains the control character U+0000, which an ID can't hold"
        ),
        (
            #"{"id": "\u001b[31mb", "text": "x"}"#, "id",
            "contains the control character U+001B, which an ID can't hold"
        ),
        // Hostile run 12: a right-to-left override showed "mem\u202Egnp.exe" as "memexe.png" and reordered the rest
        // of its line.
        (
            #"{"id": "mem\u202egnp.exe", "text": "x"}"#, "id",
            "contains the bidirectional formatting character U+202E, which an ID can't hold"
        ),
    ])
    func badLineNamesLineAndField(line: String, field: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try write([#"{"id": "first", "text": "ok"}"#, line], in: directory)
        #expect(throws: CollectionError.malformedInput(path: path, line: 2, field: field, reason: reason)) {
            try DocumentReader.documents(atPath: path)
        }
    }

    /// Before, a document line of any length was read whole (a 100 MB line held 333 MB).
    @Test func aDocumentLineOverTheLimitIsRefusedWithItsLengthAndTheLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let long = #"{"id": "b", "text": ""# + String(repeating: "a", count: 100) + #""}"#
        let atLimit = #"{"id": "c", "text": ""# + String(repeating: "a", count: 100 - 23) + #""}"#
        #expect(atLimit.utf8.count == 100)
        let path = try write([#"{"id": "a", "text": "ok"}"#, atLimit, long], in: directory)
        #expect(
            throws: CollectionError.malformedInput(
                path: path, line: 3, field: "(line)", reason: "\(long.utf8.count) bytes, over the limit of 100 bytes")
        ) { try DocumentReader.documents(atPath: path, maximumLineBytes: 100) }
        #expect(try DocumentReader.documents(atPath: path, maximumLineBytes: long.utf8.count).count == 3)
    }

    @Test func readsQueries() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try write(
            [
                #"{"qid": "q1", "text": "open file"}"#, #"{"id": 7, "vector": [1, 2]}"#, #"{"qid": "q3"}"#,
            ], in: directory)
        #expect(
            throws: CollectionError.malformedInput(
                path: path, line: 3, field: "query", reason: "a query needs a text or a vector")
        ) {
            try DocumentReader.queries(atPath: path)
        }
        let good = try write(
            [
                #"{"qid": "q1", "text": "open file"}"#, #"{"id": 7, "vector": [1, 2]}"#,
                #"{"qid": "q3", "query": "close file"}"#,
            ], in: directory)
        #expect(
            try DocumentReader.queries(atPath: good) == [
                DocumentReader.Query(id: "q1", text: "open file", vector: nil, line: 1),
                DocumentReader.Query(id: "7", text: "", vector: [1, 2], line: 2),
                DocumentReader.Query(id: "q3", text: "close file", vector: nil, line: 3),
            ])
    }

    /// Fields outside the schemas are named, not refused: a misspelt `metdata` lost a document's metadata unseen, and
    /// a per-line `"k"` or `"filter"`, which a query line cannot set, was ignored unseen.
    @Test func fieldsOutsideTheSchemasAreNamedWithTheirLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let documentsPath = try write(
            [
                #"{"id": "a", "text": "x", "metdata": {"lang": "en"}}"#,
                #"{"id": "b", "text": "y", "metdata": {}, "extra": 1, "metadata": {"lang": "de"}}"#,
            ], in: directory)
        var unread = UnreadFields()
        let documents = try DocumentReader.documents(atPath: documentsPath, unreadFields: &unread)
        #expect(documents.map(\.metadata) == [[:], ["lang": "de"]])
        #expect(
            DocumentReader.unreadDocumentFieldsWarning(unread, path: "d.jsonl")
                == "2 fields of the documents file d.jsonl are not in the document schema (id, text, vector, metadata), "
                + #"so nothing of them was stored: "metdata" (2 lines from line 1), "extra" (line 2)"#)
        let queriesPath = try directory.write(
            #"{"qid": "q1", "query": "open", "k": 3, "filter": {"lang": "en"}}"# + "\n"
                + #"{"id": "q2", "text": "close", "vector": [1]}"# + "\n",
            to: "queries.jsonl")
        #expect(try DocumentReader.queries(atPath: queriesPath).map(\.unreadFields) == [["filter", "k"], []])
        #expect(DocumentReader.unreadQueryFieldsWarning(UnreadFields(), path: "q.jsonl") == nil)
        // A name is quoted in the warning with its controls and bidirectional overrides escaped.
        var hostile = UnreadFields()
        hostile.note(["a\u{202E}b", "c\u{1B}[2J"], line: 4)
        #expect(hostile.fields.map(\.name) == ["a\\u{202E}b", "c\\u{1B}[2J"])
    }

    /// A query file without a query (empty, or blank lines only) is refused: a batch of nothing answered nothing and
    /// exited 0, as if the file were the right one.
    @Test(arguments: ["", "\n\n", "  \n\t\n"])
    func aFileWithoutAQueryIsRefused(contents: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(contents, to: "queries.jsonl")
        #expect(throws: CollectionError.noQueries(path: path)) { try DocumentReader.queries(atPath: path) }
        #expect(
            CollectionError.noQueries(path: path).description
                == "\(path) holds no query: it is empty, or every line is blank.")
    }

    @Test func queryAndTextTogetherAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try write([#"{"qid": "q1", "query": "open file", "text": "open file"}"#], in: directory)
        #expect(
            throws: CollectionError.malformedInput(
                path: path, line: 1, field: "text", reason: "give the text once, as \"query\"")
        ) {
            try DocumentReader.queries(atPath: path)
        }
    }

    // A batch reads every line: the good ones as queries, each bad one as the error that names it, and a line over
    // the limit is refused without being held.
    @Test func queryLinesGiveEachLinesQueryOrItsError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try write(
            [
                #"{"qid": "q1", "query": "open file"}"#, "[1, 2]", "{\"qid\": ", #"{"qid": 2, "text": "close it"}"#,
                #"{"qid": "long", "query": "\#(String(repeating: "a", count: 64))"}"#, #"{"query": "no id"}"#,
                #"{"qid": true, "query": "yes"}"#, #"{"qid": 1, "query": "one"}"#, #"{"qid": 0, "query": "zero"}"#,
            ], in: directory)
        let lines = Array(try DocumentReader.queryLines(atPath: path, maximumLineBytes: 48))
        #expect(lines.count == 9)
        // The numbers 0 and 1 bridge to Bool as JSON's true and false do; they are IDs all the same.
        #expect(try lines[7].get().id == "1" && lines[8].get().id == "0")
        #expect(try lines[0].get() == DocumentReader.Query(id: "q1", text: "open file", vector: nil, line: 1))
        #expect(try lines[3].get() == DocumentReader.Query(id: "2", text: "close it", vector: nil, line: 4))
        let errors = lines.map { line -> CollectionError? in
            guard case .failure(let error) = line else { return nil }
            return error
        }
        #expect(
            errors == [
                nil,
                .malformedInput(path: path, line: 2, field: "(line)", reason: "must be a JSON object"),
                .malformedInput(
                    path: path, line: 3, field: "(line)",
                    reason: "not valid JSON: Unexpected end of file during JSON parse"),
                nil,
                .malformedInput(path: path, line: 5, field: "(line)", reason: "92 bytes, over the limit of 48 bytes"),
                .malformedInput(path: path, line: 6, field: "qid", reason: "missing"),
                .malformedInput(path: path, line: 7, field: "qid", reason: "must be a string or a number"), nil, nil,
            ])
        #expect(
            throws: CollectionError.malformedInput(
                path: path, line: 2, field: "(line)", reason: "must be a JSON object")
        ) {
            try DocumentReader.queries(atPath: path)
        }
        #expect(throws: CollectionError.io(path: directory.path, reason: "is a directory, not a JSON Lines file")) {
            try DocumentReader.queryLines(atPath: directory.path)
        }
    }
}
