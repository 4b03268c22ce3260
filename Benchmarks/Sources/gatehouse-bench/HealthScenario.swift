import GatehouseCore

/// The selection input `gatehouse-bench health` plans over: one provider with a realistic mix of
/// profiles and the state a busy gateway has for them, built deterministically from the profile count.
///
/// For 20 profiles: 5 `oauth` (one with an expired access token that can refresh), 3 `token` (one
/// expired, so not eligible), 11 `api_key` (one by `keyRef` to an environment variable) and
/// `anthropic:env`; plus 4 profiles of another provider that the planner filters out. About two
/// thirds have a `lastUsed`; cooldowns: a profile-wide one (`overloaded`), one scoped to the requested
/// model (`rate_limit`), one scoped to another model (it does not apply), one that has run out; one
/// profile is disabled (`auth`, recorded against its current credential, so it holds). The agent's
/// stored order names six ids, one of them gone and two in a window (an explicit order limits the
/// candidates to the profiles it names); `auth.order` from the configuration is given too (the stored
/// order wins); the session has an automatic pin to a usable profile of that order.
struct HealthScenario {
    /// The provider planned for.
    static let provider = "anthropic"
    /// The model requested.
    static let model = "claude-sonnet-4-5"
    /// The variable the `keyRef` profile and `anthropic:env` read.
    static let environmentVariable = "ANTHROPIC_API_KEY"

    /// The planner's input, with `now` fixed so that every call plans the same thing.
    let input: SelectionInput
    /// Resolves the environment references (`StaticSecretResolver`: no real environment, no files).
    let resolver: StaticSecretResolver
    /// The ids of the provider's profiles, in creation order (the recorder benchmark cycles over them).
    let profileIDs: [ProfileID]
    /// A description of the mix, for the report.
    let summary: [String]

