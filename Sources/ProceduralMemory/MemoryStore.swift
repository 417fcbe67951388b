import Embeddings
import Foundation
import KeywordIndex
import RetrievalCore
import Synchronization
import VectorIndex

/// A procedural memory: trajectories in, reusable procedures out, in milliseconds.
///
/// The backend (SQLite in SQLiteMemory, or PostgreSQL in PostgresMemory) is the source of truth; the vector and
/// keyword indexes are caches kept in memory and in `DIR/index/`, rebuilt from the backend when a file is missing,
/// stale or corrupt. Lookups run concurrently on an immutable snapshot of the indexes; one writer at a time
/// imports or deletes, and its changes become visible to lookups all at once when it finishes. MemoryLocation
/// opens a store by where it lives (`MemoryStore.open(at:)`, a directory or a `postgres://` URL).
///
///     let store = try await MemoryStore.create(at: "memory", embedder: HashingEmbedder())  // import MemoryLocation
///     try await store.importTrajectories(from: "runs.jsonl")
///     for hit in try await store.retrieve("heat some milk", options: RetrievalOptions(k: 3)) {
///         print(hit.memory.script ?? "", hit.explanation)
///     }
public final class MemoryStore: Sendable {
    /// The name of the index cache directory inside a store directory (SQLite's or PostgreSQL's).
    package static let indexDirectoryName = "index"

    /// Where the store keeps everything.
    ///
    /// Not public: every change goes through the store, under its write lock.
    package let backend: any MemoryBackend
    /// The embedder of tasks and keywords; its identifier matches the store's.
    public let embedder: any Embedder
    /// How the index caches were obtained (at open, or at first use when their loading was deferred), or
    /// ``IndexCacheState/unsaved(reason:)`` while the last write's caches could not be saved.
    public var cacheState: IndexCacheState {
        state.withLock { state in state.unsavedReason.map { .unsaved(reason: $0) } ?? state.obtained }
    }

    let cache: IndexCache?
    let published: Mutex<IndexSnapshot>
    let writeLock = AsyncLock()
    /// The fusion recorded in the store's settings, once read (see ``effectiveFusion(_:)``).
    let tunedFusion = Mutex(TunedFusionState.unread)
    /// How the caches were obtained; why the last write could not save them (`nil` once one could); and whether a
    /// write published indexes it left the saving of to the write waiting behind it.
    private let state: Mutex<(obtained: IndexCacheState, unsavedReason: String?, savePending: Bool)>
    /// Writes waiting for the write lock.
    private let waitingWrites = Mutex(0)
    /// The vector storage of indexes not loaded yet (a ``DatabaseSearching`` backend); `nil` once loaded.
    private let deferredStorage: Mutex<VectorStorage?>

    private init(
        backend: any MemoryBackend, embedder: any Embedder, cache: IndexCache?, snapshot: IndexSnapshot,
        cacheState: IndexCacheState, deferredStorage: VectorStorage? = nil
    ) {
        self.backend = backend
        self.embedder = embedder
        self.cache = cache
        self.published = Mutex(snapshot)
        self.state = Mutex((cacheState, nil, false))
        self.deferredStorage = Mutex(deferredStorage)
    }

