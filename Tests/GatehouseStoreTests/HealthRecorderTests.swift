import Foundation
import GatehouseCore
@testable import GatehouseStore
import GatehouseTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A wall clock the test moves by hand.
final class ManualClock: Sendable {
    private let value: Atomic<Int64>
    init(_ start: Int64 = 1_800_000_000_000) { value = Atomic(start) }
    var now: Int64 { value.load(ordering: .relaxed) }
    func advance(by ms: Int64) { value.add(ms, ordering: .relaxed) }
    var function: @Sendable () -> Int64 { { self.now } }
}

@Suite("Health recorder")
struct HealthRecorderTests {
    let a = try! ProfileID(parsing: "anthropic:default")
    let b = try! ProfileID(parsing: "anthropic:backup")

    private func recorder(_ dir: TemporaryDirectory, clock: ManualClock) throws -> HealthRecorder {
        let store = try AgentStore(home: dir.home, agentID: "main")
        return HealthRecorder(store: store, policy: CooldownPolicy(), now: clock.function)
    }

    private func diskStats(_ dir: TemporaryDirectory) throws -> AuthStateDocument {
        try AgentStore(home: dir.home, agentID: "main").state.read()
    }

    @Test("marks change memory at once and the disk only on flush")
    func memoryFirst() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let recorder = try recorder(dir, clock: clock)
            recorder.markUsed(a)
            let effect = recorder.markFailure(b, model: "m", classification: .init(reason: .rateLimit), credentialFingerprint: "f")
            #expect(effect == .windowStarted(HealthWindow(kind: .cooldown, reason: .rateLimit, model: "m", until: clock.now + 30_000)))
            #expect(recorder.stats(for: a).lastUsed == clock.now)
            #expect(recorder.stats(for: b).cooldownUntil == clock.now + 30_000)
            #expect(!FileManager.default.fileExists(atPath: dir.home.authStatePath("main")), "a mark wrote the disk")

            try await recorder.flush()
            let disk = try diskStats(dir)
            #expect(disk.stats(for: a).lastUsed == clock.now)
            #expect(disk.stats(for: b).cooldownUntil == clock.now + 30_000)
            #expect(disk.stats(for: b).cooldownModel == "m")
            #expect(disk.stats(for: b).errorCount == 1)
        }
    }

    @Test("failure transitions are due within 100 ms, lastUsed-only changes within 1 s")
    func flushDeadlines() {
        var machine = HealthStateMachine(policy: CooldownPolicy())
        #expect(machine.flushDue == nil)
        _ = machine.markUsed(a, now: 1, clock: 5_000)
        #expect(machine.flushDue == 6_000)
        _ = machine.markUsed(b, now: 2, clock: 5_500)
        #expect(machine.flushDue == 6_000, "a later use must not postpone the flush")
        _ = machine.markFailure(a, reason: .overloaded, model: nil, retryAt: nil, fingerprint: nil, now: 3, clock: 5_600)
        #expect(machine.flushDue == 5_700)
        let batch = machine.beginFlush()
        #expect(batch?.operations.count == 1)
        #expect(batch?.uses.count == 2)
        #expect(machine.flushDue == nil)
        #expect(machine.beginFlush() == nil, "nothing is pending while a flush runs")
    }

    @Test("successes of a profile collapse; the queue stays small under load")
    func successesCollapse() {
        var machine = HealthStateMachine(policy: CooldownPolicy())
        for i in 0..<10_000 {
            _ = machine.markUsed(a, now: Int64(i), clock: 0)
            _ = machine.markGood(a, model: "m", now: Int64(i), clock: 0)
        }
        let batch = machine.beginFlush()
        #expect(batch?.operations.count == 1)
        #expect(batch?.uses[a] == 9_999)
    }

    @Test("two recorders on the same files (two processes) merge: no update is lost")
    func twoWritersMerge() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let first = try recorder(dir, clock: clock)
            let second = try recorder(dir, clock: clock)
            first.markUsed(a)
            first.markFailure(a, model: nil, classification: .init(reason: .overloaded), credentialFingerprint: nil)
            try await first.flush()
            clock.advance(by: 40_000)  // the first window (30 s) has ended
            second.markUsed(b)
            second.markFailure(a, model: nil, classification: .init(reason: .overloaded), credentialFingerprint: nil)
            try await second.flush()

            let disk = try diskStats(dir)
            #expect(disk.stats(for: a).errorCount == 2, "the second process's failure must build on the first's")
            #expect(disk.stats(for: a).cooldownUntil == clock.now + 60_000, "second step of the ladder")
            #expect(disk.stats(for: a).lastUsed == clock.now - 40_000)
            #expect(disk.stats(for: b).lastUsed == clock.now)
            // Each recorder adopted what it found on disk.
            #expect(second.stats(for: a).errorCount == 2)
            try first.load()
            #expect(first.stats(for: b).lastUsed == clock.now)
        }
    }

    @Test("a flush that cannot write keeps its changes for the next one")
    func failedFlushRetries() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let recorder = try recorder(dir, clock: clock)
            let path = dir.home.authStatePath("main")
            try FileIO.makeDirectories(FileIO.parentDirectory(of: path))
            try AtomicFile.write(Array("{ not json".utf8), to: path)
            recorder.markFailure(a, model: nil, classification: .init(reason: .billing), credentialFingerprint: nil)
            await #expect(throws: StoreError.self) { try await recorder.flush() }
            #expect(readText(path) == "{ not json", "a broken file must not be overwritten")
            #expect(recorder.timeUntilDue() != nil, "the change must stay queued")
            try AtomicFile.write(Array("{\"version\":1,\"keep\":true}".utf8), to: path)
            try await recorder.flush()
            let disk = try diskStats(dir)
            #expect(disk.stats(for: a).disabledReason == .billing)
            #expect(disk.extra["keep"] == true)
        }
    }

    @Test("events: failure, window started, recovered, window ended; the service flushes and announces", .timeLimit(.minutes(1)))
    func eventsAndService() async throws {
        try await withTemporaryDirectory { dir in
            let store = try AgentStore(home: dir.home, agentID: "main")
            let recorder = HealthRecorder(store: store, policy: CooldownPolicy())
            let events = recorder.events.subscribe()
            let service = HealthFlushService(recorder: recorder)
            let group = ServiceGroup(services: [service], logger: .init(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }

                let now = WallClock.nowMillis()
                recorder.markFailure(a, model: "m", classification: .init(reason: .rateLimit, retryAt: now + 1_000), credentialFingerprint: nil)
                recorder.markFailure(b, model: nil, classification: .init(reason: .overloaded), credentialFingerprint: nil)
                recorder.markGood(b, model: nil)

                var seen: [HealthEvent] = []
                for await event in events {
                    seen.append(event)
                    if case .windowEnded = event { break }
                }
                #expect(seen.contains(.failureRecorded(agent: "main", profile: a, reason: .rateLimit, model: "m")))
                #expect(seen.contains { if case .windowStarted(_, let p, let w) = $0 { p == a && w.model == "m" } else { false } })
                #expect(seen.contains(.profileRecovered(agent: "main", profile: b)))
                #expect(seen.last?.profile == a)

                // The background flush has written both profiles by now (failures within 100 ms).
                let disk = try store.state.read()
                #expect(disk.stats(for: a).cooldownReason == .rateLimit)
                #expect(disk.stats(for: b).errorCount == 0)
                #expect(disk.lastGood["anthropic"] == b.description)

                recorder.markUsed(b)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(try store.state.read().stats(for: b).lastUsed != nil, "graceful shutdown must flush what is queued")
        }
    }
}

private func readText(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}
