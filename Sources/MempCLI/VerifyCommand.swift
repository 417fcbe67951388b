import ArgumentParser
import MemoryLocation
import ProceduralMemory

/// `memp verify`: checks a whole store and exits non-zero on any problem.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a whole memory store: database, counters, vectors and caches.",
        discussion: """
            On a SQLite store, runs SQLite's integrity and foreign-key checks, decodes every row, checks the \
            counters (0 ≤ successes ≤ hits) and that every memory has a source trajectory and a well-formed vector. \
            On every store (also PostgreSQL), checks that every memory can be indexed and that index cache files \
            the store would trust hold what the database holds. Changes nothing. Exits 0 when the store is sound, \
            1 when anything is wrong.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Print the findings as one JSON object.") var json = false

    func run() async throws {
        let report = try await MemoryStore.verify(at: StoreLocation(storeOptions.store))
        if json {
            print(try jsonLine(report))
        } else {
            print(
                "\(storeOptions.store): \(counted(report.memories, "memory")), "
                    + "\(counted(report.trajectories, "trajectory")), generation \(report.generation)")
            for note in report.notes { print("  ok: \(note)") }
            for problem in report.problems { print("  PROBLEM: \(problem)") }
            print(report.isSound ? "OK" : "\(counted(report.problems.count, "problem")) found")
        }
        if !report.isSound { throw ExitCode.failure }
    }
}
