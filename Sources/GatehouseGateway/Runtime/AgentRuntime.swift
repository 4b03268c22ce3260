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

    init(home: GatehouseHome, id: String, policy: CooldownPolicy, events: HealthEventBroadcaster, logger: Logger) throws {
        self.id = id
        self.store = try AgentStore(home: home, agentID: id)
        self.profiles = CachedDocument(file: store.profiles)
        self.routing = CachedDocument(file: store.state)
        self.sessionStore = SessionStore(home: home, agentID: id, logger: logger)
        self.sessions = CachedDocument(file: sessionStore.file)
        self.recorder = HealthRecorder(store: store, policy: policy, events: events, logger: logger)
    }
}
