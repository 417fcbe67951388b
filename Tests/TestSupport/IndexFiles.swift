import RetrievalCore

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