    /// Opens a store on any backend, initializing an empty one for `embedder`.
    ///
    /// With `deferringIndexes`, or on a backend that runs lookups in its database (``DatabaseSearching``), the
    /// index caches are loaded only when first needed (``IndexCacheState/deferred`` until then): by a lookup or a
    /// write, not by reading memories, history or counts.
    ///
    /// - Parameters:
    ///   - backend: The source of truth.
    ///   - embedder: The embedder; must be the one the store was created with.
    ///   - cacheDirectory: Where the index caches live; `nil` keeps them only in memory.
    ///   - vectorStorage: How the vector indexes hold vectors: ``VectorIndex/VectorStorage/int8`` (the default)
    ///     scans an int8 copy and rescores the best candidates exactly in f32, so scores are exact and lookups
    ///     read a quarter of the memory; ``VectorIndex/VectorStorage/f32`` scans every vector in f32.
    ///   - deferringIndexes: Whether to load the index caches when first needed rather than now.
    /// - Throws: ``MemoryError/embedderMismatch(store:given:)``; ``MemoryError/incompleteCopy(source:)`` for a store
    ///   a migration into did not finish; or what the backend throws.
    package static func open(
        backend: any MemoryBackend, embedder: any Embedder, cacheDirectory: String?,
        vectorStorage: VectorStorage = .int8, deferringIndexes: Bool = false
    ) async throws(MemoryError) -> MemoryStore {
        var info = try await backend.storeInfo()
        if info == nil {
            try checkIndexable(embedder, vectorStorage: vectorStorage)
            try await backend.initialize(
                embedderID: embedder.modelIdentifier, dimension: embedder.dimension, configuration: nil)
            info = try await backend.storeInfo()
        }
        guard let info else {
            throw .database(reason: "the store's settings are missing after initialization")
        }
        if let source = info.incompleteCopyOf { throw .incompleteCopy(source: source) }
        guard info.embedderID == embedder.modelIdentifier, info.dimension == embedder.dimension else {
            throw .embedderMismatch(store: info.embedderID, given: embedder.modelIdentifier)
        }
        let cache = cacheDirectory.map { IndexCache(directory: $0) }
        let searchesInDatabase = (backend as? any DatabaseSearching).map { !$0.databasePolicies.isEmpty } ?? false
        if deferringIndexes || searchesInDatabase {
            let empty: IndexSnapshot
            do throws(IndexError) {
                empty = try IndexSnapshot(dimension: info.dimension, vectorStorage: vectorStorage)
            } catch {
                throw .index(error)
            }
            return MemoryStore(
                backend: backend, embedder: embedder, cache: cache, snapshot: empty, cacheState: .deferred,
                deferredStorage: vectorStorage)
        }
        let (snapshot, cacheState, _) = try await loadIndexes(
            from: backend, info: info, cache: cache, vectorStorage: vectorStorage)
        return MemoryStore(
            backend: backend, embedder: embedder, cache: cache, snapshot: snapshot, cacheState: cacheState)
    }

    /// Checks that the indexes can hold `embedder`'s vectors, before a store is initialized for it: one whose
    /// vectors no index takes would leave a store behind that no open can use.
    ///
    /// - Throws: ``MemoryError/index(_:)`` with ``RetrievalCore/IndexError/unsupportedDimension(_:supported:)``.
    package static func checkIndexable(_ embedder: any Embedder, vectorStorage: VectorStorage) throws(MemoryError) {
        do throws(IndexError) {
            _ = try IndexSnapshot(dimension: embedder.dimension, vectorStorage: vectorStorage)
        } catch {
            throw .index(error)
        }
    }

    /// The indexes from the cache files when they match the backend, else rebuilt from it (and saved); with why
    /// the rebuilt files could not be saved, if they could not.
    private static func loadIndexes(
        from backend: any MemoryBackend, info: StoreInfo, cache: IndexCache?, vectorStorage: VectorStorage
    ) async throws(MemoryError) -> (IndexSnapshot, IndexCacheState, unsaved: String?) {
        var reason = "the store keeps no cache files"
        // Read before the indexes: a commit by another writer from here on changes it, which `write` notices.
        let marker = try await backend.foreignCommitMarker()
        if let cache {
            switch cache.load(matching: info, vectorStorage: vectorStorage) {
            case .success(let (memories, journal)):
                let catalog = try await backend.catalog()
                if catalog.generation == info.generation, catalog.entries.count == memories.count,
                    catalog.entries.keys.allSatisfy(memories.contains)
                {
                    var snapshot = IndexSnapshot(
                        memories: memories, catalog: catalog.entries, generation: catalog.generation)
                    snapshot.foreignCommitMarker = marker
                    snapshot.journal = journal
                    return (snapshot, .loaded, nil)
                }
                reason = "the cache files don't match the store's memories"
            case .failure(let miss):
                reason = miss.reason
            }
        }
        var snapshot = try await rebuild(from: backend, dimension: info.dimension, vectorStorage: vectorStorage)
        guard let cache else { return (snapshot, .notPersisted, nil) }
        // The files are only a cache: when they can't be written (a full disk, a file where the folder should
        // be), lookups go on from the indexes rebuilt in memory, and the state says why nothing was saved.
        do throws(MemoryError) { snapshot.journal = try cache.save(snapshot, info: info) } catch {
            return (
                snapshot, .rebuilt(reason: reason + "; the rebuilt cache could not be saved: \(error)"),
                error.description
            )
        }
        return (snapshot, .rebuilt(reason: reason), nil)
    }

