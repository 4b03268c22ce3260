import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// What a waiter does with each kind of sidecar it finds (docs: the lock contract).
    @Suite struct FileLockSidecarTests {
        /// A data file with its sidecar path, in a fresh folder.
        struct Files {
            let data: String
            var sidecar: String { data + ".lock" }
            init(_ dir: TemporaryDirectory) throws {
                data = dir.path + "/agent/auth-profiles.json"
                try writeText(#"{"version":1,"profiles":{}}"#, to: data)
            }
        }

        /// Takes the lock and checks, inside, that the sidecar is now this process's.
        static func takeLock(_ files: Files, _ options: FileLockOptions) async throws {
            var ran = false
            try await FileLock.withLock(protecting: files.data, options: options) {
                ran = true
                let payload = LockPayload(bytes: readBytes(files.sidecar) ?? [])
                #expect(payload?.pid == getpid())
                #expect(payload?.startTime == ProcessInspector.currentStartTime)
            }
            #expect(ran)
            #expect(!FileIO.exists(files.sidecar))
        }

        static func expectForeignTimeout(_ files: Files, content: String) async {
            let start = ContinuousClock.now
            let error = await storeError {
                try await FileLock.withLock(protecting: files.data, options: shortLock(timeout: .seconds(1))) {
                    Issue.record("the body ran while a fresh foreign lock was there")
                }
            }
            #expect(seconds(since: start) >= 0.9)
            #expect(error?.code == .lockTimeout)
            let message = error?.message ?? ""
            #expect(message.contains("Timed out after 1.0 s waiting for the lock on \(files.data)"), "\(message)")
            #expect(message.contains("The lock file \(files.sidecar) is not in Gatehouse's format (\(content))"), "\(message)")
            #expect(message.contains("a foreign lock, reclaimed once it is 30.0 s old"), "\(message)")
            #expect(FileIO.exists(files.sidecar), "a fresh foreign lock must not be removed")
        }

        @Test(arguments: [("not a lock", "not JSON"), ("", "empty"), (#"{"tool":"other","pid":1}"#, "another tool's JSON")])
        func freshForeignSidecarIsWaitedForAndNamed(content: String, described: String) async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                try writeText(content, to: files.sidecar)
                await Self.expectForeignTimeout(files, content: described)
                #expect(readBytes(files.sidecar) == Array(content.utf8))
            }
        }

        @Test(arguments: ["not a lock", ""])
        func oldForeignSidecarIsReclaimed(content: String) async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                try writeText(content, to: files.sidecar)
                try setModified(files.sidecar, secondsAgo: 31)
                let start = ContinuousClock.now
                try await Self.takeLock(files, shortLock(timeout: .seconds(2)))
                #expect(seconds(since: start) < 1, "an old foreign lock is reclaimed at once")
            }
        }

        @Test func foreignSidecarIsReclaimedOnceItGetsOldWhileWaiting() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                try writeText("not a lock", to: files.sidecar)
                let start = ContinuousClock.now
                try await Self.takeLock(files, shortLock(timeout: .seconds(3), foreignStaleAfter: .milliseconds(700)))
                let waited = seconds(since: start)
                #expect(waited >= 0.6 && waited < 2.5, "waited \(waited) s")
            }
        }

        @Test func oldForeignSidecarFlockedByALiveProcessIsNotReclaimed() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                try writeText("not a lock", to: files.sidecar)
                try setModified(files.sidecar, secondsAgo: 60)
                let holder = try await PythonLockHolder(.flock, path: files.sidecar)
                let error = await storeError {
                    try await FileLock.withLock(protecting: files.data, options: shortLock(timeout: .seconds(1))) {}
                }
                #expect(error?.code == .lockTimeout)
                #expect(error?.message.contains("unless a live process holds it: flock write lock held by pid \(holder.pid) (python3)") == true, "\(error?.message ?? "")")
                #expect(FileIO.exists(files.sidecar))
                await holder.kill()
                try await Self.takeLock(files, shortLock(timeout: .seconds(2)))
            }
        }

        @Test func liveGatehouseHolderIsWaitedForThenReclaimedWhenItDies() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                let holder = try await PythonLockHolder(.sidecar, path: files.sidecar)
                #expect(LockPayload(bytes: readBytes(files.sidecar) ?? [])?.pid == holder.pid)

                let start = ContinuousClock.now
                let error = await storeError {
                    try await FileLock.withLock(protecting: files.data, options: shortLock(timeout: .milliseconds(1500))) {
                        Issue.record("the body ran while a live process held the lock")
                    }
                }
                #expect(seconds(since: start) >= 1.4)
                #expect(error?.code == .lockTimeout)
                let message = error?.message ?? ""
                #expect(message.contains("Timed out after 1.5 s waiting for the lock on \(files.data)"), "\(message)")
                #expect(message.contains("The lock file \(files.sidecar) is held by pid \(holder.pid) (python3), since "), "\(message)")
                #expect(!message.contains("on host"), "\(message)")

                await holder.kill()
                #expect(FileIO.exists(files.sidecar), "the killed holder leaves its sidecar behind")
                let reclaimStart = ContinuousClock.now
                try await Self.takeLock(files, shortLock(timeout: .seconds(2)))
                #expect(seconds(since: reclaimStart) < 1)
            }
        }

        @Test func sidecarOfADeadPidIsReclaimedAtOnce() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                let gone = try ChildProcess("/bin/true", [])
                let result = await gone.wait()
                #expect(result.status == 0)
                #expect(!ProcessInspector.isAlive(gone.pid))
                let payload = LockPayload(
                    pid: gone.pid, createdAt: WallClock.nowMillis(), startTime: 12345, host: ProcessInspector.hostName,
                    owner: LockPayload.gatehouseOwner)
                try writeText(String(decoding: payload.bytes, as: UTF8.self), to: files.sidecar)
                let start = ContinuousClock.now
                try await Self.takeLock(files, shortLock(timeout: .seconds(1)))
                #expect(seconds(since: start) < 0.5)
            }
        }

        @Test func sidecarOfALivePidWithAnotherStartTimeIsReclaimed() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                let sleeper = try ChildProcess("/bin/sleep", ["30"])
                defer { sleeper.signal(SIGKILL) }
                let realStart = try #require(ProcessInspector.startTime(of: sleeper.pid))
                let payload = LockPayload(
                    pid: sleeper.pid, createdAt: WallClock.nowMillis(), startTime: realStart + 1, host: ProcessInspector.hostName,
                    owner: LockPayload.gatehouseOwner)
                try writeText(String(decoding: payload.bytes, as: UTF8.self), to: files.sidecar)
                let start = ContinuousClock.now
                try await Self.takeLock(files, shortLock(timeout: .seconds(1)))
                #expect(seconds(since: start) < 0.5)
                #expect(ProcessInspector.isAlive(sleeper.pid))
            }
        }

        /// The counterpart of the test above: the same live process (same start time), even without
        /// the flock, is not provably gone and is waited for.
        @Test func sidecarOfTheSameLiveProcessWithoutFlockIsWaitedFor() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                let sleeper = try ChildProcess("/bin/sleep", ["30"])
                defer { sleeper.signal(SIGKILL) }
                let payload = LockPayload(
                    pid: sleeper.pid, createdAt: WallClock.nowMillis() - 5000, startTime: ProcessInspector.startTime(of: sleeper.pid),
                    host: ProcessInspector.hostName, owner: LockPayload.gatehouseOwner)
                try writeText(String(decoding: payload.bytes, as: UTF8.self), to: files.sidecar)
                let error = await storeError {
                    try await FileLock.withLock(protecting: files.data, options: shortLock(timeout: .seconds(1))) {}
                }
                #expect(error?.code == .lockTimeout)
                #expect(error?.message.contains("is held by pid \(sleeper.pid) (sleep), since ") == true, "\(error?.message ?? "")")
                let age = (error?.message).flatMap { $0.firstMatch(of: /\((\d+)\.\d s ago\)/) }.flatMap { Int($0.1) }
                #expect(age.map { (5...8).contains($0) } == true, "the age of the lock is shown: \(error?.message ?? "")")
                #expect(FileIO.exists(files.sidecar))
            }
        }

        /// A writer that died but whose parent has not reaped it yet is a zombie: `kill(pid, 0)` still
        /// succeeds and `/proc/<pid>/stat` still shows its start time, but it holds nothing (the kernel
        /// dropped its flock when it exited). It is provably gone, so its sidecar must be reclaimed.
        @Test func sidecarOfAnUnreapedDeadWriterIsReclaimed() async throws {
            try await withTemporaryDirectory { dir in
                let files = try Files(dir)
                let holder = try await PythonLockHolder(.sidecarFromZombie, path: files.sidecar)
                #expect(LockPayload(bytes: readBytes(files.sidecar) ?? [])?.pid == holder.pid)
                var failure: (any Error)?
                do {
                    try await Self.takeLock(files, shortLock(timeout: .seconds(2)))
                } catch {
                    failure = error
                }
                #expect(failure == nil, "the sidecar of a dead (zombie) writer was not reclaimed: \(failure.map { "\($0)" } ?? "")")
                await holder.kill()
            }
        }
    }
}
