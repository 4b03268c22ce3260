/// Reads when an upstream says to come back: `Retry-After` (seconds or an HTTP date),
/// `retry-after-ms`, and the common rate-limit reset headers.
public enum RetryAfter {
    /// The time to come back (milliseconds since the epoch), or `nil` when no header says.
    ///
    /// `Retry-After` and `retry-after-ms` win. Otherwise, among rate-limit resources with a reset
    /// header (`anthropic-ratelimit-<resource>-reset` as an RFC 3339 time, `x-ratelimit-reset-<resource>`
    /// as a duration like `6m0s` or `20ms`, `x-ratelimit-reset` as seconds or epoch seconds), those
    /// whose `remaining` header is above zero are skipped, and the latest of the rest is taken.
    public static func parse(headers: [(String, String)], now: Int64) -> Int64? {
        var byName: [String: String] = [:]
        for (name, value) in headers { byName[name.lowercased()] = value.trimmingSpaces }
        if let ms = byName["retry-after-ms"].flatMap(Double.init).flatMap({ ISO8601.millis(fromSeconds: $0 / 1000) }) {
            return now + ms
        }
        if let value = byName["retry-after"] {
            if let ms = Double(value).flatMap(ISO8601.millis(fromSeconds:)) { return now + ms }
            if let date = HTTPDate.parse(value) { return date }
        }
        var latest: Int64?
        for (name, value) in byName {
            var reset: Int64?
            var remainingName: String?
            if name.hasPrefix("anthropic-ratelimit-"), name.hasSuffix("-reset") {
                reset = ISO8601.parse(value)
                remainingName = String(name.dropLast("-reset".count)) + "-remaining"
            } else if name.hasPrefix("x-ratelimit-reset-") {
                reset = parseGoDuration(value).map { now + $0 }
                remainingName = "x-ratelimit-remaining-" + name.dropFirst("x-ratelimit-reset-".count)
            } else if name == "x-ratelimit-reset" {
                if let number = Double(value), let ms = ISO8601.millis(fromSeconds: number) {
                    // Epoch seconds when large, else seconds from now.
                    reset = number > 1_000_000_000 ? ms : now + ms
                }
                remainingName = "x-ratelimit-remaining"
            }
            guard let reset else { continue }
            if let remainingName, let remaining = byName[remainingName].flatMap(Double.init), remaining > 0 { continue }
            latest = max(latest ?? reset, reset)
        }
        return latest
    }

    /// Parses durations such as `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or a bare number of seconds.
    public static func parseGoDuration(_ text: String) -> Int64? {
        if let seconds = Double(text) { return ISO8601.millis(fromSeconds: seconds) }
        var total = 0.0
        var number = ""
        var scalars = Array(text.unicodeScalars)[...]
        guard !scalars.isEmpty else { return nil }
        while let scalar = scalars.first {
            if ("0"..."9").contains(scalar) || scalar == "." {
                number.unicodeScalars.append(scalar)
                scalars = scalars.dropFirst()
                continue
            }
            guard let value = Double(number) else { return nil }
            number = ""
            var unit = ""
            while let s = scalars.first, !(("0"..."9").contains(s) || s == ".") {
                unit.unicodeScalars.append(s)
                scalars = scalars.dropFirst()
            }
            switch unit {
            case "h": total += value * 3_600_000
            case "m": total += value * 60_000
            case "s": total += value * 1000
            case "ms": total += value
            case "us", "\u{00B5}s", "\u{03BC}s": total += value / 1000
            case "ns": total += value / 1_000_000
            default: return nil
            }
        }
        guard number.isEmpty else { return nil }
        return ISO8601.millis(fromSeconds: total.rounded(.up) / 1000)
    }
}

/// HTTP dates (RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`).
public enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Milliseconds since the epoch, or `nil` when the text is not an HTTP date: IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`), or the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
    /// asctime (`Sun Nov  6 08:49:37 1994`) forms that RFC 9110 still asks recipients to accept.
    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        var day: Int?, month: Int?, year: Int?, time: Substring?
        if parts.count == 6, parts[5].uppercased() == "GMT" {
            (day, month, year, time) = (Int(parts[1]), months.firstIndex(of: parts[2].lowercased()), Int(parts[3]), parts[4])
        } else if parts.count == 4, parts[3].uppercased() == "GMT" {
            let date = parts[1].split(separator: "-")
            guard date.count == 3, let twoDigit = Int(date[2]) else { return nil }
            // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
            (day, month, year, time) = (Int(date[0]), months.firstIndex(of: date[1].lowercased()), twoDigit < 70 ? 2000 + twoDigit : 1900 + twoDigit, parts[2])
        } else if parts.count == 5 {
            (day, month, year, time) = (Int(parts[2]), months.firstIndex(of: parts[1].lowercased()), Int(parts[4]), parts[3])
        }
        guard let day, let month, let year, let time else { return nil }
        let clock = time.split(separator: ":")
        guard clock.count == 3, let h = Int(clock[0]), let m = Int(clock[1]), let s = Int(clock[2]) else { return nil }
        return ISO8601.parse("\(year)-\(two(month + 1))-\(two(day))T\(two(h)):\(two(m)):\(two(s))Z")
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// Milliseconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form a
    /// `Date` header takes.
    public static func format(millis: Int64) -> String {
        let (days, msOfDay) = ISO8601.floorDivide(millis, 86_400_000)
        let (year, month, day) = ISO8601.civil(fromDays: days)
        // 1970-01-01 was a Thursday.
        let weekday = Int((days % 7 + 11) % 7)
        let (hour, minute, second) = (msOfDay / 3_600_000, msOfDay / 60_000 % 60, msOfDay / 1000 % 60)
        return "\(dayNames[weekday]), \(ISO8601.pad(day, 2)) \(monthNames[Int(month) - 1]) \(ISO8601.pad(year, 4)) "
            + "\(ISO8601.pad(hour, 2)):\(ISO8601.pad(minute, 2)):\(ISO8601.pad(second, 2)) GMT"
    }
}

extension String {
    /// The string without spaces and tabs at either end.
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
