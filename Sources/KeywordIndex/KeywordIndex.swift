import RetrievalCore

/// A BM25 inverted index over text documents, with incremental add, remove and update, and exact top-k search.
///
/// Documents are tokenized with the index's ``TokenizerConfiguration`` and scored with Lucene's BM25
/// (see ``BM25Parameters``). Every term's postings (row, term frequency) sit in one contiguous array, sorted by
/// row; small queries are scored by accumulation into a flat array, large ones by MaxScore
/// (Turtle & Flood 1995), and both return the same top-k. Removal leaves a tombstone until ``compact()``.
///
///     var index = KeywordIndex()
///     try index.add("The quick brown fox", id: 1)
///     try index.add("A lazy dog sleeps", id: 2)
///     try index.search("quick foxes", k: 10)  // [id 1]
public struct KeywordIndex: SearchIndex, Sendable {
    /// One entry of a postings list.
    struct Posting: BitwiseCopyable, Equatable, Sendable {
        var row: UInt32
        var termFrequency: UInt32
    }

    /// A (term frequency, document length) pair no other posting of the term beats on both; the best BM25
    /// contribution of a term is always reached at one of them, whatever the average length.
    struct BoundPoint: Equatable, Sendable {
        var termFrequency: UInt32
        var length: UInt32
    }

    /// How text is split into terms, for documents and queries alike.
    public let tokenizerConfiguration: TokenizerConfiguration
    /// The BM25 parameters.
    public let parameters: BM25Parameters
    let tokenizer: Tokenizer

    // Vocabulary.
    var termIDs: [String: UInt32] = [:]
    var terms: [String] = []
    /// Live documents containing each term.
    var documentFrequency: [UInt32] = []

    // Postings: term t owns postings[postingStart[t] ..< postingStart[t] + postingCount[t]], with room up to
    // postingCapacity[t]; a list that outgrows its room moves to the end (amortized O(1) appends).
    var postings: [Posting] = []
    var postingStart: [Int] = []
    var postingCount: [UInt32] = []
    var postingCapacity: [UInt32] = []
    /// Slots of `postings` no list owns any more.
    var abandonedSlots = 0
    var boundPoints: [[BoundPoint]] = []

    // Rows: one per document ever added since the last compaction; removed ones are dead.
    var rowIDs: [DocumentID] = []
    var rowLength: [UInt32] = []
    var rowIsLive: [Bool] = []
    var rowForID: [DocumentID: UInt32] = [:]
    /// Each row's distinct term IDs, sorted: rowTerms[rowTermStart[r] ..< rowTermStart[r + 1]].
    var rowTerms: [UInt32] = []
    var rowTermStart: [Int] = [0]
    var liveLengthSum = 0

    /// Creates an empty index.
    ///
    /// - Parameters:
    ///   - tokenizer: How to split text into terms; stored with the index.
    ///   - parameters: The BM25 parameters.
    public init(tokenizer: TokenizerConfiguration = .english, parameters: BM25Parameters = .init()) {
        tokenizerConfiguration = tokenizer
        self.parameters = parameters
        self.tokenizer = Tokenizer(tokenizer)
    }

    /// The number of live documents.
    public var count: Int { rowForID.count }

    /// The number of distinct terms in the vocabulary (including terms only removed documents had, until
    /// ``compact()``).
    public var vocabularySize: Int { terms.count }

    /// The number of removed documents whose postings are still stored; ``compact()`` reclaims them.
    public var tombstoneCount: Int { rowIDs.count - rowForID.count }

    /// The average length, in terms, of the live documents (1 for an empty index).
    public var averageDocumentLength: Double {
        rowForID.isEmpty || liveLengthSum == 0 ? 1 : Double(liveLengthSum) / Double(rowForID.count)
    }

    /// Whether a live document has this ID.
    public func contains(_ id: DocumentID) -> Bool { rowForID[id] != nil }

    /// The length (in terms) and the sorted distinct terms of the live document with this ID, to compare two
    /// indexes document by document; `nil` when absent.
    package func documentTerms(of id: DocumentID) -> (length: Int, terms: [String])? {
        guard let row = rowForID[id].map(Int.init) else { return nil }
        let rowTermIDs = rowTerms[rowTermStart[row]..<rowTermStart[row + 1]]
        return (Int(rowLength[row]), rowTermIDs.map { terms[Int($0)] }.sorted())
    }

