import Foundation
import RetrievalCore

/// The keyword index file, in the shared container (see `IndexFileWriter`): magic `MKIX`, version 1.
///
/// Header fields: term count, row count, posting count, live count, k1 and b (as `Double` bit patterns).
/// Sections (little-endian): `TOKC` the tokenizer configuration as JSON; `VOCB` the terms' UTF-8 bytes back to
/// back and `VOFF` their `termCount + 1` UInt64 offsets; `POFF` each term's first posting (`termCount + 1`
/// UInt64) and `POST` the postings (UInt32 row, UInt32 term frequency), sorted by row within each term;
/// `RIDS` each row's document ID (UInt64), `RLEN` its length in terms (UInt32), `RLIV` 1 if live, 0 if removed.
enum KeywordIndexFile {
    static let magic = "MKIX"
    static let version: UInt32 = 1
}

extension KeywordIndex {
    /// Writes the index to `path` atomically (temporary file, fsync, rename, directory fsync), tombstones included.
    ///
    /// - Throws: ``IndexError/io(path:reason:)`` when writing fails; the previous file is then untouched.
    /// - Complexity: O(*P* + *V*) for *P* postings and *V* terms.
    public func save(to path: String) throws(IndexError) {
        var vocabulary: [UInt8] = []
        var vocabularyOffsets: [UInt64] = [0]
        var packed: [Posting] = []
        var postingOffsets: [UInt64] = [0]
        packed.reserveCapacity(postings.count - abandonedSlots)
        for term in terms.indices {
            vocabulary.append(contentsOf: terms[term].utf8)
            vocabularyOffsets.append(UInt64(vocabulary.count))
            let start = postingStart[term]
            packed.append(contentsOf: postings[start..<start + Int(postingCount[term])])
            postingOffsets.append(UInt64(packed.count))
        }
        let configuration: [UInt8]
        do {
            configuration = Array(try JSONEncoder().encode(tokenizerConfiguration))
        } catch {
            throw IndexError.encodingFailed(what: "The tokenizer configuration", reason: "\(error)")
        }
        let writer = try IndexFileWriter(
            path: path, magic: KeywordIndexFile.magic, version: KeywordIndexFile.version,
            fields: [
                UInt64(terms.count), UInt64(rowIDs.count), UInt64(packed.count), UInt64(count),
                parameters.k1.bitPattern, parameters.b.bitPattern,
            ],
            sectionCapacity: 9)
        try writer.appendSection("TOKC", configuration)
        try writer.appendSection("VOCB", vocabulary)
        try writer.appendSection("VOFF", vocabularyOffsets)
        try writer.appendSection("POFF", postingOffsets)
        try writer.appendSection("POST", packed)
        try writer.appendSection("RIDS", rowIDs.map(\.rawValue))
        try writer.appendSection("RLEN", rowLength)
        try writer.appendSection("RLIV", rowIsLive.map { $0 ? UInt8(1) : 0 })
        try writer.commit()
    }

