import ArgumentParser
import ProceduralMemory

extension UpdatePolicy: ExpressibleByArgument {}

/// The thresholds of the update cycle, shared by `feedback` and `update`.
struct UpdateSettingsOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Deprecate a memory used at least this many times…") var minHits = 3
    @Option(parsing: .unconditional, help: "…whose success rate is below this.") var minSuccessRate = 0.5
    @Option(
        parsing: .unconditional, help: "The reward from which an outcome without a success flag counts as a success.")
    var successReward = 1.0

    var settings: UpdateSettings {
        UpdateSettings(minimumHits: minHits, minimumSuccessRate: minSuccessRate, successReward: successReward)
    }

    func validate() throws { try Self.validate(settings) }

    /// The library's rules for the settings (``ProceduralMemory/UpdateSettings/validate()``), told with the flags
    /// that set them.
    static func validate(_ settings: UpdateSettings) throws {
        do throws(MemoryError) { try settings.validate() } catch {
            throw flagError(
                error,
                flags: [
                    "minimumHits": "--min-hits", "minimumSuccessRate": "--min-success-rate",
                    "successReward": "--success-reward", "batchSize": "--batch-size",
                    "duplicateTaskSimilarity": "--duplicate-task-similarity",
                    "duplicateContentSimilarity": "--duplicate-content-similarity",
                ])
        }
    }
}
