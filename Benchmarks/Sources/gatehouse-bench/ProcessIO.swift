import GatehouseStore

/// The I/O counters of this process from `/proc/self/io` (all its threads): how many `read` and
/// `write` family system calls it has made. The difference of two snapshots shows whether code in
/// between touched any file (or pipe, or socket) synchronously.
struct ProcessIO: Sendable {
    /// Read system calls (`read`, `pread`, `readv`, ...) so far.
    let readCalls: Int64
    /// Write system calls (`write`, `pwrite`, `writev`, ...) so far.
    let writeCalls: Int64

    /// The counters now, or `nil` where `/proc/self/io` cannot be read. Reading the file itself costs
    /// read calls; `overhead()` measures how many.
    static func snapshot() -> ProcessIO? {
        guard let bytes = try? FileIO.read("/proc/self/io") else { return nil }
        var values: [Substring: Int64] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: ":")
            guard parts.count == 2 else { continue }
            values[parts[0]] = Int64(parts[1].drop(while: { $0 == " " }))
        }
        guard let reads = values["syscr"], let writes = values["syscw"] else { return nil }
        return ProcessIO(readCalls: reads, writeCalls: writes)
    }

    /// The calls between two back-to-back snapshots: what taking a snapshot itself adds.
    static func overhead() -> (reads: Int64, writes: Int64)? {
        guard let first = snapshot(), let second = snapshot() else { return nil }
        return (second.readCalls - first.readCalls, second.writeCalls - first.writeCalls)
    }

    /// The calls between two snapshots less what taking the second snapshot costs; `nil` when
    /// `/proc/self/io` could not be read.
    static func difference(_ before: ProcessIO?, _ after: ProcessIO?, overhead: (reads: Int64, writes: Int64)?) -> (reads: Int64, writes: Int64)? {
        guard let before, let after, let overhead else { return nil }
        return (after.readCalls - before.readCalls - overhead.reads, after.writeCalls - before.writeCalls - overhead.writes)
    }
}