    /// Opens an index saved with ``save(to:)``.
    ///
    /// Every structural fact is checked (offsets, row numbers, sort order, lengths, unique IDs), so a damaged
    /// file throws instead of misbehaving even when checksums are skipped.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - verifyChecksums: Whether to check every section's CRC-32C first.
    /// - Throws: ``IndexError/io(path:reason:)``, ``IndexError/notAnIndexFile(path:expectedMagic:)``,
    ///   ``IndexError/unsupportedFormat(path:version:readable:)``,
    ///   ``IndexError/truncated(path:expectedBytes:actualBytes:)`` or ``IndexError/corrupted(path:section:reason:)``.
    /// - Complexity: O(*P* + *V*).
    public init(contentsOf path: String, verifyChecksums: Bool = true) throws(IndexError) {
        let file = try MappedIndexFile(
            path: path, magic: KeywordIndexFile.magic,
            readableVersions: KeywordIndexFile.version...KeywordIndexFile.version, verifyChecksums: verifyChecksums)
        func corrupted(_ section: String, _ reason: String) -> IndexError {
            IndexError.corrupted(path: path, section: section, reason: reason)
        }
        let fields = file.fields
        guard fields[0] < UInt64(UInt32.max), fields[1] < UInt64(UInt32.max), fields[2] < UInt64(Int.max) else {
            throw corrupted("header", "impossible term, row or posting count")
        }
        let termCount = Int(fields[0]), rowCount = Int(fields[1]), postingTotal = Int(fields[2])
        let parameters = BM25Parameters.unchecked(k1: Double(bitPattern: fields[4]), b: Double(bitPattern: fields[5]))
        guard parameters.isValid else { throw corrupted("header", "BM25 parameters out of range") }

        let configurationBytes = try file.array("TOKC", of: UInt8.self)
        guard
            let configuration = try? JSONDecoder().decode(TokenizerConfiguration.self, from: Data(configurationBytes)),
            configuration.minimumTokenLength >= 1,
            configuration.minimumTokenLength <= configuration.maximumTokenLength
        else { throw corrupted("TOKC", "not a valid tokenizer configuration") }

        let vocabulary = try file.array("VOCB", of: UInt8.self)
        let vocabularyOffsets = try file.array("VOFF", of: UInt64.self, expectedCount: termCount + 1)
        guard KeywordIndex.isMonotone(vocabularyOffsets, endingAt: vocabulary.count) else {
            throw corrupted("VOFF", "offsets are not increasing within the vocabulary")
        }
        var terms: [String] = []
        terms.reserveCapacity(termCount)
        for term in 0..<termCount {
            let bytes = vocabulary[Int(vocabularyOffsets[term])..<Int(vocabularyOffsets[term + 1])]
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw corrupted("VOCB", "term \(term) is not valid UTF-8")
            }
            terms.append(text)
        }
        guard Set(terms).count == terms.count else { throw corrupted("VOCB", "a term appears twice") }

        let postingOffsets64 = try file.array("POFF", of: UInt64.self, expectedCount: termCount + 1)
        guard KeywordIndex.isMonotone(postingOffsets64, endingAt: postingTotal) else {
            throw corrupted("POFF", "offsets are not increasing within the postings")
        }
        let postings = try file.array("POST", of: Posting.self, expectedCount: postingTotal)
        let rowIDs = try file.array("RIDS", of: UInt64.self, expectedCount: rowCount).map(DocumentID.init(rawValue:))
        let rowLength = try file.array("RLEN", of: UInt32.self, expectedCount: rowCount)
        let liveFlags = try file.array("RLIV", of: UInt8.self, expectedCount: rowCount)
        guard liveFlags.allSatisfy({ $0 <= 1 }) else { throw corrupted("RLIV", "a flag is neither 0 nor 1") }
        let rowIsLive = liveFlags.map { $0 == 1 }
        guard UInt64(rowIsLive.count(where: { $0 })) == fields[3] else {
            throw corrupted("RLIV", "the live count differs from the header's")
        }
        var liveIDs: Set<DocumentID> = []
        for row in rowIDs.indices where rowIsLive[row] {
            guard liveIDs.insert(rowIDs[row]).inserted else {
                throw corrupted("RIDS", "ID \(rowIDs[row]) is live twice")
            }
        }
        let postingOffsets = postingOffsets64.map { Int($0) }
        var lengthCheck = [UInt64](repeating: 0, count: rowCount)
        for term in 0..<termCount {
            var previous = -1
            for posting in postings[postingOffsets[term]..<postingOffsets[term + 1]] {
                guard Int(posting.row) < rowCount, Int(posting.row) > previous, posting.termFrequency > 0 else {
                    throw corrupted("POST", "term \(term) has a posting out of order, out of range or empty")
                }
                previous = Int(posting.row)
                lengthCheck[previous] += UInt64(posting.termFrequency)
            }
        }
        guard lengthCheck.elementsEqual(rowLength.map(UInt64.init)) else {
            throw corrupted("RLEN", "document lengths differ from their postings")
        }
        self.init(tokenizer: configuration, parameters: parameters)
        load(
            terms: terms, postings: postings, postingOffsets: postingOffsets, rowIDs: rowIDs, rowLength: rowLength,
            rowIsLive: rowIsLive)
    }

    /// Whether `offsets` starts at 0, never decreases, and ends at `total`.
    private static func isMonotone(_ offsets: [UInt64], endingAt total: Int) -> Bool {
        guard offsets.first == 0, offsets.last == UInt64(total) else { return false }
        return zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 }
    }
}

extension BM25Parameters {
    /// Parameters read from a file, checked by the caller with `isValid` rather than by a precondition.
    static func unchecked(k1: Double, b: Double) -> BM25Parameters {
        var parameters = BM25Parameters()
        parameters.k1 = k1
        parameters.b = b
        return parameters
    }
}
