import Glibc
import Synchronization

/// A store document kept in memory and re-read only when the file changed (its inode, size or
/// modification time differ), so a request costs one `stat` instead of a read and a parse, and an
/// edit by another process is seen on the next request. With `recheckAfter`, the file is looked at
/// no more often than that: a busy reader makes one `stat` per interval, and sees an edit at most
/// that long after it (`invalidate()` makes the next read look at once, after a write of its own).
public final class CachedDocument<Document: StoreDocument>: Sendable {
    private struct FileKey: Equatable {
        var inode: UInt64
        var size: Int64
        var modified: Int64
    }

    private struct State {
        var key: FileKey?
        var loaded = false
        /// Counts the loads: a caller that derives something from the document redoes it when this moves.
        var version = 0
        /// When the file was last looked at.
        var checkedAt: ContinuousClock.Instant?
        var result: Result<Document, StoreError> = .success(.empty)
    }

    public let file: DocumentFile<Document>
    private let recheckAfter: Duration
    private let state = Mutex(State())

    public init(file: DocumentFile<Document>, recheckAfter: Duration = .zero) {
        self.file = file
        self.recheckAfter = recheckAfter
    }

    /// The next read looks at the file, however recently it was looked at.
    public func invalidate() {
        state.withLock { $0.checkedAt = nil }
    }

    /// The document as it is on disk now.
    public func current() -> Result<Document, StoreError> {
        currentNoting().result
    }

    /// The document as it is on disk now, and whether it changed since the last call.
    public func currentNoting() -> (result: Result<Document, StoreError>, changed: Bool) {
        let (result, changed, _) = currentVersioned()
        return (result, changed)
    }

    /// The document as it is on disk now, whether it changed since the last call, and the number of
    /// its load (a caller that keeps something derived from it compares this number).
    public func currentVersioned() -> (result: Result<Document, StoreError>, changed: Bool, version: Int) {
        let now = ContinuousClock.now
        if recheckAfter > .zero, let cached = state.withLock({ state -> (Result<Document, StoreError>, Int)? in
            guard state.loaded, let checked = state.checkedAt, now - checked < recheckAfter else { return nil }
            return (state.result, state.version)
        }) {
            return (cached.0, false, cached.1)
        }
        var stats = stat()
        let key: FileKey? =
            stat(file.path, &stats) == 0
            ? FileKey(
                inode: UInt64(stats.st_ino), size: Int64(stats.st_size),
                modified: Int64(stats.st_mtim.tv_sec) * 1_000_000_000 + Int64(stats.st_mtim.tv_nsec))
            : nil
        return state.withLock { state in
            state.checkedAt = now
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
