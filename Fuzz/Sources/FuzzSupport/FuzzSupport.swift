import CFuzzDriver
import Foundation
import Synchronization

/// A scratch file per fuzz process: the parsers under test read files, so each input is written here first.
public enum FuzzInput {
    /// A directory of this process alone, created once.
    public static let directory: String = {
        let path = NSTemporaryDirectory() + "/memp-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes the input to `name` in ``directory`` and returns its path.
    public static func write(_ bytes: UnsafePointer<UInt8>, _ count: Int, to name: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes, count: count))
        return path
    }
}

/// The body of a fuzz target for a checksummed index file: writes the input to `name` in ``FuzzInput/directory``,
/// opens it with the checksum pass and again without it, so that mutations a checksum would refuse still reach the
/// structure checks and section decoders, and hands what opened without it, and its path, to `use`.
///
/// - Parameter open: Opens the file at a path, verifying its checksums or not.
/// - Returns: 0, libFuzzer's answer for an input it may keep.
public func fuzzIndexFile<Index>(
    _ bytes: UnsafePointer<UInt8>?, _ count: Int, writingTo name: String,
    open: (_ path: String, _ verifyChecksums: Bool) throws -> Index, use: (Index, String) -> Void
) -> CInt {
    guard let bytes else { return 0 }
    let path = FuzzInput.write(bytes, count, to: name)
    _ = try? open(path, true)
    if let index = try? open(path, false) { use(index, path) }
    return 0
}

/// Runs an async body to completion from the synchronous libFuzzer callback.
public func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}

/// Runs libFuzzer with the process's arguments and `callback` as the target; called from each target's
/// `<Module>_main`, the entry point SwiftPM links.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// Stops the process, which libFuzzer reports as a crash with the input, when a promise of the code under test is
/// broken; a fuzz target checks more than "it did not crash" with it.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("broken promise: \(message())") }
}
