import ArgumentParser
import ProceduralMemory

/// The text limits an import applies (`memp import`, `memp import-bundle`): the library's defaults, raised or
/// lowered where a flag says.
struct TextLimitOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "The longest input line accepted, in bytes (default 4 MiB).")
    var maxLineBytes: Int?
    @Option(parsing: .unconditional, help: "The longest task accepted, in bytes (default 16 KiB).") var maxTaskBytes:
        Int?
    @Option(parsing: .unconditional, help: "The longest step action accepted, in bytes (default 16 KiB).")
    var maxStepBytes: Int?
    @Option(parsing: .unconditional, help: "The longest step observation accepted, in bytes (default 256 KiB).")
    var maxObservationBytes: Int?

    func validate() throws {
        for (flag, value) in [
            ("--max-line-bytes", maxLineBytes), ("--max-task-bytes", maxTaskBytes),
            ("--max-step-bytes", maxStepBytes), ("--max-observation-bytes", maxObservationBytes),
        ] {
            if let value, value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value)).") }
        }
    }

    /// The default limits, raised (or lowered) where a flag says.
    var limits: TextLimits {
        var limits = TextLimits()
        if let maxLineBytes { limits.maximumLineBytes = maxLineBytes }
        if let maxTaskBytes { limits.maximumTaskBytes = maxTaskBytes }
        if let maxStepBytes { limits.maximumStepTextBytes = maxStepBytes }
        if let maxObservationBytes { limits.maximumObservationBytes = maxObservationBytes }
        return limits
    }
}
