import ArgumentParser
import ProceduralMemory

extension UpdatePolicy: ExpressibleByArgument {}

/// The thresholds of the update cycle, shared by `feedback` and `update`.
struct UpdateSettingsOptions: ParsableArguments {
    @Option(help: "Deprecate a memory used at least this many times…") var minHits = 3
    @Option(help: "…whose success rate is below this.") var minSuccessRate = 0.5
    @Option(help: "The reward from which an outcome without a success flag counts as a success.")
    var successReward = 1.0

    var settings: UpdateSettings {
        UpdateSettings(minimumHits: minHits, minimumSuccessRate: minSuccessRate, successReward: successReward)
    }

    func validate() throws {
        guard minHits >= 1 else { throw ValidationError("--min-hits must be at least 1 (got \(minHits)).") }
        guard (0...1).contains(minSuccessRate) else {
            throw ValidationError("--min-success-rate must be within 0…1 (got \(minSuccessRate)).")
        }
        guard successReward.isFinite else {
            throw ValidationError("--success-reward must be a finite number (got \(successReward)).")
        }
    }
}
