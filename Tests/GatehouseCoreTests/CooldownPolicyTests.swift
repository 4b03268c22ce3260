import GatehouseCore
import Testing

/// DESIGN section 5, "Effects": how failures and successes open, widen and close windows, on an
/// injected clock (plain milliseconds that the tests advance).
@Suite struct CooldownPolicyTests {

    static let second: Int64 = 1_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000
    /// 2025-06-15T15:06:40Z.
    static let t0: Int64 = 1_750_000_000_000

    static let defaults = CooldownPolicy()

    /// A tuned policy, as `gatehouse.json` `auth.cooldowns` would give it.
    static let tuned: CooldownPolicy = {
        var cooldowns = GatehouseConfiguration.Cooldowns()
        cooldowns.transient = [.seconds(5), .seconds(15)]
        cooldowns.authBase = .seconds(2 * 60)
        cooldowns.authMax = .seconds(5 * 60)
        cooldowns.billingBase = .seconds(3600)
        cooldowns.billingMax = .seconds(3 * 3600)
        cooldowns.failureWindow = .seconds(12 * 3600)
        return CooldownPolicy(cooldowns)
    }()

    /// The injected clock: milliseconds since the epoch, moved by hand.
    struct Clock {
        var now: Int64
        mutating func advance(by millis: Int64) { now += millis }
    }

    /// The window a failure started, or `nil` (with an issue recorded) when it did something else.
    static func started(_ effect: CooldownPolicy.FailureEffect, sourceLocation: SourceLocation = #_sourceLocation) -> HealthWindow? {
        if case .windowStarted(let window) = effect { return window }
        Issue.record("expected a new window, got \(effect)", sourceLocation: sourceLocation)
        return nil
    }

    /// Fails `reason` each time the previous window has just ended, and returns the window lengths.
    static func ladder(
        _ policy: CooldownPolicy, reason: FailureReason, failures: Int, model: String? = "claude-sonnet-4-5",
        fingerprint: String? = "fp-a", sourceLocation: SourceLocation = #_sourceLocation
    ) -> [Int64] {
        var stats = UsageStats()
        var clock = Clock(now: t0)
        var lengths: [Int64] = []
        for _ in 0..<failures {
            let effect = policy.recordFailure(
                &stats, reason: reason, model: model, retryAt: nil, credentialFingerprint: fingerprint, now: clock.now)
            guard let window = started(effect, sourceLocation: sourceLocation) else { return lengths }
            lengths.append(window.until - clock.now)
            clock.now = window.until  // the window has just ended: the next request goes through
        }
        return lengths
    }

    // MARK: Transient ladder

