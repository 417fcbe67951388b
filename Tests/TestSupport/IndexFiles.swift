import RetrievalCore
import Testing

/// Writes a committed index file of kind `magic` with `fields` and `sections`, whose checksums are all valid: a file
/// of another kind, another version, or a header and sections that a reader must refuse for what they say.
///
/// - Returns: `path`.
@discardableResult
public func writeIndexFile(
    at path: String, magic: String, version: UInt32 = 1, fields: [UInt64] = [],
    sections: [(tag: String, values: [UInt64])] = []
) throws -> String {
    let writer = try IndexFileWriter(
        path: path, magic: magic, version: version, fields: fields, sectionCapacity: sections.count)
    for (tag, values) in sections { try writer.appendSection(tag, values) }
    try writer.commit()
    return path
}

/// Writes an index file of another kind, `otherMagic`, in `directory` and expects `read` to refuse it as not a file of
/// kind `expectedMagic`, naming the file.
public func expectRefusesIndexFile<Value>(
    ofKind otherMagic: String, expecting expectedMagic: String, in directory: TemporaryDirectory,
    sourceLocation: SourceLocation = #_sourceLocation, reading read: (String) throws -> Value
) throws {
    let path = try writeIndexFile(at: directory.file("other.idx"), magic: otherMagic)
    #expect(
        throws: IndexError.notAnIndexFile(path: path, expectedMagic: expectedMagic), sourceLocation: sourceLocation
    ) { try read(path) }
}