    /// Whether the in-process indexes are not loaded yet (``IndexCacheState/deferred``).
    var indexesAreDeferred: Bool { deferredStorage.withLock { $0 != nil } }

    /// The published indexes, loaded first when their loading was deferred.
    func loadedSnapshot() async throws(MemoryError) -> IndexSnapshot {
        if indexesAreDeferred {
            await writeLock.lock()
            do throws(MemoryError) { try await loadDeferredIndexes() } catch {
                await writeLock.unlock()
                throw error
            }
            await writeLock.unlock()
        }
        return published.withLock { $0 }
    }

    /// The published indexes with the optional indexes `needed` (``IndexSnapshot/procedure``,
    /// ``IndexSnapshot/keywordMeans``), those missing built from the backend and published first.
    ///
    /// They are not cached on disk: stores that never weight the procedure field or look up with the `keyword`
    /// policy pay nothing for them (at 100,000 memories of 384 dimensions the keyword means are 193 MB more to save
    /// at every write), and a store that does builds them once per process.
    ///
    /// - Complexity: O(1) once built; building reads every memory once, or only every keyword vector when the
    ///   keyword means are all that is missing.
    func snapshot(with needed: OptionalIndexes) async throws(MemoryError) -> IndexSnapshot {
        let snapshot = try await loadedSnapshot()
        guard !snapshot.optionalIndexes.isSuperset(of: needed) else { return snapshot }
        return try await write { (working) throws(MemoryError) -> IndexSnapshot in
            let missing = needed.subtracting(working.optionalIndexes)
            guard !missing.isEmpty else { return working }
            var procedure = missing.contains(.procedure) ? KeywordIndex() : nil
            var keywordMeans: FlatIndex?
            do throws(IndexError) {
                if missing.contains(.keywordMeans) {
                    keywordMeans = try working.emptyKeywordMeans()
                    keywordMeans?.reserveCapacity(working.catalog.count)
                }
            } catch {
                throw .index(error)
            }
            let generation: UInt64
            if procedure != nil {
                generation = try await backend.forEachIndexEntry { (entry) throws(MemoryError) in
                    guard working.catalog[entry.number] != nil else { return }
                    do throws(IndexError) {
                        try procedure?.add(entry.procedureText, id: entry.number)
                        if let vector = entry.keywordVector { try keywordMeans?.add(vector, id: entry.number) }
                    } catch {
                        throw .index(error)
                    }
                }
            } else {
                // The keyword means alone: their vectors, without reading the memories.
                generation = try await backend.forEachKeywordVector { (number, vector) throws(MemoryError) in
                    guard working.catalog[number] != nil else { return }
                    do throws(IndexError) { try keywordMeans?.add(vector, id: number) } catch { throw .index(error) }
                }
            }
            if generation == working.generation {
                if let procedure { working.procedure = procedure }
                if let keywordMeans { working.keywordMeans = keywordMeans }
            } else {
                // Another process wrote since these indexes were built: catch up with it, all indexes at once.
                working = try await Self.rebuild(
                    from: backend, dimension: working.tasks.dimension, vectorStorage: working.tasks.vectorStorage,
                    with: working.optionalIndexes.union(needed))
            }
            // `write` publishes only a new generation, and this one may be unchanged.
            let built = working
            published.withLock { $0 = built }
            return working
        }
    }

    /// Loads and publishes deferred indexes; the caller holds the write lock.
    private func loadDeferredIndexes() async throws(MemoryError) {
        guard let vectorStorage = deferredStorage.withLock({ $0 }) else { return }
        guard let info = try await backend.storeInfo() else { throw .database(reason: "the store's settings are gone") }
        let (snapshot, loaded, _) = try await Self.loadIndexes(
            from: backend, info: info, cache: cache, vectorStorage: vectorStorage)
        published.withLock { $0 = snapshot }
        state.withLock { $0.obtained = loaded }
        deferredStorage.withLock { $0 = nil }
    }

