import GatehouseCore
import GatehouseStore
import Logging
import ServiceLifecycle

/// Keeps the prepared model views current: builds them all at start, then rebuilds an agent's view
/// when its credentials change (written by this process, or edited on disk by anyone else), when an
/// auth failure is recorded for it, and every view when `gatehouse.json` changes. Rebuilds run here,
/// off the request path, and a burst of events makes one rebuild.
struct ModelViewService: Service {
    let catalog: ModelCatalog
    let reloader: ConfigurationReloader

    func run() async throws {
        // Subscribe before the first build, so nothing that happens during it is missed.
        let health = catalog.state.events.subscribe()
        let writes = StoreWriteJournal.shared.subscribe()
        // Built before the watcher starts: its first look at the files then finds what the builds read.
        catalog.rebuildAll(reason: .startup)
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        await catalog.rebuildSignal.wait(timeout: .seconds(3600))
                        catalog.rebuildPending()
                    }
                }
                group.addTask {
                    await catalog.watcher.run { paths in
                        if catalog.filesChanged(paths) { reloader.reload(trigger: "gatehouse.json changed on disk") }
                    }
                }
                group.addTask {
                    for await event in health {
                        if case .failureRecorded(let agent, _, let reason, _) = event, reason == .auth || reason == .authPermanent {
                            catalog.invalidate(agent, reason: .authFailure)
                        }
                    }
                }
                group.addTask {
                    for await write in writes { catalog.wrote(write) }
                }
            }
        }
    }
}

/// Loads `gatehouse.json` again and installs it; an invalid file leaves the running configuration in
/// place. Used on SIGHUP and when the watcher sees the file change.
struct ConfigurationReloader: Sendable {
    let state: GatewayState
    let tokens: OAuthTokenManager
    let catalog: ModelCatalog

    func reload(trigger: String) {
        let home = state.home
        do {
            let configuration = try ConfigurationFile.load(home, environment: state.environment)
            try state.install(configuration)
            // Said before the views change: whoever sees the new configuration can find the line.
            state.logger.notice("reloaded the configuration", metadata: ["path": "\(home.configurationPath)", "trigger": "\(trigger)"])
            tokens.update(providers: state.current.providers)
            catalog.configurationChanged()
        } catch {
            state.logger.error(
                "kept the running configuration: the new one is invalid", metadata: ["error": "\(error)", "trigger": "\(trigger)"])
        }
    }
}