    /// Adds a document.
    ///
    /// - Parameters:
    ///   - text: The document's text.
    ///   - id: Its ID, not yet in the index.
    /// - Throws: ``IndexError/duplicateID(_:)`` when a live document already has `id`;
    ///   ``IndexError/rowLimit(rows:limit:)`` when the index numbers as many rows as it can.
    /// - Complexity: O(*t* log *t*) for a text of *t* tokens, amortized.
    public mutating func add(_ text: String, id: DocumentID) throws(IndexError) {
        guard rowForID[id] == nil else { throw IndexError.duplicateID(id) }
        guard rowIDs.count < Int(UInt32.max) else {
            throw IndexError.rowLimit(rows: rowIDs.count, limit: Int(UInt32.max))
        }
        let tokenizer = self.tokenizer
        var termList: [UInt32] = []
        tokenizer.forEachToken(in: text) { term, _ in termList.append(termID(creating: term)) }
        termList.sort()
        let row = UInt32(rowIDs.count)
        let length = UInt32(clamping: termList.count)
        var index = 0
        while index < termList.count {
            let term = termList[index]
            var end = index + 1
            while end < termList.count && termList[end] == term { end += 1 }
            appendPosting(Posting(row: row, termFrequency: UInt32(end - index)), to: Int(term), length: length)
            rowTerms.append(term)
            index = end
        }
        rowTermStart.append(rowTerms.count)
        rowIDs.append(id)
        rowLength.append(length)
        rowIsLive.append(true)
        rowForID[id] = row
        liveLengthSum += Int(length)
    }

    /// Adds a document, or replaces the one with the same ID.
    ///
    /// - Throws: Nothing in practice; the signature matches ``add(_:id:)``.
    /// - Complexity: That of ``remove(_:)`` plus ``add(_:id:)``.
    public mutating func upsert(_ text: String, id: DocumentID) throws(IndexError) {
        if contains(id) { try remove(id) }
        try add(text, id: id)
    }

    /// Removes a document, leaving a tombstone that ``compact()`` reclaims.
    ///
    /// - Throws: ``IndexError/unknownID(_:)`` when no live document has `id`.
    /// - Complexity: O(*u*) for a document of *u* distinct terms.
    public mutating func remove(_ id: DocumentID) throws(IndexError) {
        guard let row = rowForID.removeValue(forKey: id) else { throw IndexError.unknownID(id) }
        let rowIndex = Int(row)
        rowIsLive[rowIndex] = false
        for position in rowTermStart[rowIndex]..<rowTermStart[rowIndex + 1] {
            documentFrequency[Int(rowTerms[position])] -= 1
        }
        liveLengthSum -= Int(rowLength[rowIndex])
    }

    /// Drops removed documents and unused terms, renumbering rows and packing postings tightly.
    ///
    /// Scores do not change: they depend only on live documents.
    /// - Complexity: O(*P* + *V*) for *P* postings and *V* terms.
    public mutating func compact() {
        var newRow = [UInt32](repeating: UInt32.max, count: rowIDs.count)
        var next: UInt32 = 0
        for row in rowIDs.indices where rowIsLive[row] {
            newRow[row] = next
            next += 1
        }
        var newTermID = [UInt32](repeating: UInt32.max, count: terms.count)
        var keptTerms: [String] = []
        for term in terms.indices where documentFrequency[term] > 0 {
            newTermID[term] = UInt32(keptTerms.count)
            keptTerms.append(terms[term])
        }
        var packed: [Posting] = []
        var offsets: [Int] = [0]
        packed.reserveCapacity(postings.count - abandonedSlots)
        for term in terms.indices where documentFrequency[term] > 0 {
            let start = postingStart[term]
            for posting in postings[start..<start + Int(postingCount[term])] where rowIsLive[Int(posting.row)] {
                packed.append(Posting(row: newRow[Int(posting.row)], termFrequency: posting.termFrequency))
            }
            offsets.append(packed.count)
        }
        let liveRows = rowIDs.indices.filter { rowIsLive[$0] }
        load(
            terms: keptTerms, postings: packed, postingOffsets: offsets,
            rowIDs: liveRows.map { rowIDs[$0] }, rowLength: liveRows.map { rowLength[$0] },
            rowIsLive: [Bool](repeating: true, count: liveRows.count))
    }

    // MARK: - Internals

    /// The ID of `term`, adding it to the vocabulary if new.
    mutating func termID(creating term: String) -> UInt32 {
        if let id = termIDs[term] { return id }
        let id = UInt32(terms.count)
        termIDs[term] = id
        terms.append(term)
        documentFrequency.append(0)
        postingStart.append(postings.count)
        postingCount.append(0)
        postingCapacity.append(0)
        boundPoints.append([])
        return id
    }

