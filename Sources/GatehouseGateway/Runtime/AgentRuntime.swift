import GatehouseCore
import GatehouseStore
import Logging
import Synchronization

/// What the gateway keeps for one agent: its credentials (re-read when the file changes), its
/// health in memory, its sessions, and the probe bookkeeping of its providers.
final class AgentRuntime: Sendable {
    struct Probes {
        var lastProbeAt: [String: Int64] = [:]
        var inFlight: Set<ProfileID> = []
    }

    let id: String
    let store: AgentStore
    let profiles: CachedDocument<AuthProfilesDocument>
    let routing: CachedDocument<AuthStateDocument>
    let sessions: CachedDocument<SessionsDocument>
    let sessionStore: SessionStore
    let recorder: HealthRecorder
    let probes = Mutex(Probes())
    /// The load of `auth-state.json` the health recorder last adopted. Loads are adopted in order
    /// under this lock: a reader that read an older load late never adopts it over a newer one.
    private let adoptedRouting = Mutex<Int>(0)

    /// How long the request path goes on with what it read of the agent's files before it looks at
    /// them again: one `stat` per file per millisecond under load instead of one per request, and
    /// an edit is seen by the requests that start a millisecond after it.
    static let recheckAfter = Duration.milliseconds(1)

    /// The agent's profiles by provider (stored ones in id order, then the environment's), kept
    /// until the credential file or the configuration changes.
    private struct ProfileIndex {
        var version: Int
        /// The configuration it was made with (kept, so that its identity is never another's).
        var configuration: GatewayState.Snapshot
        var byProvider: [String: [AuthProfile]]
    }

    private let profileIndex = Mutex<ProfileIndex?>(nil)

    /// The profiles that can serve `provider`, in id order, the environment's last; and, for a
    /// session pin that names a profile of another provider, that profile too (the planner tells the
    /// pin's owner from the profiles it is given).
    /// Returns them with the number of the credential file's load they come from.
    func profiles(of provider: String, pinned: String?, in snapshot: GatewayState.Snapshot) throws -> (
        profiles: [AuthProfile], version: Int
    ) {
        let (result, _, version) = self.profiles.currentVersioned()
        let index = try profileIndex.withLock { cached -> ProfileIndex in
            if let cached, cached.version == version, cached.configuration === snapshot { return cached }
            let all = try result.get().sortedProfiles + snapshot.environmentProfiles
            let made = ProfileIndex(version: version, configuration: snapshot, byProvider: Dictionary(grouping: all, by: \.provider))
            cached = made
            return made
        }
        let own = index.byProvider[provider] ?? []
        guard let pinned, let id = try? ProfileID(parsing: pinned), id.provider != provider,
            let other = index.byProvider[id.provider]?.first(where: { $0.id == id })
        else { return (own, version) }
        return (own + [other], version)
    }

    /// The agent's `auth-state.json` as it is now (order and stats); a load the health recorder has
    /// not adopted yet is adopted first, whichever caller reads it.
    func currentRouting() throws -> AuthStateDocument {
        try currentRoutingVersioned().document
    }

    /// `currentRouting()` with the number of its load.
    private func currentRoutingVersioned() throws -> (document: AuthStateDocument, version: Int) {
        let (result, _, version) = routing.currentVersioned()
        let document = try result.get()
        adoptedRouting.withLock { adopted in
            guard version > adopted else { return }
            recorder.adopt(document)
            adopted = version
        }
        return (document, version)
    }

    // MARK: Selection

    /// A plan kept for the requests without a session that follow, and what it was made from. A
    /// class: it is kept in several places (the agent's plans, client connections) without copies.
    final class KeptPlan: Sendable {
        let profilesVersion: Int
        let routingVersion: Int
        /// The configuration it was made with (held, so that its identity is never another's).
        let configuration: GatewayState.Snapshot
        let healthGeneration: UInt64
        /// It holds from when it was made until the first window or credential expiry it saw ends.
        let madeAt: Int64
        let validUntil: Int64
        let plan: CandidatePlan

        init(
            profilesVersion: Int, routingVersion: Int, configuration: GatewayState.Snapshot, healthGeneration: UInt64, madeAt: Int64,
            validUntil: Int64, plan: CandidatePlan
        ) {
            self.profilesVersion = profilesVersion
            self.routingVersion = routingVersion
            self.configuration = configuration
            self.healthGeneration = healthGeneration
            self.madeAt = madeAt
            self.validUntil = validUntil
            self.plan = plan
        }
    }

    private struct PlanKey: Hashable {
        var provider: String
        var model: String
    }

    /// The kept plans, all made with one configuration: a plan made with a new one drops the others.
    private let keptPlans = Mutex<[PlanKey: KeptPlan]>([:])
    /// How many plans were made (not reused).
    let plansMade = Atomic<Int>(0)

