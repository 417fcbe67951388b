import Foundation

/// Runs `attempt` under each limit of open files from none free to `spares - 1` free, the limit restored after each
/// attempt: for the body of an exit test, whose process alone has its limit lowered.
///
/// - Parameters:
///   - spares: How many limits to try; attempt `n` may open `n` descriptors beyond those open already.
///   - attempt: One attempt, given its number of free descriptors; what it throws is a failure.
///   - afterFailure: Called with the limit restored after each failed attempt, with the attempt's number and error:
///     where the test checks what a failure left (and exits with a code of its own when that breaks a promise).
/// - Returns: How many attempts failed and how many succeeded.
public func attemptUnderEachFileLimit(
    spares: Int, _ attempt: (Int) async throws -> Void, afterFailure: (Int, any Error) async -> Void
) async -> (failures: Int, successes: Int) {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    let original = limit.rlim_cur
    var (failures, successes) = (0, 0)
    for spare in 0..<spares {
        limit.rlim_cur = rlim_t(limitLeaving(free: spare))
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        do {
            try await attempt(spare)
            limit.rlim_cur = original
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            successes += 1
        } catch {
            limit.rlim_cur = original
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            failures += 1
            await afterFailure(spare, error)
        }
    }
    return (failures, successes)
}

/// The limit of open files under which exactly `free` descriptor numbers are free: the process's descriptors need not
/// be packed at the bottom (an exit test's process inherits the pipes other tests of its parent had open when it
/// started), and a limit of the lowest free number plus `free` left fewer free than that, so that every attempt
/// failed.
private func limitLeaving(free: Int) -> Int {
    var limit = Int(open("/dev/null", O_RDONLY))
    close(Int32(limit))
    var found = 0
    while found < free {
        if fcntl(Int32(limit), F_GETFD) == -1 && errno == EBADF { found += 1 }
        limit += 1
    }
    return limit
}
