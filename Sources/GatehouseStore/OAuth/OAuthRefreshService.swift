import ServiceLifecycle

/// Runs the background refreshes of tokens that are still valid but inside the refresh margin.
public struct OAuthRefreshService: Service {
    public let manager: OAuthTokenManager

    public init(manager: OAuthTokenManager) {
        self.manager = manager
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await manager.runBackgroundRefreshes()
        } onGracefulShutdown: {
            manager.finishBackground()
        }
    }
}