    /// - Parameters:
    ///   - profiles: profiles of the planned provider (at least 4).
    ///   - now: the time the plan is made at (milliseconds since the epoch).
    init(profiles count: Int, now: Int64) throws {
        guard count >= 4 else { throw BenchError("--profiles needs at least 4 (one of each kind and the env profile)") }
        let provider = Self.provider
        func id(_ name: String, _ provider: String = HealthScenario.provider) throws -> ProfileID {
            try ProfileID(provider: provider, name: name)
        }
        let hour: Int64 = 3_600_000
        let minute: Int64 = 60_000

        // The mix: env last, then by proportion oauth 30 %, token 20 %, api_key the rest.
        let named = count - 1
        let oauthCount = Swift.max(1, named * 3 / 10)
        let tokenCount = Swift.max(1, named * 2 / 10)
        let keyCount = Swift.max(1, named - oauthCount - tokenCount)

        var profiles: [AuthProfile] = []
        for n in 1...oauthCount {
            // The last login's access token expired an hour ago; it stays eligible (it can refresh).
            let expires = n == oauthCount && oauthCount > 1 ? now - hour : now + hour + Int64(n) * minute
            profiles.append(
                AuthProfile(
                    id: try id("oauth-\(n)"),
                    credential: .oauth(
                        OAuthCredential(
                            access: "bench-access-\(n)-" + String(repeating: "a", count: 80), refresh: "bench-refresh-\(n)",
                            expires: expires, email: "user\(n)@example.com", accountId: "acct-\(n)"))))
        }
        for n in 1...tokenCount {
            // The last static token has expired: not eligible.
            let expires: Int64? = n == tokenCount && tokenCount > 1 ? now - minute : (n == 1 ? nil : now + 24 * hour)
            profiles.append(
                AuthProfile(
                    id: try id("token-\(n)"),
                    credential: .token(TokenCredential(token: "bench-token-\(n)-" + String(repeating: "t", count: 40), expires: expires))))
        }
        for n in 1...keyCount {
            let credential =
                n == 2
                ? APIKeyCredential(keyRef: SecretRef(source: .env, id: Self.environmentVariable))
                : APIKeyCredential(key: "sk-bench-\(n)-" + String(repeating: "k", count: 48))
            profiles.append(AuthProfile(id: try id("key-\(n)"), credential: .apiKey(credential)))
        }
        guard let environmentProfile = AuthProfile.environment(provider: provider, variable: Self.environmentVariable) else {
            throw BenchError("cannot make the \(provider):env profile")
        }
        profiles.append(environmentProfile)
        let ofProvider = profiles
        // The agent's other provider: filtered out by the planner, but it is in the list it gets.
        for n in 1...4 {
            profiles.append(
                AuthProfile(id: try id("key-\(n)", "openai"), credential: .apiKey(APIKeyCredential(key: "sk-openai-bench-\(n)"))))
        }

        let resolver = StaticSecretResolver(environment: [Self.environmentVariable: "sk-ant-env-" + String(repeating: "e", count: 48)])
        let keyIDs = ofProvider.filter { $0.type == .apiKey && !$0.isEnvironmentProfile }.map(\.id)
        let oauthIDs = ofProvider.filter { $0.type == .oauth }.map(\.id)

        // Usage stats: about two thirds used recently, at different times (round robin has work to do).
        var stats: [ProfileID: UsageStats] = [:]
        for (index, profile) in ofProvider.enumerated() where index % 3 != 2 {
            stats[profile.id] = UsageStats(lastUsed: now - Int64((index * 7919) % 600) * 1000 - 1000)
        }
        func key(_ n: Int) -> ProfileID { keyIDs[Swift.min(n, keyIDs.count - 1)] }
        // A profile-wide cooldown.
        var overloaded = stats[key(0), default: UsageStats()]
        overloaded.errorCount = 1
        overloaded.failureCounts = ["overloaded": 1]
        overloaded.lastFailureAt = now - 5_000
        overloaded.cooldownUntil = now + 25_000
        overloaded.cooldownReason = .overloaded
        stats[key(0)] = overloaded
        // A cooldown of the requested model only.
        var rateLimited = stats[oauthIDs[0], default: UsageStats()]
        rateLimited.errorCount = 2
        rateLimited.failureCounts = ["rate_limit": 2]
        rateLimited.lastFailureAt = now - 10_000
        rateLimited.cooldownUntil = now + 50_000
        rateLimited.cooldownReason = .rateLimit
        rateLimited.cooldownModel = Self.model
        stats[oauthIDs[0]] = rateLimited
        // A cooldown of another model: it does not stop this request.
        var otherModel = stats[key(2), default: UsageStats()]
        otherModel.errorCount = 1
        otherModel.failureCounts = ["rate_limit": 1]
        otherModel.lastFailureAt = now - 3_000
        otherModel.cooldownUntil = now + 27_000
        otherModel.cooldownReason = .rateLimit
        otherModel.cooldownModel = "claude-haiku-4-5"
        stats[key(2)] = otherModel
        // A cooldown that has run out (counters remain until a success or the quiet period).
        var ranOut = stats[key(3), default: UsageStats()]
        ranOut.errorCount = 1
        ranOut.failureCounts = ["timeout": 1]
        ranOut.lastFailureAt = now - 40 * minute
        ranOut.cooldownUntil = now - 39 * minute
        ranOut.cooldownReason = .timeout
        stats[key(3)] = ranOut
        // Disabled: an auth failure recorded against the credential it still has.
        let disabledID = key(4)
        var disabled = stats[disabledID, default: UsageStats()]
        disabled.errorCount = 1
        disabled.failureCounts = ["auth": 1]
        disabled.lastFailureAt = now - 2 * minute
        disabled.disabledUntil = now + 8 * minute
        disabled.disabledReason = .auth
        disabled.disabledFingerprint = ofProvider.first { $0.id == disabledID }?.fingerprint(using: resolver)
        stats[disabledID] = disabled

        // The agent's stored order: some profiles, one that no longer exists, one cooling down.
        let storedOrder = [
            key(5).description, oauthIDs[0].description, "\(provider):deleted-key", key(1).description,
            oauthIDs[oauthIDs.count > 1 ? 1 : 0].description, key(0).description,
        ]
        let configuredOrder = Array(keyIDs.reversed().prefix(4))
        // The session keeps the profile it used (an automatic pin): usable, and fourth in the stored
        // order, so the planner moves it to the front.
        let pinned = oauthIDs[oauthIDs.count > 1 ? 1 : 0]

        self.input = SelectionInput(
            provider: provider, model: Self.model, profiles: profiles, storedOrder: storedOrder,
            configuredOrder: configuredOrder, stats: stats, hasSession: true,
            sessionPin: SessionPin(profile: pinned.description, source: .auto, setAt: now - 90_000), now: now)
        self.resolver = resolver
        self.profileIDs = ofProvider.map(\.id)
        let used = ofProvider.filter { stats[$0.id]?.lastUsed != nil }.count
        self.summary = [
            "\(count) profiles of \(provider) (\(oauthCount) oauth, one expired that can refresh; \(tokenCount) token, "
                + "\(tokenCount > 1 ? "one expired" : "none expired"); \(keyCount) api_key, one by keyRef; \(provider):env), "
                + "plus 4 of openai that the planner filters out",
            "\(used) with lastUsed; cooldowns: \(key(0)) overloaded (profile), \(oauthIDs[0]) rate_limit (\(Self.model)), "
                + "\(key(2)) rate_limit (another model), \(key(3)) ran out; \(disabledID) disabled (auth)",
            "stored order: \(storedOrder.joined(separator: ", ")); auth.order: \(configuredOrder.count) ids; "
                + "session pin: \(pinned) (auto); model \(Self.model); resolver: StaticSecretResolver with \(Self.environmentVariable)",
        ]
    }
}
