import GatehouseCore
import Testing

/// DESIGN section 6: eligibility, base order, windows, session pins, the all-unavailable answer and
/// probes, as decided by `CandidatePlanner.plan`.
@Suite struct CandidatePlannerTests {

    /// 2025-06-15T15:06:40Z.
    static let now: Int64 = 1_750_000_000_000
    static let second: Int64 = 1_000
    static let minute: Int64 = 60_000

    static let resolver = StaticSecretResolver(environment: [
        "ANTHROPIC_API_KEY": "sk-ant-api03-from-env",
        "OPENAI_API_KEY": "sk-proj-from-env",
    ])

    // MARK: Builders

    static func id(_ text: String) -> ProfileID {
        // Every id in this file is valid; a bad one is a mistake in the test.
        try! ProfileID(parsing: text)
    }

    static func apiKey(_ text: String, key: String? = nil) -> AuthProfile {
        AuthProfile(id: id(text), credential: .apiKey(APIKeyCredential(key: key ?? "sk-key-\(text)")))
    }

    static func token(_ text: String, expires: Int64? = nil) -> AuthProfile {
        AuthProfile(id: id(text), credential: .token(TokenCredential(token: "sk-ant-oat01-\(text)", expires: expires)))
    }

    static func oauth(_ text: String, access: String? = "access", refresh: String? = "refresh", expires: Int64? = now + 3_600_000) -> AuthProfile {
        AuthProfile(id: id(text), credential: .oauth(OAuthCredential(access: access, refresh: refresh, expires: expires)))
    }

    static let anthropicEnv = AuthProfile.environment(provider: "anthropic", variable: "ANTHROPIC_API_KEY")!

    static let a = apiKey("anthropic:a")
    static let b = apiKey("anthropic:b")
    static let c = apiKey("anthropic:c")
    static let d = apiKey("anthropic:d")

    static func cooling(_ reason: FailureReason = .rateLimit, until: Int64, model: String? = nil) -> UsageStats {
        UsageStats(errorCount: 1, failureCounts: [reason.rawValue: 1], lastFailureAt: now - second,
                   cooldownUntil: until, cooldownReason: reason, cooldownModel: model)
    }

    static func disabled(_ reason: FailureReason, until: Int64) -> UsageStats {
        UsageStats(errorCount: 1, failureCounts: [reason.rawValue: 1], lastFailureAt: now - second,
                   disabledUntil: until, disabledReason: reason)
    }

    static func input(
        model: String? = "claude-sonnet-4-5", profiles: [AuthProfile], stored: [String]? = nil, config: [AuthProfile]? = nil,
        stats: [ProfileID: UsageStats] = [:], session: Bool = false, pin: SessionPin? = nil, lastProbeAt: Int64? = nil,
        probesInFlight: Set<ProfileID> = [], at time: Int64 = now
    ) -> SelectionInput {
        SelectionInput(
            provider: "anthropic", model: model, profiles: profiles, storedOrder: stored, configuredOrder: config?.map(\.id),
            stats: stats, hasSession: session, sessionPin: pin, lastProbeAt: lastProbeAt, probesInFlight: probesInFlight,
            now: time)
    }

    static func plan(_ input: SelectionInput) -> CandidatePlan {
        CandidatePlanner.plan(input, using: resolver)
    }

    static func ids(_ entries: [CandidatePlan.Entry]) -> [String] {
        entries.map(\.profile.id.description)
    }

    static func ids(_ profiles: AuthProfile...) -> [String] {
        profiles.map(\.id.description)
    }

    /// The profile the decision uses, or `nil` when it probes or answers that all are unavailable.
    static func used(_ plan: CandidatePlan) -> ProfileID? {
        if case .use(let id, _) = plan.decision { return id }
        return nil
    }

    static func probed(_ plan: CandidatePlan) -> ProfileID? {
        if case .probe(let id, _) = plan.decision { return id }
        return nil
    }