    private mutating func appendPosting(_ posting: Posting, to term: Int, length: UInt32) {
        if postingCount[term] == postingCapacity[term] {
            let capacity = max(4, 2 * Int(postingCapacity[term]))
            let start = postingStart[term]
            let count = Int(postingCount[term])
            let newStart = postings.count
            // Element by element: appending a slice of the array itself would copy the whole array (and an
            // exact reserveCapacity would defeat the array's geometric growth).
            for offset in 0..<count { postings.append(postings[start + offset]) }
            postings.append(
                contentsOf: repeatElement(Posting(row: 0, termFrequency: 0), count: capacity - count))
            abandonedSlots += Int(postingCapacity[term])
            postingStart[term] = newStart
            postingCapacity[term] = UInt32(capacity)
        }
        postings[postingStart[term] + Int(postingCount[term])] = posting
        postingCount[term] += 1
        documentFrequency[term] += 1
        KeywordIndex.insertBoundPoint(
            BoundPoint(termFrequency: posting.termFrequency, length: length), into: &boundPoints[term])
        if abandonedSlots > 1 << 16 && abandonedSlots > postings.count / 2 { packPostings() }
    }

    /// Keeps only the points not dominated by another (higher or equal frequency in a shorter or equal document).
    static func insertBoundPoint(_ point: BoundPoint, into points: inout [BoundPoint]) {
        if points.contains(where: { $0.termFrequency >= point.termFrequency && $0.length <= point.length }) {
            return
        }
        points.removeAll { $0.termFrequency <= point.termFrequency && $0.length >= point.length }
        points.append(point)
    }

    /// Moves every postings list next to the previous one, with no spare room, releasing abandoned slots.
    private mutating func packPostings() {
        var packed: [Posting] = []
        packed.reserveCapacity(postings.count - abandonedSlots)
        for term in terms.indices {
            let start = postingStart[term]
            postingStart[term] = packed.count
            packed.append(contentsOf: postings[start..<start + Int(postingCount[term])])
            postingCapacity[term] = postingCount[term]
        }
        postings = packed
        abandonedSlots = 0
    }

    /// Replaces the whole state with the given tight arrays and recomputes what derives from them
    /// (document frequencies, bounds, per-row term lists, the ID map).
    ///
    /// - Precondition: The arrays are consistent (checked by the file reader before calling).
    mutating func load(
        terms: [String], postings: [Posting], postingOffsets: [Int], rowIDs: [DocumentID], rowLength: [UInt32],
        rowIsLive: [Bool]
    ) {
        self.terms = terms
        termIDs = Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, UInt32($0)) })
        self.postings = postings
        postingStart = Array(postingOffsets.dropLast())
        postingCount = terms.indices.map { UInt32(postingOffsets[$0 + 1] - postingOffsets[$0]) }
        postingCapacity = postingCount
        abandonedSlots = 0
        self.rowIDs = rowIDs
        self.rowLength = rowLength
        self.rowIsLive = rowIsLive
        rowForID = [:]
        rowForID.reserveCapacity(rowIDs.count)
        liveLengthSum = 0
        for row in rowIDs.indices where rowIsLive[row] {
            rowForID[rowIDs[row]] = UInt32(row)
            liveLengthSum += Int(rowLength[row])
        }
        documentFrequency = [UInt32](repeating: 0, count: terms.count)
        boundPoints = [[BoundPoint]](repeating: [], count: terms.count)
        var termsPerRow = [Int](repeating: 0, count: rowIDs.count)
        for term in terms.indices {
            for posting in postings[postingOffsets[term]..<postingOffsets[term + 1]] {
                let row = Int(posting.row)
                termsPerRow[row] += 1
                KeywordIndex.insertBoundPoint(
                    BoundPoint(termFrequency: posting.termFrequency, length: rowLength[row]), into: &boundPoints[term])
                if rowIsLive[row] { documentFrequency[term] += 1 }
            }
        }
        rowTermStart = [0]
        rowTermStart.reserveCapacity(rowIDs.count + 1)
        for row in rowIDs.indices { rowTermStart.append(rowTermStart[row] + termsPerRow[row]) }
        var fill = Array(rowTermStart.dropLast())
        rowTerms = [UInt32](repeating: 0, count: rowTermStart.last ?? 0)
        // Terms are visited in increasing ID, so each row's list comes out sorted.
        for term in terms.indices {
            for posting in postings[postingOffsets[term]..<postingOffsets[term + 1]] {
                let row = Int(posting.row)
                rowTerms[fill[row]] = UInt32(term)
                fill[row] += 1
            }
        }
    }

    /// Whether the row's term list contains `term`.
    func row(_ row: Int, contains term: UInt32) -> Bool {
        var low = rowTermStart[row], high = rowTermStart[row + 1]
        while low < high {
            let middle = (low + high) / 2
            if rowTerms[middle] < term { low = middle + 1 } else { high = middle }
        }
        return low < rowTermStart[row + 1] && rowTerms[low] == term
    }
}
