import KeywordIndex
import RetrievalCore
import VectorIndex

/// The in-memory indexes of a store at one generation: what lookups search.
///
/// A value type over copy-on-write indexes: lookups take a copy and search it without locks while a writer
/// builds the next snapshot on its own copy.
struct IndexSnapshot: Sendable {
    /// Task embeddings, cosine.
    var tasks: FlatIndex
    /// Mean keyword embeddings, inner product: the dot product of two means is the average pairwise cosine
    /// of the two keyword sets, the AveFact score.
    var keywordMeans: FlatIndex
    /// Tasks and keywords, BM25.
    var text: KeywordIndex
    /// Each memory's procedure text (``IndexEntry/procedureText``), BM25; `nil` until a lookup first weights it
    /// (``MemoryStore/snapshotWithProcedureIndex()``), then kept up to date with the other indexes.
    var procedure: KeywordIndex?
    /// What filters look at, per memory.
    var catalog: [DocumentID: CatalogEntry]
    /// The catalog's numbers in ascending order, for reproducible random draws.
    var numbers: [DocumentID]
    /// How many catalog entries are deprecated, so that an unfiltered lookup skips filtering when none is.
    var deprecatedCount: Int
    /// The store generation this snapshot reflects.
    var generation: UInt64
    /// The backend's ``MemoryBackend/foreignCommitMarker()`` read before this snapshot was built from it: when the
    /// marker differs after a write, another writer committed meanwhile and the snapshot may miss its changes.
    var foreignCommitMarker: UInt64?

    init(dimension: Int, vectorStorage: VectorStorage) throws(IndexError) {
        tasks = try FlatIndex(dimension: dimension, metric: .cosine, storage: vectorStorage)
        keywordMeans = try FlatIndex(dimension: dimension, metric: .innerProduct, storage: vectorStorage)
        text = KeywordIndex()
        catalog = [:]
        numbers = []
        deprecatedCount = 0
        generation = 0
    }

    init(
        tasks: FlatIndex, keywordMeans: FlatIndex, text: KeywordIndex,
        catalog: [DocumentID: CatalogEntry],
        generation: UInt64
    ) {
        self.tasks = tasks
        self.keywordMeans = keywordMeans
        self.text = text
        self.catalog = catalog
        self.numbers = catalog.keys.sorted()
        self.deprecatedCount = catalog.values.count { $0.status == .deprecated }
        self.generation = generation
    }

    /// Adds one memory to every index.
    mutating func insert(_ entry: IndexEntry) throws(IndexError) {
        try tasks.add(entry.taskVector, id: entry.number)
        if let keywordVector = entry.keywordVector {
            try keywordMeans.add(keywordVector, id: entry.number)
        }
        try text.add(entry.searchText, id: entry.number)
        try procedure?.add(entry.procedureText, id: entry.number)
        insertCatalogEntry(entry.catalogEntry, for: entry.number)
    }

    private mutating func insertCatalogEntry(_ entry: CatalogEntry, for number: DocumentID) {
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
            if tasks.contains(number) { try? tasks.remove(number) }
            if keywordMeans.contains(number) { try? keywordMeans.remove(number) }
            if text.contains(number) { try? text.remove(number) }
            if procedure?.contains(number) == true { try? procedure?.remove(number) }
            guard let removed = catalog.removeValue(forKey: number) else { continue }
            if removed.status == .deprecated { deprecatedCount -= 1 }
            self.numbers.remove(at: insertionPoint(of: number))
        }
        // Compaction rewrites an index, so it waits until a quarter of the rows are tombstones.
        if tasks.rowCount > tasks.count + tasks.count / 4 + 64 {
            tasks.compact()
            keywordMeans.compact()
            text.compact()
            procedure?.compact()
        }
    }
}
