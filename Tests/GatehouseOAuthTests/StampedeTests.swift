import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// Many processes, each with many tasks, asking for the same expired login at the same moment.
@Suite("OAuth refresh across processes", .serialized)
struct StampedeTests {
    private func runWorkers(_ setup: OAuthTestHome, processes: Int, tasks: Int, rounds: Int = 1) async throws -> [String] {
        let children = try (0..<processes).map { n in
            try ChildProcess(
                productPath("gatehouse-store-worker"),
                ["--home", setup.home.path, "--agent", "main", "--worker", "\(n)", "--ops", "\(rounds)", "--mode", "token",
                 "--tasks", "\(tasks)", "--profile", setup.profile.description])
        }
        var tokens: [String] = []
        for child in children {
            let result = await child.wait()
            #expect(result.status == 0, "worker failed: \(result.stderr)")
            tokens += result.stdout.split(separator: "\n").filter { $0.hasPrefix("token ") }.map { String($0.dropFirst(6)) }
        }
        return tokens
    }

    @Test("8 processes x 25 tasks: exactly one call reaches the token endpoint, every task gets the new token, the file holds it")
    func stampede() async throws {
        try await MockProvider.with(["--token-latency", "150"]) { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: account.refresh, expires: fromNow(-1_000))
                let tokens = try await runWorkers(setup, processes: 8, tasks: 25)
                #expect(tokens.count == 200)
                #expect(Set(tokens).count == 1)
                #expect(tokens.first != "expired")
                #expect(try setup.credential.access == tokens.first)
                let counters = try await mock.counters()
                #expect(counters["oauth.refresh"] == 1)
                #expect(counters["oauth.invalid_grant", default: 0] == 0)
            }
        }
    }

    @Test("single-use refresh tokens: rounds of expiry with several processes never see invalid_grant")
    func rounds() async throws {
        try await MockProvider.with(["--token-latency", "50"]) { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: "expired", refresh: account.refresh, expires: fromNow(-1_000))
                var seen: Set<String> = []
                for round in 1...5 {
                    let current = try setup.credential
                    try await setup.setCredential(access: current.access ?? "x", refresh: current.refresh!, expires: fromNow(-1_000))
                    let tokens = try await runWorkers(setup, processes: 4, tasks: 10)
                    #expect(Set(tokens).count == 1, "round \(round)")
                    #expect(seen.insert(tokens.first ?? "").inserted, "round \(round) must get a new token")
                    let counters = try await mock.counters()
                    #expect(counters["oauth.refresh"] == round)
                    #expect(counters["oauth.invalid_grant", default: 0] == 0)
                }
            }
        }
    }

    @Test("a fresh token in the file is served at once while a script holds fcntl.flock on the file")
    func servedWhileFileIsLocked() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                let account = try await mock.account()
                let setup = try await OAuthTestHome.make(dir, mock: mock, access: account.access, refresh: account.refresh, expires: fromNow(3_600_000))
                let holder = try await PythonLockHolder(.flock, path: setup.home.authProfilesPath("main"))
                defer { holder.child.signal(SIGKILL) }
                let start = ContinuousClock.now
                let result = try await gatehouse(home: setup.home.path, ["auth", "token", setup.profile.description])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == account.access + "\n")
                #expect(ContinuousClock.now - start < .seconds(1))
            }
        }
    }
}
