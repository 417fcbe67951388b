import Embeddings
import Foundation
import MemoryLocation
import ProceduralMemory
import RetrievalCore
import Synchronization

/// Which stores a service serves: one store, or every store under a root directory, each a hard partition.
public enum StoreLayout: Sendable, Equatable {
    /// One store (a directory or a PostgreSQL URL), served under the name ``StoreRegistry/defaultStoreName``.
    case single(StoreLocation)
    /// Every store directly under `root`, served under its directory name.
    case root(directory: String)
}

/// The stores a service has open, each opened once on first use and kept warm.
///
/// Names are checked before any path is built from them, so a name can never reach outside the root: a lookup in one
/// store can't see another's memories, because each name maps to its own ``MemoryStore`` and its own database.
public final class StoreRegistry: Sendable {
    /// The name of the store of a ``StoreLayout/single(_:)`` layout.
    public static let defaultStoreName = "default"

    /// What is served.
    public let layout: StoreLayout
    /// How stores are opened; where PostgreSQL stores run their lookups.
    private let options: StoreOpenOptions
    /// The embedders of the stores opened: stores recorded with the same embedder share one.
    private let embedders = EmbedderPool()
    /// Open stores by name; each entry is a task so that concurrent first requests open a store once.
    private let open = Mutex<[String: Task<OpenStore, any Error>]>([:])

    /// Creates a registry; nothing is opened until first asked for.
    ///
    /// Each store is opened on the backend it lives on (SQLite, or PostgreSQL for a directory made by `memp init
    /// --backend postgres`), as the CLI opens it.
    public init(layout: StoreLayout, options: StoreOpenOptions = StoreOpenOptions()) {
        self.layout = layout
        self.options = options
    }

    /// Checks, before serving, that what is to be served is there: the single store opens, or the root is a
    /// directory.
    ///
    /// - Returns: The entries under the root that hold a store but are not served because their names aren't store
    ///   names (``store(named:)`` says which are), sorted; empty for a single store.
    /// - Throws: What ``store(named:)`` throws for the single store; ``ServiceError/invalidArgument(name:reason:)``
    ///   when the root is missing or is no directory.
    public func checkServed() async throws(ServiceError) -> [String] {
        switch layout {
        case .single:
            _ = try await store(named: nil)
            return []
        case .root(let root):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw .invalidArgument(
                    name: "store root",
                    reason: "\(root) is \(FileManager.default.fileExists(atPath: root) ? "no directory" : "missing")")
            }
            return Self.storeDirectories(under: root).filter { !Self.isValidName($0) }.sorted()
        }
    }

    /// The entries directly under `root` that hold a store, whatever their names.
    private static func storeDirectories(under root: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { StoreLocation.isStore(root + "/" + $0) }
    }

    /// The names of the stores that can be served, sorted.
    public func storeNames() -> [String] {
        switch layout {
        case .single: return [Self.defaultStoreName]
        case .root(let root):
            return Self.storeDirectories(under: root).filter(Self.isValidName).sorted()
        }
    }

    /// The store called `name` (`nil`: the single store), opened on first use.
    ///
    /// - Throws: ``ServiceError/unknownStore(name:)`` when no store has that name (names with `/`, `..` or other
    ///   characters outside letters, digits, `-`, `_` and `.` are never store names);
    ///   ``ServiceError/storeUnavailable(reason:)`` when its database can't be reached;
    ///   ``ServiceError/storeFailure(reason:)`` when the store can't be opened otherwise.
    public func store(named name: String?) async throws(ServiceError) -> OpenStore {
        let location: StoreLocation
        let resolved: String
        switch (layout, name) {
        case (.single(let single), nil), (.single(let single), Self.defaultStoreName?):
            location = single
            resolved = Self.defaultStoreName
        case (.single, let name?):
            throw .unknownStore(name: name)
        case (.root, nil):
            // An MCP client has no other way to learn the names (over HTTP, GET /v1/stores lists them).
            let names = storeNames()
            let listed =
                names.isEmpty
                ? "none yet"
                : names.prefix(Self.namesListed).joined(separator: ", ")
                    + (names.count > Self.namesListed ? " and \(names.count - Self.namesListed) more" : "")
            throw .invalidArgument(
                name: "store",
                reason: "this server serves several stores (\(listed)); name one (/v1/stores/NAME/… over HTTP, the "
                    + "store argument of an MCP tool)")
        case (.root(let root), let name?):
            guard Self.isValidName(name), StoreLocation.isStore(root + "/" + name) else {
                throw .unknownStore(name: name)
            }
            location = .directory(root + "/" + name)
            resolved = name
        }
        let (options, embedders) = (self.options, self.embedders)
        let task = open.withLock { open in
            if let task = open[resolved] { return task }
            let task = Task {
                OpenStore(
                    name: resolved, store: try await embedders.openStore(at: location, options: options))
            }
            open[resolved] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // A failed open is not cached: the next request tries again (the store may be being created).
            open.withLock { if $0[resolved] == task { $0[resolved] = nil } }
            let reason = "store \(resolved) can't be opened: \(error)"
            if case MemoryError.databaseUnavailable? = error as? MemoryError { throw .storeUnavailable(reason: reason) }
            throw .storeFailure(reason: reason)
        }
    }

    /// The stores opened so far.
    public func openStores() async -> [OpenStore] {
        var stores: [OpenStore] = []
        for task in open.withLock({ Array($0.values) }) {
            if let store = try? await task.value { stores.append(store) }
        }
        return stores.sorted { $0.name < $1.name }
    }

    /// The most store names an error lists.
    static let namesListed = 20

    /// Letters, digits, `-`, `_` and `.`, not starting with `.`, at most 128 characters.
    static func isValidName(_ name: String) -> Bool { nameProblem(name) == nil }

    /// Why `name` can't name a served store, or `nil` when it can; the reason reads after the name.
    ///
    /// Hostile run 22: `.hidden` was refused as "a store name holds only letters, digits, -, _ and .", which it
    /// does (finding 220).
    package static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.hasPrefix(".") { return "starts with a dot, as hidden directories do" }
        if name.count > 128 { return "is \(name.count) characters long, more than the 128 a store name may have" }
        let allowed = { (scalar: Unicode.Scalar) in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
        }
        guard let other = name.unicodeScalars.first(where: { !allowed($0) }) else { return nil }
        return "holds \(printableText(String(other)).debugDescription), and a store name holds only ASCII letters, "
            + "digits, -, _ and ."
    }
}

