/// `text` with its control characters (terminal escapes, NUL, line breaks) shown as `\u{…}` in upper-case hex: text
/// from outside (a server's answer, a URL a user gave) is quoted in messages and must neither drive the terminal nor
/// split the line.
package func printableText(_ text: String) -> String {
    escaping(text) { $0.properties.generalCategory == .control }
}

/// `name` (an ID, a field's name: a name quoted in a message) with its control characters, bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), line and paragraph separators (U+2028, U+2029)
/// and invisible characters (zero-width space, byte order mark, …) shown as `\u{…}`.
///
/// Unlike free text (``printableText(_:)``, where right-to-left writing uses them), a name has no use for the
/// bidirectional controls, and one holding them reorders the rest of the message (``oneLineNameProblem(_:what:)``);
/// an invisible character makes two names that differ look the same.
package func printableName(_ name: String) -> String {
    escaping(name) { $0.properties.generalCategory == .control || isBidirectionalControl($0) || isHidden($0) }
}

/// Whether `scalar` is a bidirectional embedding, override or isolate.
private func isBidirectionalControl(_ scalar: Unicode.Scalar) -> Bool {
    (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
}

/// Whether `scalar` breaks a line without being a control character (U+2028 LINE SEPARATOR, U+2029 PARAGRAPH
/// SEPARATOR), or is invisible: a default-ignorable code point (zero-width space U+200B, byte order mark U+FEFF, soft
/// hyphen U+00AD, the tag characters U+E0000–U+E007F that spell text no one sees, …).
private func isHidden(_ scalar: Unicode.Scalar) -> Bool {
    let properties = scalar.properties
    return properties.isDefaultIgnorableCodePoint || properties.generalCategory == .lineSeparator
        || properties.generalCategory == .paragraphSeparator
}

/// Whether `scalar`, invisible itself, shapes the visible character before it, which is not ASCII.
///
/// Such are a zero-width joiner or non-joiner (U+200C, U+200D), which Persian and Indic words and emoji sequences
/// (👩‍💻) hold, and a variation selector (U+FE00–U+FE0F, U+E0100–U+E01EF: ❤️). Within ASCII text, or after another
/// joiner, each would only hide a difference.
private func joinsVisibleText(_ scalar: Unicode.Scalar, after previous: Unicode.Scalar?) -> Bool {
    guard let previous, !previous.isASCII, !(0x200C...0x200D).contains(previous.value) else { return false }
    return (0x200C...0x200D).contains(scalar.value) || (0xFE00...0xFE0F).contains(scalar.value)
        || (0xE0100...0xE01EF).contains(scalar.value)
}

/// Whether `scalar` is the emoji variation selector (U+FE0F) of a keycap: a digit, `#` or `*`, then it, then
/// U+20E3 COMBINING ENCLOSING KEYCAP (1️⃣).
private func isKeycapSelector(_ scalar: Unicode.Scalar, after previous: Unicode.Scalar?, before next: Unicode.Scalar?)
    -> Bool
{
    guard scalar.value == 0xFE0F, next?.value == 0x20E3, let previous else { return false }
    return ("0"..."9").contains(previous) || previous == "#" || previous == "*"
}

/// `text` with the scalars `escaped` picks shown as `\u{…}` in upper-case hex.
private func escaping(_ text: String, _ escaped: (Unicode.Scalar) -> Bool) -> String {
    String(
        text.unicodeScalars.flatMap { scalar in
            escaped(scalar)
                ? Array("\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars) : [scalar]
        }.map(Character.init))
}

/// Why `name` (an ID, a source, a label: text printed within one line) can't be one, or `nil` when it can.
///
/// A control character (U+0000–U+001F, U+007F–U+009F) or a line separator (U+2028, U+2029) splits or rewrites the
/// lines it is printed on; a bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069) reorders how
/// the rest of the line is shown, so that `"mem\u{202E}gnp.exe"` reads as `memexe.png`; an invisible character
/// (U+200B ZERO WIDTH SPACE, U+FEFF BYTE ORDER MARK, a tag character) makes `"run\u{200B}-1"` look like `run-1`, another
/// ID. A joiner or variation selector after a visible character that is not ASCII shapes it and is allowed. The reason
/// reads after the field's name: "contains the control character U+000A, which an ID can't hold" for `what` "an ID".
package func oneLineNameProblem(_ name: String, what: String) -> String? {
    var previous: Unicode.Scalar?
    let scalars = Array(name.unicodeScalars)
    for (index, scalar) in scalars.enumerated() {
        defer { previous = scalar }
        let kind: String
        if isBidirectionalControl(scalar) {
            kind = "the bidirectional formatting character"
        } else if scalar.properties.generalCategory == .control {
            kind = "the control character"
        } else if scalar.properties.generalCategory == .lineSeparator
            || scalar.properties.generalCategory == .paragraphSeparator
        {
            kind = "the line-breaking character"
        } else if isHidden(scalar), !joinsVisibleText(scalar, after: previous),
            !isKeycapSelector(scalar, after: previous, before: scalars.dropFirst(index + 1).first)
        {
            kind = "the invisible character"
        } else {
            continue
        }
        return "contains \(kind) \(codePoint(scalar)), which \(what) can't hold"
    }
    return nil
}

/// Why `id` can't be an ID, or `nil` when it can; the reason reads after the field's name.
///
/// It is empty, or holds what no one-line name may (``oneLineNameProblem(_:what:)``), or starts or ends with white
/// space (``edgeSpaceProblem(_:)``).
package func idProblem(_ id: String, what: String) -> String? {
    if id.isEmpty { return "must not be empty" }
    return oneLineNameProblem(id, what: what) ?? edgeSpaceProblem(id)
}

/// Why `id` can't be an ID for white space at its start or end, or `nil` when it has none there.
///
/// `"run-1 "` prints as `run-1`, and is another ID (the recheck of hostile run 22 stored both).
package func edgeSpaceProblem(_ id: String) -> String? {
    let scalars = id.unicodeScalars
    guard let edge = [scalars.first, scalars.last].compactMap({ $0 }).first(where: { $0.properties.isWhitespace })
    else { return nil }
    return "starts or ends with white space (\(codePoint(edge))), which makes another ID than the one without it; "
        + "remove it"
}

/// `scalar` as Unicode writes it: `U+` and at least four upper-case hex digits (`U+000A`, `U+E0041`).
private func codePoint(_ scalar: Unicode.Scalar) -> String {
    let hex = String(scalar.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}

/// Why `path` can name no file, or `nil` when it can; the reason reads after the path.
///
/// A path holding a NUL character is cut there by the system: `"new\u{0}evil"` named `new` to a store's create and
/// `"memp.sqlite\u{0}.jsonl"` the database to an import (hostile run 15).
package func pathProblem(_ path: String) -> String? {
    path.utf8.contains(0) ? "holds a NUL character (\\u0000), which no file or directory name can hold" : nil
}

/// Whether no other string is canonically equivalent to `text`, so that comparing bytes compares as Swift's
/// `String` does: ASCII text without `K`, `;` and `` ` ``.
///
/// Those three are what the only non-ASCII scalars whose Normalization Form C holds ASCII compose to (U+212A KELVIN
/// SIGN, U+037E GREEK QUESTION MARK, U+1FEF GREEK VARIA), and a combining mark never composes away. A store's SQL
/// compares such a text by its bytes, which an index serves, and any other by its Normalization Form C.
package func hasNoCanonicalVariants(_ text: String) -> Bool {
    text.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "K") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "`") }
}
