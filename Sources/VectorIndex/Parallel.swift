import Dispatch
import Synchronization

/// Runs `body(task)` for every task in `0..<tasks` on up to `workers` threads and returns when all are done.
///
/// Workers claim tasks one at a time from a shared counter, so a thread that the OS delays on a busy machine
/// simply does fewer tasks instead of holding everyone up. With one worker the tasks run inline, in order.
/// `body` may capture pointers of the caller's `withUnsafe…` scope: it never outlives this call. Each task must
/// write only memory no other task touches.
func parallelFor(_ tasks: Int, workers: Int, _ body: (Int) -> Void) {
    let workers = min(workers, tasks)
    guard workers > 1 else {
        for task in 0..<tasks { body(task) }
        return
    }
    let next = TaskCounter()
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendableTask(body: body)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let task = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
                guard task < tasks else { return }
                work.body(task)
            }
        }
    }
}

/// The next unclaimed task of a ``parallelFor(_:workers:_:)``.
private final class TaskCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// A task body handed to Dispatch.
///
/// Unchecked: `concurrentPerform` returns only after every iteration has run, so the closure and the pointers it
/// captures stay valid, and tasks write disjoint memory.
private struct UncheckedSendableTask: @unchecked Sendable {
    let body: (Int) -> Void
}

/// Splits `0..<rows` into `parts` ranges of whole 64-row blocks (so that each range starts on an allow-list
/// word), as equal as possible.
func blockRanges(rows: Int, parts: Int) -> [Range<Int>] {
    let blocks = (rows + 63) / 64
    let parts = max(1, min(parts, blocks))
    return (0..<parts).map { part in
        let start = min(rows, blocks * part / parts * 64)
        let end = min(rows, blocks * (part + 1) / parts * 64)
        return start..<end
    }
}

/// Row ranges for one scan on `threads` threads: four per thread, so the work balances even when a thread is
/// delayed, and one range for a single thread.
func scanRanges(rows: Int, threads: Int) -> [Range<Int>] {
    blockRanges(rows: rows, parts: threads > 1 ? threads * 4 : 1)
}
