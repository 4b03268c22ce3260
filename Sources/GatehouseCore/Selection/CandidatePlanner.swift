/// Decides which profiles a request for (provider, model) tries, in which order, and why
/// (DESIGN section 6). Pure: everything it needs is in `SelectionInput`.
public enum CandidatePlanner {
    /// How long after a probe of a provider whose profiles are all in a window another may go.
    public static let probeInterval: Int64 = 30_000
    /// A probe goes only to a profile whose window ends within this long.
    public static let probeHorizon: Int64 = 120_000

    /// Plans the candidates for one request.
    public static func plan(_ input: SelectionInput, using resolver: some SecretResolver) -> CandidatePlan {
        let now = input.now
        let ofProvider = input.profiles.filter { $0.provider == input.provider }
        var eligible: [CandidatePlan.Entry] = []
        var ineligible: [CandidatePlan.Entry] = []
        for profile in ofProvider {
            let state = profile.credentialState(now: now, using: resolver)
            let stats = input.stats[profile.id] ?? UsageStats()
            // Only an auth disable depends on the credential's fingerprint: hash only then.
            let needsFingerprint = stats.disabledFingerprint != nil && (stats.disabledUntil ?? .min) > now
            let fingerprint = needsFingerprint ? profile.fingerprint(using: resolver) : nil
            var entry = CandidatePlan.Entry(
                profile: profile, credentialState: state, isEligible: profile.isEligible(now: now, using: resolver),
                window: stats.activeWindow(model: input.model, now: now, credentialFingerprint: fingerprint),
                lastUsed: stats.lastUsed, awaitingProbe: false, probeInFlight: false)
            if entry.window == nil, stats.disabledReason == .billing {
                // A billing disable that has run out: one probe at a time until a success clears it.
                entry.awaitingProbe = true
                entry.probeInFlight = input.probesInFlight.contains(profile.id)
            }
            if entry.isEligible { eligible.append(entry) } else { ineligible.append(entry) }
        }

        // Base order: the agent's stored order, else the configuration's; an explicit order that
        // names no eligible profile (all deleted, say) is passed over for the next one.
        var orderSource = CandidatePlan.OrderSource.default
        var base: [CandidatePlan.Entry] = []
        var explicitOrders: [(CandidatePlan.OrderSource, [String])] = []
        if let stored = input.storedOrder, !stored.isEmpty { explicitOrders.append((.agent, stored)) }
        if let configured = input.configuredOrder, !configured.isEmpty { explicitOrders.append((.config, configured.map(\.description))) }
        let byName =
            explicitOrders.isEmpty ? [:] : Dictionary(eligible.map { ($0.profile.id.description, $0) }, uniquingKeysWith: { a, _ in a })
        for (source, order) in explicitOrders {
            var seen: Set<String> = []
            base = order.compactMap { id in seen.insert(id).inserted ? byName[id] : nil }
            if !base.isEmpty {
                orderSource = source
                break
            }
        }
        if base.isEmpty && !explicitOrders.isEmpty && !eligible.isEmpty { orderSource = .repaired }
        if base.isEmpty && eligible.count <= 1 {
            base = eligible
        } else if base.isEmpty {
            let lastUsed = Dictionary(eligible.map { ($0.profile.id, $0.lastUsed) }, uniquingKeysWith: { a, _ in a })
            let sorted = BaseOrder.byKindThenLeastRecentlyUsed(eligible.map(\.profile)) { lastUsed[$0] ?? nil }
            let byID = Dictionary(eligible.map { ($0.profile.id, $0) }, uniquingKeysWith: { a, _ in a })
            base = sorted.compactMap { byID[$0.id] }
        }

        // Usable now first, in base order; then windows, soonest end first.
        let usable = base.filter(\.isUsableNow)
        let waiting = base.filter { !$0.isUsableNow }.sorted { ($0.window?.until ?? .max) < ($1.window?.until ?? .max) }
        var candidates = waiting.isEmpty ? usable : usable + waiting

        // The session's pin.
        var pinAction = CandidatePlan.PinAction.none
        var pinnedFront = false
        if let pin = input.sessionPin {
            let exists = input.profiles.first { $0.id.description == pin.profile }
            if exists == nil {
                pinAction = .drop(profile: pin.profile, reason: "profile \(pin.profile) no longer exists", replacement: nil)
            } else if exists!.provider != input.provider {
                pinAction = .drop(profile: pin.profile, reason: "profile \(pin.profile) belongs to another provider", replacement: nil)
            } else if let index = candidates.firstIndex(where: { $0.profile.id.description == pin.profile }), candidates[index].isUsableNow
            {
                let entry = candidates.remove(at: index)
                candidates.insert(entry, at: 0)
                pinnedFront = true
                pinAction = .keep
            } else {
                pinAction = pin.source == .user ? .skipUserPin : .replaceAuto
            }
        }

        let decision: CandidatePlan.Decision
        if let first = candidates.first, first.isUsableNow {
            var why: String
            if pinnedFront, let pin = input.sessionPin {
                why = pin.source == .user ? "pinned by user for this session" : "the session keeps the profile it used (auto pin)"
            } else {
                switch orderSource {
                case .agent: why = "first usable in the agent's order"
                case .config: why = "first usable in auth.order of gatehouse.json"
                case .repaired: why = "the explicit order names no usable profile; default order (kind, then least recently used)"
                case .default: why = usable.count > 1 ? "least recently used of its kind" : "the only usable profile"
                }
                if first.awaitingProbe { why += "; a probe after its billing window ended" }
            }
            let skipped = base.prefix { $0.profile.id != first.profile.id }
                .filter { !$0.isUsableNow && $0.profile.id.description != input.sessionPin?.profile }
            if !skipped.isEmpty && !pinnedFront {
                why += "; skipped " + skipped.map { $0.shortStatus }.joined(separator: ", ")
            }
            if pinAction == .skipUserPin, let pin = input.sessionPin {
                let entry = candidates.first { $0.profile.id.description == pin.profile }
                why += "; the user's pin \(pin.profile) is kept but skipped while \(entry?.shortStatus ?? "it is unusable")"
            }
            decision = .use(first.profile.id, why: why)
            if input.hasSession {
                switch pinAction {
                case .none where input.sessionPin == nil: pinAction = .setAuto(first.profile.id)
                case .replaceAuto: pinAction = .replaceAutoWith(first.profile.id)
                case .drop(let profile, let reason, _): pinAction = .drop(profile: profile, reason: reason, replacement: first.profile.id)
                default: break
                }
            }
        } else if candidates.isEmpty {
            decision = .allUnavailable(CandidatePlan.AllUnavailable(status: 401, retryAt: nil, entries: []))
        } else {
            let soonest = candidates.first!
            let probeAllowed = input.lastProbeAt.map { now - $0 >= probeInterval } ?? true
            if let until = soonest.window?.until, until - now <= probeHorizon, probeAllowed {
                decision = .probe(
                    soonest.profile.id, why: "every profile is in a window; probing the one that ends soonest (\(soonest.shortStatus))")
            } else {
                let windows = candidates.compactMap(\.window)
                let allRateLimited = !windows.isEmpty && windows.count == candidates.count && windows.allSatisfy { $0.reason == .rateLimit }
                let retryAt = windows.map(\.until).min()
                decision = .allUnavailable(
                    CandidatePlan.AllUnavailable(
                        status: allRateLimited ? 429 : 503, retryAt: retryAt,
                        entries: candidates.map { ($0.profile.id, $0.window) }))
            }
        }
        return CandidatePlan(
            orderSource: orderSource, candidates: candidates, ineligible: ineligible, pinAction: pinAction, decision: decision)
    }
}

