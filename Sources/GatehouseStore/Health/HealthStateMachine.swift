import GatehouseCore

/// The in-memory health state of one agent's profiles and what still has to reach the disk.
///
/// Every mark updates `stats` at once (the gateway decides from memory) and queues an operation;
/// a flush replays the queued operations on what is on disk under the lock, so that several
/// processes recording at once end with what one process recording everything would have written.
struct HealthStateMachine {
    /// One change to replay on disk, with the time it happened.
    enum Operation: Sendable {
        case failure(ProfileID, reason: FailureReason, model: String?, retryAt: Int64?, fingerprint: String?, at: Int64)
        case success(ProfileID, model: String?, at: Int64)
    }

    /// What a flush writes.
    struct Batch: Sendable {
        var operations: [Operation] = []
        var uses: [ProfileID: Int64] = [:]
        var lastGood: [String: ProfileID] = [:]
        /// Where each profile's latest success stands in `operations`, while no failure of it follows.
        private var trailingSuccess: [ProfileID: Int] = [:]

        var isEmpty: Bool { operations.isEmpty && uses.isEmpty && lastGood.isEmpty }

        /// Queues a success; consecutive successes of a profile collapse into the latest.
        mutating func recordSuccess(_ id: ProfileID, model: String?, at: Int64) {
            // Usually empty: no lookup (no hash of the id) then.
            if !trailingAbsorbed.isEmpty { trailingAbsorbed[id] = nil }
            if let index = trailingSuccess[id] {
                operations[index] = .success(id, model: model, at: at)
            } else {
                trailingSuccess[id] = operations.count
                operations.append(.success(id, model: model, at: at))
            }
        }

        /// Where each profile's latest failure that fell inside a window stands, while nothing of
        /// the profile follows it.
        private var trailingAbsorbed: [ProfileID: Int] = [:]

        mutating func recordFailure(_ operation: Operation, of id: ProfileID) {
            trailingSuccess[id] = nil
            trailingAbsorbed[id] = nil
            operations.append(operation)
        }

        /// Queues a failure that fell inside an active window. It changes only `lastFailureAt`, so
        /// consecutive ones of a profile collapse into the latest (a burst of parallel failures
        /// stays one entry).
        mutating func recordAbsorbedFailure(_ operation: Operation, of id: ProfileID) {
            trailingSuccess[id] = nil
            if let index = trailingAbsorbed[id] {
                operations[index] = operation
            } else {
                trailingAbsorbed[id] = operations.count
                operations.append(operation)
            }
        }
    }

    let policy: CooldownPolicy
    /// Disk state with every queued operation applied: what the gateway decides from.
    private(set) var stats: [ProfileID: UsageStats] = [:]
    private var diskStats: [ProfileID: UsageStats] = [:]
    private var pending = Batch()
    private var inFlight: Batch?
    /// When the pending changes must be on disk (milliseconds, on the scheduling clock).
    private(set) var flushDue: Int64?
    /// Windows announced as started and not yet announced as ended.
    private var openWindows: [ProfileID: HealthWindow] = [:]
    /// Moves on every change of `stats` that can change a selection (a window, a disable, a counter,
    /// an adopted disk state); not on `lastUsed` alone, which only the default order of several
    /// profiles reads. A plan made from `stats` holds while this has not moved.
    private(set) var selectionGeneration: UInt64 = 0

    /// Failure transitions reach the disk within this long; `lastUsed`-only changes within `useDelay`.
    let failureDelay: Int64
    let useDelay: Int64

    init(policy: CooldownPolicy, failureDelay: Int64 = 100, useDelay: Int64 = 1000) {
        self.policy = policy
        self.failureDelay = failureDelay
        self.useDelay = useDelay
    }

    // MARK: Events from requests

    mutating func markUsed(_ id: ProfileID, now: Int64, clock: Int64) -> Bool {
        policy.recordUse(&stats[id, default: UsageStats()], now: now)
        // One lookup: the entry is changed in place.
        Self.raise(&pending.uses[id, default: .min], to: now)
        return schedule(clock + useDelay)
    }

    private static func raise(_ value: inout Int64, to other: Int64) {
        if other > value { value = other }
    }

    mutating func markGood(_ id: ProfileID, model: String?, now: Int64, clock: Int64) -> (recovered: Bool, wake: Bool) {
        // Changed in place: no copy of the entry and no second lookup.
        func succeed(_ entry: inout UsageStats) -> (hadState: Bool, ended: Bool) {
            let hadState = entry.errorCount > 0 || entry.disabledReason != nil || entry.cooldownUntil != nil
            return (hadState, policy.recordSuccess(&entry, model: model, now: now))
        }
        let (hadState, ended) = succeed(&stats[id, default: UsageStats()])
        if hadState { selectionGeneration &+= 1 }
        if ended { openWindows[id] = nil }
        pending.lastGood[id.provider] = id
        pending.recordSuccess(id, model: model, at: now)
        // A success that clears state is a transition; otherwise it is bookkeeping (it still resets
        // counters another process may have written).
        return (hadState, schedule(clock + (hadState ? failureDelay : useDelay)))
    }

