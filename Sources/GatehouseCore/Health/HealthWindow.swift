/// A time during which a profile (or one model of it) is not tried: a cooldown after a transient
/// failure, or a disable after an auth or billing failure.
public struct HealthWindow: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case cooldown
        case disabled
    }

    public var kind: Kind
    public var reason: FailureReason
    /// The model the window applies to; `nil` for the whole profile.
    public var model: String?
    /// When the window ends (milliseconds since the epoch).
    public var until: Int64

    public init(kind: Kind, reason: FailureReason, model: String?, until: Int64) {
        self.kind = kind
        self.reason = reason
        self.model = model
        self.until = until
    }

    /// "profile" or "model <id>".
    public var scopeDescription: String { model.map { "model \($0)" } ?? "profile" }
}

extension UsageStats {
    /// The window that stops a request for `model` at `now`, if any. A disable for `auth` or
    /// `auth_permanent` ends as soon as the credential's fingerprint differs from the one it was
    /// recorded against. With `model` nil, only profile-wide windows count.
    public func activeWindow(model: String?, now: Int64, credentialFingerprint: String?) -> HealthWindow? {
        if let until = disabledUntil, until > now, let reason = disabledReason,
            !endedByCredentialChange(currentFingerprint: credentialFingerprint)
        {
            return HealthWindow(kind: .disabled, reason: reason, model: nil, until: until)
        }
        if let until = cooldownUntil, until > now, let reason = cooldownReason {
            if cooldownModel == nil || (model != nil && cooldownModel == model) {
                return HealthWindow(kind: .cooldown, reason: reason, model: cooldownModel, until: until)
            }
        }
        return nil
    }

    /// Every window active at `now`, including model-scoped cooldowns of any model (for displays).
    public func windows(now: Int64, credentialFingerprint: String?) -> [HealthWindow] {
        var result: [HealthWindow] = []
        if let window = activeWindow(model: nil, now: now, credentialFingerprint: credentialFingerprint) {
            result.append(window)
        }
        if let until = cooldownUntil, until > now, let reason = cooldownReason, let model = cooldownModel {
            result.append(HealthWindow(kind: .cooldown, reason: reason, model: model, until: until))
        }
        return result
    }

    func endedByCredentialChange(currentFingerprint: String?) -> Bool {
        guard let reason = disabledReason, reason == .auth || reason == .authPermanent,
            let recorded = disabledFingerprint, let currentFingerprint
        else { return false }
        return recorded != currentFingerprint
    }
}
