import GatehouseCore
import Testing

@Suite struct UsageStatsTests {

    private static let path = #"usageStats["anthropic:default"]"#

    private static func decodingError(_ text: String) throws -> JSONFieldError? {
        let json = try JSONValue.parse(text)
        do {
            _ = try UsageStats(json: json, path: path)
            return nil
        } catch {
            return error
        }
    }

    static let fullText = #"""
        {
          "lastUsed": 1750000000000,
          "errorCount": 3,
          "failureCounts": { "rate_limit": 2, "auth": 1, "quota_exceeded_v2": 4 },
          "lastFailureAt": 1750000001000,
          "cooldownUntil": 1750000061000,
          "cooldownReason": "rate_limit",
          "cooldownModel": "claude-sonnet-4-5",
          "disabledUntil": 1750086400000,
          "disabledReason": "billing",
          "probeAfter": 1750000100000,
          "notes": { "source": "import", "history": [1, 2, 3] }
        }
        """#

    @Test func fullRoundTripKeepsUnknownFieldsAndReasons() throws {
        let input = try JSONValue.parse(Self.fullText)
        let stats = try UsageStats(json: input, path: Self.path)
        #expect(stats.lastUsed == 1_750_000_000_000)
        #expect(stats.errorCount == 3)
        #expect(stats.failureCounts == ["rate_limit": 2, "auth": 1, "quota_exceeded_v2": 4])
        #expect(stats.lastFailureAt == 1_750_000_001_000)
        #expect(stats.cooldownUntil == 1_750_000_061_000)
        #expect(stats.cooldownReason == .rateLimit)
        #expect(stats.cooldownModel == "claude-sonnet-4-5")
        #expect(stats.disabledUntil == 1_750_086_400_000)
        #expect(stats.disabledReason == .billing)
        #expect(stats.extra == [
            "probeAfter": .int(1_750_000_100_000),
            "notes": .object(["source": .string("import"), "history": .array([.int(1), .int(2), .int(3)])]),
        ])
        #expect(stats.json == input)
        let reparsed = try JSONValue.parse(stats.json.serializedString())
        #expect(try UsageStats(json: reparsed, path: Self.path) == stats)
    }

    @Test func emptyObjectGivesEmptyStats() throws {
        let stats = try UsageStats(json: .object([:]), path: Self.path)
        #expect(stats == UsageStats())
        #expect(stats.errorCount == 0)
        #expect(stats.failureCounts.isEmpty)
        #expect(stats.cooldownReason == nil)
        // Absent values stay absent; the error count is always written.
        #expect(stats.json == .object(["errorCount": .int(0)]))
    }

    @Test func builtStatsWriteOnlyWhatIsSet() {
        let stats = UsageStats(lastUsed: 5, errorCount: 1, failureCounts: ["timeout": 1], cooldownUntil: 30_005,
                               cooldownReason: .timeout)
        #expect(stats.json == .object([
            "lastUsed": .int(5), "errorCount": .int(1), "failureCounts": .object(["timeout": .int(1)]),
            "cooldownUntil": .int(30_005), "cooldownReason": .string("timeout"),
        ]))
    }

    @Test(arguments: FailureReason.allCases)
    func everyReasonRoundTrips(_ reason: FailureReason) throws {
        let stats = UsageStats(errorCount: 1, failureCounts: [reason.rawValue: 1], cooldownUntil: 10,
                               cooldownReason: reason, disabledUntil: 20, disabledReason: reason)
        let back = try UsageStats(json: stats.json, path: Self.path)
        #expect(back == stats)
        #expect(back.json["cooldownReason"] == .string(reason.rawValue))
    }

    @Test func reasonNamesMatchTheFileFormat() {
        #expect(FailureReason.allCases.map(\.rawValue) == [
            "rate_limit", "overloaded", "timeout", "auth", "auth_permanent", "billing", "format", "model_not_found", "unknown",
        ])
    }

    @Test func negativeErrorCountIsReadAsZero() throws {
        let stats = try UsageStats(json: .object(["errorCount": .int(-4)]), path: Self.path)
        #expect(stats.errorCount == 0)
    }

    @Test func integralDoublesAreAcceptedAsTimes() throws {
        let stats = try UsageStats(json: try JSONValue.parse(#"{"lastUsed":1.75e12,"errorCount":2.0}"#), path: Self.path)
        #expect(stats.lastUsed == 1_750_000_000_000)
        #expect(stats.errorCount == 2)
    }

    // MARK: - Errors

    static let errorCases: [(json: String, field: String, reasonFragment: String)] = [
        (#"{"cooldownReason":"slow_down"}"#, #"usageStats["anthropic:default"].cooldownReason"#, #"unknown reason "slow_down""#),
        (#"{"cooldownReason":"RATE_LIMIT"}"#, #"usageStats["anthropic:default"].cooldownReason"#, "expected one of rate_limit, overloaded"),
        (#"{"disabledReason":"suspended"}"#, #"usageStats["anthropic:default"].disabledReason"#, #"unknown reason "suspended""#),
        (#"{"cooldownReason":429}"#, #"usageStats["anthropic:default"].cooldownReason"#, "expected a string, found integer"),
        (#"{"lastUsed":"yesterday"}"#, #"usageStats["anthropic:default"].lastUsed"#, "expected an integer, found string"),
        (#"{"cooldownUntil":1.5}"#, #"usageStats["anthropic:default"].cooldownUntil"#, "expected an integer, found number"),
        (#"{"errorCount":true}"#, #"usageStats["anthropic:default"].errorCount"#, "expected an integer, found boolean"),
        (#"{"cooldownModel":5}"#, #"usageStats["anthropic:default"].cooldownModel"#, "expected a string"),
        (#"{"failureCounts":[1,2]}"#, #"usageStats["anthropic:default"].failureCounts"#, "expected an object, found array"),
        (#"{"failureCounts":{"rate_limit":-1}}"#, #"usageStats["anthropic:default"].failureCounts.rate_limit"#, "expected a count"),
        (#"{"failureCounts":{"rate_limit":"2"}}"#, #"usageStats["anthropic:default"].failureCounts.rate_limit"#, "found string"),
        (#"{"failureCounts":{"quota-v2":0.5}}"#, #"usageStats["anthropic:default"].failureCounts["quota-v2"]"#, "found number"),
        (#"[]"#, #"usageStats["anthropic:default"]"#, "expected an object, found array"),
    ]

    @Test(arguments: errorCases)
    func errorsNameTheField(_ json: String, _ field: String, _ reasonFragment: String) throws {
        let error = try #require(try Self.decodingError(json))
        #expect(error.field == field)
        #expect(error.reason.contains(reasonFragment), "reason was: \(error.reason)")
    }

    // MARK: - Windows

    @Test func cooldownAndDisableWindowsEndAtTheirTime() {
        let stats = UsageStats(cooldownUntil: 1_000, disabledUntil: 5_000)
        #expect(stats.isCoolingDown(now: 999))
        #expect(!stats.isCoolingDown(now: 1_000))
        #expect(!stats.isCoolingDown(now: 1_001))
        #expect(stats.isDisabled(now: 4_999))
        #expect(!stats.isDisabled(now: 5_000))
        let idle = UsageStats()
        #expect(!idle.isCoolingDown(now: .min))
        #expect(!idle.isDisabled(now: 0))
    }
}
