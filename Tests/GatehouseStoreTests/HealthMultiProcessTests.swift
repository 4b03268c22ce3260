import Foundation
import GatehouseCore
@testable import GatehouseStore
import GatehouseTestSupport
import Testing

/// Several real processes recording failures and uses of the same profiles at once end with exactly
/// what one process recording everything would have written.
@Suite("Health across processes", .serialized)
struct HealthMultiProcessTests {
    static let t0: Int64 = 1_900_000_000_000

    private func runWorkers(_ home: GatehouseHome, count: Int, ops: Int, at: Int64) async throws {
        let children = try (0..<count).map { n in
            try ChildProcess(
                productPath("gatehouse-store-worker"),
                ["--home", home.path, "--agent", "main", "--worker", "\(n)", "--ops", "\(ops)", "--mode", "health", "--at", "\(at)", "--lock-timeout", "30"])
        }
        for child in children {
            let result = await child.wait()
            #expect(result.status == 0, "worker failed: \(result.stderr)")
        }
    }

    /// The same operations, recorded by one process in order.
    private func singleProcess(_ phases: [(ops: Int, at: Int64, count: Int)]) -> [ProfileID: UsageStats] {
        var stats: [ProfileID: UsageStats] = [:]
        let policy = CooldownPolicy()
        let a = try! ProfileID(parsing: "test:a"), b = try! ProfileID(parsing: "test:b"), u = try! ProfileID(parsing: "test:u")
        for phase in phases {
            for _ in 0..<phase.count {
                if phase.ops == 0 { policy.recordSuccess(&stats[a, default: UsageStats()], model: "m", now: phase.at) }
            }
            for worker in 0..<phase.count {
                let own = try! ProfileID(parsing: "test:w\(worker)")
                for _ in 0..<phase.ops {
                    _ = policy.recordFailure(&stats[own, default: UsageStats()], reason: .timeout, model: nil, retryAt: nil, credentialFingerprint: nil, now: phase.at)
                }
            }
            for _ in 0..<phase.count {
                for _ in 0..<phase.ops {
                    _ = policy.recordFailure(&stats[a, default: UsageStats()], reason: .rateLimit, model: "m", retryAt: nil, credentialFingerprint: nil, now: phase.at)
                    _ = policy.recordFailure(&stats[b, default: UsageStats()], reason: .overloaded, model: nil, retryAt: nil, credentialFingerprint: nil, now: phase.at)
                    policy.recordUse(&stats[u, default: UsageStats()], now: phase.at)
                }
            }
        }
        return stats
    }

    @Test("4 processes x 25 failures and uses per phase: counters and windows equal one process's")
    func equalsSingleProcess() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            let phases: [(ops: Int, at: Int64, count: Int)] = [
                (25, Self.t0, 4),  // all fail together: one window each, the rest absorbed
                (25, Self.t0 + 40_000, 4),  // after the 30 s windows: the ladder's second step
                (0, Self.t0 + 50_000, 4),  // a success of test:a for model m clears it
            ]
            for phase in phases {
                try await runWorkers(home, count: phase.count, ops: phase.ops, at: phase.at)
            }
            let disk = try AgentStore(home: home, agentID: "main").state.read().statsByProfile
            let expected = singleProcess(phases)
            #expect(disk.count == 7, "test:a, test:b, test:u and one profile per worker")
            for id in ["test:a", "test:b", "test:u", "test:w0", "test:w1", "test:w2", "test:w3"].map({ try! ProfileID(parsing: $0) }) {
                #expect(disk[id] == expected[id], "\(id): disk \(String(describing: disk[id])) vs one process \(String(describing: expected[id]))")
            }
            // Spelled out, so the expectation itself is visible.
            let b = try #require(disk[try ProfileID(parsing: "test:b")])
            #expect(b.errorCount == 2)
            #expect(b.failureCounts == ["overloaded": 2])
            #expect(b.cooldownUntil == Self.t0 + 40_000 + 60_000)
            let a = try #require(disk[try ProfileID(parsing: "test:a")])
            #expect(a.errorCount == 0)
            #expect(a.cooldownUntil == nil)
            #expect(disk[try ProfileID(parsing: "test:u")]?.lastUsed == Self.t0 + 40_000)
            for worker in 0..<4 {
                // Each worker's own profile: nobody else's write may have lost it.
                #expect(disk[try ProfileID(parsing: "test:w\(worker)")]?.errorCount == 2)
            }
        }
    }
}
