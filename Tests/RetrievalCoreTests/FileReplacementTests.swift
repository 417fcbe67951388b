import Foundation
import RetrievalCore
import TestSupport
import Testing

/// Finished files take their place by a rename, except where a rename would replace the wrong thing.
@Suite struct FileReplacementTests {
    @Test func aRegularFileIsReplacedAndNoTemporaryFileIsLeft() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("out.txt")
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        try FileReplacement.write(Data("new".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.txt"])
        // A new file is created.
        try FileReplacement.write(Data("first".utf8), to: directory.file("fresh.txt"))
        #expect(try String(contentsOfFile: directory.file("fresh.txt"), encoding: .utf8) == "first")
    }

    /// The temporary files of writers killed before they renamed them (SIGKILL, SIGXFSZ past `ulimit -f`) are removed
    /// by the next writer of the same file, unless another writer is running there; others' files are kept.
    ///
    /// Hostile run 13: `memp index build` killed by SIGXFSZ left `.v.mvi.tmp-PID-N`, as large as what it had written,
    /// which nothing removed.
    @Test func theTemporariesOfKilledWritersAreRemovedByTheNextWriter() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let killed = [".out.bin.tmp-4332-633502574", ".out.bin.tmp-1-2"]
        let others = [".out.bin.tmp-notes", ".out.bin.tmp-1-2-3", ".other.bin.tmp-1-2", "out.bin.tmp-1-2"]
        for name in killed + others { try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file(name))) }
        func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() }

        // While another writer holds the directory, its temporary can't be told from a killed one's: nothing goes.
        let running = try #require(DirectoryLock(directory: directory.path))
        running.lockShared()
        try FileReplacement.write(Data("first".utf8), to: directory.file("out.bin"))
        #expect(try names() == (killed + others + ["out.bin"]).sorted())
        running.release()

        try FileReplacement.write(Data("second".utf8), to: directory.file("out.bin"))
        #expect(try names() == (others + ["out.bin"]).sorted())
        #expect(try String(contentsOfFile: directory.file("out.bin"), encoding: .utf8) == "second")

        // Index files are written the same way.
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file(".out.bin.tmp-7-8")))
        let writer = try IndexFileWriter(
            path: directory.file("out.bin"), magic: "TEST", version: 1, fields: [], sectionCapacity: 1)
        try writer.appendSection("DATA", [UInt8(1), 2, 3])
        try writer.commit()
        #expect(try names() == (others + ["out.bin"]).sorted())
    }

    @Test func aSymbolicLinkStaysALinkAndItsTargetIsReplaced() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let target = directory.file("target.txt")
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        let link = directory.file("link.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(FileReplacement.destination(for: link) == target)
        try FileReplacement.write(Data("new".utf8), to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new")
    }

    /// A link to a file not made yet leads to it, and a link in a loop is refused.
    ///
    /// The link leads to its file as the shell's `>` makes it; both were replaced by a regular file, the link lost
    /// (`memp embed --output link`).
    @Test func aLinkToAMissingFileMakesItAndALinkInALoopIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let link = directory.file("link.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "later.txt")
        #expect(FileReplacement.destination(for: link) == directory.file("later.txt"))
        try FileReplacement.write(Data("new".utf8), to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "later.txt")
        #expect(try String(contentsOfFile: directory.file("later.txt"), encoding: .utf8) == "new")
        let loop = directory.file("loop")
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        let refusal = FileReplacementError(reason: "it is a symbolic link in a loop, which leads to no file")
        #expect(throws: refusal) { try FileReplacement.write(Data("x".utf8), to: loop) }
        #expect(throws: refusal) { try FileReplacement.checkWritable(loop) }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: loop) == "loop")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(Set(names) == ["link.txt", "later.txt", "loop"])
    }

    /// A link's `..` is resolved from the directory the link really is in, as the kernel does, also when the link is
    /// reached through a linked directory: dropping `alias/..` as text wrote (or replaced) another file.
    @Test func aLinkReachedThroughALinkedDirectoryLeadsWhereTheKernelSays() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.file("real/sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.file("alias"), withDestinationPath: "real/sub")
        try FileManager.default.createSymbolicLink(atPath: directory.file("real/sub/out"), withDestinationPath: "../x")
        try Data("unrelated".utf8).write(to: URL(fileURLWithPath: directory.file("x")))
        try FileReplacement.write(Data("new".utf8), to: directory.file("alias/out"))
        #expect(try String(contentsOfFile: directory.file("real/x"), encoding: .utf8) == "new")
        #expect(try String(contentsOfFile: directory.file("x"), encoding: .utf8) == "unrelated")
        // Again, now that the file exists: the same one is replaced.
        try FileReplacement.write(Data("newer".utf8), to: directory.file("alias/out"))
        #expect(try String(contentsOfFile: directory.file("real/x"), encoding: .utf8) == "newer")
        #expect(try String(contentsOfFile: directory.file("x"), encoding: .utf8) == "unrelated")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory.file("real/sub/out")) == "../x")
    }

    /// A sticky, world-writable directory inside `directory`, as /tmp is.
    private static func stickyDirectory(in directory: TemporaryDirectory) throws -> String {
        let shared = directory.file("tmp")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        #expect(chmod(shared, 0o1777) == 0)
        return shared
    }

    /// How a link another user planted in a sticky directory is refused.
    private static let plantedLinkRefusal = FileReplacementError(
        reason: "it is a symbolic link another user owns in a sticky, world-writable directory, which is not "
            + "followed (as the system's protected_symlinks rule has it); write to a path of your own")

    /// A link another user planted in a sticky, world-writable directory (as in /tmp) is not followed.
    ///
    /// As the kernel's protected_symlinks rule has it: root writing a report there would have created or replaced
    /// the file it names. Needs root, to give the link another owner.
    @Test(.enabled(if: geteuid() == 0)) func aLinkAnotherUserPlantedInAStickyDirectoryIsNotFollowed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let shared = try Self.stickyDirectory(in: directory)
        let planted = shared + "/report.json"
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: directory.file("victim"))
        #expect(lchown(planted, 65534, 65534) == 0)
        let refusal = Self.plantedLinkRefusal
        #expect(throws: refusal) { try FileReplacement.checkWritable(planted) }
        #expect(throws: refusal) { try FileReplacement.write(Data("x".utf8), to: planted) }
        #expect(!FileManager.default.fileExists(atPath: directory.file("victim")))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: planted) == directory.file("victim"))
        // The same link owned by this user is followed, as the kernel would.
        #expect(lchown(planted, geteuid(), getegid()) == 0)
        try FileReplacement.write(Data("mine".utf8), to: planted)
        #expect(try String(contentsOfFile: directory.file("victim"), encoding: .utf8) == "mine")
    }

    /// A link of this user's that leads through a link another user planted in a sticky directory to a pipe or
    /// device is refused as that planted link is, not written into through the chain.
    ///
    /// Links to special files were written into through themselves, so open(2) followed the rest of the chain and
    /// memp's own protected_symlinks check never saw the planted link: where the kernel's rule is off, root writing
    /// `--output out` (out → /tmp/planted → a FIFO or /dev/sda) wrote into whatever the planted link named. Needs
    /// root, to give the link another owner.
    @Test(.enabled(if: geteuid() == 0)) func aChainThroughAPlantedLinkToAPipeIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let shared = try Self.stickyDirectory(in: directory)
        let fifo = directory.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let planted = shared + "/report.json"
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: fifo)
        #expect(lchown(planted, 65534, 65534) == 0)
        let mine = directory.file("out")
        try FileManager.default.createSymbolicLink(atPath: mine, withDestinationPath: planted)
        // A reader, so that a write into the pipe neither blocks nor fails for want of one.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let refusal = Self.plantedLinkRefusal
        #expect(FileReplacement.destination(for: mine) == planted)
        #expect(throws: refusal) { try FileReplacement.checkWritable(mine) }
        #expect(throws: refusal) { try FileReplacement.write(Data("x".utf8), to: mine) }
        #expect(FileHandle(fileDescriptor: reader).availableData.isEmpty)
    }

    /// A pipe (like `/dev/null`, which a rename by root would replace for the whole machine) is written into.
    @Test func aPipeReceivesTheBytesAndStaysAPipe() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(FileReplacement.isSpecialFile(fifo) && FileReplacement.isSpecialFile("/dev/null"))
        #expect(!FileReplacement.isSpecialFile(directory.path) && !FileReplacement.isSpecialFile(fifo + ".absent"))
        // Opened for reading without blocking first, so that the writer's open does not wait for a reader.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let payload = Data((0..<4096).map { UInt8($0 % 251) })
        try FileReplacement.write(payload, to: fifo)
        let received = FileHandle(fileDescriptor: reader).availableData
        #expect(received == payload)
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["pipe"])
    }

    /// A link that leads to a pipe (`--output /dev/stdout | …`, whose /proc/self/fd/1 names the pipe "pipe:[…]")
    /// is written into through the link.
    ///
    /// Hostile run 12: the link's text was followed as a path, and the write failed with "can't create a file in
    /// /proc/self/fd: No such file or directory".
    @Test func aLinkToAPipeIsWrittenIntoThroughTheLink() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let writeEnd = "/proc/self/fd/\(ends[1])"
        #expect(FileReplacement.destination(for: writeEnd) == writeEnd)
        let payload = Data((0..<4096).map { UInt8($0 % 251) })
        try FileReplacement.checkWritable(writeEnd)
        try FileReplacement.write(payload, to: writeEnd)
        close(ends[1])
        #expect(FileHandle(fileDescriptor: ends[0]).readDataToEndOfFile() == payload)
    }

    /// An index file written through a link to a pipe (`index build --output /dev/stdout | …`) is committed
    /// without syncing the link's directory.
    ///
    /// Hostile run 13: after every byte had gone into the pipe, syncing /proc/self/fd failed the write with
    /// "/proc/self/fd: Invalid argument".
    @Test func anIndexFileWrittenIntoAPipeIsCommittedWithoutADirectorySync() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let writeEnd = "/proc/self/fd/\(ends[1])"
        let writer = try IndexFileWriter(path: writeEnd, magic: "TEST", version: 1, fields: [7], sectionCapacity: 1)
        try writer.appendSection("DATA", [UInt8](repeating: 5, count: 1000))
        try writer.commit()
        close(ends[1])
        let bytes = FileHandle(fileDescriptor: ends[0]).readDataToEndOfFile()
        #expect(bytes.count == IndexFileLayout.alignUp(IndexFileLayout.dataStart(sectionCount: 1) + 1000))
        #expect(bytes.prefix(4) == Data("TEST".utf8))
    }

    @Test func aFileInAMissingDirectoryIsRefusedWithTheSystemsReason() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The directory is named: "No such file or directory" alone read as if the destination were missing.
        let reason = "can't create a file in \(directory.file("absent")): No such file or directory"
        #expect(throws: FileReplacementError(reason: reason)) {
            try FileReplacement.write(Data("x".utf8), to: directory.file("absent/out.txt"))
        }
        #expect(throws: FileReplacementError(reason: reason)) {
            try FileReplacement.checkWritable(directory.file("absent/out.txt"))
        }
        #expect(throws: FileReplacementError(reason: "it is a directory")) {
            try FileReplacement.checkWritable(directory.path)
        }
        try FileReplacement.checkWritable(directory.file("out.txt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// The system cuts a path at a NUL, so every writer refuses one before it makes anything: `out\u{0}evil` wrote
    /// `out` (hostile run 15's list).
    @Test func aPathHoldingANULIsRefusedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("out") + "\u{0}evil"
        let reason = "holds a NUL character (\\u0000), which no file or directory name can hold"
        #expect(throws: FileReplacementError(reason: reason)) { try FileReplacement.write(Data("x".utf8), to: path) }
        #expect(throws: FileReplacementError(reason: reason)) { try FileReplacement.checkWritable(path) }
        #expect(throws: IndexError.io(path: printableText(path), reason: reason)) {
            try IndexFileWriter(path: path, magic: "TEST", version: 1, fields: [], sectionCapacity: 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
}
