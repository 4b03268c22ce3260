import GatehouseCore
import GatehouseStore

/// Everything on disk that decides which profile an agent uses, read once.
struct SelectionSnapshot {
    let profiles: [AuthProfile]
    let state: AuthStateDocument
    let context: CommandContext

    init(_ context: CommandContext) throws {
        let store = try context.agentStore()
        self.context = context
        self.profiles = try store.profiles.read().sortedProfiles + context.environmentProfiles()
        self.state = try store.state.read()
    }

    /// The planner's view of a request for `provider` and `model` in an optional session.
    func plan(provider: String, model: String?, session: SessionPin?, hasSession: Bool, now: Int64) -> CandidatePlan {
        var stats: [ProfileID: UsageStats] = [:]
        for profile in profiles { stats[profile.id] = state.stats(for: profile.id) }
        let input = SelectionInput(
            provider: provider, model: model, profiles: profiles, storedOrder: state.order[provider],
            configuredOrder: context.configuration.auth.order[provider], stats: stats, hasSession: hasSession,
            sessionPin: session, now: now)
        return CandidatePlanner.plan(input, using: context.resolver)
    }

    /// The providers the agent has profiles for, sorted.
    var providers: [String] { Array(Set(profiles.map(\.provider))).sorted() }

    /// Whether a profile id names one of the agent's profiles (including `<provider>:env`).
    func contains(_ id: ProfileID) -> Bool { profiles.contains { $0.id == id } }
}

extension HealthWindow {
    /// The JSON form used by status output.
    var json: JSONValue {
        [
            "kind": .string(kind.rawValue), "reason": .string(reason.rawValue),
            "scope": model.map { .string("model:\($0)") } ?? "profile", "until": Output.jsonTime(until),
        ]
    }

    /// `cooldown rate_limit (model x) until 2026-...`.
    var text: String {
        "\(kind.rawValue) \(reason.rawValue) (\(scopeDescription)) until \(ISO8601.format(millis: until))"
    }
}
