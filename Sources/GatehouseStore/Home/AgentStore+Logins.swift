import GatehouseCore
import Logging

extension AgentStore {
    /// Stores a new OAuth login for a profile (replacing the credential it had, keeping its unknown
    /// fields) and ends any auth window on it: a person just logged in. Returns whether a profile was
    /// replaced.
    @discardableResult
    public func saveLogin(_ id: ProfileID, credential: OAuthCredential, logger: Logger? = nil) async throws -> Bool {
        let replaced = try await profiles.update(logger: logger) { document -> Bool in
            let existing = document.profiles[id]
            document.invalidEntries[id.description] = nil
            document.profiles[id] = AuthProfile(id: id, credential: .oauth(credential), extra: existing?.extra ?? [:])
            return existing != nil
        }
        try await state.update(logger: logger) { document in
            guard var stats = document.usageStats[id.description] else { return }
            if stats.disabledReason == .auth || stats.disabledReason == .authPermanent {
                stats.disabledUntil = nil
                stats.disabledReason = nil
                stats.disabledFingerprint = nil
                stats.errorCount = 0
                stats.failureCounts = [:]
                document.usageStats[id.description] = stats
            }
        }
        return replaced
    }

    /// Records a failure straight into `auth-state.json`, for one-shot processes that run no
    /// `HealthRecorder` (a command that found a refresh token rejected).
    public func recordFailure(
        _ id: ProfileID, classification: FailureClassification, model: String? = nil, credentialFingerprint: String?,
        policy: CooldownPolicy, now: Int64 = WallClock.nowMillis(), logger: Logger? = nil
    ) async throws {
        try await state.update(logger: logger) { document in
            var stats = document.usageStats[id.description] ?? UsageStats()
            _ = policy.recordFailure(
                &stats, reason: classification.reason, model: model, retryAt: classification.retryAt,
                credentialFingerprint: credentialFingerprint, now: now)
            document.usageStats[id.description] = stats
        }
    }
}
