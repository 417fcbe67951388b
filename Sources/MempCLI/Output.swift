import ArgumentParser
import Foundation
import ProceduralMemory
import RetrievalCore

// Everything the commands print goes through this file: JSON lines on stdout, diagnostics and progress on stderr,
// counted nouns. Dates in JSON are ISO-8601 UTC (`JSONDates`), like every file the library writes.

/// Prints a line of human-readable output that holds stored text (a task, a step, a script line, a history change).
///
/// Its control characters are shown as `\u{…}` (``RetrievalCore/printableText(_:)``), so that text from an
/// environment (a web page's escape sequences, a carriage return) can neither drive the terminal nor rewrite the
/// line. `--json` output keeps the text as stored.
func printText(_ line: String) {
    print(printableText(line))
}

/// The free text (a task, a query) of an argument declared `@Argument(parsing: .allUnrecognized)`.
///
/// One argument, after `--` when it starts with `--`. Such an argument takes every argument no option takes, so that
/// a text starting with "-" (agents write "- heat the pan") is text, not a cluster of short flags that
/// ArgumentParser would drop or read as -h.
func freeText(in arguments: [String]) -> String? {
    arguments.first == "--" ? arguments.dropFirst().first : arguments.first
}

/// Refuses what such an argument collected besides one text: a mistyped option, or a text in several words.
///
/// - Parameters:
///   - naming: What the text is, in messages (`task`).
///   - command: The command, for the message's example (`memp query`).
func checkFreeText(_ arguments: [String], naming what: String, command: String) throws {
    try checkFreeValues(arguments, naming: what, command: command)
    let given = freeValues(in: arguments)
    guard given.count <= 1 else {
        let quoted = given.map { "\"\($0)\"" }.joined(separator: " ")
        throw ValidationError("Give the \(what) as one argument, in quotes (got \(given.count): \(quoted)).")
    }
}

/// The values (texts, IDs) of an argument declared `@Argument(parsing: .allUnrecognized)` that takes several: every
/// argument no option takes, the first `--` dropped, so that a value starting with "-" is a value, not a cluster of
/// short flags that ArgumentParser would read as -h (`memp embed "- heat the pan"` printed the help and exited 0).
func freeValues(in arguments: [String]) -> [String] {
    guard let terminator = arguments.firstIndex(of: "--") else { return arguments }
    return Array(arguments[..<terminator] + arguments[(terminator + 1)...])
}

/// Refuses a mistyped option among such values: one before any `--` that starts with "--".
///
/// - Parameters:
///   - naming: What a value is, in messages (`task`, `document ID`).
///   - command: The command, for the message's example (`memp query`).
func checkFreeValues(_ arguments: [String], naming what: String, command: String) throws {
    let beforeTerminator = arguments[..<(arguments.firstIndex(of: "--") ?? arguments.endIndex)]
    if let option = beforeTerminator.first(where: { $0.hasPrefix("--") && $0.count > 2 }) {
        throw ValidationError(
            "Unknown option '\(option)'. A \(what) that starts with \"--\" goes after --: \(command) ... -- \"\(option)\"."
        )
    }
}

/// Refuses a `--source` that a record's own source could not be (the library's rule).
func checkDefaultSource(_ source: String?) throws {
    guard let source, let reason = TextLimits.defaultSourceProblem(source) else { return }
    throw ValidationError("--source \(reason).")
}

/// Flushes standard output and says why what was printed did not all reach it, or `nil` when it did.
///
/// `print` buffers and drops the errors of its writes, so that `memp query --json ... > /dev/full` (a full disk) or
/// `>&-` lost every line and exited 0 (hostile run 13). A reader that went away is not seen here: SIGPIPE ends the
/// process first, as it does `cat`.
func standardOutputProblem() -> String? {
    // Every stream, as `stdout` can't be named in Swift 6 (a C global); the others are flushed on each write.
    guard fflush(nil) != 0 else { return nil }
    let reason = String(cString: strerror(errno))
    return "standard output could not be written (\(reason)), so what the command printed is lost or cut short; "
        + "the command itself finished."
}

/// Prints a command's closing line (a summary, or its JSON) on standard output, or on standard error when `output`,
/// the file the command wrote its data to, is standard output itself (`--output /dev/stdout`).
///
/// There the line went after the data: `memp index build --output /dev/stdout > base.mvi` left an index file with
/// "Indexed 5000 vectors …" at its end (hostile run 13).
func printSummary(_ line: String, after output: String?) {
    if let output, isStandardOutput(output) { printError(line) } else { print(line) }
}

