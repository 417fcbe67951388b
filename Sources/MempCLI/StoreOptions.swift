import ArgumentParser
import Foundation
import HybridSearch
import ProceduralMemory

/// The `--store` option shared by the memory commands.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The memory store directory.", valueName: "dir"))
    var store: String

    /// Opens the store with the embedder it records.
    func open() async throws -> MemoryStore { try await MemoryStore.open(at: store) }
}

extension BuildPolicy: ExpressibleByArgument {}
extension RetrievalPolicy: ExpressibleByArgument {}
extension DuplicatePolicy: ExpressibleByArgument {}
extension TrajectoryFormat: ExpressibleByArgument {}

/// Parses `key=value`.
func parseLabel(_ text: String) throws -> (key: String, value: String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("A label is key=value (got \"\(text)\").")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// Writes a diagnostic line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// One JSON object on one line.
func jsonLine(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
