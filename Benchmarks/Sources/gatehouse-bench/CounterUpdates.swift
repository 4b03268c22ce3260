import GatehouseCore
import GatehouseStore

/// What one worker (a task or a child process) measured while it ran its updates.
struct WorkerSamples: Sendable {
    /// Per successful update: from calling `update` to entering the change closure. This is the wait
    /// for the in-process queue and the file lock, plus the re-read and decode of the file that
    /// `update` does under the lock before it calls the closure.
    var acquireNanos: [UInt64] = []
    /// Per successful update: from calling `update` to its return (acquire + re-read + change +
    /// atomic write with fsync of the file and its folder + release).
    var updateNanos: [UInt64] = []
    /// Updates that failed with `lockTimeout` (the change was not applied).
    var timeouts = 0
    /// The message of the first `lockTimeout` (it names the holder of the lock).
    var firstTimeout: String?
    /// Other failures, by their message (the change was not applied).
    var errors: [String] = []
    /// When the first update was called (`MonotonicTime`).
    var startedAt: UInt64 = 0
    /// When the last update returned (`MonotonicTime`).
    var finishedAt: UInt64 = 0

    /// Updates that returned normally, so whose increment must be in the file.
    var successes: Int { updateNanos.count }
}

/// The measured operation: one locked read-modify-write of `auth-state.json` that increments a
/// counter, `usageStats["bench:shared"].errorCount`.
enum CounterUpdates {
    /// The usage-stats key whose `errorCount` every update increments.
    static let key = "bench:shared"

    /// Writes the counter at 0 so that the file exists before measuring (the first write also creates
    /// the folders).
    static func prepare(_ store: AgentStore) async throws {
        try await store.state.update { document in
            document.usageStats[key] = UsageStats()
        }
    }

    /// Runs `count` updates one after another and measures each; failures are counted, not thrown.
    static func run(_ store: AgentStore, count: Int) async -> WorkerSamples {
        var samples = WorkerSamples()
        samples.acquireNanos.reserveCapacity(count)
        samples.updateNanos.reserveCapacity(count)
        samples.startedAt = MonotonicTime.now()
        for _ in 0..<count {
            let called = MonotonicTime.now()
            var entered: UInt64 = 0
            do {
                try await store.state.update { document in
                    entered = MonotonicTime.now()
                    document.usageStats[key, default: UsageStats()].errorCount += 1
                }
                let returned = MonotonicTime.now()
                samples.acquireNanos.append(entered - called)
                samples.updateNanos.append(returned - called)
            } catch let error as StoreError where error.code == .lockTimeout {
                samples.timeouts += 1
                if samples.firstTimeout == nil { samples.firstTimeout = error.message }
            } catch {
                samples.errors.append("\(error)")
            }
        }
        samples.finishedAt = MonotonicTime.now()
        return samples
    }

    /// The counter as it is in the file now (read without locking, as any reader does).
    static func finalCount(_ store: AgentStore) throws -> Int {
        try store.state.read().usageStats[key]?.errorCount ?? 0
    }
}
