import GatehouseCore
import Synchronization

/// What this process last wrote to each file, as a content digest, and a stream of the writes as
/// they happen. A file watcher compares what it finds with the digest here, so the process's own
/// writes never look like outside edits; in-process readers subscribe to react to writes at once.
public final class StoreWriteJournal: Sendable {
    /// The journal of every `AtomicFile` write of this process.
    public static let shared = StoreWriteJournal()

    /// A write this process made.
    public struct Write: Sendable, Hashable {
        public var path: String
        public var digest: String
    }

    private let digests = Mutex<[String: String]>([:])
    private let broadcaster = EventBroadcaster<Write>()

    init() {}

    /// The digest of some content of a file: the same for the same bytes; a missing file has its own.
    public static func digest(of bytes: [UInt8]?) -> String {
        guard let bytes else { return "absent" }
        return Fingerprint.sha256Hex(bytes: bytes)
    }

    /// Notes that this process is writing `bytes` to `path` (called before the file is replaced).
    func record(_ bytes: [UInt8], to path: String) {
        let write = Write(path: path, digest: Self.digest(of: bytes))
        digests.withLock { $0[path] = write.digest }
        broadcaster.publish(write)
    }

    /// The digest of what this process last wrote to `path`.
    public func lastWritten(_ path: String) -> String? {
        digests.withLock { $0[path] }
    }

    /// This process's writes from now on.
    public func subscribe() -> AsyncStream<Write> {
        broadcaster.subscribe()
    }
}
