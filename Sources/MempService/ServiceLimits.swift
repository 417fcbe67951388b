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
    /// How long a lookup may take before it is answered with ``ServiceError/timeout(seconds:)``.
    ///
    /// Writes are not cut short: a write is answered when it is committed.
    public var lookupTimeout: Duration

    /// Creates limits: 8 MiB bodies, `k` ≤ 100, 256 tasks per batch, 20,000-character tasks, 30 s per lookup.
    public init(
        maximumBodyBytes: Int = 8 << 20, maximumK: Int = 100, maximumBatchTasks: Int = 256,
        maximumTaskCharacters: Int = 20_000, lookupTimeout: Duration = .seconds(30)
    ) {
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumK = maximumK
        self.maximumBatchTasks = maximumBatchTasks
        self.maximumTaskCharacters = maximumTaskCharacters
        self.lookupTimeout = lookupTimeout
    }
}
