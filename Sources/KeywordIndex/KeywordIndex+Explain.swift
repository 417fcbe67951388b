import RetrievalCore

extension KeywordIndex {
    /// The words of `query` whose terms occur in the document, in query order, each once (as normalized
    /// words, before stemming); empty when no live document has `id`.
    ///
    /// - Complexity: O(*q* log *u*) for *q* query tokens and a document of *u* distinct terms.
    public func matchedTerms(_ query: String, in id: DocumentID) -> [String] {
        matchedTerms(query, in: [id])[0]
    }

    /// The matched terms of each of `ids`, in order, as the one-document form gives them, tokenizing `query` once.
    ///
    /// - Complexity: O(*q*) to tokenize, then O(*q* log *u*) per document of *u* distinct terms.
    public func matchedTerms(_ query: String, in ids: [DocumentID]) -> [[String]] {
        // Each distinct surface word once, with its term's ID when the index knows the term.
        var seen: Set<String> = []
        var words: [(surface: String, termID: UInt32?)] = []
        tokenizer.forEachToken(in: query) { term, surface in
            if seen.insert(surface).inserted { words.append((surface, termIDs[term])) }
        }
        return ids.map { id in
            guard let row = rowForID[id] else { return [] }
            return words.compactMap { word in
                guard let termID = word.termID, self.row(Int(row), contains: termID) else { return nil }
                return word.surface
            }
        }
    }

    /// The document's BM25 score for `query` in double precision, or `nil` when no live document has `id`.
    ///
    /// Search scores are the same sum in single precision.
    ///
    /// - Complexity: O(*q* · log *p*) for *q* query terms whose postings lists hold at most *p* entries.
    public func score(_ query: String, for id: DocumentID) -> Double? {
        guard let row = rowForID[id] else { return nil }
        var occurrences: [UInt32: Int] = [:]
        tokenizer.forEachToken(in: query) { term, _ in
            if let termID = termIDs[term] { occurrences[termID, default: 0] += 1 }
        }
        let k1 = parameters.k1, b = parameters.b
        let normalizedLength = Double(rowLength[Int(row)]) / averageDocumentLength
        var total = 0.0
        for (term, occurrenceCount) in occurrences {
            guard let termFrequency = termFrequency(of: term, inRow: row) else { continue }
            let idf = BM25Parameters.idf(documentFrequency: Int(documentFrequency[Int(term)]), documentCount: count)
            let tf = Double(termFrequency)
            total += Double(occurrenceCount) * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * normalizedLength))
        }
        return total
    }

    /// How often `term` occurs in `row`, by binary search in its postings list.
    func termFrequency(of term: UInt32, inRow row: UInt32) -> UInt32? {
        let start = postingStart[Int(term)]
        let end = start + Int(postingCount[Int(term)])
        let position = postings.withUnsafeBufferPointer { KeywordIndex.seek($0, from: start, to: end, row: row) }
        return position < end && postings[position].row == row ? postings[position].termFrequency : nil
    }

    /// The `limit` most characteristic words of `text` against this corpus: TF-IDF (occurrences in `text` times
    /// the Lucene idf in the corpus, so words the corpus lacks rank highest), stop words removed.
    ///
    /// Words are returned as they appear after normalization (not stemmed), so they can be shown or fed back as
    /// a query; ties go to the word that occurs first. The English stop list applies even when the index's
    /// tokenizer keeps stop words.
    ///
    /// A `limit` below 1 gives no keyword.
    ///
    /// - Complexity: O(*t* + *u* log *u*) for *t* tokens and *u* distinct terms in `text`.
    public func keywords(of text: String, limit: Int) -> [String] {
        guard limit >= 1 else { return [] }
        struct Candidate {
            var surface: String
            var occurrences: Int
            var firstPosition: Int
        }
        var candidates: [String: Candidate] = [:]
        var position = 0
        tokenizer.forEachToken(in: text) { term, surface in
            position += 1
            guard !StopWords.english.contains(surface) else { return }
            candidates[term, default: Candidate(surface: surface, occurrences: 0, firstPosition: position)]
                .occurrences += 1
        }
        let documentCount = count
        let ranked = candidates.map { term, candidate -> (Double, Candidate) in
            let documentFrequency = termIDs[term].map { Int(self.documentFrequency[Int($0)]) } ?? 0
            let idf = BM25Parameters.idf(documentFrequency: documentFrequency, documentCount: documentCount)
            return (Double(candidate.occurrences) * idf, candidate)
        }
        .sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.firstPosition < $1.1.firstPosition }
        return ranked.prefix(limit).map(\.1.surface)
    }
}
