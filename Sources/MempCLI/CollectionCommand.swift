import ArgumentParser
import Embeddings
import Foundation
import HybridSearch
import KeywordIndex
import RetrievalCore
import VectorIndex

extension SearchMode: ExpressibleByArgument {}
extension ScoreNormalization: ExpressibleByArgument {}

/// The tokenizer presets of `memp collection build`.
enum TokenizerChoice: String, CaseIterable, ExpressibleByArgument {
    case english, plain, bm25s

    var configuration: TokenizerConfiguration {
        switch self {
        case .english: .english
        case .plain: .plain
        case .bm25s: .bm25sCompatible
        }
    }
}

/// `memp collection …`: documents searchable by vector, keyword (BM25) and both fused.
struct CollectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collection",
        abstract: "Build, update and search document collections (dense + BM25 hybrid).",
        subcommands: [Build.self, Add.self, Remove.self, Search.self, Info.self]
    )

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a collection from a JSON Lines file of {\"id\", \"text\", \"vector\"?, \"metadata\"?}.",
            discussion: "Lines without a vector are embedded with --embedder. The whole input is checked before "
                + "anything is written; the directory is replaced atomically.")

        @Option(help: "The documents (JSON Lines).", transform: nonEmptyPath) var input: String
        @Option(help: "The collection directory to write.", transform: nonEmptyPath) var output: String
        @Option(
            help:
                "Embeds texts without vectors and text queries: \(EmbedderKind.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var embedder: EmbedderKind?
        @Option(
            parsing: .unconditional,
            help: "Vector dimension of the hashing embedder (or of the OpenAI-compatible model).")
        var dimension: Int?
        @OptionGroup var server: ServerOptions
        @Option(help: "How vectors are compared: \(Metric.allCases.map(\.rawValue).joined(separator: ", ")).")
        var metric: Metric = .cosine
        @Option(help: "Tokenizer preset: \(TokenizerChoice.allCases.map(\.rawValue).joined(separator: ", ")).")
        var tokenizer: TokenizerChoice = .english
        @Option(parsing: .unconditional, help: "BM25 term-frequency saturation, 0...\(Int(BM25Parameters.maximumK1)).")
        var k1 = 1.5
        @Option(parsing: .unconditional, help: "BM25 length normalization, 0...1.") var b = 0.75
        @Flag(help: "Print a JSON summary.") var json = false

        func validate() throws {
            do throws(IndexError) { try BM25Parameters.validate(k1: k1, b: b) } catch {
                throw flagError(error, flags: ["k1": "--k1", "b": "--b"])
            }
            try validateDimension(dimension, embedder: embedder, sized: [.hashing, .openai])
        }

        func run() throws {
            let documents = try readDocuments(input)
            let embedder = try server.presentingFlagErrors {
                try self.embedder.map { try Embedders.make($0, dimension: dimension, server: server.server) }
            }
            let made = Result { () throws(CollectionError) in
                try DocumentCollection(
                    documents, metric: metric, tokenizer: tokenizer.configuration, bm25: BM25Parameters(k1: k1, b: b),
                    embedder: embedder)
            }
            if case .failure(.dimensionUnknown) = made {
                throw InputFileError.malformed(
                    path: input, line: nil, reason: "no line has a \"vector\"; choose an --embedder to embed the texts")
            }
            var collection = try made.get()
            try collection.save(to: output)
            let built = collection.configuration.dimension
            let recorded = collection.configuration.embedder ?? "none (vectors from the input)"
            if json {
                try printJSON([
                    "output": .string(output), "documents": .int(collection.count), "dimension": .int(built),
                    "embedder": .string(recorded), "tokenizer": .string(tokenizer.rawValue),
                ])
            } else {
                print(
                    "Built \(output): \(counted(collection.count, "document")), dimension \(built), embedder \(recorded)."
                )
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add documents to a collection (all or none).",
            discussion: "Texts without vectors are embedded with the embedder the collection was built with.")

        @Option(help: "The collection directory.", transform: nonEmptyPath) var collection: String
        @Option(help: "The documents (JSON Lines).", transform: nonEmptyPath) var input: String
        @Flag(help: "Replace documents whose IDs exist instead of failing.") var upsert = false
        @OptionGroup var server: ServerOptions

        func run() throws {
            let documents = try readDocuments(input)
            let embedder = try collectionEmbedder(
                collection, needsEmbedder: documents.contains { $0.vector == nil }, server: server)
            let target = try DocumentCollection.update(at: collection, embedder: embedder) {
                (target) throws(CollectionError) in
                if upsert { try target.upsert(documents) } else { try target.add(documents) }
            }
            print(
                "\(collection): \(upsert ? "upserted" : "added") \(counted(documents.count, "document")), \(target.count) in all."
            )
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove documents by ID (all or none).")

        @Option(help: "The collection directory.", transform: nonEmptyPath) var collection: String
        // Every argument no option takes: an ID may start with "-" (``freeValues(in:)``).
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The IDs to remove.", valueName: "ids"))
        var idArguments: [String] = []

        /// The IDs, from ``idArguments``.
        var ids: [String] { freeValues(in: idArguments) }

        func validate() throws {
            try checkFreeValues(idArguments, naming: "document ID", command: "memp collection remove")
            guard !ids.isEmpty else { throw ValidationError("Name at least one ID.") }
        }

        func run() throws {
            let target = try DocumentCollection.update(at: collection) { (target) throws(CollectionError) in
                try target.remove(ids)
                target.compact()
            }
            print("\(collection): removed \(counted(Set(ids).count, "document")), \(target.count) left.")
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search a collection by vector, keyword or both.",
            discussion: "Hybrid mode fuses with reciprocal rank fusion (--rrf, the default) or, with --alpha, "
                + "alpha·dense + (1−alpha)·keyword on per-query normalized scores. With --queries, prints one "
                + "JSON line per query: {\"qid\", \"hits\": [{\"id\", \"score\"}]}.")

        @Option(help: "The collection directory.", transform: nonEmptyPath) var collection: String
        @Option(help: "Which side answers: \(SearchMode.allCases.map(\.rawValue).joined(separator: ", ")).")
        var mode: SearchMode = .hybrid
        @Option(name: .short, parsing: .unconditional, help: "Hits per query.") var k = 10
        @Option(parsing: .unconditional, help: "Convex fusion weight of the dense side, 0...1.") var alpha: Double?
        @Flag(help: "Reciprocal rank fusion (the default).") var rrf = false
        @Option(parsing: .unconditional, help: "RRF rank constant (default 60); not with --alpha.") var rankConstant:
            Double?
        @Option(
            help: ArgumentHelp(
                "Normalization for --alpha: \(ScoreNormalization.allCases.map(\.rawValue).joined(separator: ", ")) "
                    + "(default minMax)."))
        var normalization: ScoreNormalization?
        @Option(parsing: .unconditional, help: "Candidates per side in hybrid mode (default max(50, 4k)).")
        var candidates: Int?
        @Option(help: "Keep documents whose metadata key equals value (repeat a key for any of several values).")
        var filter: [String] = []
        @Flag(help: "Explain every hit: dense and BM25 scores and ranks, normalized and fused scores, matched terms.")
        var explain = false
        @Flag(help: "Print JSON.") var json = false
        @Option(
            help: "A JSON Lines file of queries {\"qid\", \"query\"?, \"vector\"?} (\"text\" is read as \"query\").",
            transform: nonEmptyPath)
        var queries: String?
        @OptionGroup var server: ServerOptions
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The query text.", valueName: "text"))
        var textArguments: [String] = []

        /// The query text, from ``textArguments`` (``freeText(in:)``: a query may start with "-").
        var text: String? { freeText(in: textArguments) }

        func validate() throws {
            if alpha != nil {
                guard !rrf else { throw ValidationError("Give either --alpha or --rrf, not both.") }
                guard rankConstant == nil else {
                    throw ValidationError("Give --alpha (convex fusion) or --rank-constant (RRF), not both.")
                }
            } else if normalization != nil {
                throw ValidationError("--normalization sets how --alpha fuses; give --alpha with it.")
            }
            if mode != .hybrid {
                try refuseHybridFlags(
                    [
                        "--alpha": alpha != nil, "--rrf": rrf, "--rank-constant": rankConstant != nil,
                        "--candidates": candidates != nil,
                    ], mode: mode.rawValue)
            }
            do { try query(text: "", vector: nil, filter: nil).search.validate() } catch {
                throw flagError(
                    error,
                    flags: [
                        "k": "-k", "alpha": "--alpha", "rankConstant": "--rank-constant",
                        "candidateDepth": "--candidates",
                    ])
            }
            try checkFreeText(textArguments, naming: "query", command: "memp collection search")
            guard (text == nil) != (queries == nil) else {
                throw ValidationError("Give a query text or --queries FILE (exactly one).")
            }
            _ = try metadataFilter()
        }

        /// The query these flags ask for.
        func query(text: String, vector: [Float]?, filter: MetadataFilter?) -> HybridQuery {
            let fusion: FusionMethod =
                alpha.map { .convex(alpha: $0, normalization: normalization ?? .minMax) }
                ?? rankConstant.map { .reciprocalRank(rankConstant: $0) } ?? .reciprocalRank()
            return HybridQuery(
                text: text, vector: vector, mode: mode, k: k, fusion: fusion, candidateDepth: candidates,
                filter: filter)
        }

        func metadataFilter() throws -> MetadataFilter? {
            guard !filter.isEmpty else { return nil }
            var result = MetadataFilter()
            for condition in filter {
                guard let equals = condition.firstIndex(of: "="), equals != condition.startIndex else {
                    throw ValidationError("--filter takes key=value (got \"\(condition)\").")
                }
                result.require(
                    String(condition[..<equals]), equals: String(condition[condition.index(after: equals)...]))
            }
            return result
        }

        func run() throws {
            for line in try resultLines() { print(line) }
        }

        /// The lines `run` prints.
        func resultLines() throws -> [String] {
            let target = try openCollection(collection, needsEmbedder: mode != .bm25, server: server)
            let filter = try metadataFilter()
            if let queries {
                var unreadFields = UnreadFields()
                let results = try target.search(queriesAt: queries) { entry in
                    unreadFields.note(entry.unreadFields, line: entry.line)
                    return query(text: entry.text, vector: entry.vector, filter: filter)
                }
                if let warning = DocumentReader.unreadQueryFieldsWarning(unreadFields, path: queries) {
                    printError("Warning: \(warning).")
                }
                return try results.map { result in
                    try jsonLine(
                        JSONValue.object(["qid": .string(result.id), "hits": .array(result.hits.map(hitJSON))]))
                }
            }
            let hits = try target.search(query(text: text ?? "", vector: nil, filter: filter))
            if json { return try [jsonLine(JSONValue.object(["hits": .array(hits.map(hitJSON))]))] }
            var lines: [String] = []
            for (position, hit) in hits.enumerated() {
                lines.append("\(position + 1). \(hit.id)  \(significant(hit.score))")
                if explain { lines.append("   " + explanationText(hit.explanation)) }
            }
            if hits.isEmpty { lines.append("No documents matched.") }
            return lines
        }

        func hitJSON(_ hit: HybridHit) -> JSONValue {
            var object: [String: JSONValue] = ["id": .string(hit.id), "score": .double(hit.score)]
            if explain {
                let explanation = hit.explanation
                var details: [String: JSONValue] = [
                    "mode": .string(explanation.mode.rawValue), "fusedScore": .double(explanation.fusedScore),
                    "matchedTerms": .array(explanation.matchedTerms.map(JSONValue.string)),
                ]
                if let fusion = explanation.fusion { details["fusion"] = .string(fusion) }
                if let value = explanation.denseScore { details["denseScore"] = .double(Double(value)) }
                if let value = explanation.denseRank { details["denseRank"] = .int(value) }
                if let value = explanation.keywordScore { details["keywordScore"] = .double(Double(value)) }
                if let value = explanation.keywordRank { details["keywordRank"] = .int(value) }
                if let value = explanation.normalizedDense { details["normalizedDense"] = .double(value) }
                if let value = explanation.normalizedKeyword { details["normalizedKeyword"] = .double(value) }
                object["explain"] = .object(details)
                object["metadata"] = .object(hit.metadata.mapValues(JSONValue.string))
            }
            return .object(object)
        }

        func explanationText(_ explanation: HitExplanation) -> String {
            func score(_ value: Float?, _ rank: Int?) -> String {
                guard let value, let rank else { return "—" }
                return "\(decimal(Double(value), places: 4)) (#\(rank))"
            }
            var parts = [
                "dense \(score(explanation.denseScore, explanation.denseRank))",
                "bm25 \(score(explanation.keywordScore, explanation.keywordRank))",
            ]
            if let dense = explanation.normalizedDense { parts.append("norm dense \(decimal(dense, places: 4))") }
            if let keyword = explanation.normalizedKeyword {
                parts.append("norm bm25 \(decimal(keyword, places: 4))")
            }
            if let fusion = explanation.fusion {
                parts.append("\(fusion) → \(significant(explanation.fusedScore))")
            }
            parts.append(
                "matched: "
                    + (explanation.matchedTerms.isEmpty ? "—" : explanation.matchedTerms.joined(separator: ", ")))
            return parts.joined(separator: "  ")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a collection.")

        @Option(help: "The collection directory.", transform: nonEmptyPath) var collection: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let target = try DocumentCollection(contentsOf: collection)
            let configuration = target.configuration
            if json {
                try printJSON([
                    "collection": .string(collection), "documents": .int(target.count),
                    "dimension": .int(configuration.dimension), "metric": .string(configuration.metric.rawValue),
                    "embedder": configuration.embedder.map(JSONValue.string) ?? .string("none"),
                    "k1": .double(configuration.bm25.k1), "b": .double(configuration.bm25.b),
                ])
            } else {
                print(
                    "\(collection): \(counted(target.count, "document")), dimension \(configuration.dimension), "
                        + "\(configuration.metric.rawValue), embedder \(configuration.embedder ?? "none"), "
                        + "BM25 k1 \(configuration.bm25.k1) b \(configuration.bm25.b)")
            }
        }
    }
}

/// Opens a collection with the embedder it records when `needsEmbedder` (and it records one).
private func openCollection(_ directory: String, needsEmbedder: Bool, server: ServerOptions) throws
    -> DocumentCollection
{
    try DocumentCollection(
        contentsOf: directory,
        embedder: try collectionEmbedder(directory, needsEmbedder: needsEmbedder, server: server))
}

/// The embedder a collection records, made when `needsEmbedder`; `nil` when not needed or none is recorded.
private func collectionEmbedder(_ directory: String, needsEmbedder: Bool, server: ServerOptions) throws
    -> (any Embedder)?
{
    let configuration = try DocumentCollection.configuration(of: directory)
    guard needsEmbedder, let identifier = configuration.embedder else { return nil }
    let embedder: any Embedder
    do {
        embedder = try server.presentingFlagErrors {
            try Embedders.embedder(identifier: identifier, dimension: configuration.dimension, server: server.server)
        }
    } catch let error as EmbeddingError where error == .unknownEmbedder(identifier: identifier) {
        throw CommandFailure(error, hint: "Give vectors instead (a \"vector\" field in every line).")
    }
    return embedder
}

/// The documents of the JSON Lines file at `path`, warning on standard error about the fields of its lines that
/// are not stored.
private func readDocuments(_ path: String) throws -> [Document] {
    var unreadFields = UnreadFields()
    let documents = try DocumentReader.documents(atPath: path, unreadFields: &unreadFields)
    if let warning = DocumentReader.unreadDocumentFieldsWarning(unreadFields, path: path) {
        printError("Warning: \(warning).")
    }
    return documents
}
