import Foundation
import Synchronization
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `memp serve` child on 127.0.0.1 with a free port, for the length of one test.
final class ServeProcess: @unchecked Sendable {  // `process` is only started, signalled and waited on
    /// `http://127.0.0.1:PORT`, read from the server's `Listening on` line.
    let baseURL: URL
    let process: Process
    private let errors: Pipe
    /// What the server wrote to standard error after its `Listening on` line.
    private let laterErrors = Mutex(Data())

    /// The repository, found from this file's path.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts `memp serve ARGUMENTS --port 0` and waits for its `Listening on` line.
    convenience init(_ arguments: [String]) async throws {
        try await self.init(launcher: [], arguments)
    }

    /// Starts `LAUNCHER… memp serve ARGUMENTS --port 0` (the launcher runs memp in the end, as `exec` does) and
    /// waits for its `Listening on` line, on a thread of its own (``onOwnThread(_:)``).
    init(launcher: [String], _ arguments: [String]) async throws {
        let command = launcher + [try ChildProcess.mempExecutable(), "serve"] + arguments + ["--port", "0"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        (self.process, self.errors) = (process, errors)
        let text = await onOwnThread {
            var text = ""
            while !text.contains("\n") || !text.contains("Listening on ") {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Listening on ") }),
            let url = URL(string: String(line.dropFirst("Listening on ".count)))
        else {
            await onOwnThread { process.waitUntilExit() }
            throw ServeError(message: "memp serve did not start: \(text)")
        }
        baseURL = url
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            self?.laterErrors.withLock { $0.append(chunk) }
        }
    }

    /// Sends SIGTERM and returns the exit status, waiting for the exit on a thread of its own (``onOwnThread(_:)``).
    func stop() async -> Int32 {
        await onOwnThread { self.terminate() }
    }

    /// Sends SIGTERM and returns the exit status, blocking the calling thread until the server has exited (for a
    /// `defer`, where nothing can be awaited).
    @discardableResult
    func terminate() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    /// Stops the server (``terminate()``) and returns everything it wrote to standard error after its `Listening on`
    /// line.
    ///
    /// It reads what is left in the pipe without waiting for its end: a process started meanwhile by another test
    /// (a PostgreSQL server started through `system`) may hold the pipe's writing end for the rest of the run.
    func terminateAndReadErrors() -> String {
        terminate()
        let descriptor = errors.fileHandleForReading.fileDescriptor
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        var rest = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }  // the end, or nothing more written (EAGAIN): the server has exited
            rest.append(contentsOf: buffer[..<count])
        }
        return laterErrors.withLock { String(decoding: $0 + rest, as: UTF8.self) }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A `memp serve` whose store's writes find no space, as on a full disk: a copy of a store on a tmpfs of its own,
/// mounted in a user and mount namespace (`unshare -r -m`, so no root is needed where the system allows user
/// namespaces), and filled to the last byte once the server has opened the store.
enum FullDiskServer {
    /// Whether a tmpfs can be mounted in a namespace of its own here.
    static let available: Bool = {
        guard let directory = try? TemporaryDirectory() else { return false }
        defer { directory.remove() }
        return ChildProcess.succeeds([
            "unshare", "-r", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$1\"", "sh", directory.path,
        ])
    }()

    /// The command that runs the command after it in a user and mount namespace of its own, with a 4 MiB tmpfs
    /// mounted at `directory/full-disk` holding a copy of `store` (as `full-disk/store`), filled first when
    /// `fillingFirst`; and the mount's path.
    private static func launcher(copying store: String, in directory: TemporaryDirectory, fillingFirst: Bool) throws
        -> (command: [String], mount: String)
    {
        let mount = directory.file("full-disk")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let script =
            #"mount -t tmpfs -o size=4m tmpfs "$1" && cp -R "$2" "$1/store" || exit 90; "#
            + (fillingFirst ? #"cat /dev/zero > "$1/filler" 2>/dev/null; "# : "") + #"shift 2; exec "$@""#
        return (["/usr/bin/env", "unshare", "-r", "-m", "sh", "-c", script, "sh", mount, store], mount)
    }

    /// Serves a copy of `store`, made in `directory`, with `arguments`; `nil` when no namespace can be made here.
    static func start(copying store: String, in directory: TemporaryDirectory, _ arguments: [String]) async throws
        -> ServeProcess?
    {
        guard available else { return nil }
        let (command, mount) = try launcher(copying: store, in: directory, fillingFirst: false)
        let server = try await ServeProcess(launcher: command, ["--store", mount + "/store"] + arguments)
        // The server has opened the store (it does before listening): fill its disk through the namespace's view.
        let filler = open(
            "/proc/\(server.process.processIdentifier)/root\(mount)/filler", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard filler >= 0 else {
            throw ServeError(message: "can't reach the full-disk server's tmpfs: \(String(cString: strerror(errno)))")
        }
        defer { close(filler) }
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        while zeros.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
        guard errno == ENOSPC else {
            throw ServeError(message: "filling the full-disk server's tmpfs: \(String(cString: strerror(errno)))")
        }
        return server
    }

    /// Runs `memp serve` on a store of 10 memories, made in `directory` and copied to a tmpfs of its own that is
    /// filled before the server starts (at `directory/full-disk`); how it ended and what it wrote (`nil` when no
    /// namespace can be made here). A server that starts all the same is stopped after 60 s (`timeout`), so the
    /// outcome's status then says 124.
    static func serveOnAFullDisk(in directory: TemporaryDirectory) async throws -> ChildProcess.Outcome? {
        guard available else { return nil }
        let store = directory.file("store")
        try await StoreFixture.make(at: store, count: 10)
        let (command, mount) = try launcher(copying: store, in: directory, fillingFirst: true)
        let server = ["timeout", "60", try ChildProcess.mempExecutable(), "serve", "--store", mount + "/store"]
        return try await ChildProcess.run(command[0], Array(command.dropFirst()) + server + ["--port", "0"])
    }
}

struct ServeError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A plain HTTP client of the server: JSON in, status and JSON out.
struct HTTPClient: Sendable {
    let baseURL: URL
    var token: String?
    let session: URLSession

    init(_ baseURL: URL, token: String? = nil) {
        self.baseURL = baseURL
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.timeoutIntervalForRequest = 120
        session = URLSession(configuration: configuration)
    }

    /// Sends a request; `body` is sent as is.
    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws
        -> (status: Int, body: Data)
    {
        let (status, _, data) = try await exchange(method, path, body: body, headers: headers)
        return (status, data)
    }

    /// Sends a request; returns the answer's headers too.
    func exchange(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:])
        async throws -> (status: Int, headers: [AnyHashable: Any], body: Data)
    {
        guard let url = URL(string: baseURL.absoluteString + path) else {
            throw ServeError(message: "not a URL path: \(path)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, http?.allHeaderFields ?? [:], data)
    }

    /// Sends a JSON value.
    func send(_ method: String, _ path: String, json: Any) async throws -> (status: Int, body: Data) {
        try await send(method, path, body: try JSONSerialization.data(withJSONObject: json))
    }

    /// The body as a JSON object.
    static func object(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The IDs of a lookup answer's hits, best first.
    static func hitIDs(_ data: Data) -> [String] {
        (object(data)["hits"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    /// The `error.code` of an error body.
    static func errorCode(_ data: Data) -> String? {
        (object(data)["error"] as? [String: Any])?["code"] as? String
    }
}

/// Stores for the tests, built with the real CLI from the repository's sample trajectories.
enum StoreFixture {
    static let sample = repository.appendingPathComponent("data/textworld-sample/trajectories.jsonl").path
    static var repository: URL { ServeProcess.repository }

    /// A hashing-embedder store in `directory` holding the first `count` sample trajectories, with their IDs
    /// prefixed by `prefix`.
    static func make(at directory: String, count: Int = 640, prefix: String = "") async throws {
        let created = try await ChildProcess.memp(["init", "--store", directory, "--embedder", "hashing"])
        guard created.status == 0 else { throw ServeError(message: "memp init failed: \(created.errors)") }
        let lines = try String(contentsOfFile: sample, encoding: .utf8).split(separator: "\n").prefix(count)
        var file = ""
        for line in lines {
            var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            object["id"] = prefix + (object["id"] as? String ?? "")
            file += String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n"
        }
        let path = directory + ".jsonl"
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        let imported = try await ChildProcess.memp(["import", "--store", directory, path, "--build", "trajectory"])
        guard imported.status == 0 else { throw ServeError(message: "memp import failed: \(imported.errors)") }
    }

    /// One trajectory in Memp's format.
    static func trajectory(id: String, task: String, success: Bool = true, usedMemories: [String]? = nil)
        -> [String: Any]
    {
        var object: [String: Any] = [
            "id": id, "task": task, "source": "test",
            "steps": [["action": "open the fridge", "observation": "ok"], ["action": "take the milk"]],
            "outcome": ["success": success],
        ]
        if let usedMemories { object["usedMemories"] = usedMemories }
        return object
    }
}

/// A value shared by the tasks of a test, guarded by a `Mutex`.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

/// A temporary store of sample trajectories served by `memp serve`, with a client; ``close()`` stops and removes it.
struct ServedStore {
    let directory: TemporaryDirectory
    let store: String
    let server: ServeProcess
    let client: HTTPClient

    /// Serves a store holding the first `count` sample trajectories; `arguments` go to `memp serve`.
    init(count: Int, arguments: [String] = []) async throws {
        directory = try TemporaryDirectory()
        store = directory.file("store")
        try await StoreFixture.make(at: store, count: count)
        server = try await ServeProcess(["--store", store] + arguments)
        client = HTTPClient(server.baseURL)
    }

    func close() {
        server.terminate()
        directory.remove()
    }
}

/// A TCP connection to 127.0.0.1 that sends bytes exactly as given, for requests no HTTP client would send.
///
/// Reads wait on a thread of their own (``onOwnThread(_:)``): a read lasts until the server answers or closes.
final class RawConnection: Sendable {
    private let socket: Int32

    /// Connects to `port`; a read that gets nothing for `readGuard` fails instead of waiting on.
    init(port: Int, readGuard: Duration = .seconds(120)) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServeError(message: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            throw ServeError(message: "connect to port \(port): \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: Int(readGuard.components.seconds), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    /// Sends `text` as UTF-8.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a connection the server closed fails the send instead of raising SIGPIPE.
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw ServeError(message: "send: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    /// The next answer, read to the end of its Content-Length body; the connection stays open.
    func readAnswer() async throws -> Data {
        try await onOwnThread { try self.blockingReadAnswer() }
    }

    private func blockingReadAnswer() throws -> Data {
        var data = Data()
        var byte: UInt8 = 0
        while !data.suffix(4).elementsEqual("\r\n\r\n".utf8) {
            guard recv(socket, &byte, 1, 0) == 1 else { throw ServeError(message: "the answer's head ended early") }
            data.append(byte)
        }
        var remaining = HTTPAnswer.contentLength(ofHead: String(decoding: data, as: UTF8.self))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while remaining > 0 {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, min(remaining, $0.count), 0) }
            guard count > 0 else { throw ServeError(message: "the answer's body ended early") }
            data.append(contentsOf: buffer[..<count])
            remaining -= count
        }
        return data
    }

    /// Everything the server sends until it closes the connection.
    func readToEnd() async throws -> Data {
        try await onOwnThread { try self.blockingReadToEnd() }
    }

    private func blockingReadToEnd() throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) { return data }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                throw ServeError(message: "the server neither answered nor closed the connection: \(reason)")
            }
            data.append(contentsOf: buffer[..<count])
        }
    }
}

/// An HTTP answer as read off a ``RawConnection``: the status and the JSON error body's code and message.
struct HTTPAnswer: Equatable {
    var status: Int
    var code: String?
    var message: String?

    /// The answers in `bytes`, in order, each framed by its Content-Length.
    static func all(in bytes: Data) -> [HTTPAnswer] {
        var rest = Substring(String(decoding: bytes, as: UTF8.self))
        var answers: [HTTPAnswer] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let head = rest[..<end.lowerBound]
            let statusWord = head.prefix { $0 != "\r" }.split(separator: " ").dropFirst().first
            let body = rest[end.upperBound...].utf8.prefix(contentLength(ofHead: String(head)))
            let error = HTTPClient.object(Data(body))["error"] as? [String: Any]
            answers.append(
                HTTPAnswer(
                    status: statusWord.flatMap { Int($0) } ?? 0, code: error?["code"] as? String,
                    message: error?["message"] as? String))
            rest = Substring(rest[end.upperBound...].utf8.dropFirst(body.count))
        }
        return answers
    }

    /// The Content-Length of an answer's head, 0 when it has none.
    static func contentLength(ofHead head: String) -> Int {
        for line in head.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                return Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return 0
    }
}
