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
    /// What filters look at, per memory.
    var catalog: [DocumentID: CatalogEntry]
    /// How many catalog entries are deprecated, so that an unfiltered lookup skips filtering when none is.
    var deprecatedCount: Int
    /// The store generation this snapshot reflects.
    var generation: UInt64

    init(dimension: Int, vectorStorage: VectorStorage) throws(IndexError) {
        tasks = try FlatIndex(dimension: dimension, metric: .cosine, storage: vectorStorage)
        keywordMeans = try FlatIndex(dimension: dimension, metric: .innerProduct, storage: .f32)
        text = KeywordIndex()
        catalog = [:]
        deprecatedCount = 0
        generation = 0
    }

    init(
        tasks: FlatIndex, keywordMeans: FlatIndex, text: KeywordIndex, catalog: [DocumentID: CatalogEntry],
        generation: UInt64
    ) {
        self.tasks = tasks
        self.keywordMeans = keywordMeans
        self.text = text
        self.catalog = catalog
        self.deprecatedCount = catalog.values.count { $0.status == .deprecated }
        self.generation = generation
    }

    /// Adds one memory to every index.
    mutating func insert(_ entry: IndexEntry) throws(IndexError) {
        try tasks.add(entry.taskVector, id: entry.number)
        if let keywordVector = entry.keywordVector { try keywordMeans.add(keywordVector, id: entry.number) }
        try text.add(entry.searchText, id: entry.number)
        insertCatalogEntry(entry.catalogEntry, for: entry.number)
    }

    private mutating func insertCatalogEntry(_ entry: CatalogEntry, for number: DocumentID) {
        if let previous = catalog.updateValue(entry, forKey: number), previous.status == .deprecated {
            deprecatedCount -= 1
        }
        if entry.status == .deprecated { deprecatedCount += 1 }
    }

    /// Removes memories from every index; numbers not indexed are ignored.
    mutating func remove(_ numbers: [DocumentID]) {
        guard !numbers.isEmpty else { return }
        for number in numbers {
            // Each index holds the number or not; `contains` is checked, so `remove` can't fail.
            if tasks.contains(number) { try? tasks.remove(number) }
            if keywordMeans.contains(number) { try? keywordMeans.remove(number) }
            if text.contains(number) { try? text.remove(number) }
            if catalog.removeValue(forKey: number)?.status == .deprecated { deprecatedCount -= 1 }
        }
        // Compaction rewrites an index, so it waits until a quarter of the rows are tombstones.
        if tasks.rowCount > tasks.count + tasks.count / 4 + 64 {
            tasks.compact()
            keywordMeans.compact()
            text.compact()
        }
    }
}
