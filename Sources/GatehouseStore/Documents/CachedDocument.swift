import Glibc
import Synchronization

/// A store document kept in memory and re-read only when the file changed (its inode, size or
/// modification time differ), so a request costs one `stat` instead of a read and a parse, and an
/// edit by another process is seen on the next request. With `recheckAfter`, the file is looked at
/// no more often than that: a busy reader makes one `stat` per interval, and sees an edit at most
/// that long after it (`invalidate()` makes the next read look at once, after a write of its own).
public final class CachedDocument<Document: StoreDocument>: Sendable {
    @usableFromInline
    struct FileKey: Equatable, Sendable {
        var inode: UInt64
        var size: Int64
        var modified: Int64
    }

    @usableFromInline
    struct State: Sendable {
        var key: FileKey?
        @usableFromInline var loaded = false
        /// Counts the loads: a caller that derives something from the document redoes it when this moves.
        @usableFromInline var version = 0
        /// When the file was last looked at (`WallClock.monotonicNanos`).
        @usableFromInline var checkedAt: Int64?
        /// Counts `invalidate()` calls: a look at the file that began before one does not count as recent.
        @usableFromInline var invalidations = 0
        @usableFromInline var result: Result<Document, StoreError> = .success(.empty)

        @usableFromInline init() {}

        /// Loaded, and looked at less than `interval` nanoseconds before `now`.
        @inlinable
        func isRecent(now: Int64, within interval: Int64) -> Bool {
            guard loaded, let checkedAt else { return false }
            return now - checkedAt < interval
        }
    }

    public let file: DocumentFile<Document>
    /// `recheckAfter` in nanoseconds (compared with plain integers on the request path).
    @usableFromInline let recheckNanos: Int64
    // The reads within the interval are inlined into (and specialized for) the caller: no generic
    // metadata to look up on a hot path.
    @usableFromInline let state = Mutex(State())
    /// Until when (`WallClock.monotonicNanos`) the last look at the file holds, and the number of
    /// the load it found: `currentVersion()` reads them without the lock, so that readers on
    /// several threads do not write to the memory they share. Written under the lock.
    @usableFromInline let recentUntil = Atomic<Int64>(.min)
    @usableFromInline let recentVersion = Atomic<Int>(0)

    /// The file's path as `stat` takes it, made once.
    private let cPath: [CChar]

    public init(file: DocumentFile<Document>, recheckAfter: Duration = .zero) {
        self.file = file
        let (seconds, attoseconds) = recheckAfter.components
        self.recheckNanos = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        self.cPath = Array(file.path.utf8CString)
    }

    /// The next read looks at the file, however recently it was looked at.
    public func invalidate() {
        state.withLock { state in
            state.checkedAt = nil
            state.invalidations += 1
            recentUntil.store(.min, ordering: .releasing)
        }
    }

    /// The document as it is on disk now.
    @inlinable
    public func current() -> Result<Document, StoreError> {
        currentVersioned().result
    }

    /// The document as it is on disk now, whether it changed since the last call, and the number of
    /// its load (a caller that keeps something derived from it compares this number).
    @inlinable
    @_specialize(exported:true,where Document == AuthProfilesDocument)
    @_specialize(exported:true,where Document == AuthStateDocument)
    @_specialize(exported:true,where Document == SessionsDocument)
    public func currentVersioned() -> (result: Result<Document, StoreError>, changed: Bool, version: Int) {
        let now = WallClock.monotonicNanos()
        var invalidations: Int?
        if recheckNanos > 0 {
            let (cached, count) = state.withLock { state -> ((Result<Document, StoreError>, Int)?, Int) in
                guard state.isRecent(now: now, within: recheckNanos) else { return (nil, state.invalidations) }
                return ((state.result, state.version), state.invalidations)
            }
            if let cached { return (cached.0, false, cached.1) }
            invalidations = count
        }
        return lookAtFile(now: now, invalidations: invalidations)
    }

    /// The number of the load `currentVersioned()` would return now, without the document: for a
    /// caller that only checks whether what it derived is still current.
    @inlinable
    @_specialize(exported:true,where Document == AuthProfilesDocument)
    @_specialize(exported:true,where Document == AuthStateDocument)
    public func currentVersion() -> Int {
        currentVersion(now: WallClock.monotonicNanos())
    }

    /// `currentVersion()` at `now` (`WallClock.monotonicNanos`), for a caller that reads the clock
    /// once for several documents.
    @inlinable
    @_specialize(exported:true,where Document == AuthProfilesDocument)
    @_specialize(exported:true,where Document == AuthStateDocument)
    public func currentVersion(now: Int64) -> Int {
        // The version is stored before the time it holds until: a reader that sees the time sees the version.
        guard recheckNanos > 0 else { return lookAtFile(now: now, invalidations: nil).version }
        if now < recentUntil.load(ordering: .acquiring) { return recentVersion.load(ordering: .relaxed) }
        return lookAtFile(now: now, invalidations: state.withLock { $0.invalidations }).version
    }

    /// Compares the file with what was read last, and reads it again when it changed (under the
    /// lock: the last reader to look keeps what the file holds now, never an older read).
    /// `invalidations` is the count seen before looking: when `invalidate()` came in between, this
    /// look does not count as recent.
    @usableFromInline
    func lookAtFile(now: Int64, invalidations: Int?) -> (
        result: Result<Document, StoreError>, changed: Bool, version: Int
    ) {
        var stats = stat()
        let key: FileKey? =
            stat(cPath, &stats) == 0
            ? FileKey(
                inode: UInt64(stats.st_ino), size: Int64(stats.st_size),
                modified: Int64(stats.st_mtim.tv_sec) * 1_000_000_000 + Int64(stats.st_mtim.tv_nsec))
            : nil
        return state.withLock { state in
            let isRecent = invalidations == nil || invalidations == state.invalidations
            if isRecent { state.checkedAt = now }
            defer {
                if isRecent && recheckNanos > 0 {
                    recentVersion.store(state.version, ordering: .relaxed)
                    recentUntil.store(now &+ recheckNanos, ordering: .releasing)
                }
            }
            if state.loaded && state.key == key { return (state.result, false, state.version) }
            state.key = key
            state.loaded = true
            state.version += 1
            if key == nil {
                state.result = .success(.empty)
            } else {
                do throws(StoreError) {
                    state.result = .success(try file.read())
                } catch {
                    state.result = .failure(error)
                }
            }
            return (state.result, true, state.version)
        }
    }
}
