/// A JSON object key named by its text, for objects whose keys are known only at run time.
package struct CodingKeyName: CodingKey {
    package var stringValue: String
    package var intValue: Int? { nil }
    package init(stringValue: String) { self.stringValue = stringValue }
    package init?(intValue: Int) { nil }
}

/// One JSON object holding `base`'s fields and, beside them, `fields` (`nil` values left out).
package struct JSONObjectWith<Base: Encodable>: Encodable {
    /// The value whose fields come first.
    package var base: Base
    /// The fields added beside them, by name.
    package var fields: KeyValuePairs<String, (any Encodable)?>

    /// An object of `base`'s fields and `fields`.
    package init(base: Base, fields: KeyValuePairs<String, (any Encodable)?>) {
        self.base = base
        self.fields = fields
    }

    package func encode(to encoder: any Encoder) throws {
        try base.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeyName.self)
        for (name, value) in fields {
            if let value { try container.encode(value, forKey: CodingKeyName(stringValue: name)) }
        }
    }
}
