import RetrievalCore

/// How a keyword query is evaluated.
///
/// Every strategy returns the same hits with the same scores.
public enum QueryEvaluation: String, CaseIterable, Sendable, Codable {
    /// Accumulation for small indexes, MaxScore for large ones.
    case automatic
    /// Term at a time: every posting of every query term adds into a flat per-document array.
    case accumulate
    /// Document at a time with MaxScore pruning (Turtle & Flood 1995,
    /// <https://doi.org/10.1016/0306-4573(95)00020-H>): lists whose summed upper bounds can't reach the current
    /// k-th score are only probed, never scanned.
    case maxScore
}

extension KeywordIndex {
    /// A query term with its weight `idf · (k1 + 1) · (occurrences in the query)` and the largest contribution any
    /// document can get from it.
    struct QueryTerm {
        var term: UInt32
        var weight: Float
        var upperBound: Float
    }

    /// Per-query constants of the BM25 length normalization.
    struct Scorer {
        /// `k1 · (1 − b)`.
        let base: Float
        /// `k1 · b / avgdl`.
        let lengthScale: Float

        /// One term's BM25 contribution; both evaluation strategies call exactly this, so they agree bit for bit.
        @inline(__always)
        func contribution(weight: Float, termFrequency: UInt32, length: UInt32) -> Float {
            let tf = Float(termFrequency)
            return weight * tf / (tf + base + lengthScale * Float(length))
        }

        /// MaxScore's step for one term at the candidate's posting: its contribution goes into `contribution`
        /// (summed in query-term order at the end) and into the running `sum` the pruning tests.
        @inline(__always)
        func add(
            _ term: QueryTerm, at posting: Posting, length: UInt32, into contribution: inout Float, sum: inout Double
        ) {
            contribution = self.contribution(weight: term.weight, termFrequency: posting.termFrequency, length: length)
            sum += Double(contribution)
        }
    }

    var scorer: Scorer {
        let k1 = parameters.k1, b = parameters.b
        return Scorer(base: Float(k1 * (1 - b)), lengthScale: Float(k1 * b / averageDocumentLength))
    }

    /// The query's terms that occur in live documents, in the order scores are summed: by increasing upper
    /// bound, then term ID.
    func queryTerms(_ query: String) -> [QueryTerm] {
        guard !rowForID.isEmpty else { return [] }
        var occurrences: [UInt32: Int] = [:]
        tokenizer.forEachToken(in: query) { term, _ in
            if let id = termIDs[term], documentFrequency[Int(id)] > 0 { occurrences[id, default: 0] += 1 }
        }
        let scorer = self.scorer
        let documentCount = count
        var result = occurrences.map { term, occurrenceCount -> QueryTerm in
            let idf = BM25Parameters.idf(
                documentFrequency: Int(documentFrequency[Int(term)]), documentCount: documentCount)
            let weight = Float(idf * (parameters.k1 + 1) * Double(occurrenceCount))
            let bound = boundPoints[Int(term)].reduce(Float(0)) {
                max($0, scorer.contribution(weight: weight, termFrequency: $1.termFrequency, length: $1.length))
            }
            return QueryTerm(term: term, weight: weight, upperBound: bound)
        }
        result.sort { ($0.upperBound, $0.term) < ($1.upperBound, $1.term) }
        return result
    }

    public func search(_ query: String, k: Int) throws(IndexError) -> [SearchHit] {
        try search(query, k: k, filter: nil, evaluation: .automatic)
    }

    /// Returns the `k` documents with the highest BM25 score for `query` that pass `filter`, best first.
    ///
    /// Ties go to the lower ``DocumentID``. Documents sharing no term with the query are never returned.
    ///
    /// - Parameters:
    ///   - query: Text, tokenized like the documents.
    ///   - k: The maximum number of hits.
    ///   - filter: Documents to consider, applied before top-k; `nil` for all.
    /// - Returns: At most `k` hits.
    /// - Throws: ``RetrievalCore/IndexError/invalidParameter(name:value:expected:)`` for a `k` below 1.
    /// - Complexity: O(*p* log *k*) for *p* postings of the query's terms, often much less with MaxScore.
    public func search(_ query: String, k: Int, filter: SearchFilter?) throws(IndexError) -> [SearchHit] {
        try search(query, k: k, filter: filter, evaluation: .automatic)
    }

    /// Like ``search(_:k:filter:)``, with the evaluation strategy chosen by the caller (for tests and benchmarks;
    /// the result is the same).
    public func search(_ query: String, k: Int, filter: SearchFilter? = nil, evaluation: QueryEvaluation)
        throws(IndexError) -> [SearchHit]
    {
        try IndexError.checkResultCount(k)
        let terms = queryTerms(query)
        guard !terms.isEmpty else { return [] }
        switch evaluation {
        case .accumulate: return accumulate(terms, k: k, filter: filter)
        case .maxScore: return maxScore(terms, k: k, filter: filter)
        case .automatic:
            let postingTotal = terms.reduce(0) { $0 + Int(postingCount[Int($1.term)]) }
            // Accumulation touches every posting but with the cheapest loop; MaxScore pays off once lists are
            // long relative to k (measured in Benchmarks/Sources/KeywordBench).
            return terms.count > 1 && postingTotal > KeywordIndex.maxScorePostingThreshold
                ? maxScore(terms, k: k, filter: filter) : accumulate(terms, k: k, filter: filter)
        }
    }

