import ArgumentParser
import Testing

@testable import MempCLI

@Suite struct EmbedderChoiceTests {
    /// The variables holding secrets are named alike: --api-key-variable, --password-variable, --llm-key-variable
    /// (the last two were --password-env and --llm-key-env, which still work).
    @Test(arguments: ["--password-variable", "--password-env"])
    func secretVariablesAreNamedAlike(passwordFlag: String) throws {
        #expect(try PasswordOptions.parse([passwordFlag, "TEAM_PG"]).passwordVariable == "TEAM_PG")
        #expect(try LanguageModelOptions.parse(["--llm-key-variable", "KEY"]).llmKeyVariable == "KEY")
        #expect(try LanguageModelOptions.parse(["--llm-key-env", "KEY"]).llmKeyVariable == "KEY")
    }

    /// `--dimension` sizes the hashing embedder (and, for a collection, an OpenAI-compatible model); with MiniLM or
    /// without an embedder it was ignored without a word, and `memp init --embedder minilm --dimension 128` made a
    /// 384-dimensional store.
    @Test func dimensionIsRefusedWhereItWouldBeIgnored() throws {
        #expect(
            parseFailure(InitCommand.self, ["--store", "s", "--embedder", "minilm", "--dimension", "128"])
                == "--dimension applies only to --embedder hashing; minilm embeds in its model's dimensions.")
        #expect(
            parseFailure(InitCommand.self, ["--store", "s", "--dimension", "128"])
                == "--dimension needs --embedder hashing.")
        #expect(
            parseFailure(EmbedCommand.self, ["t", "--embedder", "openai", "--dimension", "8"])
                == "--dimension applies only to --embedder hashing; openai embeds in its model's dimensions.")
        let build = CollectionCommand.Build.self
        #expect(
            parseFailure(build, ["--input", "d.jsonl", "--output", "c", "--embedder", "minilm", "--dimension", "64"])
                == "--dimension applies only to --embedder hashing or --embedder openai; minilm embeds in its model's "
                + "dimensions.")
        #expect(
            parseFailure(build, ["--input", "d.jsonl", "--output", "c", "--dimension", "64"])
                == "--dimension needs --embedder hashing or --embedder openai.")
        #expect(
            try InitCommand.parse(["--store", "s", "--embedder", "hashing", "--dimension", "128"]).dimension == 128)
        #expect(try InitCommand.parse(["--store", "s", "--embedder", "minilm"]).dimension == nil)
    }
}