    /// Indexes built from every memory of the backend, with the `optional` ones.
    static func rebuild(
        from backend: any MemoryBackend, dimension: Int, vectorStorage: VectorStorage,
        with optional: OptionalIndexes = []
    ) async throws(MemoryError) -> IndexSnapshot {
        var snapshot: IndexSnapshot
        do throws(IndexError) {
            snapshot = try IndexSnapshot(dimension: dimension, vectorStorage: vectorStorage)
            if optional.contains(.keywordMeans) { snapshot.keywordMeans = try snapshot.emptyKeywordMeans() }
        } catch {
            throw .index(error)
        }
        if optional.contains(.procedure) { snapshot.procedure = KeywordIndex() }
        snapshot.foreignCommitMarker = try await backend.foreignCommitMarker()
        let expected = try await backend.statistics().memories
        snapshot.memories.reserveCapacity(expected)
        snapshot.keywordMeans?.reserveCapacity(expected)
        snapshot.generation = try await backend.forEachIndexEntry { (entry) throws(MemoryError) in
            do throws(IndexError) { try snapshot.insert(entry) } catch { throw .index(error) }
        }
        return snapshot
    }

    /// The generation of the in-process indexes (0 while their loading is deferred).
    package var generation: UInt64 { published.withLock { $0.generation } }

    /// How many memories the in-process indexes hold (0 while their loading is deferred).
    package var memoryCount: Int { published.withLock { $0.catalog.count } }

    /// Catches up with writes that other processes (or other stores on the same backend) made since this store
    /// was opened or last refreshed.
    ///
    /// When the backend's generation differs from the indexes', they are read again as an open reads them: from
    /// the cache files when the process that wrote saved them (a check of their generation, checksums and memory
    /// numbers), else rebuilt from the backend and saved. They are then published; lookups keep searching the
    /// previous indexes until that moment. The procedure index, if a lookup built one, is built again when the
    /// next lookup needs it. The recorded fusion (``recordedFusion()``) is read again at the next lookup.
    ///
    /// - Returns: Whether the indexes changed; `false` while their loading is deferred (they will be read when
    ///   first needed).
    /// - Complexity: O(1) when nothing changed; reading the cache files, or a full rebuild, otherwise.
    @discardableResult
    public func refresh() async throws(MemoryError) -> Bool {
        tunedFusion.withLock { $0 = .unread }
        guard !indexesAreDeferred else { return false }
        return try await writeLock.withLock { () throws(MemoryError) -> Bool in
            let current = published.withLock { $0 }
            guard let info = try await backend.storeInfo(), info.generation != current.generation else {
                return false
            }
            let (snapshot, obtained, unsaved) = try await Self.loadIndexes(
                from: backend, info: info, cache: cache, vectorStorage: current.tasks.vectorStorage)
            published.withLock { $0 = snapshot }
            // Files read, or rebuilt and saved, match the store; rebuilt ones that could not be saved are stale.
            // The files are now at least as new as anything this process left unsaved.
            state.withLock { $0 = (obtained, unsaved, false) }
            return true
        }
    }

    // MARK: - Writing

