import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Logging
import Synchronization

/// The gateway's view of its configuration and agents. The configuration is swapped whole on a
/// reload; agents are created for every configured agent and kept.
final class GatewayState: Sendable {
    /// One consistent configuration (shared, not copied, by the requests that read it).
    final class Snapshot: Sendable {
        let configuration: GatehouseConfiguration
        /// The agent of a request that names none (worked out once, not per request).
        let defaultAgentID: String
        let providers: [String: ProviderDefinition]
        /// The providers' model list entries, encoded once for every agent's model view.
        let modelCatalog: EncodedModelCatalog
        /// `<provider>:env` profiles for keys in the environment.
        let environmentProfiles: [AuthProfile]
        let resolver: EnvironmentSecretResolver
        let policy: CooldownPolicy
        /// Each provider's upstream URL for its wire format, parsed once per configuration.
        let upstreamURLs: [String: Result<UpstreamURL, UpstreamError>]

        init(
            configuration: GatehouseConfiguration, providers: [String: ProviderDefinition], modelCatalog: EncodedModelCatalog,
            environmentProfiles: [AuthProfile], resolver: EnvironmentSecretResolver, policy: CooldownPolicy,
            upstreamURLs: [String: Result<UpstreamURL, UpstreamError>]
        ) {
            self.configuration = configuration
            self.defaultAgentID = configuration.defaultAgentID
            self.providers = providers
            self.modelCatalog = modelCatalog
            self.environmentProfiles = environmentProfiles
            self.resolver = resolver
            self.policy = policy
            self.upstreamURLs = upstreamURLs
        }
    }

    let home: GatehouseHome
    let environment: [String: String]
    let logger: Logger
    let events = HealthEventBroadcaster()
    private let snapshot: Mutex<Snapshot>
    /// Counts the installed configurations (changed with the snapshot, under its lock): a
    /// connection that kept what its last request resolved compares it without taking the lock.
    private let snapshotGeneration = Atomic<Int>(0)
    private let agents = Mutex<[String: AgentRuntime]>([:])
    /// New agents' recorders, for the service that flushes them.
    let newRecorders: AsyncStream<HealthRecorder>
    private let newRecorderContinuation: AsyncStream<HealthRecorder>.Continuation

    init(home: GatehouseHome, configuration: GatehouseConfiguration, environment: [String: String], logger: Logger) throws {
        self.home = home
        self.environment = environment
        self.logger = logger
        self.snapshot = Mutex(Self.makeSnapshot(configuration, home: home, environment: environment))
        (newRecorders, newRecorderContinuation) = AsyncStream.makeStream(of: HealthRecorder.self)
        for agent in configuration.agents { _ = try runtime(for: agent.id) }
    }

    static func makeSnapshot(_ configuration: GatehouseConfiguration, home: GatehouseHome, environment: [String: String]) -> Snapshot {
        let providers = configuration.resolvedProviders
        let resolver = EnvironmentSecretResolver(environment: environment, baseDirectory: home.path)
        let environmentProfiles = AuthProfile.environmentProfiles(of: providers.values, using: resolver)
        return Snapshot(
            configuration: configuration, providers: providers, modelCatalog: EncodedModelCatalog(providers: providers.values),
            environmentProfiles: environmentProfiles, resolver: resolver, policy: CooldownPolicy(configuration.auth.cooldowns),
            upstreamURLs: providers.mapValues(ProxyEngine.upstreamURL(of:)))
    }

    var current: Snapshot { snapshot.withLock { $0 } }

    /// The current configuration and its generation, read together.
    var currentWithGeneration: (snapshot: Snapshot, generation: Int) {
        snapshot.withLock { ($0, snapshotGeneration.load(ordering: .relaxed)) }
    }

    /// The generation of the current configuration, read without the lock.
    var generation: Int { snapshotGeneration.load(ordering: .acquiring) }

    /// Installs a new configuration (a reload).
    func install(_ configuration: GatehouseConfiguration) throws {
        let made = Self.makeSnapshot(configuration, home: home, environment: environment)
        snapshot.withLock {
            $0 = made
            snapshotGeneration.add(1, ordering: .releasing)
        }
        for agent in configuration.agents { _ = try runtime(for: agent.id) }
    }

    /// The runtime of a configured agent; nil for an agent the configuration does not list.
    /// - Parameter snapshot: the configuration the caller already holds (default: the current one).
    func configuredRuntime(for id: String, in snapshot: Snapshot? = nil) throws -> AgentRuntime? {
        guard (snapshot ?? current).configuration.agents.contains(where: { $0.id == id }) else { return nil }
        return try runtime(for: id)
    }

    private func runtime(for id: String) throws -> AgentRuntime {
        if let existing = agents.withLock({ $0[id] }) { return existing }
        let created = try AgentRuntime(home: home, id: id, policy: current.policy, events: events, logger: logger)
        try? created.recorder.load()
        let (runtime, isNew) = agents.withLock { table -> (AgentRuntime, Bool) in
            if let existing = table[id] { return (existing, false) }
            table[id] = created
            return (created, true)
        }
        if isNew { newRecorderContinuation.yield(runtime.recorder) }
        return runtime
    }

    /// Every agent's runtime.
    var allRuntimes: [AgentRuntime] { agents.withLock { Array($0.values) } }

    func finishRecorders() { newRecorderContinuation.finish() }
}
