import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// The request path's view of a store file: re-read when the file changed, looked at no more
    /// often than its interval, at once after `invalidate()`.
    @Suite struct CachedDocumentTests {
        private static func profile(_ id: String) throws -> AuthProfile {
            AuthProfile(id: try ProfileID(parsing: id), credential: .apiKey(APIKeyCredential(key: "k-\(id)")))
        }

        private static func add(_ id: String, to store: AgentStore) async throws {
            try await store.profiles.update { document in
                let profile = try Self.profile(id)
                document.profiles[profile.id] = profile
            }
        }

        @Test func anEditIsSeenOnTheNextReadWithoutInterval() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let cached = CachedDocument(file: store.profiles)
                let (first, _, firstVersion) = cached.currentVersioned()
                #expect(try first.get().profiles.isEmpty)

                try await Self.add("openai:a", to: store)
                let (second, changed, secondVersion) = cached.currentVersioned()
                #expect(changed)
                #expect(secondVersion == firstVersion + 1)
                #expect(try second.get().profiles.keys.map(\.description) == ["openai:a"])

                // Nothing changed: same version, nothing re-read.
                let (_, changedAgain, thirdVersion) = cached.currentVersioned()
                #expect(!changedAgain)
                #expect(thirdVersion == secondVersion)
            }
        }

        @Test func withAnIntervalAnEditWaitsForItOrForInvalidate() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let cached = CachedDocument(file: store.profiles, recheckAfter: .seconds(3600))
                #expect(try cached.current().get().profiles.isEmpty)

                let version = cached.currentVersion()
                try await Self.add("openai:a", to: store)
                // Within the interval the file is not looked at.
                #expect(try cached.current().get().profiles.isEmpty)
                #expect(cached.currentVersion() == version)

                cached.invalidate()
                #expect(cached.currentVersion() == version + 1, "the version alone is read without the lock")
                #expect(try cached.current().get().profiles.keys.map(\.description) == ["openai:a"])
            }
        }

        @Test func theVersionAloneMovesWithEachNewLoad() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let cached = CachedDocument(file: store.profiles, recheckAfter: .milliseconds(1))
                let first = cached.currentVersion()
                #expect(cached.currentVersioned().version == first)
                try await Task.sleep(for: .milliseconds(3))
                #expect(cached.currentVersion() == first, "the file did not change")
                try await Self.add("openai:a", to: store)
                try await Task.sleep(for: .milliseconds(3))
                let second = cached.currentVersion()
                #expect(second == first + 1)
                #expect(cached.currentVersioned().version == second)
                #expect(try cached.current().get().profiles.keys.map(\.description) == ["openai:a"])
            }
        }

        @Test func aShortIntervalSeesTheEditOnceItHasPassed() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let cached = CachedDocument(file: store.profiles, recheckAfter: .milliseconds(1))
                #expect(try cached.current().get().profiles.isEmpty)
                try await Self.add("openai:a", to: store)
                try await Task.sleep(for: .milliseconds(5))
                #expect(try cached.current().get().profiles.keys.map(\.description) == ["openai:a"])
            }
        }
    }
}
