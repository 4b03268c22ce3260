import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse-bench refresh`: the OAuth refresh stampede. Many processes, each with many tasks, need
/// a token of the same login at the same moment, and the stored access token has expired: the token
/// endpoint must be called exactly once, every caller must get the one new token, and the single-use
/// refresh token must never be sent twice (`invalid_grant`).
///
/// Against the root package's `gatehouse-mock-upstream` (started here, stopped at the end), with a
/// fresh temporary `GATEHOUSE_HOME` whose `gatehouse.json` points provider `acme` at the mock. Each
/// round expires the stored access token (the refresh token is kept), starts `processes` copies of
/// this executable (`refresh-worker`), releases them together, and reads the mock's counters. At the
/// end one process (this one) measures the cost of serving the cached, usable token.
///
/// Main-actor isolated: the parent blocks on its children's pipes, which belongs on the main thread,
/// not on the cooperative pool.
@MainActor
struct RefreshBenchmark {
    /// The command-line options of `gatehouse-bench refresh`.
    struct Options {
        /// Processes that need the token at once.
        var processes = 8
        /// Concurrent `accessToken` calls in each process.
        var tasks = 25
        /// Stampedes, each on a newly expired token.
        var rounds = 1
        /// `accessToken` calls on a usable token, in one process, at the end.
        var cachedCalls = 10_000
        /// The mock provider's executable; by default the root package's release build.
        var mock: String?
        /// Print JSON instead of the text table.
        var json = false

        static let usage =
            "usage: gatehouse-bench refresh [--processes 8] [--tasks 25] [--rounds 1] [--cached-calls 10000] [--mock PATH] [--json]"

        init(arguments: [String]) throws {
            var rest = BenchArguments(arguments, usage: Self.usage)
            while let argument = rest.next() {
                switch argument {
                case "--processes": processes = try rest.count(argument)
                case "--tasks": tasks = try rest.count(argument)
                case "--rounds": rounds = try rest.count(argument)
                case "--cached-calls": cachedCalls = try rest.count(argument)
                case "--mock":
                    mock = try rest.path(argument)
                case "--json": json = true
                default: throw rest.unknown(argument)
                }
            }
        }
    }

    let options: Options
    /// The command line as typed, for the report.
    let commandLine: String

    /// The agent and profile every caller asks for.
    nonisolated static let agent = "main"
    nonisolated static let email = "bench@example.com"
    /// How long before the round the stored access token expired.
    nonisolated static let expiredAgo: Int64 = 60_000

    /// Runs every round and the cached-token measurement and returns the report; the mock is stopped
    /// and the temporary home removed whatever happens.
    func run() async throws -> RefreshReport {
        guard let executable = options.mock ?? MockUpstreamProcess.defaultExecutable() else {
            throw BenchError("cannot tell where the root package's build is; pass --mock PATH to gatehouse-mock-upstream")
        }
        let temporary = try TemporaryHome()
        defer { temporary.remove() }
        let home = temporary.home
        try home.create()
        let facts = MachineFacts(directory: temporary.root)

        progress("starting \(executable) --port 0")
        let mock = try MockUpstreamProcess(executable: executable)
        var mockStopped = false
        defer { if !mockStopped { _ = mock.stop() } }
        progress("mock listening on \(mock.baseURL) (pid \(mock.pid))")

        let profile = try ProfileID(provider: "acme", name: "bench")
        try await prepare(home: home, mock: mock, profile: profile)
        let store = try AgentStore(home: home, agentID: Self.agent)

        var rounds: [RefreshReport.Round] = []
        for round in 1...options.rounds {
            progress("round \(round)/\(options.rounds): \(options.processes) processes x \(options.tasks) tasks")
            rounds.append(try await stampede(round: round, home: home, store: store, mock: mock, profile: profile))
        }

        progress("cached token: accessToken x \(options.cachedCalls) in this process")
        let cached = try await cachedToken(home: home, store: store, mock: mock, profile: profile)

        let finalCounters = try await mock.counters()
        let mockExit = mock.stop()
        mockStopped = true
        return RefreshReport(
            commandLine: commandLine, facts: facts, homePath: home.path, loadAtEnd: MachineFacts.loadAverage(), options: options,
            mockExecutable: executable, mockURL: mock.baseURL, mockExitStatus: mockExit, profile: profile, rounds: rounds,
            cached: cached, finalCounters: finalCounters)
    }

    /// Writes `gatehouse.json`, logs in an account on the mock, and stores it as `acme:bench` with an
    /// expired access token through the store API.
    private func prepare(home: GatehouseHome, mock: MockUpstreamProcess, profile: ProfileID) async throws {
        let configuration: JSONValue = [
            "providers": [
                "acme": [
                    "baseUrl": .string(mock.baseURL + "/v1"),
                    "oauth": ["tokenUrl": .string(mock.baseURL + "/oauth/token"), "clientId": "bench", "encoding": "form"],
                ]
            ]
        ]
        try AtomicFile.write(configuration.serialized(pretty: true), to: home.configurationPath)
        // The file must load as the workers will load it.
        let definition = try ConfigurationFile.load(home, environment: [:]).resolvedProviders["acme"]
        guard definition?.oauth?.tokenURL == mock.baseURL + "/oauth/token" else {
            throw BenchError("\(home.configurationPath) does not give provider acme the mock's token endpoint")
        }

        let account = try await mock.createAccount(email: Self.email)
        let store = try AgentStore(home: home, agentID: Self.agent)
        let expired = WallClock.nowMillis() - Self.expiredAgo
        try await store.profiles.update { document in
            document.profiles[profile] = AuthProfile(
                id: profile,
                credential: .oauth(OAuthCredential(access: account.access, refresh: account.refresh, expires: expired, email: Self.email)))
        }
    }

    /// One round: expire the stored token, release the workers together, collect what they got.
    private func stampede(
        round: Int, home: GatehouseHome, store: AgentStore, mock: MockUpstreamProcess, profile: ProfileID
    ) async throws -> RefreshReport.Round {
        if round > 1 {
            // Expired again, the refresh token kept: the round needs exactly one refresh.
            let expired = WallClock.nowMillis() - Self.expiredAgo
            try await store.profiles.update { document in
                guard var entry = document.profiles[profile], case .oauth(var credential) = entry.credential else { return }
                credential.expires = expired
                entry.credential = .oauth(credential)
                document.profiles[profile] = entry
            }
        }
        let before = try Self.storedCredential(store, profile)

        let arguments = RefreshWorker.arguments(home: home.path, agent: Self.agent, profile: profile, tasks: options.tasks)
        let children = try WorkerPipe.startWorkers(options.processes, arguments: arguments, command: RefreshWorker.command)
        let countersBefore = try await mock.counters()

        let (start, reports) = try WorkerPipe.release(children, command: RefreshWorker.command, decode: RefreshWorker.decodeReport)

        let countersAfter = try await mock.counters()
        let after = try Self.storedCredential(store, profile)
        return RefreshReport.Round(
            number: round, start: start, workers: reports, countersBefore: countersBefore, countersAfter: countersAfter,
            before: before, after: after, checkedAt: WallClock.nowMillis())
    }

    /// `accessToken` on the usable token the last round stored, `cachedCalls` times in this process.
    private func cachedToken(
        home: GatehouseHome, store: AgentStore, mock: MockUpstreamProcess, profile: ProfileID
    ) async throws -> RefreshReport.Cached {
        let manager = try RefreshWorker.tokenManager(home: home)
        let stored = try Self.storedCredential(store, profile)
        for _ in 0..<100 { _ = try await manager.accessToken(agent: Self.agent, profile: profile) }
        let countersBefore = try await mock.counters()
        var samples = [UInt64](repeating: 0, count: options.cachedCalls)
        var mismatches = 0
        for i in 0..<options.cachedCalls {
            let start = MonotonicTime.now()
            let token = try await manager.accessToken(agent: Self.agent, profile: profile)
            samples[i] = MonotonicTime.now() - start
            if token != stored.access { mismatches += 1 }
        }
        let countersAfter = try await mock.counters()
        return RefreshReport.Cached(
            latency: LatencySummary(samples), tokenCalls: RefreshReport.delta("oauth.token", countersBefore, countersAfter),
            mismatches: mismatches)
    }

    /// The OAuth credential of the profile as stored now.
    private static func storedCredential(_ store: AgentStore, _ profile: ProfileID) throws -> OAuthCredential {
        guard let entry = try store.profiles.read().profiles[profile], case .oauth(let credential) = entry.credential else {
            throw BenchError("\(store.profiles.path) has no OAuth profile \(profile)")
        }
        return credential
    }

    /// A line on standard error, so a long run shows where it is (and `--json` output stays clean).
}
