/// A summary of a sample of durations in nanoseconds: median, 99th percentile, maximum and mean.
///
/// Percentiles use the nearest-rank method: sort the sample ascending; the p-th percentile is the
/// value at 1-based rank `ceil(p / 100 × n)`, clamped to `1...n`. It always returns a value that was
/// measured (no interpolation), so a p99 of 500 samples is the 495th smallest (the 6th largest) and
/// the p50 of an even-sized sample is the lower of the two middle values.
struct LatencySummary: Sendable {
    /// How many samples there were.
    let count: Int
    /// The median (nearest rank).
    let p50: UInt64
    /// The 99th percentile (nearest rank).
    let p99: UInt64
    /// The largest sample.
    let max: UInt64
    /// The arithmetic mean (0 for an empty sample).
    let mean: Double

    /// Summarizes `samples` (in any order); an empty sample summarizes as zeros.
    init(_ samples: [UInt64]) {
        let sorted = samples.sorted()
        count = sorted.count
        p50 = Self.percentile(50, ofSorted: sorted)
        p99 = Self.percentile(99, ofSorted: sorted)
        max = sorted.last ?? 0
        mean = sorted.isEmpty ? 0 : sorted.reduce(0.0) { $0 + Double($1) } / Double(sorted.count)
    }

    /// The `p`-th percentile (0 < p ≤ 100) of an ascending sample by the nearest-rank method; 0 when
    /// the sample is empty.
    static func percentile(_ p: Double, ofSorted sorted: [UInt64]) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
