import Dispatch

/// Runs `body(0..<count)` on up to `count` threads and returns when all are done; one task runs inline.
///
/// `body` may capture pointers of the caller's `withUnsafe…` scope: it never outlives this call. Each task must
/// write only memory no other task touches.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else {
        if count == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendableTask(body: body)
        DispatchQueue.concurrentPerform(iterations: count) { task.body($0) }
    }
}

/// A task body handed to Dispatch. Unchecked: `concurrentPerform` returns only after every iteration has run,
/// so the closure and the pointers it captures stay valid, and iterations write disjoint memory.
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