/// Prints a command's closing line as ``printSummary(_:after:)`` does: `summary` as one JSON line when `json`,
/// otherwise `text`.
func printSummary(
    _ summary: some Encodable, json: Bool, text: @autoclosure () -> String, after output: String?
) throws {
    try printSummary(json ? jsonLine(summary) : text(), after: output)
}

/// Whether `path` is the file (pipe, device, regular file) that standard output is.
func isStandardOutput(_ path: String) -> Bool {
    var standardOutput = stat()
    var file = stat()
    guard fstat(STDOUT_FILENO, &standardOutput) == 0, stat(path, &file) == 0 else { return false }
    return standardOutput.st_dev == file.st_dev && standardOutput.st_ino == file.st_ino
}

/// Writes a diagnostic line to standard error.
func printError(_ text: String) {
    writeToStandardError(text + "\n")
}

/// Writes `text` to standard error, or drops it when standard error can't be written (closed with `2>&-`, a full
/// device, a reader gone): a diagnostic has nowhere else to go, and the command must go on.
///
/// Foundation's non-throwing `FileHandle.write(_:)` traps when the write fails, so `memp import --progress json
/// 2>&-` died with SIGILL at its first progress line, after one batch of many was committed (hostile run 13).
func writeToStandardError(_ text: String) {
    try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
}

/// Warns on standard error when a write of `store` committed but its index cache files could not be saved.
func warnIfCacheUnsaved(_ store: MemoryStore) {
    guard let warning = store.cacheState.writeWarning else { return }
    printError("Warning: \(warning).")
}

/// One JSON object on one line: keys sorted, slashes unescaped, dates ISO-8601 UTC.
func jsonLine(_ value: some Encodable) throws -> String {
    String(decoding: try JSONDates.encoder().encode(value), as: UTF8.self)
}

/// Prints one JSON object on one line to stdout.
func printJSON(_ object: [String: JSONValue]) throws {
    print(try jsonLine(object))
}

/// `count` followed by `noun`, in the plural unless `count` is 1: "1 trajectory", "3 memories".
///
/// `plural` defaults to the regular English plural of `noun` ("-y" → "-ies" after a consonant, else "-s").
func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    if count == 1 { return "1 \(noun)" }
    if let plural { return "\(count) \(plural)" }
    if noun.hasSuffix("y"), let before = noun.dropLast().last, !"aeiou".contains(before) {
        return "\(count) \(noun.dropLast())ies"
    }
    return "\(count) \(noun)s"
}

/// `value` with `places` digits after the decimal point: `decimal(0.12345, places: 4)` is "0.1235".
func decimal(_ value: Double, places: Int) -> String {
    String(format: "%.\(places)f", value)
}

/// `value` with at most six significant digits, as scores are printed in result lists.
func significant(_ value: Double) -> String {
    String(format: "%.6g", value)
}

