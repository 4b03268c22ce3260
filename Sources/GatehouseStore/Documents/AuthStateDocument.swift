import GatehouseCore

/// `agents/<agentId>/agent/auth-state.json`: routing state, kept apart from credentials because it
/// changes on every request. `{"version":1,"order":{},"lastGood":{},"usageStats":{}}`.
public struct AuthStateDocument: StoreDocument, Hashable {
    public var version: Int64 = 1
    /// The agent's own order of profile ids per provider (as written; ids that no longer exist are
    /// skipped when choosing).
    public var order: [String: [String]] = [:]
    /// The profile that last served each provider well.
    public var lastGood: [String: String] = [:]
    /// What is known about each profile, by profile id.
    public var usageStats: [String: UsageStats] = [:]
    /// Top-level fields this version does not know.
    public var extra: [String: JSONValue] = [:]

    public static var empty: AuthStateDocument { AuthStateDocument() }

    public init() {}

    public init(json: JSONValue) throws(JSONFieldError) {
        var reader = try JSONFieldReader(json, path: "")
        version = try Self.checkVersion(&reader)
        if let order = try reader.object("order") {
            var order = order
            for provider in order.object.keys {
                self.order[provider] = try order.stringArray(provider) ?? []
            }
        }
        if let lastGood = try reader.object("lastGood") {
            for (provider, value) in lastGood.object {
                guard let id = value.stringValue else {
                    throw JSONFieldError(field: lastGood.fieldPath(provider), reason: "expected a profile id string, found \(value.typeName)")
                }
                self.lastGood[provider] = id
            }
        }
        if let stats = try reader.object("usageStats") {
            for (id, value) in stats.object {
                usageStats[id] = try UsageStats(json: value, path: "usageStats[\"\(id)\"]")
            }
        }
        extra = reader.unread
    }

    public var json: JSONValue {
        var object = extra
        object["version"] = .int(version)
        object["order"] = .object(order.mapValues { .array($0.map(JSONValue.string)) })
        object["lastGood"] = .object(lastGood.mapValues(JSONValue.string))
        object["usageStats"] = .object(usageStats.mapValues(\.json))
        return .object(object)
    }

    /// The stats of a profile (empty when none are recorded).
    /// The statistics of every profile with a valid id.
    public var statsByProfile: [ProfileID: UsageStats] {
        var result: [ProfileID: UsageStats] = [:]
        for (key, entry) in usageStats {
            if let id = try? ProfileID(parsing: key) { result[id] = entry }
        }
        return result
    }

    public func stats(for id: ProfileID) -> UsageStats {
        usageStats[id.description] ?? UsageStats()
    }
}
