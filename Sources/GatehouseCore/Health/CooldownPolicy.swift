/// The rules that turn failures and successes into windows and counters (DESIGN section 5). Pure:
/// the time is passed in.
public struct CooldownPolicy: Sendable, Hashable {
    /// Transient cooldown steps by the number of transient failures: 30 s, 60 s, 5 min (cap).
    public var transientSteps: [Duration]
    public var authBase: Duration
    public var authMax: Duration
    public var billingBase: Duration
    public var billingMax: Duration
    /// Counters reset after this long without a failure.
    public var failureWindow: Duration
    /// An upstream's own "come back at" is bounded to this range from now.
    public var retryAfterBounds: ClosedRange<Duration> = .seconds(1) ... .seconds(24 * 3600)

    public init(_ cooldowns: GatehouseConfiguration.Cooldowns = .init()) {
        transientSteps = cooldowns.transient.isEmpty ? [.seconds(30)] : cooldowns.transient
        authBase = cooldowns.authBase
        authMax = cooldowns.authMax
        billingBase = cooldowns.billingBase
        billingMax = cooldowns.billingMax
        failureWindow = cooldowns.failureWindow
    }

    /// What a recorded failure did.
    public enum FailureEffect: Sendable, Hashable {
        /// Nothing: a `format` failure is the request's own fault.
        case ignored
        /// The failure fell inside an active window that already covers it: the window is not
        /// extended and the ladder does not climb (parallel requests fail together).
        case insideWindow(HealthWindow)
        /// A new window started.
        case windowStarted(HealthWindow)
        /// A model-scoped cooldown now covers the whole profile (its end is unchanged).
        case widened(HealthWindow)
    }

    static let transientReasons: Set<FailureReason> = [.rateLimit, .overloaded, .timeout, .unknown, .modelNotFound]
    static let modelScopedReasons: Set<FailureReason> = [.rateLimit, .timeout, .modelNotFound]
    static let authReasons: Set<FailureReason> = [.auth, .authPermanent]

    /// Records a failure of a request for `model` at `now`.
    /// - Parameters:
    ///   - retryAt: when the upstream said to come back, if it did.
    ///   - credentialFingerprint: the fingerprint of the credential used, so that an auth disable
    ///     ends when the credential changes.
    public func recordFailure(
        _ stats: inout UsageStats, reason: FailureReason, model: String?, retryAt: Int64?,
        credentialFingerprint: String?, now: Int64
    ) -> FailureEffect {
        if reason == .format { return .ignored }
        // A failure from before a person's reset, arriving late, does not undo the reset.
        if let resetAt = stats.resetAt, now <= resetAt { return .ignored }
        resetCountersIfQuiet(&stats, now: now)

        let isTransient = Self.transientReasons.contains(reason)
        let scopeModel = Self.modelScopedReasons.contains(reason) ? model : nil

        // A window that already covers this request absorbs the failure: a disable absorbs anything,
        // a cooldown absorbs transient failures of its own scope. A profile-wide transient reason
        // inside a model's cooldown widens it below; an auth or billing failure starts a disable.
        if let window = stats.activeWindow(model: model, now: now, credentialFingerprint: credentialFingerprint) {
            let widens = window.kind == .cooldown && window.model != nil && scopeModel == nil
            if window.kind == .disabled || (isTransient && !widens) {
                stats.lastFailureAt = now
                return .insideWindow(window)
            }
        }

        stats.lastFailureAt = now
        stats.failureCounts[reason.rawValue, default: 0] += 1
        stats.errorCount += 1

        if Self.authReasons.contains(reason) || reason == .billing {
            let isAuth = Self.authReasons.contains(reason)
            let count = isAuth ? count(stats, Self.authReasons) : count(stats, [.billing])
            let duration = ladder(base: isAuth ? authBase : billingBase, max: isAuth ? authMax : billingMax, step: count)
            let until = now + duration.milliseconds
            stats.disabledUntil = until
            stats.disabledReason = reason
            stats.disabledFingerprint = isAuth ? credentialFingerprint : nil
            return .windowStarted(HealthWindow(kind: .disabled, reason: reason, model: nil, until: until))
        }

        // Transient.
        if let until = stats.cooldownUntil, until > now, let existingModel = stats.cooldownModel,
            existingModel != model || scopeModel == nil
        {
            // Another model (or a profile-wide reason) fails inside a model window: widen it.
            stats.cooldownModel = nil
            if scopeModel == nil { stats.cooldownReason = reason }
            return .widened(HealthWindow(kind: .cooldown, reason: stats.cooldownReason ?? reason, model: nil, until: until))
        }
        let step = count(stats, Self.transientReasons)
        let duration: Duration
        if let retryAt {
            let asked = Duration.milliseconds(retryAt - now)
            duration = min(max(asked, retryAfterBounds.lowerBound), retryAfterBounds.upperBound)
        } else {
            duration = transientSteps[min(step, transientSteps.count) - 1]
        }
        let until = now + duration.milliseconds
        stats.cooldownUntil = until
        stats.cooldownReason = reason
        stats.cooldownModel = scopeModel
        return .windowStarted(HealthWindow(kind: .cooldown, reason: reason, model: scopeModel, until: until))
    }

