import Foundation
import RetrievalCore

/// Where ``Embedder/embedJSONLines(at:textField:batchSize:maximumLineBytes:to:)`` writes the embedded lines.
public enum JSONLinesDestination: Sendable, Equatable {
    /// The process's standard output, line by line as batches finish.
    case standardOutput
    /// A file, written under a temporary name in the same directory and renamed over `path` only when every line
    /// was embedded: a failed run leaves an existing file as it was.
    case file(String)
}

extension Embedder {
    /// Embeds the `textField` string of every object in the JSON Lines file at `path` and writes each object back,
    /// in order, with an `embedding` field (replacing one it had) and its keys sorted.
    ///
    /// Blank lines are skipped. Lines are embedded `batchSize` at a time, so memory stays flat for any file size;
    /// a line longer than `maximumLineBytes` is refused as it is read, without being held in memory.
    ///
    /// - Parameters:
    ///   - path: The JSON Lines input.
    ///   - textField: The field holding the text to embed.
    ///   - batchSize: Lines read before each call to ``embed(_:)-(([String])``.
    ///   - maximumLineBytes: The longest line read.
    ///   - destination: Where the embedded lines go.
    /// - Returns: The number of lines embedded.
    /// - Throws: ``EmbeddingError/io(path:reason:)`` when the input can't be read or the output can't be written,
    ///   ``EmbeddingError/malformedInput(path:line:reason:)`` for a line that is not a JSON object or has no string
    ///   `textField`, ``EmbeddingError/lineTooLong(path:line:bytes:limit:)`` for a line over `maximumLineBytes`,
    ///   and the embedder's errors.
    /// - Precondition: `batchSize >= 1`.
    public func embedJSONLines(
        at path: String, textField: String = "text", batchSize: Int = 256,
        maximumLineBytes: Int = JSONLinesReader.standardMaximumLineBytes, to destination: JSONLinesDestination
    ) async throws(EmbeddingError) -> Int {
        precondition(batchSize >= 1, "embedJSONLines: batchSize must be at least 1")
        let reader = JSONLinesReader(path: path, maximumLineBytes: maximumLineBytes)
        if let reason = reader.unreadableReason { throw .io(path: path, reason: reason) }
        var sink = try LineSink(destination)
        do throws(EmbeddingError) {
            var pending: [(object: [String: Any], text: String)] = []
            var count = 0
            for line in reader {
                if let reason = line.unreadable { throw .io(path: path, reason: reason) }
                guard line.length <= maximumLineBytes else {
                    throw .lineTooLong(path: path, line: line.number, bytes: line.length, limit: maximumLineBytes)
                }
                guard let object = try? JSONSerialization.jsonObject(with: line.data) as? [String: Any] else {
                    throw .malformedInput(path: path, line: line.number, reason: "not a JSON object")
                }
                if let (field, reason) = JSONSyntax.laxness(in: line.data) {
                    throw .malformedInput(
                        path: path, line: line.number,
                        reason: (field.isEmpty ? "the line " : "field \(field) ") + reason)
                }
                guard let text = object[textField] as? String else {
                    throw .malformedInput(
                        path: path, line: line.number, reason: "no string field \"\(textField)\"")
                }
                pending.append((object, text))
                count += 1
                if pending.count == batchSize {
                    try sink.write(pending, vectors: try await embed(pending.map(\.text)))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            if !pending.isEmpty { try sink.write(pending, vectors: try await embed(pending.map(\.text))) }
            try sink.finish()
            return count
        } catch {
            sink.abandon()
            throw error
        }
    }
}

/// Standard output, or a temporary file put in place of its target when finished (see ``FileReplacement``).
private struct LineSink {
    private let handle: FileHandle
    private let target: String?
    private let temporary: String?
    /// Held while the temporary file exists (``FileReplacement/lockTemporaries(of:)``).
    private let lock: DirectoryLock?

    init(_ destination: JSONLinesDestination) throws(EmbeddingError) {
        guard case .file(let path) = destination else {
            handle = FileHandle.standardOutput
            target = nil
            temporary = nil
            lock = nil
            return
        }
        let started: FileReplacement.Started
        do throws(FileReplacementError) { started = try FileReplacement.begin(path) } catch {
            throw .io(path: printableText(path), reason: error.reason)
        }
        self.handle = FileHandle(fileDescriptor: started.descriptor, closeOnDealloc: true)
        self.target = started.destination
        self.temporary = started.temporary
        self.lock = started.lock
    }

    /// Writes each object with its vector as the `embedding` field.
    mutating func write(_ lines: [(object: [String: Any], text: String)], vectors: [[Float]]) throws(EmbeddingError) {
        var text = ""
        for ((object, _), vector) in zip(lines, vectors) {
            var fields = object
            fields.removeValue(forKey: "embedding")
            guard
                let head = try? JSONSerialization.data(
                    withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
            else { throw .io(path: target ?? "standard output", reason: "a line can't be encoded as JSON again") }
            let numbers = "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
            text +=
                String(decoding: head.dropLast(), as: UTF8.self) + (fields.isEmpty ? "" : ",")
                + "\"embedding\":" + numbers + "}\n"
        }
        do { try handle.write(contentsOf: Data(text.utf8)) } catch {
            throw .io(path: target ?? "standard output", reason: systemErrorText(of: error))
        }
    }

    /// Puts the temporary file in place of the target.
    func finish() throws(EmbeddingError) {
        guard let target, let temporary else { return }
        do { try handle.close() } catch { throw .io(path: target, reason: systemErrorText(of: error)) }
        do { try FileReplacement.commit(temporary, to: target) } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .io(path: target, reason: "can't replace it (\(error.reason))")
        }
        lock?.release()  // only once it succeeded: a failure is followed by abandon(), which releases it
    }

    /// Removes the temporary file of a run that failed.
    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temporary)
        lock?.release()
    }
}
