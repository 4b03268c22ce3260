import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Logging

extension CommandContext {
    /// A token manager for a one-shot command: refreshes happen inline, a rejected refresh token
    /// disables the profile in `auth-state.json`.
    func tokenManager() -> OAuthTokenManager {
        var configuration = OAuthTokenManager.Configuration()
        configuration.margin = self.configuration.auth.refreshMargin
        let home = self.home
        let policy = CooldownPolicy(self.configuration.auth.cooldowns)
        let logger = self.logger
        return OAuthTokenManager(
            home: home, providers: providers, endpoint: HTTPTokenEndpoint(), configuration: configuration,
            backgroundRefresh: false, logger: logger,
            onLoginRequired: { key, message in
                do {
                    let store = try AgentStore(home: home, agentID: key.agent)
                    let fingerprint = try store.profiles.read().profiles[key.profile]?.fingerprint(using: StaticSecretResolver())
                    try await store.recordFailure(
                        key.profile, classification: FailureClassification(reason: .authPermanent), credentialFingerprint: fingerprint,
                        policy: policy, logger: logger)
                } catch {
                    logger.error("could not record the rejected login", metadata: ["auth.profile": "\(key.profile)", "error": "\(error)"])
                }
                logger.error("login required", metadata: ["auth.profile": "\(key.profile)", "reason": "\(message)"])
            })
    }
}