    /// Runs `body` as the only writer on a private copy of the indexes, then publishes the copy to lookups and
    /// saves the caches, also when `body` fails after committing some of its changes; caches that can't be saved
    /// make the state ``IndexCacheState/unsaved(reason:)``, not the write fail.
    ///
    /// A write that another write is waiting behind leaves the saving to that one, which saves indexes holding
    /// both, whether or not it changes anything itself: writes that queue up save once, not once each. A save
    /// writes the changes since the files (``CacheJournal``) while they are small beside the files, which at 100,000
    /// memories of 384 dimensions are 219 MB, and rewrites the files only when they are not. A write that changed
    /// only catalog entries (statuses, labels: ``IndexSnapshot/indexesChanged`` stays clear), after files that match
    /// the generation it started from, moves the manifest to its generation instead of rewriting the files, which
    /// hold no catalog.
    func write<Result: Sendable>(
        _ body: (inout IndexSnapshot) async throws(MemoryError) -> Result
    ) async throws(MemoryError) -> Result {
        waitingWrites.withLock { $0 += 1 }
        await writeLock.lock()
        waitingWrites.withLock { $0 -= 1 }
        do throws(MemoryError) { try await loadDeferredIndexes() } catch {
            await writeLock.unlock()
            throw error
        }
        var working = published.withLock { $0 }
        working.indexesChanged = false
        let start = working.generation
        let outcome: Swift.Result<Result, MemoryError>
        do { outcome = .success(try await body(&working)) } catch { outcome = .failure(error) }
        var saveError: MemoryError?
        if working.generation != start {
            do throws(MemoryError) {
                // Another writer (process) committing between our commits leaves `working` without its changes,
                // yet stamped with a generation as new as the backend's: rebuild rather than publish or save it.
                if let marker = working.foreignCommitMarker, try await backend.foreignCommitMarker() != marker {
                    guard let info = try await backend.storeInfo() else {
                        throw MemoryError.database(reason: "the store's settings are gone")
                    }
                    working = try await Self.rebuild(
                        from: backend, dimension: info.dimension, vectorStorage: working.tasks.vectorStorage,
                        with: working.optionalIndexes)
                }
            } catch {
                saveError = error
            }
            let snapshot = working
            published.withLock { $0 = snapshot }
        }
        if let cache, saveError == nil, working.generation != start || state.withLock({ $0.savePending }) {
            if waitingWrites.withLock({ $0 }) > 0 {
                state.withLock { $0.savePending = true }
            } else {
                // Files that matched `start` (nothing pending or unsaved) need only a new manifest when the indexes
                // are unchanged.
                let filesMatched = state.withLock { !$0.savePending && $0.unsavedReason == nil }
                let unchangedSince = filesMatched && !working.indexesChanged ? start : nil
                do throws(MemoryError) { try await saveCaches(cache, unchangedSince: unchangedSince) } catch {
                    saveError = error
                }
            }
        }
        await writeLock.unlock()
        let result = try outcome.get()
        if let saveError { throw saveError }
        return result
    }

    /// Publishes new statuses of memories that a transaction committed as `generation` outside the write lock.
    ///
    /// That is a deprecation by feedback: the indexes stay as they are and the cache files are kept, their manifest
    /// moved to the new generation (``write(_:)``). When another write of this store committed after that
    /// transaction and published first, the memories' catalog entries are read again and published as they are now.
    ///
    /// Indexes whose loading is deferred read the statuses from the backend when they load: only the manifest
    /// moves, from the generation before.
    ///
    /// - Throws: What ``write(_:)`` throws when the indexes in memory missed another process's commit and can't
    ///   be rebuilt.
    func publishStatuses(of entries: [IndexEntry], committedAs generation: UInt64) async throws(MemoryError) {
        let deferred = await writeLock.withLock { () -> Bool in
            guard indexesAreDeferred else { return false }
            if let cache {
                do throws(MemoryError) {
                    _ = try cache.advance(from: generation - 1, to: generation)
                } catch {
                    noteUnsavedCache(error)
                }
            }
            return true
        }
        guard !deferred else { return }
        try await write { (snapshot) throws(MemoryError) in
            guard snapshot.generation < generation else {
                // Another write of this store committed after the feedback and published first, with indexes that
                // missed the deprecation: publish the memories' state as it is now (no other writer of this store
                // can change it while the write lock is held). `write` publishes only a new generation.
                let memories = try await backend.memories(numbered: entries.map(\.number))
                var current: [IndexEntry] = []
                for var entry in entries {
                    guard let memory = memories[entry.number] else { continue }
                    entry.catalogEntry = try await catalogEntry(of: memory, writtenWith: [:])
                    current.append(entry)
                }
                do throws(IndexError) { try snapshot.recatalog(current) } catch { throw .index(error) }
                let overtaken = snapshot
                published.withLock { $0 = overtaken }
                return
            }
            do throws(IndexError) { try snapshot.recatalog(entries) } catch { throw .index(error) }
            snapshot.generation = generation
        }
    }