    /// Plans the candidates of a request for `provider`'s `model` (DESIGN section 6) from the
    /// agent's credentials, order and health as they are now.
    ///
    /// A request without a session gets the plan the last one got while nothing that plan was made
    /// from has changed: the credential file and `auth-state.json` (their loads), the configuration,
    /// the health state (`HealthRecorder.selectionGeneration`, which every failure, recovery and
    /// adopted disk state moves) and the clock up to the first window end or credential expiry the
    /// plan saw. Plans that read anything else are made anew every time: a session's (its pin), a
    /// probe's, one that found no usable profile, one whose order is least recently used first
    /// among several profiles (every request changes it), and one with a secret read from a file.
    ///
    /// `connectionKept`: the plan a client connection kept from its last request for this provider
    /// and model (nil for none); used while it holds, and replaced by the plan returned when that
    /// one is kept. It saves the lookup in the plans the agent keeps for every connection.
    func plan(
        provider: String, model: String, session: String?, in snapshot: GatewayState.Snapshot, now: Int64,
        connectionKept: inout KeptPlan?
    ) throws -> CandidatePlan {
        // A load of auth-state.json this plan was made from has been adopted by the recorder already.
        if session == nil, let kept = connectionKept, isCurrent(kept, snapshot: snapshot, now: now) { return kept.plan }
        let key = PlanKey(provider: provider, model: model)
        if session == nil, let kept = keptPlans.withLock({ $0[key] }), kept !== connectionKept,
            isCurrent(kept, snapshot: snapshot, now: now)
        {
            connectionKept = kept
            return kept.plan
        }
        connectionKept = nil
        let (routing, routingVersion) = try currentRoutingVersioned()
        let pin = try session.flatMap { key in try sessions.current().get().sessions[key]?.pin }
        let (profiles, profilesVersion) = try self.profiles(of: provider, pinned: pin?.profile, in: snapshot)
        let (stats, healthGeneration) = recorder.statsForSelection()
        let probes = self.probes.withLock { $0 }
        plansMade.add(1, ordering: .relaxed)
        let plan = CandidatePlanner.plan(
            SelectionInput(
                provider: provider, model: model, profiles: profiles, storedOrder: routing.order[provider],
                configuredOrder: snapshot.configuration.auth.order[provider], stats: stats, hasSession: session != nil,
                sessionPin: pin, lastProbeAt: probes.lastProbeAt[provider], probesInFlight: probes.inFlight, now: now),
            using: snapshot.resolver)
        if session == nil, let validUntil = Self.reusableUntil(plan, now: now) {
            let kept = KeptPlan(
                profilesVersion: profilesVersion, routingVersion: routingVersion, configuration: snapshot,
                healthGeneration: healthGeneration, madeAt: now, validUntil: validUntil, plan: plan)
            keptPlans.withLock { plans in
                if let other = plans.first?.value, other.configuration !== snapshot { plans.removeAll() }
                plans[key] = kept
            }
            connectionKept = kept
        }
        return plan
    }

    /// Whether `kept` holds for a request at `now` under `snapshot`: made with that configuration,
    /// within its time, and the credential file, `auth-state.json` and the health state are as they
    /// were when it was made (one clock read for both files).
    private func isCurrent(_ kept: KeptPlan, snapshot: GatewayState.Snapshot, now: Int64) -> Bool {
        guard kept.configuration === snapshot, kept.madeAt <= now, now < kept.validUntil else { return false }
        let clock = WallClock.monotonicNanos()
        return kept.routingVersion == routing.currentVersion(now: clock) && kept.profilesVersion == profiles.currentVersion(now: clock)
            && kept.healthGeneration == recorder.selectionGeneration()
    }

    /// Until when a plan for a request without a session holds as long as its inputs do not change;
    /// nil for a plan that is made anew every time.
    private static func reusableUntil(_ plan: CandidatePlan, now: Int64) -> Int64? {
        guard case .use = plan.decision, plan.pinAction == .none else { return nil }
        // The default order of several profiles is least recently used first: it moves with every request.
        if plan.orderSource == .default || plan.orderSource == .repaired, plan.candidates.count > 1 { return nil }
        var until = Int64.max
        for entry in plan.candidates + plan.ineligible {
            if entry.awaitingProbe || entry.probeInFlight { return nil }
            // A secret in a file can change without anything else changing.
            switch entry.profile.credential {
            case .apiKey(let key): if key.keyRef?.source == .file { return nil }
            case .token(let token): if token.tokenRef?.source == .file { return nil }
            case .oauth: break
            }
            if let end = entry.window?.until { until = min(until, end) }
            if let expires = entry.profile.credential.expires, expires > now { until = min(until, expires) }
        }
        return until
    }

    init(home: GatehouseHome, id: String, policy: CooldownPolicy, events: HealthEventBroadcaster, logger: Logger) throws {
        self.id = id
        self.store = try AgentStore(home: home, agentID: id)
        self.profiles = CachedDocument(file: store.profiles, recheckAfter: Self.recheckAfter)
        self.routing = CachedDocument(file: store.state, recheckAfter: Self.recheckAfter)
        self.sessionStore = SessionStore(home: home, agentID: id, logger: logger)
        self.sessions = CachedDocument(file: sessionStore.file, recheckAfter: Self.recheckAfter)
        self.recorder = HealthRecorder(store: store, policy: policy, events: events, logger: logger)
    }
}
