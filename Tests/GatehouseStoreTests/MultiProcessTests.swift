import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// Real `gatehouse-store-worker` processes contending for one agent's files.
    @Suite struct MultiProcessTests {
        static var worker: String { productPath("gatehouse-store-worker") }

        static func arguments(_ home: GatehouseHome, worker: Int, ops: Int, mode: String = "mixed", lockTimeout: String? = nil) -> [String] {
            ["--home", home.path, "--agent", "main", "--worker", "\(worker)", "--ops", "\(ops)", "--mode", mode]
                + (lockTimeout.map { ["--lock-timeout", $0] } ?? [])
        }

        /// The `op <i>` lines a worker printed.
        static func opLines(_ output: String) -> [String] {
            output.split(separator: "\n").filter { $0.hasPrefix("op ") }.map(String.init)
        }

        /// Checks that every usable profile is one a worker writes, whole; returns the ids.
        static func checkProfiles(_ document: AuthProfilesDocument, sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
            #expect(document.invalidEntries.isEmpty, "damaged entries: \(document.invalidEntries.keys.sorted())", sourceLocation: sourceLocation)
            for profile in document.profiles.values {
                let parts = profile.id.name.dropFirst().split(separator: "-")
                let expected = AuthProfile(id: profile.id, credential: .apiKey(APIKeyCredential(key: "k-\(parts.joined(separator: "-"))")))
                #expect(profile.id.provider == "test" && profile.id.name.hasPrefix("w") && parts.count == 2, sourceLocation: sourceLocation)
                #expect(profile == expected, "profile \(profile.id) is not whole", sourceLocation: sourceLocation)
            }
            return Set(document.profiles.keys.map(\.description))
        }

        @Test func fourWorkersTimesFiftyOpsLoseNoUpdate() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                let start = ContinuousClock.now
                // A long lock timeout: this test is about lost updates, and other builds may share the CPU.
                let workers = try (0..<4).map { n in
                    try ChildProcess(Self.worker, Self.arguments(home, worker: n, ops: 50, lockTimeout: "30"))
                }
                var results: [ProcessResult] = []
                for worker in workers { results.append(await worker.wait()) }
                print("4 workers x 50 mixed ops: \(seconds(since: start)) s")

                for (n, result) in results.enumerated() {
                    #expect(result.status == 0 && !result.signaled, "worker \(n): \(result.stderr)")
                    let lines = result.stdout.split(separator: "\n").map(String.init)
                    #expect(lines == ["ready"] + (0..<50).map { "op \($0)" } + ["done"], "worker \(n)")
                }
                let store = try AgentStore(home: home, agentID: "main")
                let profiles = try store.profiles.read()
                let ids = Self.checkProfiles(profiles)
                #expect(ids == Set((0..<4).flatMap { n in (0..<50).map { "test:w\(n)-\($0)" } }))
                let state = try store.state.read()
                #expect(state.usageStats["test:shared"]?.errorCount == 200)
                for n in 0..<4 {
                    #expect(state.usageStats["test:w\(n)"]?.lastUsed == 49)
                }
                #expect(directoryNames(home.agentDirectory("main")) == ["auth-profiles.json", "auth-state.json"])
            }
        }

        @Test func workersAndThisProcessShareOneCounter() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                let workers = try (0..<2).map { n in try ChildProcess(Self.worker, Self.arguments(home, worker: n, ops: 40, mode: "state")) }
                let store = try AgentStore(home: home, agentID: "main")
                for _ in 0..<40 {
                    try await store.state.update { $0.usageStats["test:shared", default: UsageStats()].errorCount += 1 }
                }
                for worker in workers {
                    let result = await worker.wait()
                    #expect(result.status == 0, "\(result.stderr)")
                }
                #expect(try store.state.read().usageStats["test:shared"]?.errorCount == 120)
                #expect(!FileIO.exists(home.authProfilesPath("main")), "state mode does not touch credentials")
            }
        }

        @Test func workerRejectsBadArguments() async throws {
            try await withTemporaryDirectory { dir in
                let result = try await run(Self.worker, ["--home", dir.path, "--agent", "main", "--worker", "1", "--ops", "x"])
                #expect(result.status == 1)
                #expect(result.stderr.contains("--ops"))
                #expect(!result.stdout.contains("ready"))
            }
        }

        @Test func killedWorkersNeverDamageTheFilesAndTheirLocksAreReclaimed() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                let agentDir = home.agentDirectory("main")
                let store = try AgentStore(home: home, agentID: "main")
                var known: Set<String> = []
                var stateOps = 0
                var roundsLeavingSidecars = 0
                var temporariesLeft: Set<String> = []
                let start = ContinuousClock.now
                for round in 0..<15 {
                    let worker = try ChildProcess(Self.worker, Self.arguments(home, worker: round, ops: 100_000))
                    let deadline = ContinuousClock.now + .seconds(20)
                    while Self.opLines(worker.stdoutSoFar).isEmpty && worker.process.isRunning && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                    // Kill at a different point of the write cycle each round.
                    try await Task.sleep(for: .microseconds(Int.random(in: 0...20_000)))
                    worker.signal(SIGKILL)
                    let result = await worker.wait()
                    #expect(result.signaled && result.status == SIGKILL, "round \(round): \(result.stderr)")
                    let printed = Self.opLines(result.stdout).count
                    try #require(printed > 0, "round \(round): the worker printed no op before it was killed")

                    let names = directoryNames(agentDir)
                    let sidecars = names.filter { $0.hasSuffix(".lock") }
                    if !sidecars.isEmpty { roundsLeavingSidecars += 1 }
                    let emptySidecars = sidecars.filter { readBytes(agentDir + "/" + $0)?.isEmpty == true }
                    temporariesLeft.formUnion(names.filter { $0.hasSuffix(".tmp") })
                    for name in names {
                        let allowed = ["auth-profiles.json", "auth-state.json", "auth-profiles.json.lock", "auth-state.json.lock"].contains(name)
                            || ((name.hasPrefix("auth-profiles.json.") || name.hasPrefix("auth-state.json.")) && name.hasSuffix(".tmp"))
                        #expect(allowed, "round \(round): unexpected file \(name)")
                    }

                    // Both files parse and hold whole, old-or-new content: nothing known is lost, and
                    // this worker's profiles and state ops form one unbroken prefix.
                    let ids = Self.checkProfiles(try store.profiles.read())
                    #expect(known.isSubset(of: ids), "round \(round): lost \(known.subtracting(ids).sorted())")
                    let mine = ids.subtracting(known)
                    let profilesDone = mine.count
                    #expect(mine == Set((0..<profilesDone).map { "test:w\(round)-\($0)" }), "round \(round)")
                    let state = try store.state.read()
                    let stateDone = Int(state.usageStats["test:w\(round)"]?.lastUsed.map { $0 + 1 } ?? 0)
                    #expect(stateDone >= printed, "round \(round): printed op \(printed - 1) but state has \(stateDone) ops")
                    #expect(profilesDone == stateDone || profilesDone == stateDone + 1, "round \(round): \(profilesDone) profiles, \(stateDone) state ops")
                    stateOps += stateDone
                    #expect(state.usageStats["test:shared"]?.errorCount == stateOps, "round \(round): the shared counter lost an update")

                    // A fresh worker with a short lock timeout gets through whatever was left behind.
                    let followUp = try await run(Self.worker, Self.arguments(home, worker: 1000 + round, ops: 1, lockTimeout: "3"))
                    try #require(
                        followUp.status == 0,
                        "round \(round): follow-up failed (the killed worker left \(sidecars) of which empty: \(emptySidecars)): \(followUp.stderr)")
                    stateOps += 1
                    known = ids.union(["test:w\(1000 + round)-0"])
                    #expect(Self.checkProfiles(try store.profiles.read()) == known)
                    #expect(try store.state.read().usageStats["test:shared"]?.errorCount == stateOps)
                    #expect(!directoryNames(agentDir).contains { $0.hasSuffix(".lock") }, "round \(round): a sidecar remains after the follow-up")
                }
                print("15 SIGKILL rounds: \(seconds(since: start)) s; \(roundsLeavingSidecars) rounds left a sidecar; \(temporariesLeft.count) temporary files were left behind")
            }
        }
    }
}
