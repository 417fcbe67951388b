import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ``FlatIndex`` shared between threads: any number of concurrent searches, one writer at a time.
///
/// Thread-safety model: a readers-writer lock (`pthread_rwlock_t`). Searches, ``count`` and ``save(to:)`` take
/// the read lock and run in parallel; ``add(_:id:)``, ``upsert(_:id:)``, ``remove(_:)`` and ``compact()`` take
/// the write lock, wait for running searches to finish, and are seen in full by every search that starts
/// after they return (never half-applied). ``snapshot()`` returns a `FlatIndex` value that later writes do not
/// affect; while a snapshot is alive, the next write copies the storage once (copy-on-write).
///
///     let shared = SharedFlatIndex(try FlatIndex(dimension: 384))
///     Task.detached { try shared.add(vector, id: 7) }
///     let hits = try shared.search(query, k: 10)  // concurrently
public final class SharedFlatIndex: @unchecked Sendable {  // `index` is guarded by the rwlock `lock`
    private var index: FlatIndex
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// Wraps an index.
    public init(_ index: FlatIndex) {
        self.index = index
        lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    /// Runs `body` with the index under the read lock, concurrently with other readers.
    public func read<Result>(_ body: (FlatIndex) throws(IndexError) -> Result) throws(IndexError) -> Result {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(index)
    }

    /// Runs `body` with exclusive access to the index; if it throws, changes it made stay.
    public func write<Result>(_ body: (inout FlatIndex) throws(IndexError) -> Result) throws(IndexError) -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&index)
    }

    /// The index as it is now, unaffected by later writes.
    public func snapshot() -> FlatIndex {
        // `read` cannot throw here; the typed-throws signature forces a do/catch.
        do { return try read { $0 } } catch { preconditionFailure("unreachable: \(error)") }
    }

    /// The number of live vectors.
    public var count: Int { snapshot().count }

    /// See ``FlatIndex/search(_:k:minimumScore:filter:)``.
    public func search(_ query: [Float], k: Int, minimumScore: Float? = nil, filter: SearchFilter? = nil)
        throws(IndexError) -> [SearchHit]
    {
        try read { (index) throws(IndexError) in
            try index.search(query, k: k, minimumScore: minimumScore, filter: filter)
        }
    }

    /// See ``FlatIndex/add(_:id:)``.
    public func add(_ vector: [Float], id: DocumentID) throws(IndexError) {
        try write { (index) throws(IndexError) in try index.add(vector, id: id) }
    }

    /// See ``FlatIndex/upsert(_:id:)``.
    public func upsert(_ vector: [Float], id: DocumentID) throws(IndexError) {
        try write { (index) throws(IndexError) in try index.upsert(vector, id: id) }
    }

    /// See ``FlatIndex/remove(_:)``.
    public func remove(_ id: DocumentID) throws(IndexError) {
        try write { (index) throws(IndexError) in try index.remove(id) }
    }

    /// See ``FlatIndex/compact()``.
    public func compact() {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        index.compact()
    }

    /// See ``FlatIndex/save(to:)``; concurrent searches continue while it writes.
    public func save(to path: String) throws(IndexError) {
        try read { (index) throws(IndexError) in try index.save(to: path) }
    }
}