/// The embedders of the stores one process opens: stores that record the same ``EmbedderConfiguration`` share one
/// embedder, so a server with many MiniLM stores loads the model's weights once, not once per store.
public final class EmbedderPool: Sendable {
    private let embedders = Mutex<[EmbedderConfiguration: any Embedder]>([:])

    /// Creates an empty pool.
    public init() {}

    /// How many distinct embedders the pool holds.
    public var count: Int { embedders.withLock { $0.count } }

    /// The embedder for `configuration`, built on first use.
    ///
    /// - Throws: ``ProceduralMemory/MemoryError/embedding(reason:)`` when the model is missing or broken.
    public func embedder(for configuration: EmbedderConfiguration) throws(MemoryError) -> any Embedder {
        if let embedder = embedders.withLock({ $0[configuration] }) { return embedder }
        // Built outside the lock (loading MiniLM takes a while); a concurrent first use keeps the first one stored.
        let built = try configuration.makeEmbedder()
        return embedders.withLock { embedders in
            if let stored = embedders[configuration] { return stored }
            embedders[configuration] = built
            return built
        }
    }

    /// Opens the store at `location` with the pool's embedder for the configuration it records.
    ///
    /// - Throws: What ``ProceduralMemory/MemoryStore/open(at:embedder:options:)`` throws.
    public func openStore(
        at location: StoreLocation, options: StoreOpenOptions = StoreOpenOptions()
    ) async throws(MemoryError) -> MemoryStore {
        guard let configuration = try await MemoryStore.info(at: location).embedderConfiguration else {
            return try await MemoryStore.open(at: location, options: options)  // refused with the library's message
        }
        return try await MemoryStore.open(at: location, embedder: try embedder(for: configuration), options: options)
    }
}

/// A store the service has open, with the count of this process's writes in flight on it.
public final class OpenStore: Sendable {
    /// The store's name in requests.
    public let name: String
    /// The store.
    public let store: MemoryStore
    private let writesInFlight = Mutex(0)
    /// The warning about the store's index cache last reported (``warnings(log:)``), so that each change is logged
    /// once, not at every write.
    private let reportedCacheWarning = Mutex<String?>(nil)

    init(name: String, store: MemoryStore) {
        self.name = name
        self.store = store
    }

    /// Runs a write, counting it as in flight so that reads don't rebuild the indexes for it.
    func write<Result: Sendable>(_ body: () async throws(ServiceError) -> Result) async throws(ServiceError) -> Result {
        writesInFlight.withLock { $0 += 1 }
        defer { writesInFlight.withLock { $0 -= 1 } }
        return try await body()
    }

    /// What an answer about the store must warn of: its index cache not saved after the last write
    /// (``ServiceWarning/Code/indexCacheUnsaved``); `nil` when nothing.
    ///
    /// `log` gets a line when that warning appears, changes, or goes (a later write saved the cache, or the store
    /// read it again after another process wrote).
    func warnings(log: (String) -> Void) -> [ServiceWarning]? {
        let current = store.cacheState.writeWarning
        let previous = reportedCacheWarning.withLock { reported in
            defer { reported = current }
            return reported
        }
        if current != previous {
            log(
                current.map { "Warning: store \(name): \($0)." }
                    ?? "Store \(name): the index cache is no longer reported unsaved: a later write saved it, or the "
                    + "store read it again after another process wrote.")
        }
        return current.map { [ServiceWarning(code: .indexCacheUnsaved, message: "Store \(name): \($0).")] }
    }

    /// Catches up with writes other processes made (``MemoryStore/refresh()``), unless this process is writing:
    /// its own writes publish themselves, and a refresh would wait for them.
    func catchUp() async throws(ServiceError) {
        guard writesInFlight.withLock({ $0 }) == 0 else { return }
        if case .deferred = store.cacheState { return }
        do {
            guard let info = try await store.backend.storeInfo(), info.generation != store.generation else { return }
            try await store.refresh()
        } catch {
            throw .from(error, store: name)
        }
    }
}
