import Glibc

/// Timestamps in nanoseconds on `CLOCK_MONOTONIC`.
///
/// The clock is one for the whole machine, so the timestamps a child process reports can be compared
/// with the instant its parent gave the start signal.
enum MonotonicTime {
    /// Now, in nanoseconds since an unspecified point (boot, on Linux).
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
