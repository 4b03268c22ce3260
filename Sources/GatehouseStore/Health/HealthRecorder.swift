import GatehouseCore
import Logging
import Synchronization

/// The health of one agent's profiles, in memory for the request path and persisted in the
/// background (DESIGN sections 4 and 5).
///
/// `markUsed`, `markGood` and `markFailure` change memory at once and never touch the disk; a flush
/// (run by `HealthFlushService`) merges the queued changes into `auth-state.json` under the lock:
/// failure transitions within 100 ms, `lastUsed`-only changes within 1 s. Events go to `events`.
public final class HealthRecorder: Sendable {
    public let agentID: String
    public let store: AgentStore
    public let events: HealthEventBroadcaster
    let logger: Logger
    /// Changed through `withState` (which keeps `generation` in step); read with `withLock`.
    private let state: Mutex<HealthStateMachine>
    /// The state's `selectionGeneration`, stored when it moves: read on the request path without
    /// the lock (and without writing to memory the other event loops read).
    private let generation = Atomic<UInt64>(0)
    let signal = WakeSignal()
    private let wallClock: @Sendable () -> Int64

    /// - Parameters:
    ///   - now: the wall clock in milliseconds since the epoch (tests inject their own).
    public init(
        store: AgentStore, policy: CooldownPolicy, events: HealthEventBroadcaster = HealthEventBroadcaster(),
        logger: Logger = Logger(label: "gatehouse.health"), now: @escaping @Sendable () -> Int64 = WallClock.nowMillis
    ) {
        self.agentID = store.agentID
        self.store = store
        self.events = events
        self.logger = logger
        self.state = Mutex(HealthStateMachine(policy: policy))
        self.wallClock = now
    }

    /// Reads `auth-state.json` into memory (keeping queued changes on top).
    public func load() throws(StoreError) {
        adopt(try store.state.read())
    }

    /// Takes what another process wrote (a `gatehouse auth reset`, another gateway's failures) as
    /// the disk state, keeping queued changes on top.
    public func adopt(_ document: AuthStateDocument) {
        let disk = document.statsByProfile
        let now = wallClock()
        withState {
            $0.adopt(disk)
            $0.openWindowsFromStats(now: now)
        }
        signal.signal()
    }

    // MARK: The request path

    /// A request is going out through `profile`.
    public func markUsed(_ profile: ProfileID) {
        let (now, clock) = (wallClock(), schedulingClock())
        let wake = withState { $0.markUsed(profile, now: now, clock: clock) }
        if wake { signal.signal() }
    }

    /// A request through `profile` succeeded: counters reset, its windows end.
    public func markGood(_ profile: ProfileID, model: String?) {
        let (now, clock) = (wallClock(), schedulingClock())
        let (recovered, wake) = withState { $0.markGood(profile, model: model, now: now, clock: clock) }
        if recovered { events.publish(.profileRecovered(agent: agentID, profile: profile)) }
        if wake { signal.signal() }
    }

    /// A request through `profile` failed. Returns what it did to the profile's windows.
    @discardableResult
    public func markFailure(
        _ profile: ProfileID, model: String?, classification: FailureClassification, credentialFingerprint: String?
    ) -> CooldownPolicy.FailureEffect {
        let (now, clock) = (wallClock(), schedulingClock())
        let (effect, wake) = withState {
            $0.markFailure(
                profile, reason: classification.reason, model: model, retryAt: classification.retryAt,
                fingerprint: credentialFingerprint, now: now, clock: clock)
        }
        if case .ignored = effect { return effect }
        events.publish(.failureRecorded(agent: agentID, profile: profile, reason: classification.reason, model: model))
        switch effect {
        case .windowStarted(let window), .widened(let window):
            events.publish(.windowStarted(agent: agentID, profile: profile, window: window))
            logger.notice(
                "profile window started",
                metadata: [
                    "agent": "\(agentID)", "auth.profile": "\(profile)", "health.window": "\(window.kind.rawValue)",
                    "health.reason": "\(window.reason.rawValue)", "health.scope": "\(window.scopeDescription)",
                    "health.until": "\(ISO8601.format(millis: window.until))",
                ])
        case .ignored, .insideWindow:
            break
        }
        if wake { signal.signal() }
        return effect
    }

    /// The stats of a profile as the gateway sees them now.
    public func stats(for profile: ProfileID) -> UsageStats {
        state.withLock { $0.stats[profile] ?? UsageStats() }
    }

    /// Every profile's stats as the gateway sees them now.
    public func allStats() -> [ProfileID: UsageStats] {
        state.withLock { $0.stats }
    }

    /// Every profile's stats and their selection generation, read together: a plan made from these
    /// stats holds while `selectionGeneration()` returns the same number.
    public func statsForSelection() -> (stats: [ProfileID: UsageStats], generation: UInt64) {
        state.withLock { ($0.stats, $0.selectionGeneration) }
    }

    /// Moves on every change of the stats that can change a selection (not on `markUsed`).
    public func selectionGeneration() -> UInt64 {
        generation.load(ordering: .acquiring)
    }

    /// Changes the state under its lock, and publishes its selection generation when it moved.
    private func withState<Value>(_ change: (inout HealthStateMachine) -> Value) -> Value {
        state.withLock { state in
            let before = state.selectionGeneration
            let result = change(&state)
            if state.selectionGeneration != before { generation.store(state.selectionGeneration, ordering: .releasing) }
            return result
        }
    }

    // MARK: Persisting

    /// Writes queued changes now, merging them into what is on disk under the lock.
    public func flush() async throws {
        guard let batch = withState({ $0.beginFlush() }) else { return }
        let policy = state.withLock { $0.policy }
        do {
            let disk = try await store.state.update(logger: logger) { document -> [ProfileID: UsageStats] in
                var stats = document.statsByProfile
                HealthStateMachine.apply(batch, to: &stats, policy: policy)
                for (id, entry) in stats { document.usageStats[id.description] = entry }
                for (provider, id) in batch.lastGood { document.lastGood[provider] = id.description }
                return stats
            }
            withState { $0.finishFlush(disk: disk, clock: schedulingClock()) }
        } catch {
            withState { $0.finishFlush(disk: nil, clock: schedulingClock()) }
            logger.warning("could not write health state; will retry", metadata: ["agent": "\(agentID)", "error": "\(error)"])
            throw error
        }
    }

    /// The clock flushes are scheduled on (milliseconds; it never jumps).
    private func schedulingClock() -> Int64 { WallClock.monotonicMillis() }

    /// When queued changes are due, on the scheduling clock, and how long until then.
    func timeUntilDue() -> Duration? {
        let (due, now) = state.withLock { ($0.flushDue, schedulingClock()) }
        return due.map { .milliseconds(max(0, $0 - now)) }
    }

    /// Announces windows that have run out and returns how long until the next one does.
    func announceEndedWindows() -> Duration? {
        let now = wallClock()
        let (ended, next) = withState { ($0.takeEndedWindows(now: now), $0.nextWindowEnd) }
        for (profile, window) in ended {
            events.publish(.windowEnded(agent: agentID, profile: profile, window: window))
        }
        return next.map { .milliseconds(max(0, $0 - now)) }
    }

}
