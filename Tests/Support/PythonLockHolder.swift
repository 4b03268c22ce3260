import Foundation

/// A real `python3` process that holds a lock the way scripts and other tools do, for tests of the
/// lock contract. It prints `held` once it holds the lock, lets go on `SIGUSR1` (printing
/// `released`), and otherwise sleeps until it is killed.
public final class PythonLockHolder: Sendable {
    /// How the holder locks.
    public enum Kind: String, Sendable {
        /// `fcntl.flock(fd, LOCK_EX)` on the given file.
        case flock
        /// `fcntl.lockf(fd, LOCK_EX)` (a classic POSIX record lock) on the given file.
        case lockf
        /// Creates the given sidecar with `O_EXCL`, holds `flock(LOCK_EX)` on it and writes a
        /// Gatehouse lock payload naming itself.
        case sidecar
        /// Like `sidecar`, but from a forked child that then exits, while this process never reaps it:
        /// the sidecar's owner is a zombie. `pid` is then the zombie's pid.
        case sidecarFromZombie
    }

    public let child: ChildProcess
    /// The pid of the process that holds (or held) the lock.
    public let pid: Int32

    private static let script = #"""
        import datetime, fcntl, json, os, signal, socket, sys, time
        kind, path = sys.argv[1], sys.argv[2]

        def payload():
            stat = open("/proc/self/stat").read()
            start = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22
            now = datetime.datetime.now(datetime.timezone.utc)
            return json.dumps({"pid": os.getpid(), "createdAt": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000),
                               "startTime": start, "host": socket.gethostname(), "owner": "gatehouse"}).encode()

        def make_sidecar():
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, payload())
            return fd

        holder = os.getpid()
        if kind == "sidecarFromZombie":
            child = os.fork()
            if child == 0:
                make_sidecar()
                os._exit(0)
            while True:  # wait until it is a zombie, without reaping it
                if open("/proc/%d/stat" % child).read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
                time.sleep(0.01)
            holder = child
        elif kind == "sidecar":
            fd = make_sidecar()
        else:
            fd = os.open(path, os.O_RDWR)
            (fcntl.flock if kind == "flock" else fcntl.lockf)(fd, fcntl.LOCK_EX)

        def release(signum, frame):
            if kind in ("flock", "sidecar"):
                fcntl.flock(fd, fcntl.LOCK_UN)
            elif kind == "lockf":
                fcntl.lockf(fd, fcntl.LOCK_UN)
            print("released", flush=True)

        signal.signal(signal.SIGUSR1, release)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])  # the parent may have blocked it
        print("held %d" % holder, flush=True)
        while True:
            time.sleep(3600)
        """#

    /// The python interpreter: a real binary, so that its process name is `python3`.
    public static let python: String? = {
        var candidates = ["/usr/bin/python3", "/usr/local/bin/python3"]
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/python3")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Starts a holder and waits until it holds the lock.
    public init(_ kind: Kind, path: String) async throws {
        guard let python = Self.python else { throw HolderError(message: "python3 not found") }
        child = try ChildProcess(python, ["-c", Self.script, kind.rawValue, path])
        let line = try await Self.waitForLine(child, prefix: "held ")
        guard let pid = Int32(line.dropFirst("held ".count)) else { throw HolderError(message: "bad line '\(line)'") }
        self.pid = pid
    }

    /// A holder is never left running, even when a test fails before it kills it.
    deinit { child.signal(SIGKILL) }

    /// Lets go of the lock (the process keeps running) and waits until it has.
    public func release() async throws {
        child.signal(SIGUSR1)
        _ = try await Self.waitForLine(child, prefix: "released")
    }

    /// Kills the holder and waits for it to exit; the kernel drops its locks.
    public func kill() async {
        child.signal(SIGKILL)
        _ = await child.wait()
    }

    struct HolderError: Error, CustomStringConvertible {
        var message: String
        var description: String { "python lock holder: \(message)" }
    }

    private static func waitForLine(_ child: ChildProcess, prefix: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = child.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line)
            }
            guard child.process.isRunning else {
                let result = await child.wait()
                throw HolderError(message: "exited with \(result.status) before '\(prefix)': \(result.stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HolderError(message: "no '\(prefix)' within \(timeout)")
    }
}
