import GatehouseCore
import GatehouseStore
import Logging
import Synchronization

/// The gateway's prepared model views: one per configured agent, built at start and rebuilt on the
/// events that change them (DESIGN section 8). Reads never compute auth; they take the agent's view
/// and add availability from the in-memory health state.
final class ModelCatalog: Sendable {
    let state: GatewayState
    let registry = ModelViewRegistry()
    let watcher: FileWatcher
    /// Wakes the rebuild loop.
    let rebuildSignal = WakeSignal()
    /// The content digest of each watched file as this process last read or wrote it.
    private let knownDigests = Mutex<[String: String]>([:])
    private let logger: Logger

    init(state: GatewayState, logger: Logger) {
        self.state = state
        self.logger = logger
        self.watcher = FileWatcher(files: Self.watchedFiles(state), logger: logger)
        knownDigests.withLock { $0[state.home.configurationPath] = Self.digest(of: state.home.configurationPath) }
    }

    /// `gatehouse.json` and the credential file of every configured agent.
    static func watchedFiles(_ state: GatewayState) -> [String] {
        [state.home.configurationPath] + state.current.configuration.agents.map { state.home.authProfilesPath($0.id) }
    }

    private static func digest(of path: String) -> String {
        StoreWriteJournal.digest(of: (try? FileIO.read(path)) ?? nil)
    }

    /// The configured agent whose credential file is `path`.
    private func agent(owning path: String) -> String? {
        state.current.configuration.agents.first { state.home.authProfilesPath($0.id) == path }?.id
    }

    // MARK: Reads

    /// The agent's view; built at once when it has none yet.
    func view(for agent: String) -> Result<PreparedModelView, ModelViewError> {
        if let entry = registry.entry(for: agent) { return entry.result }
        return rebuild(agent, reasons: [.firstRead])
    }

    // MARK: Events

    /// Marks the agent's view out of date and wakes the rebuild loop.
    func invalidate(_ agent: String, reason: ModelViewReason) {
        registry.invalidate(agent, reason: reason)
        rebuildSignal.signal()
    }

    /// After a configuration reload: views of agents no longer configured go, every other is rebuilt,
    /// and the watcher follows the new set of agents.
    func configurationChanged() {
        let agents = state.current.configuration.agents.map(\.id)
        registry.retain(only: Set(agents))
        watcher.watch(Self.watchedFiles(state))
        registry.invalidate(agents, reason: .config)
        rebuildSignal.signal()
    }

    /// This process wrote a file (through the store): a credential file's new content is known, and
    /// its agent's view is rebuilt.
    func wrote(_ write: StoreWriteJournal.Write) {
        guard let agent = agent(owning: write.path) else { return }
        knownDigests.withLock { $0[write.path] = write.digest }
        invalidate(agent, reason: .credentials)
    }

    /// The watcher reported `paths`: those whose content differs from what this process last read or
    /// wrote are outside edits. Credential files invalidate their agent; returns whether
    /// `gatehouse.json` changed (the caller reloads it).
    func filesChanged(_ paths: [String]) -> Bool {
        var configurationChanged = false
        for path in paths {
            let digest = Self.digest(of: path)
            let isNew = knownDigests.withLock { known -> Bool in
                guard known[path] != digest else { return false }
                known[path] = digest
                return true
            }
            guard isNew, StoreWriteJournal.shared.lastWritten(path) != digest else { continue }
            if path == state.home.configurationPath {
                logger.info("gatehouse.json changed on disk", metadata: ["path": "\(path)"])
                configurationChanged = true
            } else if let agent = agent(owning: path) {
                logger.info("credentials changed on disk", metadata: ["agent": "\(agent)", "path": "\(path)"])
                invalidate(agent, reason: .externalEdit)
            }
        }
        return configurationChanged
    }

    // MARK: Building

    /// Runs the rebuilds waiting in the registry.
    func rebuildPending() {
        for pending in registry.takePending() { _ = rebuild(pending.agent, reasons: pending.reasons) }
    }

    /// Builds every configured agent's view.
    func rebuildAll(reason: ModelViewReason) {
        for agent in state.current.configuration.agents { _ = rebuild(agent.id, reasons: [reason]) }
    }

    /// Builds one agent's view and publishes it unless a newer one is in place; logs why and how long.
    @discardableResult
    func rebuild(_ agent: String, reasons: [ModelViewReason]) -> Result<PreparedModelView, ModelViewError> {
        let start = ContinuousClock.now
        let generation = registry.beginBuild()
        let snapshot = state.current
        let built = ModelViewSource.build(
            agent: agent, generation: generation, home: state.home, catalog: snapshot.modelCatalog,
            environmentProfiles: snapshot.environmentProfiles, resolver: snapshot.resolver, now: WallClock.nowMillis())
        knownDigests.withLock { $0[state.home.authProfilesPath(agent)] = built.profilesDigest }
        let published = registry.publish(agent, generation: generation, result: built.result, reason: reasons.first ?? .startup)
        let elapsed = ContinuousClock.now - start
        var metadata: Logger.Metadata = [
            "agent": "\(agent)", "reason": "\(reasons.map(\.rawValue).joined(separator: ","))", "generation": "\(generation)",
            "duration_us": "\(elapsed.microseconds)",
        ]
        switch built.result {
        case .success(let view):
            metadata["providers_ready"] = "\(view.providers.count { $0.hasAuth })"
            metadata["models"] = "\(view.modelCount)"
        case .failure(let error):
            metadata["error"] = "\(error.message)"
        }
        if published {
            logger.info("prepared model view", metadata: metadata)
        } else {
            logger.info("dropped a model view: a newer one is in place", metadata: metadata)
        }
        return registry.entry(for: agent)?.result ?? built.result
    }
}