/// What the planner needs to know about one request.
public struct SelectionInput: Sendable {
    public var provider: String
    public var model: String?
    /// The agent's profiles (any provider), including `<provider>:env` profiles.
    public var profiles: [AuthProfile]
    /// The agent's stored order for the provider (`auth-state.json`), as written.
    public var storedOrder: [String]?
    /// `auth.order` for the provider from `gatehouse.json`.
    public var configuredOrder: [ProfileID]?
    public var stats: [ProfileID: UsageStats]
    /// Whether the request belongs to a named session (only then are pins set).
    public var hasSession: Bool
    public var sessionPin: SessionPin?
    /// When the last probe of this provider went out.
    public var lastProbeAt: Int64?
    /// Profiles with a probe request in flight now.
    public var probesInFlight: Set<ProfileID>
    public var now: Int64

    public init(
        provider: String, model: String?, profiles: [AuthProfile], storedOrder: [String]? = nil,
        configuredOrder: [ProfileID]? = nil, stats: [ProfileID: UsageStats] = [:], hasSession: Bool = false,
        sessionPin: SessionPin? = nil, lastProbeAt: Int64? = nil, probesInFlight: Set<ProfileID> = [], now: Int64
    ) {
        self.provider = provider
        self.model = model
        self.profiles = profiles
        self.storedOrder = storedOrder
        self.configuredOrder = configuredOrder
        self.stats = stats
        self.hasSession = hasSession
        self.sessionPin = sessionPin
        self.lastProbeAt = lastProbeAt
        self.probesInFlight = probesInFlight
        self.now = now
    }
}

