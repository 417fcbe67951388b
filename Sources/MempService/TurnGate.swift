import Synchronization

/// Lets at most `width` operations run at once, the others waiting their turn in order of arrival, without holding
/// a thread while they wait.
///
/// The service runs the tasks of batch lookups one turn each through a gate one narrower than the machine: hostile
/// run 22 sent four batches of 256 long tasks at once, which held every thread of Swift's cooperative pool, so that
/// `/healthz` took 8–12 s and a one-task lookup 52 s (finding 213).
final class TurnGate: Sendable {
    private let state: Mutex<State>

    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    /// How many operations may run at once.
    let width: Int

    /// Creates a gate of `width` (at least 1).
    init(width: Int) {
        self.width = max(1, width)
        state = Mutex(State())
    }

    /// How many operations wait for their turn.
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Runs `body` once fewer than ``width`` operations run, after those that arrived before it.
    func withTurn<Result: Sendable>(_ body: () async throws(ServiceError) -> Result) async throws(ServiceError)
        -> Result
    {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                guard state.running < width else {
                    state.waiting.append(continuation)
                    return false
                }
                state.running += 1
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    /// Hands the turn to the first waiting, if any.
    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
