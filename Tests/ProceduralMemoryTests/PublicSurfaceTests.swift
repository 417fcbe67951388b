import Foundation
import Testing

/// ProceduralMemory's public API stays small enough to read, and documented throughout.
///
/// Issue 14 cut it from 471 public declarations to at most half, each with a doc comment. The check reads the
/// module's sources, so a new public declaration has to fit the budget (or make room) and come with its
/// documentation.
@Suite struct PublicSurfaceTests {
    /// The most public declarations ProceduralMemory may have.
    static let budget = 235

    /// One `public` declaration: where it is, and whether a `///` comment comes right before it (attributes aside).
    struct Declaration {
        var place: String
        var documented: Bool
    }

    /// Every public declaration in the Swift files of Sources/ProceduralMemory, one per line that starts with
    /// `public `.
    static func publicDeclarations() throws -> [Declaration] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let module = repository.appendingPathComponent("Sources/ProceduralMemory").path
        let files = try #require(FileManager.default.enumerator(atPath: module)).compactMap { $0 as? String }
        var declarations: [Declaration] = []
        for file in files.sorted() where file.hasSuffix(".swift") {
            let lines = try String(contentsOfFile: module + "/" + file, encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            for (index, line) in lines.enumerated() where line.hasPrefix("public ") {
                let before = lines[..<index].last { !$0.hasPrefix("@") }
                declarations.append(
                    Declaration(place: "\(file):\(index + 1)", documented: before?.hasPrefix("///") == true))
            }
        }
        return declarations
    }

    @Test func publicDeclarationsStayWithinTheBudgetAndAreDocumented() throws {
        let declarations = try Self.publicDeclarations()
        // The module's files were found: its entry points alone are dozens of declarations.
        #expect(declarations.count > 100)
        #expect(
            declarations.count <= Self.budget,
            "ProceduralMemory has \(declarations.count) public declarations; the budget is \(Self.budget)")
        #expect(declarations.filter { !$0.documented }.map(\.place) == [])
    }
}
