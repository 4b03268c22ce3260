import GatehouseCore
import Testing

/// When an upstream says to come back: `Retry-After`, `retry-after-ms` and the providers'
/// rate-limit reset headers (DESIGN section 5).
@Suite struct RetryAfterTests {

    /// 2025-06-15T15:06:40Z (a Sunday).
    static let now: Int64 = 1_750_000_000_000

    static func parse(_ headers: [(String, String)]) -> Int64? {
        RetryAfter.parse(headers: headers, now: now)
    }

    // MARK: Retry-After and retry-after-ms

    struct HeaderCase: Sendable, CustomTestStringConvertible {
        var name: String
        var value: String
        var expectedOffset: Int64?
        var testDescription: String { "\(name): \(value)" }
    }

    static let retryAfterCases: [HeaderCase] = [
        HeaderCase(name: "Retry-After", value: "30", expectedOffset: 30_000),
        HeaderCase(name: "retry-after", value: "1.5", expectedOffset: 1_500),
        HeaderCase(name: "RETRY-AFTER", value: "0", expectedOffset: 0),
        HeaderCase(name: "Retry-After", value: " 12 ", expectedOffset: 12_000),
        HeaderCase(name: "Retry-After", value: "Sun, 15 Jun 2025 15:07:40 GMT", expectedOffset: 60_000),
        HeaderCase(name: "retry-after", value: "Sun, 15 Jun 2025 16:06:40 GMT", expectedOffset: 3_600_000),
        HeaderCase(name: "retry-after-ms", value: "250", expectedOffset: 250),
        HeaderCase(name: "Retry-After-Ms", value: "1234.5", expectedOffset: 1_234),
        HeaderCase(name: "RETRY-AFTER-MS", value: "0", expectedOffset: 0),
    ]

    @Test(arguments: retryAfterCases)
    func retryAfterInSecondsDatesOrMillisecondsInAnyCase(_ c: HeaderCase) {
        #expect(Self.parse([(c.name, c.value)]) == c.expectedOffset.map { Self.now + $0 })
    }

    @Test func retryAfterMsWinsOverRetryAfter() {
        #expect(Self.parse([("retry-after", "2"), ("retry-after-ms", "1500")]) == Self.now + 1_500)
    }

