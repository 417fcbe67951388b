import Foundation
import RetrievalCore
import TestSupport
import Testing
import VectorIndex

#if canImport(Glibc)
    import Glibc
#endif

/// Tests that run the built `memp` executable as a child process.
@Suite struct ChildProcessTests {
    /// `MEMP_SIMD` forces each supported level, and a level the CPU lacks falls back to the detected one.
    @Test func simdEnvironmentOverrideForcesTheKernelLevel() async throws {
        let expectations =
            SIMDLevel.available.map { ($0.rawValue, $0.rawValue) } + [("bogus", SIMDLevel.hardware.rawValue)]
        for (value, expected) in expectations {
            let doctor = try await ChildProcess.memp(["doctor", "--json"], environment: ["MEMP_SIMD": value])
            let report = try JSONSerialization.jsonObject(with: Data(doctor.output.utf8)) as? [String: Any]
            #expect(report?["kernelLevel"] as? String == expected, "MEMP_SIMD=\(value)")
            #expect(report?["simdOverride"] as? String == value)
            // The MiniLM encoder follows the same level and never calls BLAS, whatever the environment says.
            #expect(report?["encoderKernelLevel"] as? String == expected, "MEMP_SIMD=\(value)")
            #expect(report?["encoderUsesBLAS"] as? Bool == false)
        }
        // Hostile run 11: a level that is not one was echoed as if it were forced.
        let bogus = try await ChildProcess.memp(["doctor"], environment: ["MEMP_SIMD": "bogus"])
        #expect(
            bogus.output.contains(
                "MEMP_SIMD=bogus ignored: not one of scalar, avx2, avx512 up to \(SIMDLevel.hardware.rawValue))\n"))
        let forced = try await ChildProcess.memp(["doctor"], environment: ["MEMP_SIMD": "scalar"])
        #expect(
            forced.output.contains("SIMD kernels:     scalar (hardware supports") && !forced.output.contains("ignored"))
    }

    /// A `memp index build` killed with SIGKILL while it writes over an existing index leaves that index intact.
    #if os(Linux)
        @Test func killDuringSaveLeavesThePreviousFile() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let target = directory.file("index.mvi")
            var previous = try FlatIndex(dimension: 64, metric: .innerProduct)
            try previous.add([Float](repeating: 1, count: 64), id: 42)
            try previous.save(to: target)
            let previousBytes = try Data(contentsOf: URL(fileURLWithPath: target))

            // 200k x 64 floats: a 51 MB vector section, so the save is still writing when the kill lands.
            let input = directory.file("big.fvecs")
            let big = try VectorSet(dimension: 64, values: (0..<200_000 * 64).map { Float($0 % 251) / 251 })
            try VectorFile.write(big, to: input)

            // inotify reports the moment the child first writes to its temporary file.
            let watcher = inotify_init1(Int32(IN_CLOEXEC))
            try #require(watcher >= 0)
            defer { close(watcher) }
            try #require(inotify_add_watch(watcher, directory.path, UInt32(IN_MODIFY)) >= 0)

            let child = Process()
            child.executableURL = URL(fileURLWithPath: try ChildProcess.mempExecutable())
            child.arguments = ["index", "build", "--input", input, "--output", target, "--metric", "ip"]
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            // The wait is on a thread of its own, so it holds no thread of the cooperative pool.
            let sawTemporaryWrite = await onOwnThread {
                var sawTemporaryWrite = false
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !sawTemporaryWrite {
                    var descriptor = pollfd(fd: watcher, events: Int16(POLLIN), revents: 0)
                    // A guard against a child that dies before writing, not a timing assumption.
                    guard poll(&descriptor, 1, 120_000) > 0 else { break }
                    let length = buffer.withUnsafeMutableBytes { read(watcher, $0.baseAddress, $0.count) }
                    guard length > 0 else { break }
                    // struct inotify_event: wd, mask, cookie, len (4 bytes each), then a NUL-padded name.
                    var offset = 0
                    while offset + 16 <= length {
                        let nameLength = (0..<4).reduce(0) { $0 | Int(buffer[offset + 12 + $1]) << (8 * $1) }
                        let name = buffer[(offset + 16)..<min(length, offset + 16 + nameLength)].prefix { $0 != 0 }
                        if String(decoding: name, as: UTF8.self).hasPrefix(".index.mvi.tmp-") {
                            sawTemporaryWrite = true
                        }
                        offset += 16 + nameLength
                    }
                }
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
                return sawTemporaryWrite
            }
            #expect(sawTemporaryWrite)
            #expect(child.terminationReason == .uncaughtSignal)

            // The previous index is byte for byte intact and still opens, verifies and searches.
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == previousBytes)
            let reopened = try FlatIndex(contentsOf: target, verifyChecksums: true)
            #expect(reopened.count == 1)
            #expect(try reopened.search([Float](repeating: 1, count: 64), k: 1).map(\.id) == [42])
        }
    #endif
}
