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
