import HybridSearch
import KeywordIndex
import RetrievalCore
import VectorIndex

/// Indexes a snapshot builds from the backend only when a lookup first needs them, and that no cache file holds.
struct OptionalIndexes: OptionSet, Sendable {
    let rawValue: Int
    /// ``IndexSnapshot/procedure``, for hybrid lookups that weight the procedure field.
    static let procedure = OptionalIndexes(rawValue: 1)
    /// ``IndexSnapshot/keywordMeans``, for the `keyword` policy.
    static let keywordMeans = OptionalIndexes(rawValue: 2)
}

/// The in-memory indexes of a store at one generation: what lookups search.
///
/// A value type over copy-on-write indexes: lookups take a copy and search it without locks while a writer
/// builds the next snapshot on its own copy.
struct IndexSnapshot: Sendable {
    /// Task embeddings (cosine) and tasks and keywords (BM25), by memory number: what the query, BM25 and hybrid
    /// policies search.
    var memories: HybridIndex
    /// Task embeddings, cosine.
    var tasks: FlatIndex { memories.vectors }
    /// Tasks and keywords, BM25.
    var text: KeywordIndex { memories.keywords }
    /// Mean keyword embeddings (inner product): the index the `keyword` policy searches.
    ///
    /// The dot product of two means is the average pairwise cosine of the two keyword sets, the AveFact score.
    /// `nil` until a lookup of that policy first needs it (``MemoryStore/snapshot(with:)``), then kept up to date
    /// with the other indexes; not cached on disk.
    var keywordMeans: FlatIndex?
    /// Each memory's procedure text (``IndexEntry/procedureText``), BM25; `nil` until a lookup first weights it
    /// (``MemoryStore/snapshot(with:)``), then kept up to date with the other indexes; not cached on disk.
    var procedure: KeywordIndex?
    /// What filters look at, per memory.
    var catalog: Catalog
    /// The catalog's numbers in ascending order, for reproducible random draws.
    var numbers: [DocumentID]
    /// How many catalog entries are deprecated, so that an unfiltered lookup skips filtering when none is.
    var deprecatedCount: Int
    /// The store generation this snapshot reflects.
    var generation: UInt64
    /// The backend's ``MemoryBackend/foreignCommitMarker()`` read before this snapshot was built from it: when the
    /// marker differs after a write, another writer committed meanwhile and the snapshot may miss its changes.
    var foreignCommitMarker: UInt64?
    /// Whether ``insert(_:)`` or ``remove(_:)`` changed the cached indexes (``memories``) since the flag was last
    /// cleared: each write clears it on its working copy, and a write that leaves it clear changed only catalog
    /// entries, which the cache files don't hold.
    var indexesChanged = false
    /// What changed in ``memories`` since the cache files they were loaded from or saved to: what the next save
    /// writes instead of the files; `nil` when no files hold a base of them (built from the backend, or compacted
    /// since), and the next save rewrites the files.
    var journal: CacheJournal?

    init(dimension: Int, vectorStorage: VectorStorage) throws(IndexError) {
        memories = try HybridIndex(
            dimension: dimension, metric: .cosine, vectorStorage: vectorStorage,
            tokenizer: IndexEntry.keywordTokenizer.configuration)
        catalog = Catalog()
        numbers = []
        deprecatedCount = 0
        generation = 0
    }

    init(memories: HybridIndex, catalog: [DocumentID: CatalogEntry], generation: UInt64) {
        self.memories = memories
        self.catalog = Catalog(catalog)
        self.numbers = catalog.keys.sorted()
        self.deprecatedCount = catalog.values.count { $0.status == .deprecated }
        self.generation = generation
    }

    /// The optional indexes this snapshot holds.
    var optionalIndexes: OptionalIndexes {
        OptionalIndexes().union(procedure == nil ? [] : .procedure).union(keywordMeans == nil ? [] : .keywordMeans)
    }

    /// An empty index of mean keyword embeddings for this snapshot's vectors.
    func emptyKeywordMeans() throws(IndexError) -> FlatIndex {
        try FlatIndex(dimension: tasks.dimension, metric: .innerProduct, storage: tasks.vectorStorage)
    }

    /// Adds one memory to every index.
    mutating func insert(_ entry: IndexEntry) throws(IndexError) {
        try memories.add(text: entry.searchText, vector: entry.taskVector, id: entry.number)
        journal?.recordAddition(number: entry.number, text: entry.searchText, vector: entry.taskVector)
        if let keywordVector = entry.keywordVector {
            try keywordMeans?.add(keywordVector, id: entry.number)
        }
        try procedure?.add(entry.procedureText, id: entry.number)
        setCatalogEntry(entry.catalogEntry, for: entry.number)
        indexesChanged = true
    }

    /// Sets what filters look at (status, source, labels, source outcome) for memories whose indexed content
    /// (task, keywords, script, steps, vectors) did not change, leaving the indexes as they are; an entry the
    /// indexes don't hold is inserted.
    mutating func recatalog(_ entries: [IndexEntry]) throws(IndexError) {
        for entry in entries {
            if catalog[entry.number] == nil {
                try insert(entry)
            } else {
                setCatalogEntry(entry.catalogEntry, for: entry.number)
            }
        }
    }

    /// Sets what filters look at for one memory, which the indexes may hold already (a status change) or not yet.
    mutating func setCatalogEntry(_ entry: CatalogEntry, for number: DocumentID) {
        if let previous = catalog.updateValue(entry, forKey: number) {
            if previous.status == .deprecated { deprecatedCount -= 1 }
        } else if let last = numbers.last, last > number {
            numbers.insert(number, at: insertionPoint(of: number))
        } else {
            // Numbers only grow, so new memories append.
            numbers.append(number)
        }
        if entry.status == .deprecated { deprecatedCount += 1 }
    }

    /// The position of `number` in ``numbers``, or where it would go.
    private func insertionPoint(of number: DocumentID) -> Int {
        var low = 0
        var high = numbers.count
        while low < high {
            let middle = (low + high) / 2
            if numbers[middle] < number { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Removes memories from every index; numbers not indexed are ignored.
    mutating func remove(_ numbers: [DocumentID]) {
        guard !numbers.isEmpty else { return }
        for number in numbers {
            // Each index holds the number or not; `contains` is checked, so `remove` can't fail.
            if memories.contains(number) {
                try? memories.remove(number)
                journal?.recordRemoval(number: number)
                indexesChanged = true
            }
            if keywordMeans?.contains(number) == true { try? keywordMeans?.remove(number) }
            if procedure?.contains(number) == true { try? procedure?.remove(number) }
            guard let removed = catalog.removeValue(forKey: number) else { continue }
            if removed.status == .deprecated { deprecatedCount -= 1 }
            self.numbers.remove(at: insertionPoint(of: number))
        }
        // Compaction rewrites an index, so it waits until a quarter of the rows are tombstones.
        if memories.needsCompaction {
            memories.compact()
            journal = nil
            keywordMeans?.compact()
            procedure?.compact()
        }
    }
}
