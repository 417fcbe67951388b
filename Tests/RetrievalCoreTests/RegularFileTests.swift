import Foundation
import RetrievalCore
import TestSupport
import Testing

/// Files that must be regular files are opened without waiting on anything else, and small files are read only
/// when they are small.
@Suite struct RegularFileTests {
    @Test func aSmallFileIsReadWholeUpToItsLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("0123456789", to: "ten.txt")
        #expect(try RegularFile.contents(of: path, limit: 10) == Data("0123456789".utf8))
        #expect(try RegularFile.size(of: path) == 10)
        #expect(throws: FileProblem.tooLarge(bytes: 10, limit: 9)) { try RegularFile.contents(of: path, limit: 9) }
        // A limit no file reaches does not overflow while the read looks one byte past it.
        #expect(try RegularFile.contents(of: path, limit: .max).count == 10)
        #expect(try RegularFile.contents(of: try directory.write("", to: "empty"), limit: 0).isEmpty)
        // Larger than one read: the bytes arrive in order.
        let large = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try large.write(to: URL(fileURLWithPath: directory.file("large")))
        #expect(try RegularFile.contents(of: directory.file("large"), limit: 200_000) == large)
        // A symbolic link is followed.
        let link = directory.file("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(try RegularFile.contents(of: link, limit: 10).count == 10)
    }

    /// A 3 GiB sparse file is refused from its size, before a byte is read.
    @Test func aHugeFileIsRefusedUnread() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("", to: "huge")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 3 << 30)
        try handle.close()
        #expect(throws: FileProblem.tooLarge(bytes: 3 << 30, limit: RegularFile.settingsLimit)) {
            try RegularFile.contents(of: path, limit: RegularFile.settingsLimit)
        }
    }

    /// Hostile runs put a FIFO (opening it to read waits for a writer), `/dev/zero` (it never ends) and directories
    /// in place of files: each is refused as what it is, and nothing waits.
    @Test func somethingElseThanARegularFileIsRefusedAsWhatItIs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [(fifo, "a FIFO"), ("/dev/zero", "a device"), (directory.path, "a directory")] {
            #expect(throws: FileProblem.notARegularFile(kind: kind)) {
                try RegularFile.contents(of: path, limit: RegularFile.settingsLimit)
            }
            #expect(throws: FileProblem.notARegularFile(kind: kind)) { try RegularFile.openForReading(path) }
            #expect(throws: FileProblem.notARegularFile(kind: kind)) { try RegularFile.size(of: path) }
        }
        #expect(throws: FileProblem.missing) { try RegularFile.contents(of: directory.file("none"), limit: 10) }
        #expect(
            FileProblem.notARegularFile(kind: "a FIFO").description == "is a FIFO, not a regular file"
                && FileProblem.tooLarge(bytes: 12, limit: 10).description == "is 12 bytes, more than the 10 it may hold"
        )
    }
}

/// Foundation's file errors are reported in the system's words, as the library's own system calls are.
@Suite struct SystemErrorTextTests {
    @Test func aFoundationWriteErrorIsTheSystemsReason() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for options: Data.WritingOptions in [[], .atomic] {
            do {
                try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file("none/x")), options: options)
                Issue.record("a write into a missing directory succeeded")
            } catch {
                #expect(systemErrorText(of: error) == "No such file or directory")
            }
        }
        struct Other: Error {}
        #expect(systemErrorText(of: Other()) == Other().localizedDescription)
    }
}
