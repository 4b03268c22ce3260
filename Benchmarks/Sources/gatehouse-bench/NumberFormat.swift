/// Fixed-point rendering of numbers for the report (the standard library has no `%.3f` without
/// Foundation).
enum NumberFormat {
    /// `value` rounded to `decimals` places, as in `12.345`.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        let digits = String(fraction)
        return "\(sign)\(whole)." + String(repeating: "0", count: decimals - digits.count) + digits
    }

    /// Nanoseconds as milliseconds with three decimals (microsecond resolution).
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        fixed(Double(nanoseconds) / 1_000_000, decimals: 3)
    }

    /// Nanoseconds as microseconds with three decimals (nanosecond resolution).
    static func microseconds(_ nanoseconds: Double) -> String {
        fixed(nanoseconds / 1000, decimals: 3)
    }

    /// Nanoseconds as a JSON number of microseconds, rounded to the nanosecond.
    static func microsecondsValue(_ nanoseconds: Double) -> Double {
        nanoseconds.rounded() / 1000
    }

    /// Nanoseconds as a JSON number of milliseconds, rounded to the microsecond.
    static func millisecondsValue(_ nanoseconds: UInt64) -> Double {
        (Double(nanoseconds) / 1000).rounded() / 1000
    }

    /// `text` padded with spaces to `width`, on the left (numbers) or on the right (labels).
    static func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
        let padding = String(repeating: " ", count: Swift.max(0, width - text.count))
        return left ? padding + text : text + padding
    }

    /// `text` centered in `width` between dashes, as a header over several columns.
    static func center(_ text: String, _ width: Int) -> String {
        let free = Swift.max(0, width - text.count - 2)
        let left = free / 2
        return String(repeating: "-", count: left) + " " + text + " " + String(repeating: "-", count: free - left)
    }
}