    mutating func markFailure(
        _ id: ProfileID, reason: FailureReason, model: String?, retryAt: Int64?, fingerprint: String?, now: Int64, clock: Int64
    ) -> (CooldownPolicy.FailureEffect, wake: Bool) {
        let effect = policy.recordFailure(
            &stats[id, default: UsageStats()], reason: reason, model: model, retryAt: retryAt,
            credentialFingerprint: fingerprint, now: now)
        switch effect {
        case .ignored:
            return (effect, false)
        case .windowStarted(let window), .widened(let window):
            openWindows[id] = window
        case .insideWindow:
            break
        }
        selectionGeneration &+= 1
        let operation = Operation.failure(id, reason: reason, model: model, retryAt: retryAt, fingerprint: fingerprint, at: now)
        if case .insideWindow = effect {
            pending.recordAbsorbedFailure(operation, of: id)
        } else {
            pending.recordFailure(operation, of: id)
        }
        return (effect, schedule(clock + failureDelay))
    }

    private mutating func schedule(_ due: Int64) -> Bool {
        if let current = flushDue, current <= due { return false }
        flushDue = due
        return true
    }

    // MARK: Flushing

    /// Takes the pending changes for a flush, or nil when there are none or a flush is running.
    mutating func beginFlush() -> Batch? {
        guard inFlight == nil, !pending.isEmpty else {
            if pending.isEmpty { flushDue = nil }
            return nil
        }
        let batch = pending
        pending = Batch()
        inFlight = batch
        flushDue = nil
        return batch
    }

    /// Adopts what is on disk after a flush (or a reload): memory becomes the disk plus whatever was
    /// queued meanwhile. On failure the batch goes back in front of the queue.
    mutating func finishFlush(disk: [ProfileID: UsageStats]?, clock: Int64) {
        if let batch = inFlight {
            inFlight = nil
            if disk == nil {
                var restored = batch
                for operation in pending.operations {
                    switch operation {
                    case .failure(let id, _, _, _, _, _): restored.recordFailure(operation, of: id)
                    case .success(let id, let model, let at): restored.recordSuccess(id, model: model, at: at)
                    }
                }
                for (id, t) in pending.uses { restored.uses[id] = max(restored.uses[id] ?? .min, t) }
                restored.lastGood.merge(pending.lastGood) { _, newer in newer }
                pending = restored
                flushDue = clock + failureDelay
                return
            }
        }
        if let disk { adopt(disk) }
        if !pending.isEmpty && flushDue == nil { flushDue = clock + failureDelay }
    }

    /// Replaces the disk snapshot and re-applies what is still queued.
    mutating func adopt(_ disk: [ProfileID: UsageStats]) {
        diskStats = disk
        var view = disk
        let queued = [inFlight, pending].compactMap { $0 }
        for batch in queued {
            Self.apply(batch, to: &view, policy: policy)
        }
        stats = view
        selectionGeneration &+= 1
    }

    /// Replays a batch on a set of stats: what a flush does on disk.
    static func apply(_ batch: Batch, to stats: inout [ProfileID: UsageStats], policy: CooldownPolicy) {
        for operation in batch.operations {
            switch operation {
            case .failure(let id, let reason, let model, let retryAt, let fingerprint, let at):
                _ = policy.recordFailure(
                    &stats[id, default: UsageStats()], reason: reason, model: model, retryAt: retryAt,
                    credentialFingerprint: fingerprint, now: at)
            case .success(let id, let model, let at):
                policy.recordSuccess(&stats[id, default: UsageStats()], model: model, now: at)
            }
        }
        for (id, at) in batch.uses {
            policy.recordUse(&stats[id, default: UsageStats()], now: at)
        }
    }

    // MARK: Windows running out

    /// The windows that have ended by `now`, removed from the open set.
    mutating func takeEndedWindows(now: Int64) -> [(ProfileID, HealthWindow)] {
        let ended = openWindows.filter { $0.value.until <= now }
        for id in ended.keys { openWindows[id] = nil }
        return ended.map { ($0.key, $0.value) }
    }

    /// The soonest end of an open window.
    var nextWindowEnd: Int64? { openWindows.values.map(\.until).min() }

    /// Remembers windows found on disk, so their end is announced too.
    mutating func openWindowsFromStats(now: Int64) {
        for (id, entry) in stats {
            if let window = entry.windows(now: now, credentialFingerprint: nil).first, openWindows[id] == nil {
                openWindows[id] = window
            }
        }
    }
}
