/// What Gatehouse has learned about using one profile, as kept in `auth-state.json` under
/// `usageStats`. Every time is in milliseconds since the epoch.
public struct UsageStats: Sendable, Hashable {
    public var lastUsed: Int64?
    public var errorCount: Int
    /// Failures by reason. Keys are reason names; a name this version does not know is kept.
    public var failureCounts: [String: Int]
    public var lastFailureAt: Int64?
    public var cooldownUntil: Int64?
    public var cooldownReason: FailureReason?
    /// When set, the cooldown applies to this model only; otherwise to the whole profile.
    public var cooldownModel: String?
    public var disabledUntil: Int64?
    public var disabledReason: FailureReason?
    /// The fingerprint of the credential an `auth` or `auth_permanent` disable was recorded against:
    /// once the credential changes (a new key, a re-login), the window ends at once.
    public var disabledFingerprint: String?
    /// When a person last reset the profile (`gatehouse auth reset`): failures that happened before
    /// it and reach the file later (another process's pending flush) no longer count.
    public var resetAt: Int64?
    /// Fields this version does not know; written back unchanged.
    public var extra: [String: JSONValue]

    public init(
        lastUsed: Int64? = nil, errorCount: Int = 0, failureCounts: [String: Int] = [:],
        lastFailureAt: Int64? = nil, cooldownUntil: Int64? = nil, cooldownReason: FailureReason? = nil,
        cooldownModel: String? = nil, disabledUntil: Int64? = nil, disabledReason: FailureReason? = nil,
        disabledFingerprint: String? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.lastUsed = lastUsed
        self.errorCount = errorCount
        self.failureCounts = failureCounts
        self.lastFailureAt = lastFailureAt
        self.cooldownUntil = cooldownUntil
        self.cooldownReason = cooldownReason
        self.cooldownModel = cooldownModel
        self.disabledUntil = disabledUntil
        self.disabledReason = disabledReason
        self.disabledFingerprint = disabledFingerprint
        self.extra = extra
    }

    /// Whether a cooldown is active at `now`.
    public func isCoolingDown(now: Int64) -> Bool { (cooldownUntil ?? .min) > now }
    /// Whether a disable window is active at `now`.
    public func isDisabled(now: Int64) -> Bool { (disabledUntil ?? .min) > now }
}

extension UsageStats {
    /// Reads the stats of one profile.
    /// - Throws: `JSONFieldError` naming the field with the wrong type.
    public init(json: JSONValue, path: String) throws(JSONFieldError) {
        var reader = try JSONFieldReader(json, path: path)
        func reason(_ key: String) throws(JSONFieldError) -> FailureReason? {
            guard let text = try reader.string(key) else { return nil }
            guard let reason = FailureReason(rawValue: text) else {
                throw JSONFieldError(
                    field: reader.fieldPath(key),
                    reason: "unknown reason \"\(text)\"; expected one of \(FailureReason.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return reason
        }
        var counts: [String: Int] = [:]
        if let countsReader = try reader.object("failureCounts") {
            for (key, value) in countsReader.object {
                guard let n = value.intValue, n >= 0 else {
                    throw JSONFieldError(field: countsReader.fieldPath(key), reason: "expected a count (a whole number 0 or more), found \(value.typeName)")
                }
                counts[key] = Int(n)
            }
        }
        let errorCount = try reader.int("errorCount") ?? 0
        self.init(
            lastUsed: try reader.int("lastUsed"),
            errorCount: Int(max(0, errorCount)),
            failureCounts: counts,
            lastFailureAt: try reader.int("lastFailureAt"),
            cooldownUntil: try reader.int("cooldownUntil"),
            cooldownReason: try reason("cooldownReason"),
            cooldownModel: try reader.string("cooldownModel"),
            disabledUntil: try reader.int("disabledUntil"),
            disabledReason: try reason("disabledReason"),
            disabledFingerprint: try reader.string("disabledFingerprint"),
            extra: reader.unread)
        self.resetAt = try reader.int("resetAt")
        self.extra = reader.unread
    }

    /// The JSON form; absent values are left out, unknown fields kept.
    public var json: JSONValue {
        var object = extra
        object["lastUsed"] = lastUsed.map(JSONValue.int)
        object["errorCount"] = .int(Int64(errorCount))
        object["failureCounts"] = failureCounts.isEmpty ? nil : .object(failureCounts.mapValues { .int(Int64($0)) })
        object["lastFailureAt"] = lastFailureAt.map(JSONValue.int)
        object["cooldownUntil"] = cooldownUntil.map(JSONValue.int)
        object["cooldownReason"] = cooldownReason.map { .string($0.rawValue) }
        object["cooldownModel"] = cooldownModel.map(JSONValue.string)
        object["disabledUntil"] = disabledUntil.map(JSONValue.int)
        object["disabledReason"] = disabledReason.map { .string($0.rawValue) }
        object["disabledFingerprint"] = disabledFingerprint.map(JSONValue.string)
        object["resetAt"] = resetAt.map(JSONValue.int)
        return .object(object)
    }
}
