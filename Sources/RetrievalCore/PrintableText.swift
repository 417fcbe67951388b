/// `text` with its control characters (terminal escapes, NUL, line breaks) shown as `\u{…}` in upper-case hex: text
/// from outside (a server's answer, a URL a user gave) is quoted in messages and must neither drive the terminal nor
/// split the line.
package func printableText(_ text: String) -> String {
    String(
        text.unicodeScalars.flatMap { scalar in
            scalar.properties.generalCategory == .control
                ? Array("\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars) : [scalar]
        }.map(Character.init))
}

/// Why `name` (an ID, a source, a label: text printed within one line) can't be one, or `nil` when it can.
///
/// A control character (U+0000–U+001F, U+007F–U+009F) splits or rewrites the lines it is printed on; a bidirectional
/// embedding, override or isolate (U+202A–U+202E, U+2066–U+2069) reorders how the rest of the line is shown, so that
/// `"mem\u{202E}gnp.exe"` reads as `memexe.png`. The reason reads after the field's name: "contains the control
/// character U+000A, which an ID can't hold" for `what` "an ID".
package func oneLineNameProblem(_ name: String, what: String) -> String? {
    for scalar in name.unicodeScalars {
        let kind: String
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069: kind = "the bidirectional formatting character"
        default:
            guard scalar.properties.generalCategory == .control else { continue }
            kind = "the control character"
        }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return "contains \(kind) U+\(code), which \(what) can't hold"
    }
    return nil
}
