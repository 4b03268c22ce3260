import Glibc

/// The wall clock, in milliseconds since the epoch.
public enum WallClock {
    public static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// A clock that never jumps, in milliseconds from an arbitrary start: for deadlines within the
    /// process (read straight from the system: no `Duration` arithmetic on the request path).
    public static func monotonicMillis() -> Int64 {
        monotonicNanos() / 1_000_000
    }

    /// The same clock in nanoseconds.
    public static func monotonicNanos() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
