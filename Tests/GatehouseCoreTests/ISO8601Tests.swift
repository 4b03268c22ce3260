import GatehouseCore
import Testing

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator with a fixed seed, so that "random"
/// tests check the same values on every run. (Named apart from the `SplitMix64` in JSONValueTests.swift.)
struct SplitMix64Generator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ISO8601Tests {

    static let day: Int64 = 86_400_000
    /// 0000-01-01T00:00:00.000Z ... 9999-12-31T23:59:59.999Z: every instant with a four-digit year.
    static let fourDigitYears: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    @Test func splitMix64MatchesTheReference() {
        var rng = SplitMix64Generator(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    // MARK: - Formatting

    static let known: [(millis: Int64, text: String)] = [
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (1_000, "1970-01-01T00:00:01.000Z"),
        (1_700_000_000_000, "2023-11-14T22:13:20.000Z"),
        (1_750_000_000_000, "2025-06-15T15:06:40.000Z"),
        (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-14_182_940_000, "1969-07-20T20:17:40.000Z"),
        (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ]

    @Test(arguments: known)
    func formatsKnownInstants(_ millis: Int64, _ text: String) {
        #expect(ISO8601.format(millis: millis) == text)
    }

    @Test(arguments: known)
    func parsesKnownInstants(_ millis: Int64, _ text: String) {
        #expect(ISO8601.parse(text) == millis)
    }

    // MARK: - Parsing

    static let parseCases: [(text: String, millis: Int64)] = [
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20z", 1_700_000_000_000),
        ("2023-11-14T22:13:20.000Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
        ("2023-11-14T22:13:20.05Z", 1_700_000_000_050),
        ("2023-11-14T22:13:20.123456Z", 1_700_000_000_123),
        ("2023-11-14T22:13:20.999999999Z", 1_700_000_000_999),
        ("2023-11-14T22:13:20,25Z", 1_700_000_000_250),
        ("2023-11-14 22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20", 1_700_000_000_000),
        ("2023-11-14T22:13:20.750", 1_700_000_000_750),
        ("2023-11-14T22:13Z", 1_700_000_000_000 - 20_000),
        ("2023-11-14T22:13", 1_700_000_000_000 - 20_000),
        ("2023-11-14", 1_699_920_000_000),
        ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),
        ("2023-11-14T17:13:20-05:00", 1_700_000_000_000),
        ("2023-11-14T23:43:20+0130", 1_700_000_000_000),
        ("2023-11-15T03:58:20.000+05:45", 1_700_000_000_000),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000_000),
        ("2023-11-14T22:13:20-00:00", 1_700_000_000_000),
        ("2023-11-14T12:13-10:00", 1_700_000_000_000 - 20_000),
        ("2024-02-29", 1_709_164_800_000),
        ("2000-02-29", 951_782_400_000),
        ("1970-01-01", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("1970-01-01T00:00:00+00:01", -60_000),
    ]

    @Test(arguments: parseCases)
    func parsesZonesOffsetsDatesAndFractions(_ text: String, _ millis: Int64) {
        #expect(ISO8601.parse(text) == millis)
    }

    static let invalid: [String] = [
        "", "garbage", "now", "1700000000000",
        "2023-13-01", "2023-00-10", "2023-11-00", "2023-11-31", "2023-04-31", "2023-02-30", "2023-02-29",
        "1900-02-29", "2100-02-29", "2023-11-32",
        "2023-1-14", "23-11-14", "20231114", "2023/11/14", "2023-11-14X", "2023-11-14T", "2023-11-14T22",
        "2023-11-14T22:", "2023-11-14T2:13", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:61Z",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.", "2023-11-14T22:13:20ZZ", "2023-11-14T22:13:20Zjunk",
        "2023-11-14T22:13:20 UTC", "2023-11-14T22:13:20+02", "2023-11-14T22:13:20+2:00", "2023-11-14T22:13:20+0a:00",
        "2023-11-14T22:13:20+02:00junk", "2023-11-14T22:13:20 ", " 2023-11-14", "2023-11-14\n",
        "２０２３-11-14", "2023-11-14T22:13:20.5.5Z", "+2023-11-14", "-2023-11-14",
    ]

    @Test(arguments: invalid)
    func rejectsInvalidText(_ text: String) {
        #expect(ISO8601.parse(text) == nil)
    }

    /// RFC 3339 `time-numoffset` is `("+" / "-") time-hour ":" time-minute`, with hours 00-23 and
    /// minutes 00-59, exactly as the clock time itself is checked.
    @Test(arguments: ["2023-11-14T22:13:20+01:75", "2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20-99:99"])
    func rejectsOutOfRangeOffsets(_ text: String) {
        #expect(ISO8601.parse(text) == nil)
    }

    // MARK: - Round trips from a fixed-seed generator

    @Test func formatThenParseRoundTrips() {
        var rng = SplitMix64Generator(seed: 0x1503_2023)
        for _ in 0..<20_000 {
            let millis = Int64.random(in: Self.fourDigitYears, using: &rng)
            let text = ISO8601.format(millis: millis)
            #expect(text.utf8.count == 24, "\(millis) → \(text)")
            #expect(ISO8601.parse(text) == millis, "\(millis) → \(text)")
        }
    }

    @Test func roundTripsAroundTheEpochAndTheEnds() {
        var values: [Int64] = []
        for base in [0, Self.fourDigitYears.lowerBound + 1000, Self.fourDigitYears.upperBound - 1000, 951_782_400_000] {
            values += (-1000...1000).map { base + $0 }
        }
        for millis in values {
            #expect(ISO8601.parse(ISO8601.format(millis: millis)) == millis, "\(millis)")
        }
    }

    @Test func textOrderIsTimeOrder() {
        var rng = SplitMix64Generator(seed: 7)
        for _ in 0..<2_000 {
            let a = Int64.random(in: Self.fourDigitYears, using: &rng)
            let b = Int64.random(in: Self.fourDigitYears, using: &rng)
            #expect((ISO8601.format(millis: a) < ISO8601.format(millis: b)) == (a < b), "\(a) \(b)")
        }
    }

    @Test func offsetsShiftTheInstant() {
        var rng = SplitMix64Generator(seed: 99)
        for _ in 0..<2_000 {
            let millis = Int64.random(in: 0...4_102_444_800_000, using: &rng)
            let hours = Int64.random(in: 0...14, using: &rng)
            let minutes = [Int64(0), 15, 30, 45].randomElement(using: &rng)!
            let sign: Int64 = Bool.random(using: &rng) ? 1 : -1
            let local = String(ISO8601.format(millis: millis).dropLast())
            let offset = (sign > 0 ? "+" : "-") + (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
            // The same wall-clock text read at an offset east of UTC is an earlier instant.
            #expect(ISO8601.parse(local + offset) == millis - sign * (hours * 60 + minutes) * 60_000, "\(local)\(offset)")
        }
    }

    @Test func randomCalendarDatesParseAndFormatBack() {
        var rng = SplitMix64Generator(seed: 2024)
        func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        for _ in 0..<5_000 {
            let year = Int.random(in: 0...9999, using: &rng)
            let month = Int.random(in: 1...12, using: &rng)
            let lengths = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            let day = Int.random(in: 1...lengths[month - 1], using: &rng)
            let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
            guard let millis = ISO8601.parse(date) else {
                Issue.record("\(date) did not parse")
                continue
            }
            #expect(millis % Self.day == 0, "\(date)")
            #expect(ISO8601.format(millis: millis) == date + "T00:00:00.000Z")
            // The day after the last day of the month does not exist.
            let next = "\(pad(year, 4))-\(pad(month, 2))-\(pad(lengths[month - 1] + 1, 2))"
            #expect(ISO8601.parse(next) == nil, "\(next)")
        }
    }
}
