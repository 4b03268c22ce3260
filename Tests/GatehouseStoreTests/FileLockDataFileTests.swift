import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// Scripts that lock the data file itself (`fcntl.flock`, `lockf`) are waited for, and named when
    /// the wait times out.
    @Suite struct FileLockDataFileTests {
        static func seededStore(_ dir: TemporaryDirectory, timeout: Duration) async throws -> AgentStore {
            let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock(timeout: timeout))
            try await store.profiles.update { document in
                let id = try ProfileID(parsing: "openai:seed")
                document.profiles[id] = AuthProfile(id: id, credential: .apiKey(APIKeyCredential(key: "k-seed")))
            }
            return store
        }

        static func addProfile(_ store: AgentStore, _ name: String) async throws {
            try await store.profiles.update { document in
                let id = try ProfileID(provider: "openai", name: name)
                document.profiles[id] = AuthProfile(id: id, credential: .apiKey(APIKeyCredential(key: "k-\(name)")))
            }
        }

        @Test(arguments: [PythonLockHolder.Kind.flock, .lockf])
        func updateWaitsForAScriptThatLocksTheDataFile(kind: PythonLockHolder.Kind) async throws {
            try await withTemporaryDirectory { dir in
                let store = try await Self.seededStore(dir, timeout: .seconds(6))
                let holder = try await PythonLockHolder(kind, path: store.profiles.path)
                let update = Task {
                    try await Self.addProfile(store, "after")
                    return ContinuousClock.now
                }
                try await Task.sleep(for: .seconds(1))
                #expect(try store.profiles.read().profiles.count == 1, "the update must not write while the script holds its lock")
                let releasedAt = ContinuousClock.now
                try await holder.release()
                let finishedAt = try await update.value
                #expect(finishedAt > releasedAt)
                #expect(seconds(since: releasedAt) < 3, "the waiter notices the release within its backoff")
                let names = try store.profiles.read().profiles.keys.map(\.description).sorted()
                #expect(names == ["openai:after", "openai:seed"])
                #expect(directoryNames(dir.home.agentDirectory("main")) == ["auth-profiles.json"])
                await holder.kill()
            }
        }

        @Test(arguments: [PythonLockHolder.Kind.flock, .lockf])
        func updateTimesOutNamingTheScript(kind: PythonLockHolder.Kind) async throws {
            try await withTemporaryDirectory { dir in
                let store = try await Self.seededStore(dir, timeout: .seconds(1))
                let before = readBytes(store.profiles.path)
                let holder = try await PythonLockHolder(kind, path: store.profiles.path)
                let start = ContinuousClock.now
                let error = await storeError { try await Self.addProfile(store, "never") }
                #expect(seconds(since: start) >= 0.9)
                #expect(error?.code == .lockTimeout)
                let lock = kind == .flock ? "flock" : "fcntl/lockf"
                let message = error?.message ?? ""
                #expect(message.contains("Timed out after 1.0 s waiting for the lock on \(store.profiles.path)."), "\(message)")
                #expect(message.contains("\(store.profiles.path) itself is locked: \(lock) write lock held by pid \(holder.pid) (python3)."), "\(message)")
                #expect(readBytes(store.profiles.path) == before)
                #expect(directoryNames(dir.home.agentDirectory("main")) == ["auth-profiles.json"], "the sidecar is removed after the timeout")
                await holder.kill()
                try await Self.addProfile(store, "later")
                #expect(try store.profiles.read().profiles.count == 2)
            }
        }
    }
}