/// A JSON value for the commands' summaries, printed with sorted keys on one line.
enum JSONValue: Encodable {
    case int(Int), double(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// How a long command shows its progress on standard error.
enum ProgressStyle: String, ExpressibleByArgument, CaseIterable {
    /// A bar, when standard error is a terminal.
    case auto
    /// One JSON object per step, for programs that follow the command.
    case json
    /// Nothing.
    case none
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct ProgressBar {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private var shownPercent = -1

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = isatty(STDERR_FILENO) != 0 && total >= 10_000
    }

    /// Redraws the bar for `done` of `total` steps; `total` (when given) replaces the one the bar was made with.
    mutating func update(_ done: Int, of total: Int? = nil) {
        guard enabled else { return }
        let total = total ?? self.total
        let percent = Self.percent(done, of: total)
        guard percent != shownPercent else { return }
        shownPercent = percent
        writeToStandardError(Self.line(label: label, done: done, total: total))
    }

    /// How much of `total` `done` is, in whole percent within 0…100.
    ///
    /// `done` can pass `total`: a file that grows while it is imported. Past 103% the bar's unfilled part had a
    /// negative length, and `memp import` on a terminal trapped ("Negative count not allowed") half-way through the
    /// file (hostile run 13).
    static func percent(_ done: Int, of total: Int) -> Int {
        min(100, max(0, done) * 100 / max(total, 1))
    }

    /// The bar's text for `done` of `total`, from the start of the line.
    static func line(label: String, done: Int, total: Int) -> String {
        let filled = percent(done, of: total) * 30 / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        return "\r\(label) [\(bar)] \(percent(done, of: total))% (\(done)/\(total))"
    }

    func finish() {
        guard enabled else { return }
        writeToStandardError("\n")
    }
}

/// Refuses the first of `flags` that was given (`true`) with `message(flag)`: a flag that the mode or another flag
/// makes meaningless, which the command would otherwise ignore without a word.
///
/// - Throws: A `ValidationError` with `message(flag)`.
func refuseFirstGiven(_ flags: KeyValuePairs<String, Bool>, _ message: (String) -> String) throws {
    if let flag = flags.first(where: { $0.value })?.key { throw ValidationError(message(flag)) }
}

/// A library error about an option (``MemoryError/invalidParameter(name:value:expected:)``,
/// ``MemoryError/optionNotApplicable(option:policy:)``) told as the flag that set it, `flags` mapping the library's
/// names to the command's: `--alpha must be within 0…1 (got 2).`; any other error as it is.
func flagError(_ error: MemoryError, flags: [String: String]) -> any Error {
    switch error {
    case .invalidParameter(let name, let value, let expected):
        guard let flag = flags[name] else { return error }
        return parameterError(flag: flag, value: value, expected: expected)
    case .optionNotApplicable(let option, let policy):
        // The one option a mode can make meaningless, once the flags of other modes are refused.
        guard option == "minimumSimilarity", let flag = flags[option] else { return error }
        return ValidationError(
            "\(flag) has no effect with --mode \(policy.rawValue): BM25 scores and random draws are not "
                + "similarities. Leave it out, or choose --mode query, keyword or hybrid.")
    default:
        return error
    }
}

/// A library error about a parameter (``RetrievalCore/IndexError/invalidParameter(name:value:expected:)``) told as
/// the flag that set it, `flags` mapping the library's names to the command's; any other error as it is.
func flagError(_ error: IndexError, flags: [String: String]) -> any Error {
    guard case .invalidParameter(let name, let value, let expected) = error, let flag = flags[name] else {
        return error
    }
    return parameterError(flag: flag, value: value, expected: expected)
}

/// The refusal of a flag's value, such as `--alpha must be within 0…1 (got 2).`.
private func parameterError(flag: String, value: Double, expected: String) -> ValidationError {
    ValidationError("\(flag) must be \(expected) (got \(formattedParameter(value))).")
}

/// Refuses the first of `flags` given (`true`) with a search `mode` other than hybrid, which would ignore it.
///
/// - Throws: A `ValidationError` naming the flag and the mode.
func refuseHybridFlags(_ flags: KeyValuePairs<String, Bool>, mode: String) throws {
    try refuseFirstGiven(flags) { "\($0) sets how --mode hybrid fuses; it has no effect with --mode \(mode)." }
}

/// A library error, printed with what this command's flags can do about it (never a `ValidationError`: the flags
/// were fine, the data or the store was not, so the command exits 1 without the usage text).
struct CommandFailure: Error, CustomStringConvertible {
    /// The library's error.
    let underlying: any Error
    /// What to do about it with this command's flags.
    let hint: String

    /// Wraps `error`; `hint` is printed on its own line after the error's message.
    init(_ error: any Error, hint: String) {
        underlying = error
        self.hint = hint
    }

    var description: String { "\(underlying)\n\(hint)" }
}

/// A file named on the command line that can't be used.
///
/// Not a `ValidationError`: the flags were fine, the file was not, so the command exits 1 without the usage text.
enum InputFileError: Error, Equatable, CustomStringConvertible {
    /// The file can't be read.
    case unreadable(path: String)
    /// A line (or, when `line` is nil, the whole file) is not what the command reads.
    case malformed(path: String, line: Int?, reason: String)

    var description: String {
        switch self {
        case .unreadable(let path): "\(path): the file does not exist or is not readable."
        case .malformed(let path, let line?, let reason): "\(path), line \(line): \(reason)."
        case .malformed(let path, nil, let reason): "\(path): \(reason)."
        }
    }
}

/// Reads a path given as a flag's value or an argument: any text but the empty one, which names no file.
///
/// An empty path (`--output ""`, `--store ""`, a variable that was never set) was met deep inside each command and
/// told as "Error: : No such file or directory" or "Error:  is not a memory store".
///
/// - Throws: A `ValidationError`, which ArgumentParser tells with the flag it was given to.
func nonEmptyPath(_ value: String) throws -> String {
    guard !value.isEmpty else { throw ValidationError("an empty path names no file or directory") }
    return value
}
