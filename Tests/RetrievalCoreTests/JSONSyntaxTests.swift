import Foundation
import Testing

@testable import RetrievalCore

@Suite struct JSONSyntaxTests {
    // Hostile run 4: a repeated key was read with one of its values, silently (JSONDecoder the first).
    @Test(
        arguments: [
            (#"{"id": "a", "task": "t"}"#, nil),
            (#"{"id": "a", "id": "b"}"#, "id"),
            (#"{"id": "a", "\u0069d": "b"}"#, "id"),
            (#"{"labels": {"fold": "x", "fold": "y"}}"#, "labels.fold"),
            (#"{"steps": [{"action": "a"}, {"action": "b", "action": "c"}]}"#, "steps[1].action"),
            (#"[{"a": 1}, {"a": 2}]"#, nil),
            (#"[[], {"a": 1, "a": 1}]"#, "[1].a"),
            (#"{"a": "{\"a\": 1, \"a\": 2}", "b": ["a", "a"], "c": {"a": 1}, "d": {"a": 2}}"#, nil),
            (#"{"a": {"b": 1}, "a": 2}"#, "a"),
        ] as [(String, String?)])
    func aRepeatedKeyIsFoundWithItsPath(json: String, path: String?) throws {
        let data = Data(json.utf8)
        _ = try JSONSerialization.jsonObject(with: data)  // every case is JSON
        #expect(JSONSyntax.repeatedKey(in: data) == path)
    }

    // Hostile run 22: Foundation's parser took a comma before a closing bracket, which JSON does not allow (217).
    @Test(
        arguments: [
            (#"{"task": "x", "k": 1,}"#, "", 20),
            (#"{"steps": [{"action": "a"}, ]}"#, "steps", 26),
            (#"[{"a": [1, 2,\#n ]}]"#, "[0].a", 12),
            (#"{"a": ",}", "b": [",]"]}"#, nil, 0),
            (#"{"a": [], "b": {}}"#, nil, 0),
        ] as [(String, String?, Int)])
    func aCommaBeforeAClosingBracketIsFoundWithItsContainer(json: String, container: String?, offset: Int) throws {
        let data = Data(json.utf8)
        _ = try JSONSerialization.jsonObject(with: data)  // Foundation takes every case
        let found = JSONSyntax.trailingComma(in: data)
        #expect(found?.container == container && (found?.offset ?? 0) == offset)
        #expect(
            JSONSyntax.laxness(in: data)?.reason == container.map { _ in JSONSyntax.trailingCommaReason(at: offset) })
        // A repeated key is named first.
        #expect(
            JSONSyntax.laxness(in: Data(#"{"k": [1,], "k": 2}"#.utf8))! == ("k", JSONSyntax.repeatedKeyReason))
    }
}

/// Numbers no 64-bit float holds are named with their field (hostile run 22, finding 215).
@Suite struct JSONNumberRangeTests {
    @Test(
        arguments: [
            (#"{"k": 1e400}"#, "k", "1e400"),
            (#"{"tasks": [{"outcome": {"reward": -1.5E+400}}]}"#, "tasks[0].outcome.reward", "-1.5E+400"),
            (#"[0, 1, 2e-400]"#, "[2]", "2e-400"),
            (#"{"a": "1e400", "b": 0e-400, "c": 0.0, "d": 1e300, "e": 4.9e-324, "f": -0}"#, nil, nil),
        ] as [(String, String?, String?)])
    func aNumberNoFloatHoldsIsNamedWithItsField(json: String, field: String?, literal: String?) {
        let found = JSONSyntax.numberOutOfRange(in: Data(json.utf8))
        #expect(found?.field == field && found?.literal == literal)
        if let field, let literal {
            #expect(
                JSONSyntax.problem(in: Data(json.utf8)) == nil
                    || JSONSyntax.problem(in: Data(json.utf8)) == "field \(field) "
                        + JSONSyntax.outOfRangeReason(literal)
            )
        }
    }
}

/// JSON's booleans are told from the numbers 0 and 1, which bridge to Bool as well.
@Suite struct JSONBooleanTests {
    @Test func trueAndFalseAreBooleansAndNumbersAreNot() throws {
        let object = try #require(
            try JSONSerialization.jsonObject(
                with: Data(#"{"t": true, "f": false, "one": 1, "zero": 0, "half": 0.5, "s": "true"}"#.utf8))
                as? [String: Any])
        #expect(JSONSyntax.isBoolean(object["t"] as Any) && JSONSyntax.isBoolean(object["f"] as Any))
        for key in ["one", "zero", "half", "s"] { #expect(!JSONSyntax.isBoolean(object[key] as Any), "\(key)") }
    }
}
