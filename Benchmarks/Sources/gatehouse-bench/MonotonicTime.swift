import GatehouseStore

/// Timestamps in nanoseconds on `CLOCK_MONOTONIC` (`WallClock.monotonicNanos`), unsigned for the
/// benchmarks' arithmetic.
///
/// The clock is one for the whole machine, so the timestamps a child process reports can be compared
/// with the instant its parent gave the start signal.
enum MonotonicTime {
    /// Now, in nanoseconds since an unspecified point (boot, on Linux).
    static func now() -> UInt64 {
        UInt64(WallClock.monotonicNanos())
    }
}