    /// Above this many postings a multi-term query uses MaxScore.
    static let maxScorePostingThreshold = 50_000

    private func accumulate(_ terms: [QueryTerm], k: Int, filter: SearchFilter?) -> [SearchHit] {
        let scorer = self.scorer
        var accumulator = [Float](repeating: 0, count: rowIDs.count)
        var touched: [UInt32] = []
        postings.withUnsafeBufferPointer { postings in
            rowLength.withUnsafeBufferPointer { lengths in
                accumulator.withUnsafeMutableBufferPointer { accumulator in
                    for term in terms {
                        let start = postingStart[Int(term.term)]
                        for posting in postings[start..<start + Int(postingCount[Int(term.term)])] {
                            let row = Int(posting.row)
                            let contribution = scorer.contribution(
                                weight: term.weight, termFrequency: posting.termFrequency, length: lengths[row])
                            if accumulator[row] == 0 { touched.append(posting.row) }
                            accumulator[row] += contribution
                        }
                    }
                }
            }
        }
        var best = TopK(k: k)
        for row in touched {
            let row = Int(row)
            let hit = SearchHit(id: rowIDs[row], score: accumulator[row])
            // The cheap rank test first: most rows can't enter, and then the filter needn't be asked.
            if let worst = best.worst, best.isFull, !hit.ranks(before: worst) { continue }
            guard rowIsLive[row] else { continue }
            if let filter, !filter.allows(hit.id) { continue }
            best.insert(hit)
        }
        return best.sorted()
    }

    private func maxScore(_ terms: [QueryTerm], k: Int, filter: SearchFilter?) -> [SearchHit] {
        let scorer = self.scorer
        let termCount = terms.count
        // cumulativeBound[i]: the most terms 0...i can add together.
        var cumulativeBound = [Double](repeating: 0, count: termCount)
        var running = 0.0
        for (index, term) in terms.enumerated() {
            running += Double(term.upperBound)
            cumulativeBound[index] = running
        }
        var position = terms.map { postingStart[Int($0.term)] }
        let end = terms.map { postingStart[Int($0.term)] + Int(postingCount[Int($0.term)]) }
        var contributions = [Float](repeating: 0, count: termCount)
        var best = TopK(k: k)
        // A document is skipped only when its best possible score is below this; the slack keeps Float rounding
        // from ever pruning a document that accumulation would keep.
        var threshold = -Double.infinity
        var firstEssential = 0
        postings.withUnsafeBufferPointer { postings in
            rowLength.withUnsafeBufferPointer { lengths in
                while firstEssential < termCount {
                    var candidate = UInt32.max
                    for index in firstEssential..<termCount where position[index] < end[index] {
                        candidate = min(candidate, postings[position[index]].row)
                    }
                    guard candidate != UInt32.max else { break }
                    let row = Int(candidate)
                    let length = lengths[row]
                    for index in 0..<termCount { contributions[index] = 0 }
                    var sum = 0.0
                    for index in firstEssential..<termCount
                    where position[index] < end[index] && postings[position[index]].row == candidate {
                        scorer.add(
                            terms[index], at: postings[position[index]], length: length,
                            into: &contributions[index], sum: &sum)
                        position[index] += 1
                    }
                    guard rowIsLive[row] else { continue }
                    if let filter, !filter.allows(rowIDs[row]) { continue }
                    var pruned = false
                    var index = firstEssential - 1
                    while index >= 0 {
                        if sum + cumulativeBound[index] < threshold {
                            pruned = true
                            break
                        }
                        position[index] = KeywordIndex.seek(
                            postings, from: position[index], to: end[index], row: candidate)
                        if position[index] < end[index] && postings[position[index]].row == candidate {
                            scorer.add(
                                terms[index], at: postings[position[index]], length: length,
                                into: &contributions[index], sum: &sum)
                        }
                        index -= 1
                    }
                    if pruned { continue }
                    // Summed in query-term order, exactly as accumulation sums.
                    var score: Float = 0
                    for contribution in contributions { score += contribution }
                    best.insert(SearchHit(id: rowIDs[row], score: score))
                    if best.isFull, let worst = best.worst {
                        let kth = Double(worst.score)
                        threshold = kth - max(abs(kth) * 1e-5, 1e-30)
                        while firstEssential < termCount && cumulativeBound[firstEssential] < threshold {
                            firstEssential += 1
                        }
                    }
                }
            }
        }
        return best.sorted()
    }

    /// The first position in `start..<end` whose row is at least `row` (`end` if none), by galloping search.
    static func seek(_ postings: UnsafeBufferPointer<Posting>, from start: Int, to end: Int, row: UInt32) -> Int {
        guard start < end, postings[start].row < row else { return start }
        var below = start  // postings[below].row < row
        var step = 1
        var above = start + 1
        while above < end && postings[above].row < row {
            below = above
            step <<= 1
            above = below + step
        }
        var low = below + 1, high = min(above, end)
        while low < high {
            let middle = (low + high) / 2
            if postings[middle].row < row { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
