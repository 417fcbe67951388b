import Foundation

/// Runs `body`, which blocks the thread it runs on (waiting for a child process, reading a pipe to its end, waiting
/// on a semaphore), on a thread of its own, and suspends until it returns.
///
/// The tests of one `swift test` run share Swift's cooperative thread pool, one thread per core. A test that blocks
/// one of those threads while a child runs for a minute takes half of a 2-core machine's pool from every other test:
/// two such tests at once stalled the whole run, and lookups of a few milliseconds waited past the service's 30 s
/// limit (CI, 2026-12-06).
public func onOwnThread<Value: Sendable, Failure: Error>(
    _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        Thread.detachNewThread {
            do throws(Failure) { continuation.resume(returning: .success(try body())) } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
