import Foundation
import LLMClient
import RetrievalCore
import TestSupport
import Testing

@Suite struct ChatModelSettingsTests {
    @Test func flagsWinOverTheConfigFileAndDefaultsFillTheRest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("llm.json")
        try #"{"url": "http://127.0.0.1:9", "model": "smollm2", "structuredOutput": "tagged", "timeout": 7}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let file = try ChatModelSettings(contentsOf: path)
        #expect(
            file
                == ChatModelSettings(url: "http://127.0.0.1:9", model: "smollm2", structuredOutput: .tagged, timeout: 7)
        )
        let merged = ChatModelSettings(model: "qwen", timeout: 3).filled(from: file)
        #expect(
            merged == ChatModelSettings(url: "http://127.0.0.1:9", model: "qwen", structuredOutput: .tagged, timeout: 3)
        )
        let model = try #require(try merged.chatModel())
        #expect(model.model == "qwen" && model.structuredOutput == .tagged)
        let defaults = try #require(try ChatModelSettings(url: "https://example.invalid/v1").chatModel())
        #expect(defaults.model == "default" && defaults.structuredOutput == .jsonSchema)
        #expect(try ChatModelSettings(model: "smollm2").chatModel() == nil)
    }

    @Test func badConfigFilesNameThePathAndTheField() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = directory.file("none.json")
        #expect(
            throws: LanguageModelError.invalidConfiguration(
                path: missing, reason: "the file is missing")
        ) {
            try ChatModelSettings(contentsOf: missing)
        }
        // A FIFO was waited on, /dev/zero read until memory ran out.
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        for (special, kind) in [(fifo, "a FIFO"), ("/dev/zero", "a device")] {
            #expect(
                throws: LanguageModelError.invalidConfiguration(
                    path: special, reason: "the file is \(kind), not a regular file")
            ) { try ChatModelSettings(contentsOf: special) }
        }
        let path = directory.file("llm.json")
        for (text, reason) in [
            ("[1, 2]", "not a JSON object of settings"), ("{\"timeout\": \"soon\"}", "field timeout is not valid"),
            ("{\"structuredOutput\": \"xml\"}", "field structuredOutput is not valid"),
            ("not json", "not a JSON object of settings (Invalid value around character 1)"),
            // Hostile run 7: a misspelt key configured nothing, a repeated one was read with its first value, and a
            // number out of range was "not a JSON object of settings".
            (#"{"URL": "http://127.0.0.1:8080"}"#, "field URL is not a setting"),
            (
                #"{"url": "http://a", "url": "http://b"}"#,
                "field url appears twice in its object; keep one of the values"
            ),
            // Hostile run 22: the field of a number no float holds is named (finding 215).
            (
                #"{"timeout": 1e400}"#,
                "not a JSON object of settings (field timeout " + JSONSyntax.outOfRangeReason("1e400") + ")"
            ),
        ] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: LanguageModelError.invalidConfiguration(path: path, reason: reason)) {
                try ChatModelSettings(contentsOf: path)
            }
        }
    }

    @Test(arguments: [
        (ChatModelSettings(url: "127.0.0.1:8080"), "url", "127.0.0.1:8080"),
        (ChatModelSettings(url: "ftp://host/"), "url", "ftp://host/"),
        (ChatModelSettings(url: "http://127.0.0.1:8080", timeout: 0), "timeout", "0.0"),
        (ChatModelSettings(timeout: -2), "timeout", "-2.0"),
        (ChatModelSettings(url: "http://127.0.0.1:8080", timeout: .infinity), "timeout", "inf"),
    ])
    func unusableSettingsAreRefusedBeforeAnyRequest(settings: ChatModelSettings, name: String, value: String) {
        #expect { try settings.chatModel() } throws: { error in
            guard case .invalidSetting(let badName, let badValue, _) = error as? LanguageModelError else {
                return false
            }
            return badName == name && badValue == value
        }
    }
}
