import Testing

extension Trait where Self == TimeLimitTrait {
    /// The time limit of a test that would wait forever if the defect it guards against came back (a server that
    /// never exits, a FIFO opened for reading, a connection nobody closes): it turns that wait into a failure.
    ///
    /// The limit counts from the test's start, and `swift test` starts the tests of a run together: on a 2-core
    /// machine they were reported 330–890 s after they started. A 2-minute limit failed a test that takes a second
    /// alone, while the store it serves was still being made (CI, 2026-12-06). 30 minutes is far above a loaded run
    /// and well below CI's 90.
    public static var hangGuard: Self { .timeLimit(.minutes(30)) }
}
