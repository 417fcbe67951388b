import Foundation

/// The running benchmark's executable name, which tags its diagnostics.
let programName = URL(fileURLWithPath: CommandLine.arguments.first ?? "benchmark").lastPathComponent

/// Writes `message` to standard error as one line tagged with the benchmark's name; standard output carries only the
/// JSON result.
public func log(_ message: String) {
    FileHandle.standardError.write(Data("[\(programName)] \(message)\n".utf8))
}

/// Logs `message` and exits with status 2: a bad argument, an unreadable input, or a result that can't be right.
public func fail(_ message: String) -> Never {
    log(message)
    exit(2)
}