    @Test func retryAfterWinsOverRateLimitResetHeaders() {
        let headers = [
            ("Retry-After", "5"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-06-15T15:16:40Z"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]
        #expect(Self.parse(headers) == Self.now + 5_000)
    }

    @Test func noHeaderMeansNoTime() {
        #expect(Self.parse([]) == nil)
        #expect(Self.parse([("content-type", "application/json"), ("x-request-id", "req_123")]) == nil)
        // A remaining count without a reset says nothing about when.
        #expect(Self.parse([("anthropic-ratelimit-requests-remaining", "0")]) == nil)
    }

    // MARK: Anthropic reset headers (RFC 3339)

    @Test func anthropicExhaustedResourceResetIsTaken() {
        let headers = [
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:10Z"),
        ]
        #expect(Self.parse(headers) == Self.now + 30_000)
    }

    @Test func anthropicTokensResetWithAnOffsetAndFraction() {
        let headers = [
            ("Anthropic-RateLimit-Tokens-Remaining", "0"),
            ("Anthropic-RateLimit-Tokens-Reset", "2025-06-15T17:07:40.500+02:00"),
        ]
        #expect(Self.parse(headers) == Self.now + 60_500)
    }

    @Test func anthropicResourceWithRemainingCapacityIsSkipped() {
        let headers = [
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:10Z"),
        ]
        #expect(Self.parse(headers) == nil)
    }

    @Test func anthropicLatestOfSeveralExhaustedResourcesWins() {
        let headers = [
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:10Z"),
            ("anthropic-ratelimit-input-tokens-remaining", "0"),
            ("anthropic-ratelimit-input-tokens-reset", "2025-06-15T15:08:40Z"),
            // Later still, but not exhausted: skipped.
            ("anthropic-ratelimit-output-tokens-remaining", "8000"),
            ("anthropic-ratelimit-output-tokens-reset", "2025-06-15T15:16:40Z"),
        ]
        #expect(Self.parse(headers) == Self.now + 120_000)
    }

    // MARK: OpenAI reset headers (Go durations)

    struct OpenAICase: Sendable, CustomTestStringConvertible {
        var resource: String
        var reset: String
        var expectedOffset: Int64
        var testDescription: String { "x-ratelimit-reset-\(resource): \(reset)" }
    }

    @Test(arguments: [
        OpenAICase(resource: "requests", reset: "1s", expectedOffset: 1_000),
        OpenAICase(resource: "tokens", reset: "6m0s", expectedOffset: 360_000),
        OpenAICase(resource: "tokens", reset: "20ms", expectedOffset: 20),
        OpenAICase(resource: "requests", reset: "7m12s", expectedOffset: 432_000),
    ])
    func openAIExhaustedResourceResetIsTaken(_ c: OpenAICase) {
        let headers = [
            ("x-ratelimit-limit-\(c.resource)", "10000"),
            ("x-ratelimit-remaining-\(c.resource)", "0"),
            ("x-ratelimit-reset-\(c.resource)", c.reset),
        ]
        #expect(Self.parse(headers) == Self.now + c.expectedOffset)
    }

    @Test func openAIResourceWithRemainingCapacityIsSkipped() {
        let headers = [
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1s"),
        ]
        #expect(Self.parse(headers) == Self.now + 1_000)
        #expect(Self.parse(Array(headers.prefix(2))) == nil)
    }

    @Test func openAILatestOfSeveralExhaustedResourcesWins() {
        let headers = [
            ("X-RateLimit-Remaining-Requests", "0"),
            ("X-RateLimit-Reset-Requests", "1s"),
            ("X-RateLimit-Remaining-Tokens", "0"),
            ("X-RateLimit-Reset-Tokens", "6m0s"),
        ]
        #expect(Self.parse(headers) == Self.now + 360_000)
    }

    // MARK: Garbage

    static let garbage: [HeaderCase] = [
        HeaderCase(name: "Retry-After", value: "soon", expectedOffset: nil),
        HeaderCase(name: "Retry-After", value: "", expectedOffset: nil),
        HeaderCase(name: "Retry-After", value: "-5", expectedOffset: nil),
        HeaderCase(name: "Retry-After", value: "Sun, 32 Jun 2025 15:07:40 GMT", expectedOffset: nil),
        HeaderCase(name: "Retry-After", value: "Sun, 15 Jun 2025 25:07:40 GMT", expectedOffset: nil),
        HeaderCase(name: "Retry-After", value: "Sun, 15 Jun 2025 15:07:40 PST", expectedOffset: nil),
        HeaderCase(name: "retry-after-ms", value: "abc", expectedOffset: nil),
        HeaderCase(name: "retry-after-ms", value: "-100", expectedOffset: nil),
        HeaderCase(name: "anthropic-ratelimit-requests-reset", value: "tomorrow", expectedOffset: nil),
        HeaderCase(name: "anthropic-ratelimit-tokens-reset", value: "2025-13-01T00:00:00Z", expectedOffset: nil),
        HeaderCase(name: "x-ratelimit-reset-requests", value: "later", expectedOffset: nil),
        HeaderCase(name: "x-ratelimit-reset-tokens", value: "5x", expectedOffset: nil),
        HeaderCase(name: "x-ratelimit-reset-tokens", value: "", expectedOffset: nil),
    ]

    @Test(arguments: garbage)
    func garbageValuesGiveNoTime(_ c: HeaderCase) {
        #expect(Self.parse([(c.name, c.value)]) == nil)
    }

    /// Numbers that `Double` reads but that are no time at all (infinity, not-a-number, or beyond the
    /// range of milliseconds in an `Int64`). An upstream's header must never stop the gateway, so each
    /// runs in its own process: a trap fails this test instead of taking the test run down.
    @Test(arguments: [
        "Retry-After: inf",
        "Retry-After: nan",
        "Retry-After: 1e300",
        "retry-after-ms: infinity",
        "retry-after-ms: 1e30",
        "x-ratelimit-reset-tokens: nan",
        "x-ratelimit-reset-requests: inf",
        "x-ratelimit-reset: 1e30",
    ])
    func nonFiniteOrHugeNumbersGiveNoTimeAndDoNotTrap(_ header: String) async {
        await #expect(processExitsWith: .success) { [header] in
            let parts = header.split(separator: ":", maxSplits: 1)
            let name = String(parts[0])
            let value = String(parts[1].dropFirst())
            let result = RetryAfter.parse(headers: [(name, value)], now: 1_750_000_000_000)
            precondition(result == nil, "expected no time for \(header), got \(String(describing: result))")
        }
    }

    // MARK: Go durations

    struct DurationCase: Sendable, CustomTestStringConvertible {
        var text: String
        var millis: Int64?
        var testDescription: String { "\"\(text)\" → \(millis.map(String.init) ?? "nil")" }
    }

    @Test(arguments: [
        DurationCase(text: "1s", millis: 1_000),
        DurationCase(text: "6m0s", millis: 360_000),
        DurationCase(text: "20ms", millis: 20),
        DurationCase(text: "1h2m3.5s", millis: 3_723_500),
        DurationCase(text: "2h", millis: 7_200_000),
        DurationCase(text: "1m30s", millis: 90_000),
        DurationCase(text: "0.5s", millis: 500),
        DurationCase(text: "0s", millis: 0),
        DurationCase(text: "1500us", millis: 2),
        DurationCase(text: "250µs", millis: 1),
        DurationCase(text: "3000000ns", millis: 3),
        DurationCase(text: "42", millis: 42_000),
        DurationCase(text: "1.5", millis: 1_500),
        DurationCase(text: "", millis: nil),
        DurationCase(text: "s", millis: nil),
        DurationCase(text: "5x", millis: nil),
        DurationCase(text: "1h2", millis: nil),
        DurationCase(text: "1.2.3s", millis: nil),
        DurationCase(text: "ms20", millis: nil),
        DurationCase(text: "1d", millis: nil),
    ])
    func goDurationsParseToMilliseconds(_ c: DurationCase) {
        #expect(RetryAfter.parseGoDuration(c.text) == c.millis)
    }

    // MARK: HTTP dates

    struct DateCase: Sendable, CustomTestStringConvertible {
        var text: String
        var millis: Int64?
        var testDescription: String { "\"\(text)\"" }
    }

    @Test(arguments: [
        // The example of RFC 9110.
        DateCase(text: "Sun, 06 Nov 1994 08:49:37 GMT", millis: 784_111_777_000),
        DateCase(text: "Sun, 15 Jun 2025 15:06:40 GMT", millis: 1_750_000_000_000),
        DateCase(text: "Thu, 01 Jan 1970 00:00:00 GMT", millis: 0),
        DateCase(text: "Thu, 29 Feb 2024 23:59:59 GMT", millis: 1_709_251_199_000),
        DateCase(text: "Sun, 15 JUN 2025 15:06:40 gmt", millis: 1_750_000_000_000),
        DateCase(text: "Fri, 29 Feb 2025 00:00:00 GMT", millis: nil),
        DateCase(text: "Sun, 06 Nov 1994 08:49:37", millis: nil),
        DateCase(text: "Sun, 06 Foo 1994 08:49:37 GMT", millis: nil),
        DateCase(text: "Sun, 06 Nov 1994 08:49 GMT", millis: nil),
        DateCase(text: "1994-11-06T08:49:37Z", millis: nil),
        DateCase(text: "", millis: nil),
        // The obsolete forms RFC 9110 still asks recipients to accept.
        DateCase(text: "Sunday, 06-Nov-94 08:49:37 GMT", millis: 784_111_777_000),
        DateCase(text: "Sun Nov  6 08:49:37 1994", millis: 784_111_777_000),
        DateCase(text: "Sunday, 06-Nov-94 08:49 GMT", millis: nil),
    ])
    func httpDatesParseAsIMFFixdate(_ c: DateCase) {
        #expect(HTTPDate.parse(c.text) == c.millis)
    }

    @Test func httpDatesFormatAsIMFFixdate() {
        #expect(HTTPDate.format(millis: 784_111_777_000) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(millis: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(millis: 1_709_251_199_999) == "Thu, 29 Feb 2024 23:59:59 GMT", "milliseconds are dropped")
        #expect(HTTPDate.format(millis: -1000) == "Wed, 31 Dec 1969 23:59:59 GMT")
        for millis in stride(from: Int64(0), to: 4_000_000_000_000, by: 86_399_000 * 37) {
            #expect(HTTPDate.parse(HTTPDate.format(millis: millis)) == millis / 1000 * 1000, "round trip of \(millis)")
        }
    }
}
