import Glibc

/// What `/proc` says about processes and the locks they hold.
public enum ProcessInspector {
    /// This process's id.
    public static var currentPID: Int32 { getpid() }

    /// This machine's host name.
    public static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Whether a process with this id is running (it may belong to another user). A zombie (exited,
    /// not yet reaped by its parent) is not running: it holds no locks any more.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let state = state(of: pid), state == "Z" || state == "X" || state == "x" { return false }
        return true
    }

    /// The state letter of a process (field 3 of `/proc/<pid>/stat`: R, S, D, Z, ...).
    static func state(of pid: Int32) -> Character? {
        guard let fields = statFields(of: pid), let first = fields.first, let letter = first.first else { return nil }
        return Character(Unicode.Scalar(letter))
    }

    /// The fields of `/proc/<pid>/stat` after the command name, starting with field 3.
    private static func statFields(of pid: Int32) -> [ArraySlice<UInt8>]? {
        guard let bytes = try? FileIO.read("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces and parentheses.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        return bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    }

    /// The start time of a process (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), which
    /// tells a reused pid apart from the process that wrote a lock.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let fields = statFields(of: pid) else { return nil }
        let index = 22 - 3
        guard fields.count > index else { return nil }
        return UInt64(String(decoding: fields[index], as: UTF8.self))
    }

    /// The short command name of a process (`/proc/<pid>/comm`).
    public static func commandName(of pid: Int32) -> String? {
        guard pid > 0, let bytes = try? FileIO.read("/proc/\(pid)/comm") else { return nil }
        let name = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        return name.isEmpty ? nil : name
    }

    /// The start time of this process.
    public static let currentStartTime: UInt64? = startTime(of: getpid())

    /// A kernel lock on a file, as listed in `/proc/locks`.
    public struct KernelLock: Sendable, Hashable, CustomStringConvertible {
        /// `FLOCK`, `POSIX` (fcntl/lockf, owned by a process) or `OFDLCK` (open-file-description lock).
        public var kind: String
        /// `READ` or `WRITE`.
        public var access: String
        /// The owning process; `nil` for OFD locks, which the kernel lists without a pid.
        public var pid: Int32?
        public var inode: UInt64

        public var description: String {
            let what: String
            switch kind {
            case "FLOCK": what = "flock"
            case "POSIX": what = "fcntl/lockf"
            case "OFDLCK": what = "OFD fcntl"
            default: what = kind.lowercased()
            }
            guard let pid else { return "\(what) \(access.lowercased()) lock (owner pid not shown by the kernel)" }
            let name = ProcessInspector.commandName(of: pid).map { " (\($0))" } ?? ""
            return "\(what) \(access.lowercased()) lock held by pid \(pid)\(name)"
        }
    }

    /// The kernel locks held on the file with this inode, from `/proc/locks`.
    public static func kernelLocks(inode: UInt64) -> [KernelLock] {
        guard let bytes = try? FileIO.read("/proc/locks") else { return [] }
        var result: [KernelLock] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry a "->" marker.
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count >= 6, fields[1] != "->" else { continue }
            let deviceInode = fields[5].split(separator: ":")
            guard deviceInode.count == 3, let lockInode = UInt64(deviceInode[2]), lockInode == inode else { continue }
            let pid = Int32(fields[4]).flatMap { $0 > 0 ? $0 : nil }
            result.append(KernelLock(kind: fields[1], access: fields[3], pid: pid, inode: lockInode))
        }
        return result
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\n" || s == "\t" || s == "\r" }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
            let end = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[start...end])
    }
}
