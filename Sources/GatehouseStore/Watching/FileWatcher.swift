import GatehouseCore
import Glibc
import Logging
import NIOPosix
import Synchronization

/// Watches files for changes with inotify and reports the paths that may have changed.
///
/// It watches folders, not files: an atomic save replaces the file's inode (a temp file moved over
/// it), and a file that is deleted and created again is a new inode. For a file whose folder does not
/// exist yet, it watches the nearest folder above that does, and moves down as folders appear. Every
/// (re)start reports every file once, since changes made while it was not watching were not seen.
/// A watcher error (the kernel's event queue overflowed, a read failed) is logged and the watcher
/// starts over after `restartDelay`; it never ends before it is cancelled.
///
/// It reports "may have changed": callers compare content (see `StoreWriteJournal`) to tell a real
/// edit from a touch or from their own write. The blocking wait runs on a thread of its own.
public final class FileWatcher: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private struct Control {
        var targets: Set<String>
        /// The write end of the running session's wake pipe.
        var wakeFD: Int32?
        var sessions = 0
    }

    private let control: Mutex<Control>
    private let logger: Logger
    private let restartDelay: Duration
    /// Runs before every wait; tests make it throw to stand in for a failing kernel.
    let beforeWait = Mutex<(@Sendable () throws -> Void)?>(nil)

    public init(files: some Sequence<String>, logger: Logger, restartDelay: Duration = .seconds(1)) {
        self.control = Mutex(Control(targets: Set(files)))
        self.logger = logger
        self.restartDelay = restartDelay
    }

    /// Replaces the files to watch; a running watcher re-arms and reports them all.
    public func watch(_ files: some Sequence<String>) {
        // Written under the lock: the session closes its pipe under the same lock, so the number
        // can never name another file by then.
        control.withLock { control in
            control.targets = Set(files)
            if let fd = control.wakeFD { Self.wake(fd) }
        }
    }

    /// The files watched now.
    public var files: Set<String> { control.withLock { $0.targets } }

    /// How many times the watcher has started (1 until an error made it start over).
    public var sessions: Int { control.withLock { $0.sessions } }

    /// Watches until the task is cancelled, calling `onChange` with the paths that may have changed.
    public func run(onChange: @Sendable ([String]) async -> Void) async {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        while !Task.isCancelled {
            do {
                try await session(pool: pool, onChange: onChange)
            } catch {
                if Task.isCancelled { break }
                logger.error(
                    "file watcher failed; starting it again", metadata: ["error": "\(error)", "retry_in_ms": "\(restartDelay.milliseconds)"])
                try? await Task.sleep(for: restartDelay)
            }
        }
        try? await pool.shutdownGracefully()
    }

    private static let directoryMask = UInt32(IN_CREATE) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM)
        | UInt32(IN_DELETE) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR)

    private enum WaitOutcome: Sendable {
        case events([UInt8])
        case woken
    }

    private func session(pool: NIOThreadPool, onChange: @Sendable ([String]) async -> Void) async throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw Failure(description: "inotify_init1: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        defer {
            control.withLock { control in
                control.wakeFD = nil
                close(pipeFDs[1])
            }
            close(pipeFDs[0])
        }
        control.withLock {
            $0.wakeFD = pipeFDs[1]
            $0.sessions += 1
        }
        var watches: [Int32: Set<String>] = [:]
        var targets = files
        try arm(fd: fd, targets: targets, watches: &watches)
        await onChange(targets.sorted())
        let (readFD, wakeFD) = (pipeFDs[0], pipeFDs[1])
        try await withTaskCancellationHandler {
            while !Task.isCancelled {
                try beforeWait.withLock { $0 }?()
                let outcome = try await pool.runIfActive { try Self.waitAndRead(fd: fd, wakeFD: readFD) }
                if Task.isCancelled { return }
                var changed: Set<String> = []
                var rearm = false
                switch outcome {
                case .woken:
                    Self.drain(readFD)
                    rearm = true
                case .events(let bytes):
                    try Self.parse(bytes) { wd, mask, name in
                        if mask & UInt32(IN_Q_OVERFLOW) != 0 { throw Failure(description: "the kernel's event queue overflowed") }
                        guard let directories = watches[wd] else { return }
                        if mask & UInt32(IN_IGNORED) != 0 {
                            watches.removeValue(forKey: wd)
                            rearm = true
                            return
                        }
                        if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_ISDIR)) != 0 { rearm = true }
                        // One folder may be reached by several paths (symbolic links): each spelling counts.
                        if let name {
                            for directory in directories where targets.contains(directory + "/" + name) { changed.insert(directory + "/" + name) }
                        }
                    }
                }
                if rearm {
                    targets = files
                    try arm(fd: fd, targets: targets, watches: &watches)
                    changed = targets
                }
                if !changed.isEmpty { await onChange(changed.sorted()) }
            }
        } onCancel: {
            control.withLock { control in
                if control.wakeFD == wakeFD { Self.wake(wakeFD) }
            }
        }
    }

    /// Watches the folder of every target, or the nearest folder above it that exists, and stops
    /// watching folders no target needs any more.
    private func arm(fd: Int32, targets: Set<String>, watches: inout [Int32: Set<String>]) throws {
        for _ in 0..<8 {
            let wanted = Set(targets.map { Self.nearestExistingDirectory(FileIO.parentDirectory(of: $0)) })
            var raced = false
            var armed: [Int32: Set<String>] = [:]
            for directory in wanted {
                let wd = inotify_add_watch(fd, directory, Self.directoryMask)
                if wd < 0 {
                    // The folder went away between the check and the watch: look again.
                    if errno == ENOENT || errno == ENOTDIR {
                        raced = true
                        continue
                    }
                    throw Failure(description: "inotify_add_watch \(directory): \(String(cString: strerror(errno)))")
                }
                armed[wd, default: []].insert(directory)
            }
            for (wd, _) in watches where armed[wd] == nil { inotify_rm_watch(fd, wd) }
            watches = armed
            // A folder created between the look and the watch sent no event: look again until the
            // folders watched are the ones wanted.
            let settled = Set(targets.map { Self.nearestExistingDirectory(FileIO.parentDirectory(of: $0)) }) == wanted
            if !raced && settled { return }
        }
        throw Failure(description: "the watched folders keep disappearing")
    }

    static func nearestExistingDirectory(_ path: String) -> String {
        var current = path
        while true {
            var info = stat()
            if stat(current, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { return current }
            let parent = FileIO.parentDirectory(of: current)
            if parent == current || parent.isEmpty { return "/" }
            current = parent
        }
    }

    /// Blocks until inotify has events (returns them) or the wake pipe is written to.
    private static func waitAndRead(fd: Int32, wakeFD: Int32) throws -> WaitOutcome {
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "poll: \(String(cString: strerror(errno)))")
            }
            if fds[1].revents != 0 { return .woken }
            guard fds[0].revents != 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure(description: "read: \(String(cString: strerror(errno)))")
            }
            return .events(Array(buffer[..<count]))
        }
    }

    /// Walks the `inotify_event` records in `bytes`.
    private static func parse(_ bytes: [UInt8], _ body: (Int32, UInt32, String?) throws -> Void) throws {
        let header = 16
        var offset = 0
        while offset + header <= bytes.count {
            func word(_ at: Int) -> UInt32 {
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            }
            let wd = Int32(bitPattern: word(offset))
            let mask = word(offset + 4)
            let length = Int(word(offset + 12))
            let nameBytes = bytes[(offset + header)..<min(bytes.count, offset + header + length)].prefix { $0 != 0 }
            try body(wd, mask, nameBytes.isEmpty ? nil : String(decoding: nameBytes, as: UTF8.self))
            offset += header + length
        }
    }

    private static func wake(_ fd: Int32) {
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    private static func drain(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
