/// The limits a service puts on requests, so that no client can make it run out of memory or time.
public struct ServiceLimits: Sendable, Equatable {
    /// The largest request body, in bytes.
    public var maximumBodyBytes: Int
    /// The largest `k`.
    public var maximumK: Int
    /// The most tasks in one batch lookup or update.
    public var maximumBatchTasks: Int
    /// The longest task text, in characters.
    public var maximumTaskCharacters: Int
    /// The most bytes of memory text (tasks, scripts, step actions and observations) one lookup or batch lookup may
    /// answer with.
    ///
    /// Hits carry their memories' steps, so a batch of 256 tasks with `k` 100 over memories of a few megabytes
    /// each would be an answer of tens of gigabytes, held in memory three times while it is encoded.
    public var maximumAnswerTextBytes: Int
    /// How long a lookup may take before it is answered with ``ServiceError/timeout(seconds:)``.
    ///
    /// Writes are not cut short: a write is answered when it is committed.
    public var lookupTimeout: Duration

    /// Creates limits: 8 MiB bodies, `k` ≤ 100, 256 tasks per batch, 20,000-character tasks, 64 MiB of memory text
    /// per answer, 30 s per lookup.
    public init(
        maximumBodyBytes: Int = 8 << 20, maximumK: Int = 100, maximumBatchTasks: Int = 256,
        maximumTaskCharacters: Int = 20_000, maximumAnswerTextBytes: Int = 64 << 20,
        lookupTimeout: Duration = .seconds(30)
    ) {
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumK = maximumK
        self.maximumBatchTasks = maximumBatchTasks
        self.maximumTaskCharacters = maximumTaskCharacters
        self.maximumAnswerTextBytes = maximumAnswerTextBytes
        self.lookupTimeout = lookupTimeout
    }

    /// The longest ``lookupTimeout`` a service keeps: a year (a sleep of `Int64.max` seconds trapped converting to
    /// nanoseconds, hostile run 15).
    public static let longestLookupTimeout = Duration.seconds(365 * 86_400)

    /// The limits with each count at least 1 and ``lookupTimeout`` within 1 ns…``longestLookupTimeout``: what a
    /// ``MemoryService`` keeps of limits set out of range (a negative timeout was quoted to clients as "longer than
    /// -5 s", a `maximumK` of -1 as the limit).
    package var clamped: ServiceLimits {
        ServiceLimits(
            maximumBodyBytes: max(1, maximumBodyBytes), maximumK: max(1, maximumK),
            maximumBatchTasks: max(1, maximumBatchTasks), maximumTaskCharacters: max(1, maximumTaskCharacters),
            maximumAnswerTextBytes: max(1, maximumAnswerTextBytes),
            lookupTimeout: min(max(.nanoseconds(1), lookupTimeout), Self.longestLookupTimeout))
    }
}
