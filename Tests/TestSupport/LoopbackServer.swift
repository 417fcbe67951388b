import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A helper server (a Python script from `scripts/`) running on 127.0.0.1 for the length of one test.
///
/// The script prints its base URL on its first stdout line; ``stop()`` sends SIGTERM and waits.
public final class LoopbackServer {
    /// The server's base URL, `http://127.0.0.1:PORT`.
    public let baseURL: URL
    private let process: Process

    /// Seconds a client of a stub waits for each answer when the test is not about timeouts: far beyond what a stub
    /// that answers takes even on a CI machine starved by parallel tests (one run saw three 10 s attempts pass with no
    /// answer), so only the `hang` and `drip` scenarios, which never finish, run into a timeout.
    public static let answerTimeout: Double = 120

    /// The repository's `scripts/` folder, found from this file's path.
    public static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")

    /// Starts `python3 scripts/<script> <arguments>` and waits for its address (on a thread of its own: a server that
    /// loads a model takes seconds to print it).
    public init(script: String, arguments: [String] = []) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", LoopbackServer.scripts.appendingPathComponent(script).path] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        self.process = process
        let line = await onOwnThread {
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }  // end of file: the script exited
                line += chunk
            }
            return line
        }
        let address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard address.hasPrefix("http://127.0.0.1:"), let url = URL(string: address) else {
            let message = await onOwnThread {
                process.waitUntilExit()
                return String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            }
            throw LoopbackServerError(
                message: "\(script) did not start (run `bash scripts/setup.sh`): \(message.suffix(500))")
        }
        baseURL = url
        // Keep draining stderr so a chatty server never blocks on a full pipe.
        errors.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    /// Checks that `path` answers 200, once.
    ///
    /// A script prints its address only when it is ready to serve (for llm_server.py, once the model is loaded), so
    /// there is nothing to wait for. The one request waits up to ``answerTimeout``, not URLSession's 60 s: a CI run
    /// starved by parallel tests saw a loaded llama.cpp server give no answer within 60 s.
    public func checkHealthy(path: String = "/health") async throws {
        let url = baseURL.appendingPathComponent(path)
        // Set through the property: Foundation on Linux keeps the session's 60 s for a timeout given to the
        // initializer.
        var request = URLRequest(url: url)
        request.timeoutInterval = Self.answerTimeout
        let status: Int?
        do {
            status = (try await URLSession.shared.data(for: request).1 as? HTTPURLResponse)?.statusCode
        } catch {
            throw LoopbackServerError(message: "\(url) gave no answer, not 200: \(error)")
        }
        guard status == 200 else {
            throw LoopbackServerError(
                message: "\(url) answered \(status.map(String.init) ?? "no HTTP status"), not 200")
        }
    }

    /// Sends SIGTERM and waits for the process to end.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A helper server that failed to start or to become healthy.
public struct LoopbackServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    public var description: String { message }
}