    /// Saves the published indexes when they are the store's current generation (a newer one is another
    /// process's, which saved its own files, or a later refresh reads); the caller holds the write lock.
    ///
    /// When `unchangedSince` is the generation of cache files whose indexes equal the published ones (a write
    /// changed only catalog entries), and the manifest is still at it, only the manifest moves.
    ///
    /// - Throws: What the backend throws reading the store's settings; a failed save only sets the state.
    private func saveCaches(_ cache: IndexCache, unchangedSince: UInt64? = nil) async throws(MemoryError) {
        let snapshot = published.withLock { $0 }
        guard let info = try await backend.storeInfo() else { throw .notAStore(path: cache.directory) }
        state.withLock { $0.savePending = false }
        guard info.generation == snapshot.generation else { return }
        // The write has committed: cache files that can't be written leave the indexes in memory serving lookups
        // and the next open rebuilding the files, so the write is no failure.
        do throws(MemoryError) {
            if let unchangedSince, try cache.advance(from: unchangedSince, to: snapshot.generation) {
                // The files stand as they are.
            } else {
                // What the next save's journal starts from: the files just written, or the journal saved beside them.
                let journal = try cache.save(snapshot, info: info)
                published.withLock { if $0.generation == snapshot.generation { $0.journal = journal } }
            }
            state.withLock { $0.unsavedReason = nil }
        } catch {
            noteUnsavedCache(error)
        }
    }

    /// Records that a committed write could not bring the cache files up to date: the state is
    /// ``IndexCacheState/unsaved(reason:)`` until a later write saves them.
    func noteUnsavedCache(_ error: MemoryError) {
        state.withLock { $0.unsavedReason = error.description }
    }

    /// Deletes exactly the trajectories and memories in `scope`, and the memories left without any source
    /// trajectory; everything else stays.
    ///
    /// - Parameters:
    ///   - scope: What to delete.
    ///   - dryRun: Whether to only report what would be deleted: the delete runs in a transaction that is rolled
    ///     back, so the counts are exactly those of a real delete at this moment.
    /// - Throws: ``MemoryError/unknownID(_:)`` when an ID scope matches nothing.
    @discardableResult
    public func delete(_ scope: DeleteScope, dryRun: Bool = false) async throws(MemoryError) -> DeleteResult {
        switch scope {
        case .id(let id) where Self.holdsNUL(id): throw .unknownID(id)
        case .source(let text) where Self.holdsNUL(text), .label(let text, _) where Self.holdsNUL(text),
            .label(_, let text) where Self.holdsNUL(text):
            return DeleteResult(trajectories: 0, memories: [], numbers: [], generation: generation)
        default: break
        }
        return try await write { (snapshot) throws(MemoryError) in
            let result = try await backend.delete(scope, dryRun: dryRun)
            guard !dryRun else { return result }
            snapshot.remove(result.numbers)
            if !result.numbers.isEmpty || result.trajectories > 0 {
                snapshot.generation = result.generation
            }
            return result
        }
    }

    // MARK: - Reading

    /// The memory with this ID, if stored.
    public func memory(id: String) async throws(MemoryError) -> Memory? {
        Self.holdsNUL(id) ? nil : try await backend.memory(id: id)
    }

    /// The trajectory with this ID, if stored.
    public func trajectory(id: String) async throws(MemoryError) -> Trajectory? {
        Self.holdsNUL(id) ? nil : try await backend.trajectory(id: id)
    }

    /// Whether `text`, an ID, source or label a caller names records by, holds a NUL character.
    ///
    /// No stored one does (imports refuse them, finding 4), and SQLite cuts a text at its NUL, so that `"t2\u{0}x"`
    /// named `t2` to a delete, a read or feedback (hostile run 15). Such a name matches nothing.
    static func holdsNUL(_ text: String) -> Bool { text.utf8.contains(0) }

    /// History rows, oldest first; those of one memory when `memoryID` is given; only the `last` newest of them when
    /// `last` is given, which reads only those.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` when `last` is below 1.
    public func history(memoryID: String? = nil, last: Int? = nil) async throws(MemoryError) -> [HistoryEntry] {
        try Self.checkHistoryLimit(last)
        if let memoryID, Self.holdsNUL(memoryID) { return [] }
        return try await backend.history(memoryID: memoryID, last: last)
    }

    /// Checks the number of newest entries ``history(memoryID:last:)`` is asked for, which needs no store: a front
    /// end checks it before opening one.
    ///
    /// - Throws: ``MemoryError/invalidParameter(name:value:expected:)`` when `last` is below 1.
    package static func checkHistoryLimit(_ last: Int?) throws(MemoryError) {
        if let last, last < 1 { throw .invalidParameter(name: "last", value: Double(last), expected: "at least 1") }
    }

