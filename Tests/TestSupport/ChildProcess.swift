import Foundation
import Synchronization

/// A child process whose standard output and standard error are captured.
public struct ChildProcess: Sendable {
    /// How a finished child ended and what it wrote.
    public typealias Outcome = (status: Int32, output: String, errors: String)

    /// The running process.
    public let process: Process
    private let output = Pipe()
    private let errors = Pipe()

    /// Starts `executable` with `arguments`, with `environment` added to this process's environment.
    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Waits for the child to end; returns its exit status and everything it wrote (both pipes are drained at once,
    /// so a child that writes much to standard error never blocks on it).
    ///
    /// The waiting is done on a thread of its own (``onOwnThread(_:)``).
    public func finish() async -> Outcome {
        let child = self
        return await onOwnThread { child.waitForExit() }
    }

    /// Like ``finish()``, blocking the calling thread: only for a check made once, outside any test, such as whether
    /// python3 has a package a suite needs.
    public func waitForExit() -> Outcome {
        let errors = errors
        let errorData = Mutex(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            errorsRead.signal()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        errorsRead.wait()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outputData, as: UTF8.self),
            String(decoding: errorData.withLock { $0 }, as: UTF8.self)
        )
    }

    /// Whether `command`, run through `/usr/bin/env`, exits 0: a check made once, outside any test, of what this
    /// machine has (a Python package, java, user namespaces), blocking the calling thread (``waitForExit()``).
    public static func succeeds(_ command: [String]) -> Bool {
        (try? ChildProcess(executable: "/usr/bin/env", arguments: command))?.waitForExit().status == 0
    }

    /// Runs `executable` to completion.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:])
        async throws -> Outcome
    {
        try await ChildProcess(executable: executable, arguments: arguments, environment: environment).finish()
    }
}

/// An executable the tests run is not built next to the test bundle.
public struct ExecutableNotBuilt: Error, CustomStringConvertible {
    /// Where it was looked for.
    public let path: String

    public var description: String { "\(path) is not built next to the test bundle; run swift build" }
}

extension ChildProcess {
    /// The `memp` executable built next to this test bundle (`swift test` builds every product).
    ///
    /// - Throws: ``ExecutableNotBuilt`` when it is not there.
    public static func mempExecutable() throws -> String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = bundle.appendingPathComponent("memp").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else { throw ExecutableNotBuilt(path: candidate) }
        return candidate
    }

    /// Runs the built `memp` with `arguments` to completion.
    public static func memp(_ arguments: [String], environment: [String: String] = [:]) async throws -> Outcome {
        try await run(try mempExecutable(), arguments, environment: environment)
    }
}
