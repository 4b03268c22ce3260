/// The order profiles are tried in when neither the agent nor the configuration gives one.
public enum BaseOrder {
    /// OAuth logins first, then static tokens, then API keys; within a kind the least recently used
    /// first (round robin), never-used before used; the read-only `<provider>:env` profile last.
    public static func byKindThenLeastRecentlyUsed(_ profiles: [AuthProfile], lastUsed: (ProfileID) -> Int64?) -> [AuthProfile] {
        func rank(_ profile: AuthProfile) -> Int {
            if profile.isEnvironmentProfile { return 3 }
            switch profile.type {
            case .oauth: return 0
            case .token: return 1
            case .apiKey: return 2
            }
        }
        return profiles.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra != rb { return ra < rb }
            let (ua, ub) = (lastUsed(a.id) ?? .min, lastUsed(b.id) ?? .min)
            if ua != ub { return ua < ub }
            return a.id < b.id
        }
    }
}
