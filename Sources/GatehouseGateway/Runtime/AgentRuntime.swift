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
    /// The load of `auth-state.json` the health recorder last adopted.
    private let adoptedRouting = Atomic<Int>(0)

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
    func profiles(of provider: String, pinned: String?, in snapshot: GatewayState.Snapshot) throws -> [AuthProfile] {
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
        else { return own }
        return own + [other]
    }

    /// The agent's `auth-state.json` as it is now (order and stats); a load the health recorder has
    /// not adopted yet is adopted first, whichever caller reads it.
    func currentRouting() throws -> AuthStateDocument {
        let (result, _, version) = routing.currentVersioned()
        let document = try result.get()
        if adoptedRouting.exchange(version, ordering: .relaxed) != version { recorder.adopt(document) }
        return document
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
