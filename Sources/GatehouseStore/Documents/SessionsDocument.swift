import GatehouseCore

/// One session's entry in `sessions.json`.
public struct SessionEntry: Sendable, Hashable {
    /// The pinned profile id, if any.
    public var authProfileOverride: String?
    public var authProfileOverrideSource: PinSource?
    /// When the pin was set (milliseconds since the epoch).
    public var authProfileOverrideSetAt: Int64?
    /// When the session was last used or changed.
    public var updatedAt: Int64?
    /// Fields this version does not know; written back unchanged.
    public var extra: [String: JSONValue] = [:]

    public init() {}

    /// The pin as the planner takes it. A pin without a source counts as automatic.
    public var pin: SessionPin? {
        guard let profile = authProfileOverride, !profile.isEmpty else { return nil }
        return SessionPin(profile: profile, source: authProfileOverrideSource ?? .auto, setAt: authProfileOverrideSetAt)
    }

    /// Sets or clears the pin.
    public mutating func setPin(_ pin: SessionPin?) {
        authProfileOverride = pin?.profile
        authProfileOverrideSource = pin?.source
        authProfileOverrideSetAt = pin?.setAt
    }

    init(json: JSONValue, path: String) throws(JSONFieldError) {
        var reader = try JSONFieldReader(json, path: path)
        authProfileOverride = try reader.string("authProfileOverride")
        if let source = try reader.string("authProfileOverrideSource") {
            guard let parsed = PinSource(rawValue: source) else {
                throw JSONFieldError(field: reader.fieldPath("authProfileOverrideSource"), reason: "expected \"auto\" or \"user\", found \"\(source)\"")
            }
            authProfileOverrideSource = parsed
        }
        authProfileOverrideSetAt = try reader.int("authProfileOverrideSetAt")
        updatedAt = try reader.int("updatedAt")
        extra = reader.unread
    }

    var json: JSONValue {
        var object = extra
        object["authProfileOverride"] = authProfileOverride.map(JSONValue.string)
        object["authProfileOverrideSource"] = authProfileOverrideSource.map { .string($0.rawValue) }
        object["authProfileOverrideSetAt"] = authProfileOverrideSetAt.map(JSONValue.int)
        object["updatedAt"] = updatedAt.map(JSONValue.int)
        return .object(object)
    }
}

/// `agents/<agentId>/sessions/sessions.json`: `{"version":1,"sessions":{"<key>":{...}}}`.
public struct SessionsDocument: StoreDocument, Hashable {
    public var version: Int64 = 1
    public var sessions: [String: SessionEntry] = [:]
    public var extra: [String: JSONValue] = [:]

    public static var empty: SessionsDocument { SessionsDocument() }

    public init() {}

    public init(json: JSONValue) throws(JSONFieldError) {
        var reader = try JSONFieldReader(json, path: "")
        version = try Self.checkVersion(&reader)
        if let sessions = try reader.object("sessions") {
            for (key, value) in sessions.object {
                self.sessions[key] = try SessionEntry(json: value, path: "sessions[\"\(key)\"]")
            }
        }
        extra = reader.unread
    }

    public var json: JSONValue {
        var object = extra
        object["version"] = .int(version)
        object["sessions"] = .object(sessions.mapValues(\.json))
        return .object(object)
    }
}
