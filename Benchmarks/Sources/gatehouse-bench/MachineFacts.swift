import GatehouseCore
import GatehouseStore
import Glibc

/// What the numbers depend on: the machine, the file system under the temporary home, and how busy
/// the machine was (other builds on the same two cores change the results).
struct MachineFacts {
    /// Online processors (`nproc`).
    let processors: Int
    /// The first `model name` of `/proc/cpuinfo`.
    let cpuModel: String
    /// Physical memory in bytes.
    let memoryBytes: UInt64
    /// `uname -sr`.
    let kernel: String
    /// The file system type of the folder that holds the temporary home (fsync cost depends on it).
    let fileSystem: String
    /// The 1-minute load average when the benchmark started.
    let loadAtStart: Double
    /// When the benchmark started, ISO-8601 in UTC.
    let date: String

    /// Reads the facts now; `directory` is the folder whose file system is reported.
    init(directory: String) {
        processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        cpuModel = Self.cpuModel() ?? "unknown"
        memoryBytes = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        kernel = Self.kernel()
        fileSystem = Self.fileSystemType(of: directory)
        loadAtStart = Self.loadAverage()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        date = ISO8601.format(millis: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)
    }

    /// The 1-minute load average now.
    static func loadAverage() -> Double {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? loads[0] : -1
    }

    private static func cpuModel() -> String? {
        guard let bytes = try? FileIO.read("/proc/cpuinfo") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" }))
            }
        }
        return nil
    }

    private static func kernel() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return "\(text(names.sysname)) \(text(names.release))"
    }

    /// The type of the file system mounted deepest above `path`, from `/proc/self/mounts`.
    private static func fileSystemType(of path: String) -> String {
        guard let bytes = try? FileIO.read("/proc/self/mounts") else { return "unknown" }
        var best: (mountPoint: String, type: String)?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mountPoint = String(fields[1])
            let contains = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if contains && mountPoint.count >= (best?.mountPoint.count ?? 0) {
                best = (mountPoint, String(fields[2]))
            }
        }
        return best.map { "\($0.type) at \($0.mountPoint)" } ?? "unknown"
    }
}
