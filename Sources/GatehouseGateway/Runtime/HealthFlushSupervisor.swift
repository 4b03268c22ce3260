import GatehouseStore
import ServiceLifecycle

/// Runs a `HealthFlushService` for every agent the gateway has, including agents added by a
/// configuration reload.
struct HealthFlushSupervisor: Service {
    let state: GatewayState

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await recorder in state.newRecorders {
                    group.addTask { try? await HealthFlushService(recorder: recorder).run() }
                }
            }
        } onGracefulShutdown: {
            state.finishRecorders()
        }
    }
}
