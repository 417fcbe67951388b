/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast random number generator whose sequence is fixed by its
/// seed, on every machine.
///
/// What Memp draws at random is drawn with it, so that it repeats: the random retrieval policy, tuning folds,
/// bootstrap resamples, and the synthetic data of the tests and benchmarks.
///
///     var generator = SplitMix64(seed: 42)
///     let pick = Int.random(in: 0..<10, using: &generator)  // the same on every run
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
