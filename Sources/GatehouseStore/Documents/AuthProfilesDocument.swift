import GatehouseCore

/// An entry of `auth-profiles.json` that cannot be used: an unknown type, a missing provider, an
/// invalid id. It is kept in the file as it is, reported by `doctor` and `auth list`, and never used.
public struct InvalidProfileEntry: Sendable, Hashable {
    /// The key the entry is stored under.
    public var key: String
    /// The entry as it is in the file.
    public var raw: JSONValue
    /// What is wrong with it.
    public var problem: JSONFieldError
}

/// `agents/<agentId>/agent/auth-profiles.json`: `{"version":1,"profiles":{"<provider>:<name>":{...}}}`.
public struct AuthProfilesDocument: StoreDocument, Hashable {
    public var version: Int64 = 1
    /// The usable profiles, by id.
    public var profiles: [ProfileID: AuthProfile] = [:]
    /// Entries that cannot be used, by their key.
    public var invalidEntries: [String: InvalidProfileEntry] = [:]
    /// Top-level fields this version does not know.
    public var extra: [String: JSONValue] = [:]

    public static var empty: AuthProfilesDocument { AuthProfilesDocument() }

    public init() {}

    public init(json: JSONValue) throws(JSONFieldError) {
        var reader = try JSONFieldReader(json, path: "")
        version = try Self.checkVersion(&reader)
        if let profiles = try reader.object("profiles") {
            for (key, value) in profiles.object {
                let path = "profiles[\"\(key)\"]"
                do throws(JSONFieldError) {
                    let profile = try AuthProfile(key: key, json: value, path: path)
                    self.profiles[profile.id] = profile
                } catch {
                    invalidEntries[key] = InvalidProfileEntry(key: key, raw: value, problem: error)
                }
            }
        }
        extra = reader.unread
    }

    public var json: JSONValue {
        var entries: [String: JSONValue] = [:]
        for entry in invalidEntries.values { entries[entry.key] = entry.raw }
        for profile in profiles.values { entries[profile.id.description] = profile.json }
        var object = extra
        object["version"] = .int(version)
        object["profiles"] = .object(entries)
        return .object(object)
    }

    /// The usable profiles in id order.
    public var sortedProfiles: [AuthProfile] { profiles.values.sorted { $0.id < $1.id } }

    /// Whether an id is taken, by a usable or an invalid entry.
    public func contains(_ id: ProfileID) -> Bool {
        profiles[id] != nil || invalidEntries[id.description] != nil
    }
}
