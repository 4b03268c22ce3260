import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// Re-entrancy, ordering of this process's tasks, and release.
    @Suite struct FileLockInProcessTests {
        /// Runs `body` in a task and waits at most `limit` for it, so that a deadlock fails the test
        /// instead of hanging the run.
        static func finishes(within limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
            let done = SharedCounter()
            let task = Task {
                try await body()
                done.add(1)
            }
            let deadline = ContinuousClock.now + limit
            while done.value == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            guard done.value == 1 else { return false }
            try await task.value
            return true
        }

        @Test func nestedLockInTheSameTaskDoesNotDeadlock() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-state.json"
                let sidecar = data + ".lock"
                try writeText("{}", to: data)
                let depth = SharedCounter()
                let finished = try await Self.finishes(within: .seconds(5)) {
                    try await FileLock.withLock(protecting: data, options: shortLock()) {
                        depth.add(1)
                        try await FileLock.withLock(protecting: data, options: shortLock()) {
                            depth.add(1)
                            #expect(FileLock.isHeld(sidecar: sidecar))
                            // A structured child task is part of the holder's task tree.
                            async let child: Void = FileLock.withLock(protecting: data, options: shortLock()) {
                                depth.add(1)
                            }
                            try await child
                        }
                        #expect(FileIO.exists(sidecar), "the inner release must not release the outer lock")
                    }
                }
                #expect(finished, "a nested lock deadlocked")
                #expect(depth.value == 3)
                #expect(!FileIO.exists(sidecar))
                #expect(!FileLock.isHeld(sidecar: sidecar))
            }
        }

        @Test func tasksOfThisProcessTakeTheLockOneAfterTheOther() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-state.json"
                try writeText("{}", to: data)
                let inside = SharedCounter()
                let mostInside = SharedCounter()
                let entered = SharedCounter()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            for _ in 0..<5 {
                                try await FileLock.withLock(protecting: data, options: shortLock(timeout: .seconds(10))) {
                                    mostInside.raise(to: inside.add(1))
                                    entered.add(1)
                                    try await Task.sleep(for: .milliseconds(10))
                                    inside.add(-1)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(entered.value == 30)
                #expect(mostInside.value == 1, "two tasks held the lock at the same time")
                #expect(!FileIO.exists(data + ".lock"))
            }
        }

        @Test func locksAreHeldInsideAndAllReleasedAfterwards() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-profiles.json"
                let sidecar = data + ".lock"
                try writeText("{}", to: data)
                let inode = try StoreTests.inode(data)
                try await FileLock.withLock(protecting: data, options: shortLock()) {
                    let payload = try #require(LockPayload(bytes: readBytes(sidecar) ?? []))
                    #expect(payload.pid == getpid() && payload.owner == "gatehouse" && payload.host == ProcessInspector.hostName)
                    #expect(FileIO.mode(of: sidecar) == 0o600)
                    let kinds = ProcessInspector.kernelLocks(inode: inode).map(\.kind).sorted()
                    #expect(kinds == ["FLOCK", "OFDLCK"], "flock and an OFD lock on the data file")
                }
                #expect(!FileIO.exists(sidecar))
                #expect(ProcessInspector.kernelLocks(inode: inode).isEmpty)
                #expect(directoryNames(dir.path) == ["auth-profiles.json"])
            }
        }

        /// The deadline is total: a task queued behind another task of this process that holds the
        /// lock for longer gives up when its own deadline passes, like a waiter in another process.
        @Test func aTaskQueuedBehindAnotherTaskGivesUpAtItsDeadline() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-state.json"
                try writeText("{}", to: data)
                let entered = SharedCounter()
                let holder = Task {
                    try await FileLock.withLock(protecting: data, options: shortLock(timeout: .seconds(5))) {
                        entered.add(1)
                        try await Task.sleep(for: .seconds(2))
                    }
                }
                while entered.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
                let start = ContinuousClock.now
                let error = await storeError {
                    try await FileLock.withLock(protecting: data, options: shortLock(timeout: .milliseconds(500))) {}
                }
                let waited = seconds(since: start)
                #expect(error?.code == .lockTimeout)
                #expect(waited < 1.5, "a waiter with a 0.5 s deadline waited \(waited) s for another task of this process")
                try await holder.value
            }
        }

        /// A sidecar must never be visible without its payload: a writer killed at that moment would
        /// leave an empty sidecar, which every other writer takes for a foreign lock and waits 30 s for
        /// (longer than the 10 s store deadline), although its creator is provably gone. Seen in the
        /// SIGKILL test below; here a reader watches the sidecar while this process locks it in a loop.
        @Test func aSidecarIsNeverVisibleWithoutItsPayload() async throws {
            try await withTemporaryDirectory { dir in
                let sidecar = dir.path + "/refresh.lock"
                let stop = SharedCounter()
                let looks = SharedCounter()
                let emptySeen = SharedCounter()
                let finished = SharedCounter()
                let watcher = Thread {
                    while stop.value == 0 {
                        let fd = open(sidecar, O_RDONLY | O_CLOEXEC)
                        guard fd >= 0 else { continue }
                        var byte: UInt8 = 0
                        if read(fd, &byte, 1) == 0 { emptySeen.add(1) }
                        close(fd)
                        looks.add(1)
                    }
                    finished.add(1)
                }
                watcher.start()
                for _ in 0..<3000 {
                    try await FileLock.withLock(sidecar: sidecar, options: shortLock()) {}
                }
                stop.add(1)
                while finished.value == 0 { try await Task.sleep(for: .milliseconds(1)) }
                #expect(looks.value > 100, "the watcher should have seen the sidecar")
                #expect(emptySeen.value == 0, "the sidecar was seen empty \(emptySeen.value) times in \(looks.value) looks")
            }
        }

        struct BodyFailed: Error {}

        @Test func aThrowingBodyReleasesTheLock() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-profiles.json"
                let sidecar = data + ".lock"
                try writeText("{}", to: data)
                let inode = try StoreTests.inode(data)
                await #expect(throws: BodyFailed.self) {
                    try await FileLock.withLock(protecting: data, options: shortLock()) {
                        #expect(FileIO.exists(sidecar))
                        throw BodyFailed()
                    }
                }
                #expect(!FileIO.exists(sidecar))
                #expect(ProcessInspector.kernelLocks(inode: inode).isEmpty)
                #expect(!FileLock.isHeld(sidecar: sidecar))
                // Another process can take it at once.
                let holder = try await PythonLockHolder(.sidecar, path: sidecar)
                await holder.kill()
                // And so can this one (reclaiming the killed holder's sidecar).
                let start = ContinuousClock.now
                try await FileLock.withLock(protecting: data, options: shortLock()) {}
                #expect(seconds(since: start) < 0.5)
            }
        }

        /// An unstructured `Task` started inside a lock body inherits the body's task-local values,
        /// including the set of held sidecars. When it runs after the body has returned (say, a
        /// fire-and-forget flush), the lock is released, yet `withLock` believes it is re-entered and
        /// runs the body with no lock at all.
        @Test func aTaskStartedInsideTheBodyTakesTheLockItselfOnceTheBodyIsDone() async throws {
            try await withTemporaryDirectory { dir in
                let data = dir.path + "/auth-state.json"
                let sidecar = data + ".lock"
                try writeText("{}", to: data)
                let later = try await FileLock.withLock(protecting: data, options: shortLock()) {
                    Task {
                        try await Task.sleep(for: .milliseconds(200))
                        return try await FileLock.withLock(protecting: data, options: shortLock()) {
                            // A held lock has its sidecar, naming this process.
                            LockPayload(bytes: readBytes(sidecar) ?? [])?.pid == getpid()
                        }
                    }
                }
                #expect(!FileIO.exists(sidecar))
                let heldForReal = try await later.value
                #expect(heldForReal, "the late task ran its body without holding the lock (no sidecar)")
            }
        }
    }
}