    @Test(arguments: [FailureReason.rateLimit, .overloaded, .timeout, .unknown, .modelNotFound])
    func transientLadderIs30s60s5mAndStaysAtTheCap(_ reason: FailureReason) {
        #expect(Self.ladder(Self.defaults, reason: reason, failures: 5)
            == [30 * Self.second, 60 * Self.second, 5 * Self.minute, 5 * Self.minute, 5 * Self.minute])
    }

    @Test func tunedTransientLadderFollowsTheConfiguredSteps() {
        #expect(Self.ladder(Self.tuned, reason: .rateLimit, failures: 4)
            == [5 * Self.second, 15 * Self.second, 15 * Self.second, 15 * Self.second])
    }

    @Test func emptyConfiguredTransientStepsFallBackToThirtySeconds() {
        var cooldowns = GatehouseConfiguration.Cooldowns()
        cooldowns.transient = []
        let policy = CooldownPolicy(cooldowns)
        #expect(policy.transientSteps == [.seconds(30)])
        #expect(Self.ladder(policy, reason: .timeout, failures: 3) == [30 * Self.second, 30 * Self.second, 30 * Self.second])
    }

    @Test func defaultPolicyMatchesTheDesignNumbers() {
        let policy = Self.defaults
        #expect(policy.transientSteps == [.seconds(30), .seconds(60), .seconds(300)])
        #expect(policy.authBase == .seconds(600))
        #expect(policy.authMax == .seconds(3600))
        #expect(policy.billingBase == .seconds(600))
        #expect(policy.billingMax == .seconds(86_400))
        #expect(policy.failureWindow == .seconds(86_400))
        #expect(policy.retryAfterBounds == .seconds(1) ... .seconds(86_400))
    }

    // MARK: Retry-After

    @Test(arguments: [defaults, tuned])
    func retryAfterWinsOverTheLadder(_ policy: CooldownPolicy) throws {
        var stats = UsageStats()
        let now = Self.t0
        let window = try #require(Self.started(policy.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: now + 45 * Self.second, credentialFingerprint: nil, now: now)))
        #expect(window.until == now + 45 * Self.second)
        #expect(stats.cooldownUntil == now + 45 * Self.second)

        // Third failure, where the ladder would say 5 min (or 15 s tuned): the upstream's 10 s wins.
        var later = window.until
        _ = policy.recordFailure(&stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: later)
        later = try #require(stats.cooldownUntil)
        let third = try #require(Self.started(policy.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: later + 10 * Self.second, credentialFingerprint: nil, now: later)))
        #expect(third.until == later + 10 * Self.second)
    }

    struct BoundCase: Sendable, CustomTestStringConvertible {
        var label: String
        var asked: Int64
        var expected: Int64
        var testDescription: String { label }
    }

    @Test(arguments: [
        BoundCase(label: "0.2 s → 1 s", asked: 200, expected: 1_000),
        BoundCase(label: "already past → 1 s", asked: -5_000, expected: 1_000),
        BoundCase(label: "exactly 1 s", asked: 1_000, expected: 1_000),
        BoundCase(label: "90 min kept", asked: 90 * 60_000, expected: 90 * 60_000),
        BoundCase(label: "exactly 24 h", asked: 86_400_000, expected: 86_400_000),
        BoundCase(label: "3 days → 24 h", asked: 3 * 86_400_000, expected: 86_400_000),
    ])
    func retryAfterIsBoundedToOneSecondAndOneDay(_ c: BoundCase) throws {
        var stats = UsageStats()
        let now = Self.t0
        let window = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .overloaded, model: nil, retryAt: now + c.asked, credentialFingerprint: nil, now: now)))
        #expect(window.until - now == c.expected)
    }

    // MARK: Scope

    @Test(arguments: [FailureReason.rateLimit, .timeout, .modelNotFound])
    func modelScopedReasonsCoolOnlyTheModelThatFailed(_ reason: FailureReason) throws {
        var stats = UsageStats()
        let now = Self.t0
        let window = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: reason, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: now)))
        #expect(window == HealthWindow(kind: .cooldown, reason: reason, model: "gpt-4o", until: now + 30 * Self.second))
        #expect(stats.cooldownModel == "gpt-4o")
        #expect(stats.activeWindow(model: "gpt-4o", now: now + 1, credentialFingerprint: nil) == window)
        #expect(stats.activeWindow(model: "other", now: now + 1, credentialFingerprint: nil) == nil)
        #expect(stats.activeWindow(model: nil, now: now + 1, credentialFingerprint: nil) == nil)
    }

    @Test(arguments: [FailureReason.overloaded, .unknown])
    func otherTransientReasonsCoolTheWholeProfile(_ reason: FailureReason) throws {
        var stats = UsageStats()
        let now = Self.t0
        let window = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: reason, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: now)))
        #expect(window.model == nil)
        #expect(stats.cooldownModel == nil)
        #expect(stats.activeWindow(model: "other", now: now + 1, credentialFingerprint: nil) == window)
        #expect(stats.activeWindow(model: nil, now: now + 1, credentialFingerprint: nil) == window)
    }

    @Test func secondModelFailingInsideTheWindowWidensItWithoutMovingTheEnd() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        let first = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: clock.now)))
        clock.advance(by: 10 * Self.second)
        // Even an upstream asking for a later time does not move the end of the window.
        let effect = Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o-mini", retryAt: clock.now + 10 * Self.minute,
            credentialFingerprint: nil, now: clock.now)
        let widened = HealthWindow(kind: .cooldown, reason: .rateLimit, model: nil, until: first.until)
        #expect(effect == .widened(widened))
        #expect(stats.cooldownUntil == first.until)
        #expect(stats.cooldownModel == nil)
        #expect(stats.cooldownReason == .rateLimit)
        #expect(stats.activeWindow(model: "o3", now: clock.now, credentialFingerprint: nil) == widened)

        // A third model inside the now profile-wide window is absorbed.
        let third = Self.defaults.recordFailure(
            &stats, reason: .timeout, model: "o3", retryAt: nil, credentialFingerprint: nil, now: clock.now + 1)
        #expect(third == .insideWindow(widened))
        #expect(stats.cooldownUntil == first.until)
    }

    @Test func profileWideTransientReasonInsideAModelWindowWidensIt() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        let first = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .timeout, model: "claude-opus-4-1", retryAt: nil, credentialFingerprint: nil, now: clock.now)))
        clock.advance(by: 5 * Self.second)
        let effect = Self.defaults.recordFailure(
            &stats, reason: .overloaded, model: "claude-opus-4-1", retryAt: nil, credentialFingerprint: nil, now: clock.now)
        let widened = HealthWindow(kind: .cooldown, reason: .overloaded, model: nil, until: first.until)
        #expect(effect == .widened(widened))
        #expect(stats.cooldownUntil == first.until)
        #expect(stats.cooldownReason == .overloaded)
        #expect(stats.cooldownModel == nil)
        #expect(stats.activeWindow(model: "claude-haiku-4-5", now: clock.now, credentialFingerprint: nil) == widened)
    }

    // MARK: Non-extension and format

    @Test func failureInsideAnActiveCooldownChangesNeitherTheEndNorTheCounters() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        let window = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: clock.now)))
        let errorCount = stats.errorCount
        let counts = stats.failureCounts
        for reason in [FailureReason.rateLimit, .timeout, .modelNotFound] {
            clock.advance(by: 5 * Self.second)
            let effect = Self.defaults.recordFailure(
                &stats, reason: reason, model: "gpt-4o", retryAt: clock.now + 10 * Self.minute,
                credentialFingerprint: nil, now: clock.now)
            #expect(effect == .insideWindow(window))
        }
        #expect(stats.cooldownUntil == window.until)
        #expect(stats.errorCount == errorCount)
        #expect(stats.failureCounts == counts)
        // The absorbed failures did not climb the ladder: the next window is the second step.
        let next = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: window.until)))
        #expect(next.until - window.until == 60 * Self.second)
    }

    @Test(arguments: [FailureReason.rateLimit, .overloaded, .auth, .authPermanent, .billing, .unknown])
    func anyFailureInsideADisableIsAbsorbed(_ reason: FailureReason) throws {
        var stats = UsageStats()
        let now = Self.t0
        let disable = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .auth, model: nil, retryAt: nil, credentialFingerprint: "fp-a", now: now)))
        let before = (stats.disabledUntil, stats.disabledReason, stats.errorCount, stats.failureCounts, stats.cooldownUntil)
        let effect = Self.defaults.recordFailure(
            &stats, reason: reason, model: "gpt-4o", retryAt: nil, credentialFingerprint: "fp-a", now: now + Self.minute)
        #expect(effect == .insideWindow(disable))
        #expect(stats.disabledUntil == before.0)
        #expect(stats.disabledReason == before.1)
        #expect(stats.errorCount == before.2)
        #expect(stats.failureCounts == before.3)
        #expect(stats.cooldownUntil == before.4)
    }

    @Test func formatFailureIsIgnoredAndChangesNothing() throws {
        var fresh = UsageStats()
        #expect(Self.defaults.recordFailure(
            &fresh, reason: .format, model: "gpt-4o", retryAt: Self.t0 + Self.minute, credentialFingerprint: "fp-a", now: Self.t0)
            == .ignored)
        #expect(fresh == UsageStats())

        var busy = UsageStats(
            lastUsed: Self.t0 - Self.hour, errorCount: 2, failureCounts: ["rate_limit": 2], lastFailureAt: Self.t0 - 2 * Self.day,
            cooldownUntil: Self.t0 + Self.minute, cooldownReason: .rateLimit, cooldownModel: "gpt-4o")
        let before = busy
        #expect(Self.defaults.recordFailure(
            &busy, reason: .format, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: Self.t0) == .ignored)
        #expect(busy == before, "not even the quiet-period counter reset runs")
    }

    // MARK: Auth

    @Test(arguments: [FailureReason.auth, .authPermanent])
    func authDisableIsTenMinutesDoublingToSixtyMinutes(_ reason: FailureReason) {
        #expect(Self.ladder(Self.defaults, reason: reason, failures: 5)
            == [10 * Self.minute, 20 * Self.minute, 40 * Self.minute, 60 * Self.minute, 60 * Self.minute])
    }

    @Test func tunedAuthDisableFollowsTheConfiguredBaseAndCap() {
        #expect(Self.ladder(Self.tuned, reason: .auth, failures: 4)
            == [2 * Self.minute, 4 * Self.minute, 5 * Self.minute, 5 * Self.minute])
    }

    @Test(arguments: [FailureReason.auth, .authPermanent])
    func authDisableEndsAtOnceWhenTheCredentialChanges(_ reason: FailureReason) throws {
        var stats = UsageStats()
        let now = Self.t0
        let disable = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: reason, model: "gpt-4o", retryAt: nil, credentialFingerprint: "fp-old", now: now)))
        #expect(disable == HealthWindow(kind: .disabled, reason: reason, model: nil, until: now + 10 * Self.minute))
        #expect(stats.disabledFingerprint == "fp-old")
        let during = now + Self.minute
        #expect(stats.activeWindow(model: "gpt-4o", now: during, credentialFingerprint: "fp-old") == disable)
        #expect(stats.activeWindow(model: "any-model", now: during, credentialFingerprint: "fp-old") == disable)
        #expect(stats.activeWindow(model: "gpt-4o", now: during, credentialFingerprint: "fp-new") == nil)
        #expect(stats.activeWindow(model: nil, now: during, credentialFingerprint: "fp-new") == nil)
    }

    // MARK: Billing

    @Test func billingDisableIsTenMinutesDoublingToTwentyFourHours() {
        #expect(Self.ladder(Self.defaults, reason: .billing, failures: 9)
            == [10, 20, 40, 80, 160, 320, 640, 1280, 1440].map { $0 * Self.minute })
    }

    /// Every probe after a window fails again, so a credential with no credit must stay at the 24 h
    /// cap. The probe after a full-day window comes exactly 24 h after the last failure, which is
    /// also the quiet period after which counters reset: the cap must hold all the same.
    @Test func billingDisableStaysAtTheTwentyFourHourCapWhenEveryProbeFails() {
        #expect(Self.ladder(Self.defaults, reason: .billing, failures: 11)
            == [10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440, 1440].map { $0 * Self.minute })
    }

    @Test func tunedBillingDisableFollowsTheConfiguredBaseAndCap() {
        #expect(Self.ladder(Self.tuned, reason: .billing, failures: 4)
            == [Self.hour, 2 * Self.hour, 3 * Self.hour, 3 * Self.hour])
    }

    @Test func billingFailureAfterTheWindowEndedStartsTheNextLongerWindow() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        let first = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .billing, model: "claude-sonnet-4-5", retryAt: nil, credentialFingerprint: "fp-a", now: clock.now)))
        #expect(first == HealthWindow(kind: .disabled, reason: .billing, model: nil, until: Self.t0 + 10 * Self.minute))
        #expect(stats.disabledReason == .billing)

        clock.now = first.until + 3 * Self.second  // the probe after the window
        #expect(stats.activeWindow(model: nil, now: clock.now, credentialFingerprint: "fp-a") == nil)
        let second = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .billing, model: "claude-sonnet-4-5", retryAt: nil, credentialFingerprint: "fp-a", now: clock.now)))
        #expect(second.until == clock.now + 20 * Self.minute)
        #expect(stats.failureCounts["billing"] == 2)
    }

    // MARK: Success

    @Test func successClearsCountersAndADisable() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        _ = Self.defaults.recordFailure(&stats, reason: .timeout, model: "gpt-4o", retryAt: nil, credentialFingerprint: "fp", now: clock.now)
        clock.advance(by: Self.minute)
        let disable = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .billing, model: "gpt-4o", retryAt: nil, credentialFingerprint: "fp", now: clock.now)))
        #expect(stats.errorCount == 2)
        clock.advance(by: Self.minute)

        #expect(Self.defaults.recordSuccess(&stats, model: "gpt-4o-mini", now: clock.now), "a window ended")
        #expect(stats.errorCount == 0)
        #expect(stats.failureCounts.isEmpty)
        #expect(stats.disabledUntil == nil)
        #expect(stats.disabledReason == nil)
        #expect(stats.disabledFingerprint == nil)
        #expect(stats.activeWindow(model: "gpt-4o", now: clock.now, credentialFingerprint: "fp") == nil)
        #expect(clock.now < disable.until)

        // The ladder starts again.
        let next = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .overloaded, model: nil, retryAt: nil, credentialFingerprint: "fp", now: clock.now)))
        #expect(next.until - clock.now == 30 * Self.second)
    }

    @Test func successOfTheSameModelEndsItsCooldown() throws {
        var stats = UsageStats()
        _ = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: Self.t0)))
        #expect(Self.defaults.recordSuccess(&stats, model: "gpt-4o", now: Self.t0 + Self.second))
        #expect(stats.cooldownUntil == nil)
        #expect(stats.cooldownReason == nil)
        #expect(stats.cooldownModel == nil)
        #expect(stats.errorCount == 0)
    }

    @Test func successOfAnyModelEndsAProfileWideCooldown() throws {
        var stats = UsageStats()
        _ = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .overloaded, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: Self.t0)))
        #expect(Self.defaults.recordSuccess(&stats, model: "gpt-4o-mini", now: Self.t0 + Self.second))
        #expect(stats.cooldownUntil == nil)
        #expect(stats.activeWindow(model: "gpt-4o", now: Self.t0 + Self.second, credentialFingerprint: nil) == nil)
    }

    @Test func successOfAnotherModelKeepsAModelCooldownButResetsCounters() throws {
        var stats = UsageStats()
        let window = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .rateLimit, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: Self.t0)))
        let now = Self.t0 + Self.second
        #expect(!Self.defaults.recordSuccess(&stats, model: "gpt-4o-mini", now: now), "no window ended")
        #expect(stats.errorCount == 0)
        #expect(stats.failureCounts.isEmpty)
        #expect(stats.cooldownUntil == window.until)
        #expect(stats.cooldownModel == "gpt-4o")
        #expect(stats.activeWindow(model: "gpt-4o", now: now, credentialFingerprint: nil) == window)
    }

    // MARK: Quiet period

    @Test func countersResetAfterTwentyFourHoursWithoutFailures() throws {
        var stats = UsageStats()
        var clock = Clock(now: Self.t0)
        for expected in [30 * Self.second, 60 * Self.second] {
            let window = try #require(Self.started(Self.defaults.recordFailure(
                &stats, reason: .timeout, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: clock.now)))
            #expect(window.until - clock.now == expected)
            clock.now = window.until
        }
        let lastFailure = try #require(stats.lastFailureAt)
        #expect(stats.errorCount == 2)

        // The quiet period counts from when the profile could be used again: the end of its window.
        let usableAgain = max(lastFailure, try #require(stats.cooldownUntil))
        // Just short of 24 h: the ladder goes on to 5 min.
        var almost = stats
        let climbing = try #require(Self.started(Self.defaults.recordFailure(
            &almost, reason: .timeout, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: usableAgain + Self.day - 1)))
        #expect(climbing.until - (usableAgain + Self.day - 1) == 5 * Self.minute)

        // 24 h of being usable without a failure: it starts again at 30 s.
        clock.now = usableAgain + Self.day
        let fresh = try #require(Self.started(Self.defaults.recordFailure(
            &stats, reason: .timeout, model: "gpt-4o", retryAt: nil, credentialFingerprint: nil, now: clock.now)))
        #expect(fresh.until - clock.now == 30 * Self.second)
        #expect(stats.errorCount == 1)
        #expect(stats.failureCounts == ["timeout": 1])
    }

    @Test func tunedQuietPeriodResetsCountersSooner() throws {
        var stats = UsageStats()
        let first = try #require(Self.started(Self.tuned.recordFailure(
            &stats, reason: .rateLimit, model: nil, retryAt: nil, credentialFingerprint: nil, now: Self.t0)))
        #expect(first.until - Self.t0 == 5 * Self.second)
        let later = first.until + 12 * Self.hour
        let again = try #require(Self.started(Self.tuned.recordFailure(
            &stats, reason: .rateLimit, model: nil, retryAt: nil, credentialFingerprint: nil, now: later)))
        #expect(again.until - later == 5 * Self.second)
    }

    // MARK: Reset and use

    @Test func resetClearsEverythingButLastUsedAndUnknownFields() {
        var stats = UsageStats(
            lastUsed: Self.t0 - Self.minute, errorCount: 4, failureCounts: ["billing": 3, "auth": 1],
            lastFailureAt: Self.t0, cooldownUntil: Self.t0 + Self.minute, cooldownReason: .overloaded,
            cooldownModel: "gpt-4o", disabledUntil: Self.t0 + Self.hour, disabledReason: .billing,
            disabledFingerprint: "fp-a", extra: ["probeAfter": .int(Self.t0), "note": .string("imported")])
        Self.defaults.reset(&stats, now: Self.t0 + 1)
        var expected = UsageStats(lastUsed: Self.t0 - Self.minute, extra: ["probeAfter": .int(Self.t0), "note": .string("imported")])
        expected.resetAt = Self.t0 + 1
        #expect(stats == expected)
        #expect(stats.activeWindow(model: "gpt-4o", now: Self.t0, credentialFingerprint: "fp-a") == nil)
    }

    @Test func aFailureFromBeforeAResetThatArrivesLateIsNotCounted() {
        var stats = UsageStats()
        Self.defaults.reset(&stats, now: Self.t0)
        // Another process's flush replays a failure that happened just before the reset.
        let late = Self.defaults.recordFailure(&stats, reason: .rateLimit, model: nil, retryAt: nil, credentialFingerprint: nil, now: Self.t0 - 50)
        #expect(late == .ignored)
        #expect(stats.cooldownUntil == nil)
        // A failure after the reset counts as usual.
        let after = Self.defaults.recordFailure(&stats, reason: .rateLimit, model: nil, retryAt: nil, credentialFingerprint: nil, now: Self.t0 + 50)
        #expect(after == .windowStarted(HealthWindow(kind: .cooldown, reason: .rateLimit, model: nil, until: Self.t0 + 50 + 30 * Self.second)))
    }

    @Test func recordUseNeverMovesLastUsedBack() {
        var stats = UsageStats()
        Self.defaults.recordUse(&stats, now: Self.t0)
        #expect(stats.lastUsed == Self.t0)
        Self.defaults.recordUse(&stats, now: Self.t0 + 10)
        #expect(stats.lastUsed == Self.t0 + 10)
        Self.defaults.recordUse(&stats, now: Self.t0 - Self.hour)  // another process's older clock reading
        #expect(stats.lastUsed == Self.t0 + 10)
        Self.defaults.recordUse(&stats, now: Self.t0 + 10)
        #expect(stats.lastUsed == Self.t0 + 10)
    }
}
