import Foundation
import RetrievalCore

extension FinishedTask {
    /// Reads finished tasks from a JSON Lines file: one trajectory per line in Memp's format (or the reference
    /// format), with the IDs of the memories the task used in `usedMemories` (a list of strings; absent means none).
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - source: The source of records that name none; default: the file's base name.
    ///   - limits: The largest texts accepted.
    /// - Throws: ``MemoryError/invalidRecord(path:line:field:reason:)`` naming the line and field of a bad record;
    ///   ``MemoryError/textTooLarge(path:line:field:bytes:limit:)`` for a text over `limits`;
    ///   ``MemoryError/io(path:reason:)`` when the file can't be read.
    public static func read(
        from path: String, source: String? = nil, limits: TextLimits = TextLimits()
    ) throws(MemoryError) -> [FinishedTask] {
        try limits.validate()
        let reader = JSONLinesReader(path: path, maximumLineBytes: limits.maximumLineBytes)
        if let reason = reader.unreadableReason { throw .io(path: path, reason: reason) }
        return try read(from: reader, source: source, limits: limits)
    }

    /// Reads finished tasks from JSON Lines bytes held in memory (a request body), as a file of the same bytes.
    ///
    /// - Parameters:
    ///   - data: The JSON Lines bytes.
    ///   - name: What error messages call the bytes, in place of a file path.
    ///   - source: The source of records that name none; default: `name`.
    ///   - limits: The largest texts accepted.
    /// - Throws: ``MemoryError/invalidRecord(path:line:field:reason:)`` naming the line and field of a bad record;
    ///   ``MemoryError/textTooLarge(path:line:field:bytes:limit:)`` for a text over `limits`.
    public static func read(
        jsonLines data: Data, name: String, source: String? = nil, limits: TextLimits = TextLimits()
    ) throws(MemoryError) -> [FinishedTask] {
        try limits.validate()
        return try read(
            from: JSONLinesReader(data: data, name: name, maximumLineBytes: limits.maximumLineBytes), source: source,
            limits: limits)
    }

    private static func read(from reader: JSONLinesReader, source: String?, limits: TextLimits) throws(MemoryError)
        -> [FinishedTask]
    {
        let path = reader.path
        let parser = TrajectoryRecordParser(path: path, defaultSource: source, defaultProducer: nil)
        var tasks: [FinishedTask] = []
        for line in reader {
            if let reason = line.unreadable { throw .io(path: path, reason: reason) }
            guard line.length <= limits.maximumLineBytes else {
                throw .textTooLarge(
                    path: path, line: line.number, field: "(line)", bytes: line.length,
                    limit: limits.maximumLineBytes)
            }
            let object = try parser.object(line.data, line: line.number)
            let record = try parser.record(
                object, format: TrajectoryRecordParser.detectFormat(of: object), line: line.number)
            try limits.check(record.trajectory, facts: record.facts, path: path, line: line.number)
            var used: [String] = []
            switch object["usedMemories"] {
            case nil, .null?:
                break
            case .array(let items)?:
                for (index, item) in items.enumerated() {
                    guard case .string(let id) = item, !id.isEmpty else {
                        throw .invalidRecord(
                            path: path, line: line.number, field: "usedMemories[\(index)]",
                            reason: "must be a memory ID (a non-empty string)")
                    }
                    used.append(id)
                }
            default:
                throw .invalidRecord(
                    path: path, line: line.number, field: "usedMemories", reason: "must be a list of memory IDs")
            }
            var task = FinishedTask(trajectory: record.trajectory, usedMemories: used)
            task.line = line.number
            tasks.append(task)
        }
        return tasks
    }
}
