/// A lock for async code: at most one holder, waiters resumed in arrival order, threads never blocked.
///
/// Serializes a store's writers (and a SQLite backend's accesses of its writer connection).
package actor AsyncLock {
    private var isLocked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates a free lock.
    package init() {}

    /// Waits until the lock is free, then holds it.
    package func lock() async {
        if !isLocked {
            isLocked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the lock to the next waiter, or frees it.
    package func unlock() {
        if waiters.isEmpty {
            isLocked = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    /// Runs `body` holding the lock, and frees it however `body` ends.
    nonisolated package func withLock<Result, Failure: Error>(
        _ body: () async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        await lock()
        do {
            let result = try await body()
            await unlock()
            return result
        } catch {
            await unlock()
            throw error
        }
    }
}