    /// Counts of what the store holds.
    public func statistics() async throws(MemoryError) -> StoreStatistics {
        try await backend.statistics()
    }

    /// The vectors of `texts`, embedding only the distinct texts that `known` lacks, each once.
    ///
    /// Trajectory logs hold many attempts at one task, and keywords repeat across tasks. `known` carries what one
    /// import has embedded from batch to batch; it is emptied when it grows past ``maximumReusedVectors``.
    func vectors(of texts: [String], reusing known: inout [String: [Float]]) async throws(MemoryError) -> [[Float]] {
        if known.count > Self.maximumReusedVectors { known.removeAll(keepingCapacity: true) }
        var missing: [String] = []
        var missingSet = Set<String>()
        for text in texts where known[text] == nil {
            if missingSet.insert(text).inserted { missing.append(text) }
        }
        for (text, vector) in zip(missing, try await embed(missing)) { known[text] = vector }
        return texts.compactMap { known[$0] }
    }

    /// How many vectors an import keeps for reuse (``vectors(of:reusing:)``): at 384 dimensions about 75 MB.
    static let maximumReusedVectors = 50_000

    /// The embedding of a task to look up by cosine.
    ///
    /// - Throws: ``MemoryError/taskWithoutDirection(embedder:)`` when it is all zeros, which would otherwise fail
    ///   deep in the index as a vector that "changed nothing"; what ``embed(_:)`` throws.
    func taskVector(_ task: String) async throws(MemoryError) -> [Float] {
        let vector = try await embed([task])[0]
        guard vector.contains(where: { $0 != 0 }) else {
            throw .taskWithoutDirection(embedder: embedder.modelIdentifier)
        }
        return vector
    }

    /// Embeds texts, mapping the embedder's errors and checking what it returns, so that nothing unusable
    /// reaches the database.
    func embed(_ texts: [String]) async throws(MemoryError) -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let vectors: [[Float]]
        do throws(EmbeddingError) {
            vectors = try await embedder.embed(texts)
        } catch .server(let url, let reason) {
            throw .embeddingServer(url: url, reason: reason)
        } catch {
            throw .embedding(reason: error.description)
        }
        guard vectors.count == texts.count else {
            throw .embedding(
                reason: EmbeddingError.vectorCountMismatch(expected: texts.count, actual: vectors.count).description)
        }
        let dimension = embedder.dimension
        if let wrong = vectors.first(where: { $0.count != dimension }) {
            throw .embedding(
                reason: EmbeddingError.dimensionMismatch(expected: dimension, actual: wrong.count).description)
        }
        // Keyword vectors (means of these) go to an inner-product index, which refuses a norm past its limit: one
        // stored memory's would fail every later keyword lookup (hostile run 15, an embedder of vectors × 1e30).
        for (index, vector) in vectors.enumerated() {
            if let excess = Metric.innerProduct.excessiveNorm(of: vector) {
                throw .embedding(
                    reason:
                        "the embedder \(embedder.modelIdentifier) gave text \(index + 1) of \(texts.count) a vector "
                        + "of L2 norm \(Float(excess.norm)), over the \(Float(excess.limit)) the store's indexes take; "
                        + "an embedder gives unit vectors, or vectors of moderate norm")
            }
        }
        return vectors
    }
}

extension IndexSnapshot {
    /// The `limit` most distinctive words of `text` against the memories' corpus, as words rather than stems.
    func keywords(of text: String, limit: Int) -> [String] {
        let terms = self.text.keywords(of: text, limit: limit)
        guard !terms.isEmpty else { return [] }
        var surfaces: [String: String] = [:]
        for token in IndexEntry.keywordTokenizer.tokensWithSurfaces(text) where surfaces[token.term] == nil {
            surfaces[token.term] = token.surface
        }
        return terms.map { surfaces[$0] ?? $0 }
    }
}

/// The mean of vectors of equal length; the zero-length vector when there are none.
func meanVector(_ vectors: [[Float]]) -> [Float] {
    guard let first = vectors.first else { return [] }
    var sum = [Float](repeating: 0, count: first.count)
    for vector in vectors {
        for index in sum.indices { sum[index] += vector[index] }
    }
    let scale = 1 / Float(vectors.count)
    return sum.map { $0 * scale }
}