    /// Records a success of a request for `model`: counters reset; disables end (the credential
    /// works); a cooldown ends when it covered this request. Returns whether a window ended.
    @discardableResult
    public func recordSuccess(_ stats: inout UsageStats, model: String?, now: Int64) -> Bool {
        var ended = false
        stats.errorCount = 0
        stats.failureCounts = [:]
        if stats.disabledUntil != nil || stats.disabledReason != nil {
            ended = ended || (stats.disabledUntil ?? .min) > now
            stats.disabledUntil = nil
            stats.disabledReason = nil
            stats.disabledFingerprint = nil
        }
        if stats.cooldownUntil != nil, stats.cooldownModel == nil || stats.cooldownModel == model || (stats.cooldownUntil ?? .min) <= now {
            ended = ended || (stats.cooldownUntil ?? .min) > now
            stats.cooldownUntil = nil
            stats.cooldownReason = nil
            stats.cooldownModel = nil
        }
        return ended
    }

    /// Records that a profile was used at `now` (never moves `lastUsed` back).
    public func recordUse(_ stats: inout UsageStats, now: Int64) {
        stats.lastUsed = max(stats.lastUsed ?? .min, now)
    }

    /// Clears every window and counter of a profile (`gatehouse auth reset`), noting when, so that
    /// failures from before the reset that another process writes later are not counted again.
    public func reset(_ stats: inout UsageStats, now: Int64) {
        let lastUsed = stats.lastUsed
        let extra = stats.extra
        stats = UsageStats(lastUsed: lastUsed, extra: extra)
        stats.resetAt = now
    }

    /// After `failureWindow` without a failure while the profile could be used, counters start again
    /// from zero. Time inside a window does not count: no request could fail then, so a billing
    /// ladder at its 24 h cap does not start over when a probe fails.
    func resetCountersIfQuiet(_ stats: inout UsageStats, now: Int64) {
        let usableSince = [stats.lastFailureAt, stats.cooldownUntil, stats.disabledUntil].compactMap { $0 }.max()
        if let last = usableSince, now - last >= failureWindow.milliseconds {
            stats.errorCount = 0
            stats.failureCounts = [:]
        }
    }

    private func count(_ stats: UsageStats, _ reasons: Set<FailureReason>) -> Int {
        reasons.reduce(0) { $0 + (stats.failureCounts[$1.rawValue] ?? 0) }
    }

    private func ladder(base: Duration, max cap: Duration, step: Int) -> Duration {
        var duration = base
        var n = 1
        while n < step && duration < cap {
            duration = duration * 2
            n += 1
        }
        return min(duration, cap)
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in whole microseconds.
    public var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
