import ArgumentParser
import MemoryLocation
import ProceduralMemory

/// `memp stats`: counts of what a store holds.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show what a memory store holds.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let location = StoreLocation(storeOptions.store)
        let statistics = try await MemoryStore.statistics(at: location)
        if json {
            print(try jsonLine(statistics))
            return
        }
        let info = try await MemoryStore.info(at: location)
        print("Store:        \(storeOptions.store)")
        print("Embedder:     \(info.embedderID) (\(info.dimension) dimensions)")
        print("Trajectories: \(statistics.trajectories)")
        for (source, count) in statistics.trajectoriesBySource.sorted(by: { $0.key < $1.key }) {
            print("  \(source): \(count)")
        }
        print(
            "Memories:     \(statistics.memories) (\(statistics.activeMemories) active, \(statistics.deprecatedMemories) deprecated)"
        )
        for (policy, count) in statistics.memoriesByBuildPolicy.sorted(by: { $0.key < $1.key }) {
            print("  \(policy): \(count)")
        }
        print("History:      \(statistics.historyEntries) entries")
        print("Generation:   \(statistics.generation)")
    }
}