/// The planner's answer: the candidates in the order to try them, what to do with the session's
/// pin, and the decision for the next request with its reason.
public struct CandidatePlan: Sendable {
    /// Where the base order came from.
    public enum OrderSource: String, Sendable, Hashable {
        case agent, config, `default`
        /// An explicit order named no usable profile, so the default order is used.
        case repaired
    }

    /// One profile as the planner sees it.
    public struct Entry: Sendable {
        public var profile: AuthProfile
        public var credentialState: CredentialState
        public var isEligible: Bool
        /// The window that stops it now, if any.
        public var window: HealthWindow?
        public var lastUsed: Int64?
        /// A billing disable ran out and no success has cleared it yet: one probe at a time.
        public var awaitingProbe: Bool
        public var probeInFlight: Bool

        /// Whether a request may go to this profile now.
        public var isUsableNow: Bool { isEligible && window == nil && !probeInFlight }

        /// `anthropic:backup (rate_limit until 2026-...)`.
        public var shortStatus: String {
            if let window {
                let scope = window.model.map { " for \($0)" } ?? ""
                return
                    "\(profile.id) (\(window.kind.rawValue) \(window.reason.rawValue)\(scope) until \(ISO8601.format(millis: window.until)))"
            }
            if probeInFlight { return "\(profile.id) (billing probe in flight)" }
            if !isEligible { return "\(profile.id) (\(credentialState.rawValue))" }
            return profile.id.description
        }
    }

    /// What happens to the session's pin.
    public enum PinAction: Sendable, Hashable {
        case none
        /// The pin is usable and goes first.
        case keep
        /// A user pin whose profile is unusable now: kept, skipped.
        case skipUserPin
        /// An auto pin whose profile is unusable now: to be replaced (see `replaceAutoWith`).
        case replaceAuto
        /// Replace the auto pin with this profile (source auto again).
        case replaceAutoWith(ProfileID)
        /// Set an auto pin for a session that has none.
        case setAuto(ProfileID)
        /// The pin names a profile that no longer exists or belongs to another provider: remove it,
        /// and pin `replacement` automatically when there is one.
        case drop(profile: String, reason: String, replacement: ProfileID?)
    }

    /// Every profile of the provider is in a window (or there is none).
    public struct AllUnavailable: Sendable {
        /// 429 when every window is a rate limit, 503 otherwise, 401 when there is no usable credential at all.
        public var status: Int
        /// The soonest end of a window.
        public var retryAt: Int64?
        /// Each profile and its window.
        public var entries: [(ProfileID, HealthWindow?)]
    }

    public enum Decision: Sendable {
        case use(ProfileID, why: String)
        /// Everything is in a window; this one request may probe the profile whose window ends soonest.
        case probe(ProfileID, why: String)
        case allUnavailable(AllUnavailable)
    }

    public var orderSource: OrderSource
    /// Eligible profiles in the order to try them.
    public var candidates: [Entry]
    /// Profiles that cannot be used at all (missing or unresolved credential, expired static token).
    public var ineligible: [Entry]
    public var pinAction: PinAction
    public var decision: Decision
}
