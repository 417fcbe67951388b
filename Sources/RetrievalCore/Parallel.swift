import Dispatch
import Foundation
import Synchronization

/// The cores this process may use (what the rest of the project, FlatIndex's default parallelism included, counts).
package let processorCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Runs `body(task)` for every task in `0..<tasks` on up to `workers` threads and returns when all are done.
///
/// Workers claim tasks one at a time from a shared counter, so a thread that the OS delays on a busy machine
/// simply does fewer tasks instead of holding everyone up. With one worker the tasks run inline, in order.
/// `body` may capture pointers of the caller's `withUnsafe…` scope: it never outlives this call. Each task must
/// write only memory no other task touches.
package func parallelFor(_ tasks: Int, workers: Int, _ body: (Int) -> Void) {
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
