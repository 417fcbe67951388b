import RetrievalCore

/// What filters look at for each memory of a snapshot (``CatalogEntry``), by memory number.
///
/// A dictionary split into buckets by the number's low bits. A writer changes a copy of the published snapshot while
/// lookups search the original, so its first change copies what it changes: with one dictionary that was every entry
/// (about 30 ms a write at 100,000 memories, for a deprecation that changes one); with buckets it is one bucket.
struct Catalog: Sendable {
    /// How many buckets; a change copies about `count / bucketCount` entries.
    private static let bucketCount = 256

    private var buckets: [[DocumentID: CatalogEntry]]
    /// How many memories the catalog holds.
    private(set) var count = 0

    /// An empty catalog.
    init() {
        buckets = Array(repeating: [:], count: Self.bucketCount)
    }

    /// A catalog of `entries`.
    init(_ entries: [DocumentID: CatalogEntry]) {
        self.init()
        for index in buckets.indices { buckets[index].reserveCapacity(entries.count / Self.bucketCount + 1) }
        for (number, entry) in entries { updateValue(entry, forKey: number) }
    }

    /// The entry of memory `number`, if the catalog holds it.
    subscript(number: DocumentID) -> CatalogEntry? {
        buckets[Self.bucket(of: number)][number]
    }

    /// Sets the entry of memory `number`; returns the entry it replaced, if any.
    @discardableResult
    mutating func updateValue(_ entry: CatalogEntry, forKey number: DocumentID) -> CatalogEntry? {
        let previous = buckets[Self.bucket(of: number)].updateValue(entry, forKey: number)
        if previous == nil { count += 1 }
        return previous
    }

    /// Removes the entry of memory `number`; returns it, or `nil` when the catalog did not hold it.
    @discardableResult
    mutating func removeValue(forKey number: DocumentID) -> CatalogEntry? {
        let removed = buckets[Self.bucket(of: number)].removeValue(forKey: number)
        if removed != nil { count -= 1 }
        return removed
    }

    private static func bucket(of number: DocumentID) -> Int {
        Int(number.rawValue % UInt64(bucketCount))
    }
}
