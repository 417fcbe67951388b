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
