import Foundation
import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import GatehouseTestSupport
import Logging
import ServiceLifecycle
import Testing

/// The refresh manager against the mock provider over real HTTP.
@Suite("OAuth token manager", .serialized)
struct TokenManagerTests {
    @Test("a usable token is served without a refresh")
    func usableToken() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: account.access, refresh: account.refresh, expires: fromNow(3_600_000))
                let token = try await setup.manager().accessToken(agent: "main", profile: setup.profile)
                #expect(token == account.access)
                #expect(try await mock.counters()["oauth.refresh", default: 0] == 0)
            }
        }
    }

    @Test("an expired token: 50 concurrent callers, exactly one refresh, everyone gets the new token, the file holds it")
    func singleFlight() async throws {
        try await MockProvider.with(["--token-latency", "200"]) { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: account.refresh, expires: fromNow(-1_000))
                let manager = try setup.manager()
                let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<50 { group.addTask { try await manager.accessToken(agent: "main", profile: setup.profile) } }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(Set(tokens).count == 1)
                #expect(tokens.first != "expired")
                #expect(try setup.credential.access == tokens.first)
                #expect(try setup.credential.refresh != account.refresh, "the new single-use refresh token must be stored")
                let counters = try await mock.counters()
                #expect(counters["oauth.refresh"] == 1)
                #expect(counters["oauth.invalid_grant", default: 0] == 0)
            }
        }
    }

    @Test("inside the margin: the valid token is served at once and the background service refreshes it")
    func backgroundRefresh() async throws {
        try await MockProvider.with(["--token-latency", "300"]) { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: account.access, refresh: account.refresh, expires: fromNow(120_000))
                let manager = try setup.manager(background: true)
                let service = OAuthRefreshService(manager: manager)
                let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    let start = ContinuousClock.now
                    let token = try await manager.accessToken(agent: "main", profile: setup.profile)
                    #expect(token == account.access, "a still-valid token is served as it is")
                    #expect(ContinuousClock.now - start < .milliseconds(250), "the caller must not wait for the 300 ms refresh")
                    for _ in 0..<100 where try setup.credential.access == account.access {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(try setup.credential.access != account.access, "the background refresh must store a new token")
                    #expect(try await mock.counters()["oauth.refresh"] == 1)
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
        }
    }

    @Test("a rejected refresh token (invalid_grant) asks for a login and names the command")
    func invalidGrant() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: "never-issued", expires: fromNow(-1_000))
                let log = LoginRequiredLog()
                let manager = try setup.manager(loginRequired: log)
                let error = await #expect(throws: OAuthError.self) { try await manager.accessToken(agent: "main", profile: setup.profile) }
                #expect(error?.code == .loginRequired)
                #expect(error?.message.contains("gatehouse auth login acme") == true)
                #expect(log.all.map(\.0) == [setup.profile])
            }
        }
    }

    @Test("a transient token-endpoint failure keeps serving a still-valid token; with an expired one it fails")
    func transientFailure() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: account.access, refresh: account.refresh, expires: fromNow(120_000))
                try await mock.post("/admin/config", ["tokenFaults": [500, 500]])
                let token = try await setup.manager().accessToken(agent: "main", profile: setup.profile)
                #expect(token == account.access)
                #expect(try await mock.counters()["oauth.token.fault"] == 1)

                try await setup.setCredential(access: account.access, refresh: account.refresh, expires: fromNow(-1_000))
                let error = await #expect(throws: OAuthError.self) { try await setup.manager().accessToken(agent: "main", profile: setup.profile) }
                #expect(error?.code == .refreshFailed)
                #expect(error?.message.contains("HTTP 500") == true)
                // The refresh token was not spent: the next try works.
                let fresh = try await setup.manager().accessToken(agent: "main", profile: setup.profile)
                #expect(fresh != account.access)
            }
        }
    }

    @Test("after an upstream 401 a refresh is forced; a token another process already stored is adopted instead")
    func rejection() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: account.access, refresh: account.refresh, expires: fromNow(3_600_000))
                let manager = try setup.manager()
                let forced = try await manager.accessTokenAfterRejection(agent: "main", profile: setup.profile, rejectedAccessToken: account.access)
                #expect(forced != account.access)
                #expect(try await mock.counters()["oauth.refresh"] == 1)
                // The stored token differs from the rejected one: adopted, no call.
                let adopted = try await manager.accessTokenAfterRejection(agent: "main", profile: setup.profile, rejectedAccessToken: account.access)
                #expect(adopted == forced)
                #expect(try await mock.counters()["oauth.refresh"] == 1)
            }
        }
    }

    @Test("while another process holds the refresh lock, a token it stores is adopted at once, with no call")
    func adoptWhileWaiting() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: account.refresh, expires: fromNow(-1_000))
                let manager = try setup.manager()
                let lockPath = manager.refreshLockPath(for: setup.profile)
                try FileIO.makeDirectories(FileIO.parentDirectory(of: lockPath))
                let holder = try await PythonLockHolder(.sidecar, path: lockPath)
                defer { holder.child.signal(SIGKILL) }

                let start = ContinuousClock.now
                async let token = manager.accessToken(agent: "main", profile: setup.profile)
                try await Task.sleep(for: .milliseconds(300))
                // The other process finishes its refresh and stores the result.
                try await setup.setCredential(access: "fresh-from-elsewhere", refresh: "rt-elsewhere", expires: fromNow(3_600_000))
                #expect(try await token == "fresh-from-elsewhere")
                #expect(ContinuousClock.now - start < .seconds(1))
                #expect(try await mock.counters()["oauth.refresh", default: 0] == 0)
            }
        }
    }

    @Test("when the lock stays taken and nothing fresher appears, the error names the holder")
    func lockTimeout() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: account.refresh, expires: fromNow(-1_000))
                let manager = try setup.manager(lock: FileLockOptions(timeout: .seconds(1), initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100)))
                let lockPath = manager.refreshLockPath(for: setup.profile)
                try FileIO.makeDirectories(FileIO.parentDirectory(of: lockPath))
                let holder = try await PythonLockHolder(.sidecar, path: lockPath)
                defer { holder.child.signal(SIGKILL) }
                let error = await #expect(throws: OAuthError.self) { try await manager.accessToken(agent: "main", profile: setup.profile) }
                #expect(error?.code == .lockTimeout)
                #expect(error?.message.contains("pid \(holder.pid)") == true, "\(error?.message ?? "")")
                #expect(try await mock.counters()["oauth.refresh", default: 0] == 0)
            }
        }
    }
}
