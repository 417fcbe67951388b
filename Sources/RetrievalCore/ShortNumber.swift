/// A number as messages and descriptions write it: without a trailing `.0`, at most 6 decimals (`60`, `0.35`).
package func shortNumber(_ value: Double) -> String {
    var text = String(Double((value * 1e6).rounded()) / 1e6)
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}
