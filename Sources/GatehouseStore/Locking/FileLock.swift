import GatehouseCore
import Glibc
import Logging
import Synchronization

/// The lock contract of Gatehouse's files (docs/lock-contract.md), for this process.
///
/// A writer creates `<file>.lock` with `O_CREAT|O_EXCL`, holds `flock(LOCK_EX)` on it and writes its
/// payload; then it takes `flock` and an OFD `fcntl` write lock on the data file itself, so that
/// scripts that lock the data file (`fcntl.flock`, `lockf`) are waited for rather than overwritten.
/// Locks are re-entrant within one task tree, and tasks of this process queue for a path in order
/// before they touch the file lock.
public enum FileLock {
    /// Marks one holding of a lock; re-entry is allowed only while it is held, so a task started
    /// inside the body that outlives it (it inherits task-locals) takes the lock properly.
    final class Holding: Sendable {
        private let held = Atomic<Bool>(true)
        var isHeld: Bool { held.load(ordering: .acquiring) }
        func end() { held.store(false, ordering: .releasing) }
    }

    /// The locks the current task holds, by sidecar path, for re-entrancy.
    @TaskLocal static var holdings: [String: Holding] = [:]

    /// Runs `body` while holding the lock that protects `dataFile` (its sidecar is `<dataFile>.lock`).
    /// - Throws: `StoreError` with code `.lockTimeout` when the lock cannot be had in time; whatever
    ///   `body` throws.
    public static func withLock<T>(
        protecting dataFile: String,
        options: FileLockOptions = .store,
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async throws -> T {
        try await withLock(sidecar: dataFile + ".lock", dataFile: dataFile, options: options, logger: logger, body)
    }

    /// Runs `body` while holding the lock file `sidecar` (for locks that protect no single data file,
    /// such as OAuth refresh locks) and, when given, the kernel locks on `dataFile`.
    public static func withLock<T>(
        sidecar: String,
        dataFile: String? = nil,
        options: FileLockOptions = .store,
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async throws -> T {
        if isHeld(sidecar: sidecar) {
            return try await body()
        }
        let start = ContinuousClock.now
        guard await LocalLockTable.shared.acquire(sidecar, deadline: start + options.timeout) else {
            try Task.checkCancellation()
            throw StoreError(
                code: .lockTimeout, path: dataFile ?? sidecar,
                message: "Timed out after \(LockHolder.seconds(options.timeout)) waiting for the lock on \(dataFile ?? sidecar): another task of this process held it the whole time.")
        }
        defer { LocalLockTable.shared.release(sidecar) }
        var acquisition = Acquisition(sidecar: sidecar, dataFile: dataFile, options: options, logger: logger, start: start)
        let held = try await acquisition.acquire()
        let holding = Holding()
        defer {
            holding.end()
            held.release()
        }
        var table = holdings
        table[sidecar] = holding
        return try await $holdings.withValue(table) {
            try await body()
        }
    }

    /// Whether the current task holds the lock of this sidecar path.
    public static func isHeld(sidecar: String) -> Bool { holdings[sidecar]?.isHeld == true }
}

/// A lock this process holds: the sidecar and, when the data file exists, a descriptor carrying the
/// kernel locks on it.
struct HeldFileLock {
    let sidecar: String
    let sidecarFD: Int32
    let sidecarInode: UInt64
    let dataFD: Int32?

    func release() {
        if let dataFD { close(dataFD) }
        // Delete the sidecar only if it is still the one we created, then let go of its flock.
        var stats = stat()
        if stat(sidecar, &stats) == 0 && UInt64(stats.st_ino) == sidecarInode {
            unlink(sidecar)
        }
        close(sidecarFD)
    }
}

/// Who holds a lock, as last seen while waiting.
enum LockHolder: Sendable {
    /// A Gatehouse sidecar of a live process.
    case gatehouse(LockPayload, sidecar: String)
    /// A sidecar that is not in Gatehouse's format.
    case foreign(sidecar: String, content: String, age: Duration, kernelLocks: [ProcessInspector.KernelLock])
    /// Kernel locks held on the data file by another program.
    case dataFile(path: String, locks: [ProcessInspector.KernelLock])

    var isForeign: Bool {
        if case .foreign = self { return true }
        return false
    }

    func describe(staleAfter: Duration) -> String {
        switch self {
        case .gatehouse(let payload, let sidecar):
            let name = ProcessInspector.commandName(of: payload.pid).map { " (\($0))" } ?? ""
            let age = Self.seconds(WallClock.nowMillis() - payload.createdAt)
            let host = payload.host == ProcessInspector.hostName ? "" : " on host \(payload.host)"
            return "The lock file \(sidecar) is held by pid \(payload.pid)\(name)\(host), since \(ISO8601.format(millis: payload.createdAt)) (\(age) ago)."
        case .foreign(let sidecar, let content, let age, let locks):
            var text = "The lock file \(sidecar) is not in Gatehouse's format (\(content)), last modified \(Self.seconds(age)) ago: a foreign lock, reclaimed once it is \(Self.seconds(staleAfter)) old"
            if !locks.isEmpty {
                text += ", unless a live process holds it: \(locks.map(\.description).joined(separator: "; "))"
            }
            return text + "."
        case .dataFile(let path, let locks):
            let who = locks.isEmpty ? "another program (the kernel did not say which)" : locks.map(\.description).joined(separator: "; ")
            return "\(path) itself is locked: \(who)."
        }
    }

    static func seconds(_ duration: Duration) -> String {
        seconds(duration.milliseconds)
    }

    static func seconds(_ ms: Int64) -> String {
        let tenths = max(0, ms) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }
}

/// One attempt to take a file lock, with its backoff and what it has seen.
struct Acquisition {
    let sidecar: String
    let dataFile: String?
    let options: FileLockOptions
    let logger: Logger?
    let deadline: ContinuousClock.Instant
    private var backoff: Duration
    private var lastHolder: LockHolder?
    private var warnedForeign = false

    init(sidecar: String, dataFile: String?, options: FileLockOptions, logger: Logger?, start: ContinuousClock.Instant) {
        self.sidecar = sidecar
        self.dataFile = dataFile
        self.options = options
        self.logger = logger
        self.deadline = start + options.timeout
        self.backoff = options.initialBackoff
    }

    mutating func acquire() async throws -> HeldFileLock {
        try FileIO.makeDirectories(FileIO.parentDirectory(of: sidecar))
        var created: (fd: Int32, inode: UInt64)?
        while created == nil {
            try Task.checkCancellation()
            switch try attemptSidecar() {
            case .acquired(let fd, let inode):
                created = (fd, inode)
            case .reclaimed:
                continue
            case .held(let holder):
                lastHolder = holder
                if holder.isForeign && !warnedForeign {
                    warnedForeign = true
                    logger?.warning(
                        "waiting for a foreign lock",
                        metadata: ["lock.file": "\(sidecar)", "lock.holder": "\(holder.describe(staleAfter: options.foreignLockStaleAfter))"])
                }
                try await pause()
            }
        }
        let (sidecarFD, inode) = created!
        let held = HeldFileLock(sidecar: sidecar, sidecarFD: sidecarFD, sidecarInode: inode, dataFD: nil)
        guard let dataFile else { return held }
        do {
            let dataFD = try await lockDataFile(dataFile)
            return HeldFileLock(sidecar: sidecar, sidecarFD: sidecarFD, sidecarInode: inode, dataFD: dataFD)
        } catch {
            held.release()
            throw error
        }
    }

    private enum SidecarAttempt {
        case acquired(fd: Int32, inode: UInt64)
        case reclaimed
        case held(LockHolder)
    }

    /// Tries to create the sidecar. Its content is complete before it appears under its name: the
    /// payload goes into a temporary file that holds the flock, which is then hard-linked to
    /// `<file>.lock` (`EEXIST`: someone else holds it). A writer that dies at any point leaves either
    /// no sidecar or one with its payload, never an empty one.
    private func attemptSidecar() throws(StoreError) -> SidecarAttempt {
        var random = SystemRandomNumberGenerator()
        let temporary = "\(sidecar).\(getpid()).\(String(random.next() as UInt64, radix: 36)).tmp"
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("cannot create", path: temporary) }
        defer { unlink(temporary) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .system("cannot flock", path: temporary)
        }
        do {
            try FileIO.writeAll(fd: fd, LockPayload.current().bytes, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        if link(temporary, sidecar) == 0 {
            var stats = stat()
            fstat(fd, &stats)
            return .acquired(fd: fd, inode: UInt64(stats.st_ino))
        }
        let code = errno
        close(fd)
        guard code == EEXIST else { throw .system("cannot create the lock file", path: sidecar, errno: code) }
        return try judgeExistingSidecar()
    }

    /// Looks at a sidecar that exists: reclaims it when its owner is provably gone, else reports who
    /// holds it.
    private func judgeExistingSidecar() throws(StoreError) -> SidecarAttempt {
        let fd = open(sidecar, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .reclaimed }  // released in the meantime
            throw .system("cannot open the lock file", path: sidecar)
        }
        defer { close(fd) }
        var stats = stat()
        fstat(fd, &stats)
        let inode = UInt64(stats.st_ino)
        let modified = Int64(stats.st_mtim.tv_sec) * 1000 + Int64(stats.st_mtim.tv_nsec) / 1_000_000
        var content = [UInt8](repeating: 0, count: 4096)
        let n = content.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        content = n > 0 ? Array(content[0..<n]) : []

        if let payload = LockPayload(bytes: content) {
            // A Gatehouse owner holds the sidecar's flock for as long as it holds the lock, and writes
            // the payload only after taking it; the kernel drops the flock when the owner dies.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return .held(.gatehouse(payload, sidecar: sidecar)) }
            let sameHost = payload.host == ProcessInspector.hostName
            if sameHost, ProcessInspector.isAlive(payload.pid), let recorded = payload.startTime,
                ProcessInspector.startTime(of: payload.pid) == recorded
            {
                // Alive and the same process, yet not holding the flock: another implementation of the
                // contract that skips it. It is not provably gone, so wait.
                return .held(.gatehouse(payload, sidecar: sidecar))
            }
            let why: String
            if !sameHost {
                why = "its owner on host \(payload.host) no longer holds it"
            } else if !ProcessInspector.isAlive(payload.pid) {
                why = "its owner pid \(payload.pid) is gone"
            } else {
                why = "pid \(payload.pid) is now another process (its start time differs)"
            }
            return try reclaim(inode: inode, why: why)
        }

        let age = Duration.milliseconds(max(0, WallClock.nowMillis() - modified))
        let description: String
        if content.isEmpty {
            description = "empty"
        } else if (try? JSONValue.parse(content)) == nil {
            description = "not JSON"
        } else {
            description = "another tool's JSON"
        }
        let kernelLocks = ProcessInspector.kernelLocks(inode: inode)
        guard age >= options.foreignLockStaleAfter else {
            return .held(.foreign(sidecar: sidecar, content: description, age: age, kernelLocks: kernelLocks))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            // A live process holds it: not provably gone.
            return .held(.foreign(sidecar: sidecar, content: description, age: age, kernelLocks: kernelLocks))
        }
        return try reclaim(inode: inode, why: "it is a foreign lock (\(description)) last modified \(LockHolder.seconds(age)) ago")
    }

    /// Deletes a stale sidecar, only if it is still the file that was judged (the caller holds its
    /// flock, so no other reclaimer can be deleting it at the same time).
    private func reclaim(inode: UInt64, why: String) throws(StoreError) -> SidecarAttempt {
        var stats = stat()
        if stat(sidecar, &stats) == 0 && UInt64(stats.st_ino) == inode {
            if unlink(sidecar) != 0 && errno != ENOENT {
                throw .system("cannot remove the stale lock file", path: sidecar)
            }
            logger?.notice("reclaimed a stale lock", metadata: ["lock.file": "\(sidecar)", "lock.reason": "\(why)"])
        }
        return .reclaimed
    }

    /// Takes `flock` and an OFD write lock on the data file, waiting for other programs that hold
    /// either (or a classic `fcntl`/`lockf` lock, which conflicts with OFD locks).
    private mutating func lockDataFile(_ path: String) async throws -> Int32? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StoreError.system("cannot open", path: path)
        }
        var haveFlock = false
        while true {
            if !haveFlock { haveFlock = flock(fd, LOCK_EX | LOCK_NB) == 0 }
            if haveFlock {
                var request = flock()
                request.l_type = Int16(F_WRLCK)
                request.l_whence = Int16(SEEK_SET)
                request.l_start = 0
                request.l_len = 0
                request.l_pid = 0
                let ofdSetLock: Int32 = 37  // F_OFD_SETLK; Glibc does not export it to Swift.
                if fcntl(fd, ofdSetLock, &request) == 0 { return fd }
                if errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK {
                    let code = errno
                    close(fd)
                    throw StoreError.system("cannot fcntl-lock", path: path, errno: code)
                }
            }
            var stats = stat()
            fstat(fd, &stats)
            let others = ProcessInspector.kernelLocks(inode: UInt64(stats.st_ino)).filter { $0.pid != getpid() }
            lastHolder = .dataFile(path: path, locks: others)
            do {
                try await pause()
            } catch {
                close(fd)
                throw error
            }
        }
    }

    /// Sleeps for the next backoff step, or fails when the deadline has passed.
    private mutating func pause() async throws {
        let now = ContinuousClock.now
        guard now < deadline else { throw timeoutError() }
        // Equal jitter: half the step fixed, half random, so waiters spread out.
        let half = backoff / 2
        let jitterMillis = Int64.random(in: 0...max(1, half.milliseconds))
        let step = min(half + .milliseconds(jitterMillis), deadline - now)
        backoff = min(backoff * 2, options.maxBackoff)
        try await Task.sleep(for: step)
    }

    private func timeoutError() -> StoreError {
        let target = dataFile ?? sidecar
        let holder = lastHolder?.describe(staleAfter: options.foreignLockStaleAfter) ?? "The holder could not be identified."
        return StoreError(
            code: .lockTimeout, path: target,
            message: """
                Timed out after \(LockHolder.seconds(options.timeout)) waiting for the lock on \(target). \(holder) \
                If that process is stuck, stop it and try again. Scripts should read this file without \
                locking (every write is an atomic rename) and get tokens with `gatehouse auth token`; \
                see docs/lock-contract.md.
                """)
    }
}
