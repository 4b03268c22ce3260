import GatehouseCore
import GatehouseStore

/// One line of `auth list`: a profile with its credential state and health, secrets reduced to a
/// fingerprint.
struct ProfileRow {
    var id: String
    var provider: String?
    var type: String?
    var source: String
    var fingerprint: String?
    var email: String?
    var expires: Int64?
    var state: String
    var stats: UsageStats
    var problem: String?

    /// The state a listing shows: what makes the profile unusable first, then its health window, then
    /// expiry.
    static func state(of profile: AuthProfile, stats: UsageStats, now: Int64, resolver: some SecretResolver) -> String {
        let credentialState = profile.credentialState(now: now, using: resolver)
        switch credentialState {
        case .missingCredential, .unresolvedRef: return credentialState.rawValue
        case .ok, .expired: break
        }
        if stats.isDisabled(now: now) { return "disabled" }
        if stats.isCoolingDown(now: now) { return "cooldown" }
        return credentialState.rawValue
    }

    init(profile: AuthProfile, stats: UsageStats, now: Int64, resolver: some SecretResolver) {
        id = profile.id.description
        provider = profile.provider
        type = profile.type.rawValue
        source = profile.isEnvironmentProfile ? "env" : "file"
        fingerprint = profile.fingerprint(using: resolver)
        email = profile.credential.email
        expires = profile.credential.expires
        state = Self.state(of: profile, stats: stats, now: now, resolver: resolver)
        self.stats = stats
        if case .unresolved(let ref) = profile.secret(using: resolver) {
            problem = "\(ref) does not resolve"
        }
    }

    init(invalid entry: InvalidProfileEntry) {
        id = entry.key
        provider = entry.raw["provider"]?.stringValue
        type = entry.raw["type"]?.stringValue
        source = "file"
        state = "invalid"
        stats = UsageStats()
        problem = entry.problem.description
    }

    var json: JSONValue {
        [
            "id": .string(id), "provider": provider.map(JSONValue.string) ?? .null, "type": type.map(JSONValue.string) ?? .null,
            "source": .string(source), "fingerprint": fingerprint.map(JSONValue.string) ?? .null,
            "email": email.map(JSONValue.string) ?? .null, "expires": Output.jsonTime(expires), "state": .string(state),
            "errorCount": .int(Int64(stats.errorCount)), "lastUsed": Output.jsonTime(stats.lastUsed),
            "cooldownUntil": Output.jsonTime(stats.cooldownUntil),
            "cooldownReason": stats.cooldownReason.map { .string($0.rawValue) } ?? .null,
            "cooldownModel": stats.cooldownModel.map(JSONValue.string) ?? .null,
            "disabledUntil": Output.jsonTime(stats.disabledUntil),
            "disabledReason": stats.disabledReason.map { .string($0.rawValue) } ?? .null,
            "problem": problem.map(JSONValue.string) ?? .null,
        ]
    }

    /// A short text of what is wrong or which window is active.
    var note: String {
        if let problem { return problem }
        if state == "disabled", let until = stats.disabledUntil {
            return "disabled (\(stats.disabledReason?.rawValue ?? "?")) until \(ISO8601.format(millis: until))"
        }
        if state == "cooldown", let until = stats.cooldownUntil {
            let scope = stats.cooldownModel.map { " for \($0)" } ?? ""
            return "cooling (\(stats.cooldownReason?.rawValue ?? "?"))\(scope) until \(ISO8601.format(millis: until))"
        }
        return ""
    }
}
