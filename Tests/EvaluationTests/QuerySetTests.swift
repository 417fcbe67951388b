import Foundation
import ProceduralMemory
import TestSupport
import Testing

@testable import Evaluation

@Suite struct QuerySetTests {
    @Test func readsQueriesWithLabelsAndEmptyRelevance() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            """
            {"qid": "q1", "query": "heat milk", "relevant": ["t1", "t2"], "labels": {"taskType": "heat"}}

            {"qid": "q2", "query": "written by hand", "relevant": []}
            {"qid": 3, "text": "read as memp query reads it", "relevant": ["t3"]}
            """, to: "queries.jsonl")
        let set = try QuerySet(contentsOf: path)
        #expect(
            set.queries == [
                EvaluationQuery(id: "q1", text: "heat milk", relevant: ["t1", "t2"], labels: ["taskType": "heat"]),
                EvaluationQuery(id: "q2", text: "written by hand", relevant: []),
                EvaluationQuery(id: "3", text: "read as memp query reads it", relevant: ["t3"]),
            ])
        #expect(set.sha256.count == 64)
    }

    /// The judgments are part of an evaluation's schema; a per-line `"k"` or a misspelt `"lables"` is named.
    @Test func fieldsOutsideTheEvaluationSchemaAreNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            """
            {"qid": "q1", "query": "heat milk", "relevant": ["t1"], "labels": {"taskType": "heat"}, "k": 5}
            {"qid": "q2", "query": "cool milk", "relevant": [], "lables": {"taskType": "cool"}}
            """, to: "queries.jsonl")
        let set = try QuerySet(contentsOf: path)
        #expect(set.queries.map(\.labels) == [["taskType": "heat"], [:]])
        #expect(
            set.unreadFieldsWarning
                == "2 fields of the query file \(path) are not in the evaluation query schema (qid, query or text, "
                + #"relevant, labels), so nothing of them was read: "k" (line 1), "lables" (line 2)"#)
        let judged = try directory.write(#"{"qid": "q1", "query": "heat milk", "relevant": ["t1"]}"#, to: "j.jsonl")
        #expect(try QuerySet(contentsOf: judged).unreadFieldsWarning == nil)
    }

    @Test(arguments: [
        (#"{"query": "a", "relevant": []}"#, "qid", "missing"),
        (#"{"qid": "", "query": "a", "relevant": []}"#, "qid", "must not be empty"),
        (#"{"qid": true, "query": "a", "relevant": []}"#, "qid", "must be a string or a number"),
        (#"{"qid": "q", "query": "  ", "relevant": []}"#, "query", "must not be blank"),
        // Hostile run 12: a zero-width space was read, and the whole evaluation stopped at its lookup.
        (#"{"qid": "q", "query": "\u200b\u00ad", "relevant": []}"#, "query", "must not be blank"),
        (#"{"qid": "q", "relevant": []}"#, "query", "a query needs a text or a vector"),
        (
            #"{"qid": "q", "query": "a", "vector": [1, 0], "relevant": []}"#, "vector",
            "is not read: an evaluation embeds each query's text with the store's embedder"
        ),
        (#"{"qid": "q", "query": "a"}"#, "relevant", "missing (use [] for a query with no relevant trajectory)"),
        (#"{"qid": "q", "query": "a", "relevant": "t1"}"#, "relevant", "must be an array of trajectory IDs"),
        (#"{"qid": "q", "query": "a", "relevant": ["t1", 2]}"#, "relevant[1]", "must be a non-empty string"),
        (#"{"qid": "q", "query": "a", "relevant": [], "labels": {"k": 1}}"#, "labels.k", "must be a string"),
        (#"["qid"]"#, "(line)", "must be a JSON object"),
        (#"{"qid": "#, "(line)", "not valid JSON: Unexpected end of file during JSON parse"),
    ])
    func namesTheLineAndFieldOfABadRecord(line: String, field: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            #"{"qid": "ok", "query": "fine", "relevant": []}"# + "\n" + line, to: "queries.jsonl")
        #expect(throws: EvaluationError.invalidQuery(path: path, line: 2, field: field, reason: reason)) {
            try QuerySet(contentsOf: path)
        }
    }

    /// A line over the limit is refused as it is read (a file of one 100 MB line took 450 MB).
    @Test func aLineOverTheLimitIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = String(repeating: "a", count: MemoryStore.maximumQueryLineBytes)
        let long = #"{"qid": "q", "query": ""# + text + #"", "relevant": []}"#
        let path = try directory.write(
            #"{"qid": "ok", "query": "fine", "relevant": []}"# + "\n" + long, to: "queries.jsonl")
        #expect(
            throws: EvaluationError.invalidQuery(
                path: path, line: 2, field: "(line)",
                reason: "\(long.utf8.count) bytes, over the limit of \(MemoryStore.maximumQueryLineBytes) bytes")
        ) { try QuerySet(contentsOf: path) }
    }

    /// Hostile run 5: a query longer than a lookup takes was refused only when looked up, without saying which.
    @Test func aQueryOverTheLookupLimitIsRefusedWithItsLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let limit = MemoryStore.maximumLookupTaskBytes
        let long = #"{"qid": "q", "query": ""# + String(repeating: "a", count: limit + 1) + #"", "relevant": []}"#
        let path = try directory.write(
            #"{"qid": "ok", "query": "fine", "relevant": []}"# + "\n" + long, to: "queries.jsonl")
        #expect(
            throws: EvaluationError.invalidQuery(
                path: path, line: 2, field: "query", reason: "is \(limit + 1) bytes; a lookup takes at most \(limit)")
        ) { try QuerySet(contentsOf: path) }
    }

    @Test func rejectsDuplicateIDsAndEmptyFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let duplicate = try directory.write(
            #"{"qid": "q", "query": "a", "relevant": []}"# + "\n" + #"{"qid": "q", "query": "b", "relevant": []}"#,
            to: "queries.jsonl")
        #expect(throws: EvaluationError.duplicateQuery(id: "q", path: duplicate, line: 2)) {
            try QuerySet(contentsOf: duplicate)
        }
        let empty = try directory.write("\n\n", to: "queries.jsonl")
        #expect(throws: EvaluationError.emptyQuerySet(path: empty)) { try QuerySet(contentsOf: empty) }
        let missing = directory.file("absent.jsonl")
        #expect(throws: EvaluationError.self) { try QuerySet(contentsOf: missing) }
    }
}