    static func allUnavailable(_ plan: CandidatePlan) -> CandidatePlan.AllUnavailable? {
        if case .allUnavailable(let answer) = plan.decision { return answer }
        return nil
    }

    // MARK: 1. Eligibility

    @Test func brokenCredentialsAreIneligibleAndExpiredOAuthWithRefreshIsEligible() throws {
        let missingKey = AuthProfile(id: Self.id("anthropic:no-key"), credential: .apiKey(APIKeyCredential()))
        let emptyKey = Self.apiKey("anthropic:empty-key", key: "")
        let unresolved = AuthProfile(
            id: Self.id("anthropic:ci"), credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: "CI_ANTHROPIC_KEY"))))
        let expiredToken = Self.token("anthropic:old-token", expires: Self.now - 1)
        let expiredLoginWithRefresh = Self.oauth("anthropic:me@example.com", expires: Self.now - Self.minute)
        let expiredLoginWithoutRefresh = Self.oauth("anthropic:gone@example.com", refresh: nil, expires: Self.now - Self.minute)
        let good = Self.apiKey("anthropic:good")

        let plan = Self.plan(Self.input(profiles: [
            missingKey, emptyKey, unresolved, expiredToken, expiredLoginWithRefresh, expiredLoginWithoutRefresh, good,
        ]))
        #expect(Set(Self.ids(plan.ineligible)) == Set(Self.ids(missingKey, emptyKey, unresolved, expiredToken, expiredLoginWithoutRefresh)))
        #expect(Set(Self.ids(plan.candidates)) == Set(Self.ids(expiredLoginWithRefresh, good)))
        let states = Dictionary(uniqueKeysWithValues: plan.ineligible.map { ($0.profile.id.description, $0.credentialState) })
        #expect(states["anthropic:no-key"] == .missingCredential)
        #expect(states["anthropic:empty-key"] == .missingCredential)
        #expect(states["anthropic:ci"] == .unresolvedRef)
        #expect(states["anthropic:old-token"] == .expired)
        let login = try #require(plan.candidates.first { $0.profile.id == expiredLoginWithRefresh.id })
        #expect(login.credentialState == .expired)
        #expect(login.isUsableNow)
        // OAuth ranks first in the default order, and it can refresh: it is the one used.
        #expect(Self.used(plan) == expiredLoginWithRefresh.id)
    }

    @Test func ineligibleProfilesAreNeverCandidatesEvenWhenAnOrderNamesThem() {
        let expiredToken = Self.token("anthropic:old-token", expires: Self.now - 1)
        let plan = Self.plan(Self.input(profiles: [expiredToken, Self.a], config: [expiredToken, Self.a]))
        #expect(Self.ids(plan.candidates) == Self.ids(Self.a))
        #expect(Self.ids(plan.ineligible) == Self.ids(expiredToken))
        #expect(plan.orderSource == .config)
    }

    // MARK: 2. Base order

    @Test func storedOrderBeatsConfigOrder() {
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b, Self.c], stored: ["anthropic:c", "anthropic:a"], config: [Self.a, Self.b, Self.c]))
        #expect(plan.orderSource == .agent)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.c, Self.a))
        #expect(Self.used(plan) == Self.c.id)
    }

    @Test func configOrderBeatsTheDefaultAndIsRestrictedToItsProfiles() {
        let login = Self.oauth("anthropic:me@example.com")
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b, Self.c, login, Self.anthropicEnv], config: [Self.c, Self.a]))
        #expect(plan.orderSource == .config)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.c, Self.a))
        #expect(Self.used(plan) == Self.c.id)
    }

    @Test func emptyStoredOrderFallsThroughToTheConfigOrder() {
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], stored: [], config: [Self.b, Self.a]))
        #expect(plan.orderSource == .config)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.b, Self.a))
    }

    @Test func explicitOrderSkipsUnknownNamesAndRepeats() {
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b, Self.c], stored: ["anthropic:gone", "anthropic:b", "anthropic:b", "anthropic:a"]))
        #expect(plan.orderSource == .agent)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.b, Self.a))
    }

    @Test func defaultOrderIsKindThenLeastRecentlyUsedWithTheEnvironmentProfileLast() {
        let k1 = Self.apiKey("anthropic:k1")
        let k2 = Self.apiKey("anthropic:k2")
        let k3 = Self.apiKey("anthropic:k3")
        let t1 = Self.token("anthropic:t1")
        let t2 = Self.token("anthropic:t2")
        let o1 = Self.oauth("anthropic:o1")
        let env = Self.anthropicEnv
        let stats: [ProfileID: UsageStats] = [
            k1.id: UsageStats(lastUsed: Self.now - 1 * Self.second),
            k3.id: UsageStats(lastUsed: Self.now - 5 * Self.second),
            t1.id: UsageStats(lastUsed: Self.now),
            o1.id: UsageStats(lastUsed: Self.now - 1),
            // Least recently used of all, and still last.
            env.id: UsageStats(lastUsed: Self.now - 3_600_000),
        ]
        let plan = Self.plan(Self.input(profiles: [env, k1, t1, k3, o1, k2, t2], stats: stats))
        #expect(plan.orderSource == .default)
        #expect(Self.ids(plan.candidates) == Self.ids(o1, t2, t1, k2, k3, k1, env))
        #expect(Self.used(plan) == o1.id)
    }

    @Test func neverUsedProfilesOfOneKindGoInIdOrder() {
        let plan = Self.plan(Self.input(profiles: [Self.c, Self.a, Self.b]))
        #expect(Self.ids(plan.candidates) == Self.ids(Self.a, Self.b, Self.c))
    }

    @Test func storedOrderNamingOnlyDeletedProfilesIsRepairedToTheDefaultOrder() {
        let k1 = Self.apiKey("anthropic:k1")
        let t1 = Self.token("anthropic:t1")
        let plan = Self.plan(Self.input(profiles: [k1, t1], stored: ["anthropic:deleted", "anthropic:also-deleted"]))
        #expect(plan.orderSource == .repaired)
        #expect(Self.ids(plan.candidates) == Self.ids(t1, k1))
        #expect(Self.used(plan) == t1.id)
    }

    @Test func storedOrderNamingOnlyDeletedProfilesFallsBackToTheConfiguredOrder() {
        let k1 = Self.apiKey("anthropic:k1")
        let k2 = Self.apiKey("anthropic:k2")
        let plan = Self.plan(Self.input(profiles: [k1, k2], stored: ["anthropic:deleted"], config: [k2, k1]))
        #expect(plan.orderSource == .config)
        #expect(Self.ids(plan.candidates) == Self.ids(k2, k1))
    }

    @Test func configOrderNamingOnlyDeletedProfilesIsRepairedToTheDefaultOrder() {
        let k1 = Self.apiKey("anthropic:k1")
        let t1 = Self.token("anthropic:t1")
        let deleted = Self.apiKey("anthropic:deleted")
        let plan = Self.plan(Self.input(profiles: [k1, t1], config: [deleted]))
        #expect(plan.orderSource == .repaired)
        #expect(Self.ids(plan.candidates) == Self.ids(t1, k1))
    }

    // MARK: 3. Usable first, then windows

    @Test func usableProfilesComeFirstInBaseOrderThenWindowsSoonestEndFirst() {
        let stats: [ProfileID: UsageStats] = [
            Self.a.id: Self.disabled(.auth, until: Self.now + 10 * Self.minute),
            Self.c.id: Self.cooling(.overloaded, until: Self.now + 10 * Self.second),
        ]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b, Self.c, Self.d], config: [Self.a, Self.b, Self.c, Self.d], stats: stats))
        #expect(Self.ids(plan.candidates) == Self.ids(Self.b, Self.d, Self.c, Self.a))
        #expect(plan.candidates.map(\.isUsableNow) == [true, true, false, false])
        #expect(plan.candidates[2].window?.until == Self.now + 10 * Self.second)
        #expect(plan.candidates[3].window?.kind == .disabled)
        #expect(Self.used(plan) == Self.b.id)
    }

    @Test func windowThatHasEndedNoLongerCounts() {
        let stats = [Self.a.id: Self.cooling(until: Self.now)]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        #expect(Self.ids(plan.candidates) == Self.ids(Self.a, Self.b))
        #expect(Self.used(plan) == Self.a.id)
    }

    @Test func modelScopedWindowOnlyAffectsThatModel() {
        let stats = [Self.a.id: Self.cooling(.rateLimit, until: Self.now + 30 * Self.second, model: "claude-opus-4-1")]
        let other = Self.plan(Self.input(model: "claude-sonnet-4-5", profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        #expect(Self.ids(other.candidates) == Self.ids(Self.a, Self.b))
        #expect(other.candidates[0].window == nil)
        #expect(Self.used(other) == Self.a.id)

        let same = Self.plan(Self.input(model: "claude-opus-4-1", profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        #expect(Self.ids(same.candidates) == Self.ids(Self.b, Self.a))
        #expect(same.candidates[1].window?.model == "claude-opus-4-1")
        #expect(Self.used(same) == Self.b.id)
    }

    // MARK: 4. Session pins

    @Test(arguments: PinSource.allCases)
    func usablePinGoesFirst(_ source: PinSource) {
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b, Self.c], config: [Self.a, Self.b, Self.c], session: true,
            pin: SessionPin(profile: "anthropic:c", source: source, setAt: Self.now - Self.minute)))
        #expect(Self.ids(plan.candidates) == Self.ids(Self.c, Self.a, Self.b))
        #expect(plan.pinAction == .keep)
        #expect(Self.used(plan) == Self.c.id)
    }

    @Test func userPinInAWindowIsKeptButSkipped() {
        let stats = [Self.a.id: Self.cooling(.rateLimit, until: Self.now + Self.minute)]
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, session: true,
            pin: SessionPin(profile: "anthropic:a", source: .user)))
        #expect(plan.pinAction == .skipUserPin)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.b, Self.a))
        #expect(Self.used(plan) == Self.b.id)
    }

    @Test func autoPinInAWindowIsReplacedByTheFirstUsable() {
        let stats = [Self.c.id: Self.cooling(.rateLimit, until: Self.now + Self.minute)]
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b, Self.c], config: [Self.c, Self.b, Self.a], stats: stats, session: true,
            pin: SessionPin(profile: "anthropic:c", source: .auto)))
        #expect(plan.pinAction == .replaceAutoWith(Self.b.id))
        #expect(Self.used(plan) == Self.b.id)
    }

    /// The parts of a `.drop` pin action, or `nil` (with an issue recorded) for any other action.
    static func dropped(
        _ action: CandidatePlan.PinAction, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (profile: String, reason: String, replacement: ProfileID?)? {
        if case .drop(let profile, let reason, let replacement) = action { return (profile, reason, replacement) }
        Issue.record("expected the pin to be dropped, got \(action)", sourceLocation: sourceLocation)
        return nil
    }

    @Test(arguments: PinSource.allCases)
    func pinToADeletedProfileIsDroppedAndReplacedByANewAutoPin(_ source: PinSource) throws {
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b], config: [Self.a, Self.b], session: true,
            pin: SessionPin(profile: "anthropic:deleted", source: source)))
        let drop = try #require(Self.dropped(plan.pinAction))
        #expect(drop.profile == "anthropic:deleted")
        #expect(drop.reason.contains("no longer exists"))
        #expect(drop.replacement == Self.a.id, "the session is pinned auto to the profile it now uses")
        #expect(Self.used(plan) == Self.a.id)
    }

    @Test(arguments: PinSource.allCases)
    func pinToAnotherProvidersProfileIsDroppedAndReplacedByANewAutoPin(_ source: PinSource) throws {
        let openAI = Self.apiKey("openai:work")
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b, openAI], config: [Self.a, Self.b], session: true,
            pin: SessionPin(profile: "openai:work", source: source)))
        let drop = try #require(Self.dropped(plan.pinAction))
        #expect(drop.profile == "openai:work")
        #expect(drop.reason.contains("another provider"))
        #expect(drop.replacement == Self.a.id)
        #expect(Self.ids(plan.candidates) == Self.ids(Self.a, Self.b))
        #expect(Self.used(plan) == Self.a.id)
    }

    @Test func droppedPinHasNoReplacementWhenEveryProfileIsInAWindow() throws {
        let stats: [ProfileID: UsageStats] = [
            Self.a.id: Self.cooling(.rateLimit, until: Self.now + 10 * Self.minute),
            Self.b.id: Self.cooling(.rateLimit, until: Self.now + 20 * Self.minute),
        ]
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, session: true,
            pin: SessionPin(profile: "anthropic:deleted", source: .auto)))
        let drop = try #require(Self.dropped(plan.pinAction))
        #expect(drop.replacement == nil)
        let answer = try #require(Self.allUnavailable(plan))
        #expect(answer.status == 429)
    }

    @Test func sessionWithoutAPinGetsAnAutoPinOnTheChosenProfile() {
        let stats = [Self.a.id: Self.cooling(.overloaded, until: Self.now + Self.minute)]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, session: true))
        #expect(plan.pinAction == .setAuto(Self.b.id))
        #expect(Self.used(plan) == Self.b.id)
    }

    @Test func requestWithoutASessionNeverSetsAPin() {
        let stats = [Self.a.id: Self.cooling(.overloaded, until: Self.now + Self.minute)]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, session: false))
        #expect(plan.pinAction == .none)
        #expect(Self.used(plan) == Self.b.id)
    }

    // MARK: All unavailable and probes

    @Test func everyProfileRateLimitedAnswers429WithTheSoonestEnd() throws {
        let stats: [ProfileID: UsageStats] = [
            Self.a.id: Self.cooling(.rateLimit, until: Self.now + 10 * Self.minute),
            Self.b.id: Self.cooling(.rateLimit, until: Self.now + 5 * Self.minute),
            Self.c.id: Self.cooling(.rateLimit, until: Self.now + 7 * Self.minute, model: "claude-sonnet-4-5"),
        ]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b, Self.c], config: [Self.a, Self.b, Self.c], stats: stats))
        let answer = try #require(Self.allUnavailable(plan))
        #expect(answer.status == 429)
        #expect(answer.retryAt == Self.now + 5 * Self.minute)
        #expect(answer.entries.map(\.0.description) == Self.ids(Self.b, Self.c, Self.a))
        #expect(answer.entries.map { $0.1?.until } == [Self.now + 5 * Self.minute, Self.now + 7 * Self.minute, Self.now + 10 * Self.minute])
        #expect(answer.entries.allSatisfy { $0.1?.reason == .rateLimit })
    }

    struct MixedCase: Sendable, CustomTestStringConvertible {
        var label: String
        var second: UsageStats
        var testDescription: String { label }
    }

    @Test(arguments: [
        MixedCase(label: "rate limit and overloaded", second: cooling(.overloaded, until: now + 6 * minute)),
        MixedCase(label: "rate limit and timeout", second: cooling(.timeout, until: now + 6 * minute)),
        MixedCase(label: "rate limit and an auth disable", second: disabled(.auth, until: now + 6 * minute)),
        MixedCase(label: "rate limit and a billing disable", second: disabled(.billing, until: now + 6 * minute)),
    ])
    func anyWindowOtherThanARateLimitMakesIt503(_ c: MixedCase) throws {
        let stats: [ProfileID: UsageStats] = [
            Self.a.id: Self.cooling(.rateLimit, until: Self.now + 5 * Self.minute),
            Self.b.id: c.second,
        ]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        let answer = try #require(Self.allUnavailable(plan))
        #expect(answer.status == 503)
        #expect(answer.retryAt == Self.now + 5 * Self.minute)
        #expect(answer.entries.count == 2)
        #expect(answer.entries.allSatisfy { $0.1 != nil })
    }

    struct ProbeCase: Sendable, CustomTestStringConvertible {
        var label: String
        var soonestEndsIn: Int64
        var lastProbeAgo: Int64?
        var probes: Bool
        var testDescription: String { label }
    }

    @Test(arguments: [
        ProbeCase(label: "ends in 90 s, never probed", soonestEndsIn: 90_000, lastProbeAgo: nil, probes: true),
        ProbeCase(label: "ends in exactly 2 min", soonestEndsIn: 120_000, lastProbeAgo: nil, probes: true),
        ProbeCase(label: "ends in 2 min and 1 ms", soonestEndsIn: 120_001, lastProbeAgo: nil, probes: false),
        ProbeCase(label: "last probe 31 s ago", soonestEndsIn: 90_000, lastProbeAgo: 31_000, probes: true),
        ProbeCase(label: "last probe exactly 30 s ago", soonestEndsIn: 90_000, lastProbeAgo: 30_000, probes: true),
        ProbeCase(label: "last probe 10 s ago", soonestEndsIn: 90_000, lastProbeAgo: 10_000, probes: false),
        ProbeCase(label: "ends in 10 min", soonestEndsIn: 600_000, lastProbeAgo: nil, probes: false),
    ])
    func probeGoesToTheSoonestWindowWithinTwoMinutesAtMostOncePer30s(_ c: ProbeCase) throws {
        let stats: [ProfileID: UsageStats] = [
            Self.a.id: Self.cooling(.rateLimit, until: Self.now + 20 * Self.minute),
            Self.b.id: Self.cooling(.rateLimit, until: Self.now + c.soonestEndsIn),
        ]
        let plan = Self.plan(Self.input(
            profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, lastProbeAt: c.lastProbeAgo.map { Self.now - $0 }))
        if c.probes {
            #expect(Self.probed(plan) == Self.b.id)
        } else {
            let answer = try #require(Self.allUnavailable(plan))
            #expect(answer.status == 429)
            #expect(answer.retryAt == Self.now + c.soonestEndsIn)
        }
    }

    @Test func endedBillingDisableAwaitsAProbeAndIsNotUsableWhileOneIsInFlight() throws {
        let stats = [Self.a.id: Self.disabled(.billing, until: Self.now - Self.second)]

        let free = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        let entry = try #require(free.candidates.first)
        #expect(entry.profile.id == Self.a.id)
        #expect(entry.awaitingProbe)
        #expect(!entry.probeInFlight)
        #expect(entry.isUsableNow)
        #expect(Self.used(free) == Self.a.id)

        let busy = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats, probesInFlight: [Self.a.id]))
        #expect(Self.ids(busy.candidates) == Self.ids(Self.b, Self.a))
        let waiting = try #require(busy.candidates.last)
        #expect(waiting.awaitingProbe)
        #expect(waiting.probeInFlight)
        #expect(!waiting.isUsableNow)
        #expect(Self.used(busy) == Self.b.id)
    }

    @Test func activeBillingDisableIsAWindowNotAProbe() throws {
        let stats = [Self.a.id: Self.disabled(.billing, until: Self.now + Self.minute)]
        let plan = Self.plan(Self.input(profiles: [Self.a, Self.b], config: [Self.a, Self.b], stats: stats))
        let entry = try #require(plan.candidates.last)
        #expect(entry.profile.id == Self.a.id)
        #expect(entry.window?.reason == .billing)
        #expect(!entry.awaitingProbe)
        #expect(Self.used(plan) == Self.b.id)
    }

    @Test func noProfilesAtAllAnswers401() throws {
        let none = try #require(Self.allUnavailable(Self.plan(Self.input(profiles: []))))
        #expect(none.status == 401)
        #expect(none.retryAt == nil)
        #expect(none.entries.isEmpty)

        let otherProvider = try #require(Self.allUnavailable(Self.plan(Self.input(profiles: [Self.apiKey("openai:work")]))))
        #expect(otherProvider.status == 401)

        let broken = Self.plan(Self.input(profiles: [Self.apiKey("anthropic:empty", key: "")]))
        let brokenAnswer = try #require(Self.allUnavailable(broken))
        #expect(brokenAnswer.status == 401)
        #expect(Self.ids(broken.ineligible) == ["anthropic:empty"])
    }

    // MARK: Field report: session-auth-override-inheritance

    /// Three Anthropic token profiles, `default` first in the configured order; `backup1` took a rate
    /// limit after an auto failover had pinned a session to it. Times are the report's own.
    @Test func fieldReportNewSessionsDoNotInheritTheRateLimitedBackup() {
        let primary = Self.token("anthropic:default")
        let backup1 = Self.token("anthropic:backup1")
        let backup2 = Self.token("anthropic:backup2")
        let profiles = [primary, backup1, backup2]
        let backupCooldownUntil: Int64 = 1_775_552_797_656
        let primaryLastUsed: Int64 = 1_775_552_848_071
        let stats: [ProfileID: UsageStats] = [
            primary.id: UsageStats(lastUsed: primaryLastUsed - 120_000, errorCount: 0),
            backup1.id: UsageStats(errorCount: 1, cooldownUntil: backupCooldownUntil, cooldownReason: .rateLimit),
        ]
        let autoPin = SessionPin(profile: "anthropic:backup1", source: .auto, setAt: backupCooldownUntil - 5 * Self.minute)
        func plan(at time: Int64, pin: SessionPin?) -> CandidatePlan {
            Self.plan(Self.input(
                model: "claude-opus-4-6", profiles: profiles, config: profiles, stats: stats, session: true, pin: pin, at: time))
        }

        // While backup1 is rate limited: the session pinned to it goes to the default, pinned auto again.
        let during = backupCooldownUntil - Self.minute
        let continuing = plan(at: during, pin: autoPin)
        #expect(Self.used(continuing) == primary.id)
        #expect(continuing.pinAction == .replaceAutoWith(primary.id))

        // A new session has no pin to inherit: the default, and a fresh auto pin on it.
        let fresh = plan(at: during, pin: nil)
        #expect(Self.used(fresh) == primary.id)
        #expect(fresh.pinAction == .setAuto(primary.id))

        // After backup1's window: a session still pinned auto to it keeps it (cache locality)...
        let after = primaryLastUsed
        let keeps = plan(at: after, pin: autoPin)
        #expect(Self.used(keeps) == backup1.id)
        #expect(keeps.pinAction == .keep)

        // ...while a new session starts from the order again, on the default.
        let later = plan(at: after, pin: nil)
        #expect(Self.used(later) == primary.id)
        #expect(later.pinAction == .setAuto(primary.id))
    }

    @Test func fieldReportUserPinToTheBackupSurvivesItsWindow() {
        let primary = Self.token("anthropic:default")
        let backup1 = Self.token("anthropic:backup1")
        let profiles = [primary, backup1]
        let until = Self.now + Self.minute
        let stats = [backup1.id: UsageStats(errorCount: 1, cooldownUntil: until, cooldownReason: .rateLimit)]
        let pin = SessionPin(profile: "anthropic:backup1", source: .user)

        let during = Self.plan(Self.input(profiles: profiles, config: profiles, stats: stats, session: true, pin: pin))
        #expect(Self.used(during) == primary.id)
        #expect(during.pinAction == .skipUserPin)

        let after = Self.plan(Self.input(profiles: profiles, config: profiles, stats: stats, session: true, pin: pin, at: until))
        #expect(Self.used(after) == backup1.id)
        #expect(after.pinAction == .keep)
    }
}
