import GatehouseCore
import Glibc

/// Reads lock files without touching them, for `doctor` and status displays.
public enum LockInspector {
    /// What a sidecar says about its holder.
    public struct SidecarReport: Sendable {
        /// Whether the holder is provably gone (the next writer reclaims it).
        public var isStale: Bool
        /// One sentence: who holds it and since when, or why it is stale.
        public var summary: String
    }

    /// Describes the holder of a sidecar lock file.
    public static func inspect(sidecar: String) -> SidecarReport {
        let fd = open(sidecar, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return SidecarReport(isStale: false, summary: "could not be opened (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var stats = stat()
        fstat(fd, &stats)
        let modified = Int64(stats.st_mtim.tv_sec) * 1000 + Int64(stats.st_mtim.tv_nsec) / 1_000_000
        let age = LockHolder.seconds(WallClock.nowMillis() - modified)
        let content = (try? FileIO.readAll(fd: fd, path: sidecar)) ?? []
        let kernel = ProcessInspector.kernelLocks(inode: UInt64(stats.st_ino))
        guard let payload = LockPayload(bytes: content) else {
            let holders = kernel.isEmpty ? "" : "; \(kernel.map(\.description).joined(separator: "; "))"
            return SidecarReport(
                isStale: false,
                summary: "a foreign lock (not in Gatehouse's format), last modified \(age) ago; writers reclaim it once it is 30 s old\(holders)")
        }
        let name = ProcessInspector.commandName(of: payload.pid).map { " (\($0))" } ?? ""
        let since = "since \(ISO8601.format(millis: payload.createdAt))"
        let flockHeld = kernel.contains { $0.kind == "FLOCK" }
        if flockHeld {
            return SidecarReport(isStale: false, summary: "held by pid \(payload.pid)\(name) on \(payload.host), \(since)")
        }
        if payload.host == ProcessInspector.hostName, ProcessInspector.isAlive(payload.pid),
            payload.startTime == nil || ProcessInspector.startTime(of: payload.pid) == payload.startTime
        {
            return SidecarReport(isStale: false, summary: "held by pid \(payload.pid)\(name), \(since) (without flock)")
        }
        return SidecarReport(isStale: true, summary: "stale: left by pid \(payload.pid) \(since), which is gone; the next writer reclaims it")
    }

    /// The kernel locks other processes hold on a file, from `/proc/locks`.
    public static func kernelLocks(on path: String) -> [ProcessInspector.KernelLock] {
        var stats = stat()
        guard stat(path, &stats) == 0 else { return [] }
        return ProcessInspector.kernelLocks(inode: UInt64(stats.st_ino))
    }
}
