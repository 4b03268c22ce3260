/// `gatehouse-store-worker`: a test tool that contends for one agent's files through the real store
/// API, so that tests can start several at once (or kill one mid-write) and check that no update is
/// lost and no file is left damaged.
///
///     gatehouse-store-worker --home PATH --agent ID --worker N --ops K
///                            [--mode mixed|state|profiles|health|token] [--lock-timeout SECONDS]
///                            [--at MILLIS] [--tasks T] [--profile ID]
///
/// For each op `i` in `0..<K`: `profiles`/`mixed` add the profile `test:w<N>-<i>` (an inline API key
/// `k-<N>-<i>`) to auth-profiles.json; `state`/`mixed` add 1 to `usageStats["test:shared"].errorCount`
/// (shared by all workers) and set `usageStats["test:w<N>"].lastUsed = i` in auth-state.json.
/// `health` records, through a `HealthRecorder` whose clock stands at `--at`, per op: a `rate_limit`
/// failure of `test:a` for model `m`, an `overloaded` failure of `test:b`, a `timeout` of its own
/// `test:w<N>`, a use of `test:u`; with
/// `--ops 0` a success of `test:a` for model `m`; then flushes. `token` asks `--tasks` concurrent tasks
/// for an access token of `--profile` (`--ops` rounds) and prints `token <value>` for each.
/// Prints `ready` before the first op, `op <i>` after each, `done` at the end. Exits 0 on success,
/// 1 with the error on stderr otherwise.
import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Glibc

enum Mode: String {
    case mixed, state, profiles, health, token
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
}

/// Writes one line straight to a descriptor (no buffering, so the parent sees it at once).
func writeLine(_ fd: Int32, _ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
    }
}

func say(_ line: String) { writeLine(STDOUT_FILENO, line) }

func fail(_ message: String) -> Never {
    writeLine(STDERR_FILENO, "gatehouse-store-worker: \(message)")
    exit(1)
}

struct Options {
    var home: String
    var agent: String
    var worker: Int
    var ops: Int
    var mode: Mode
    var lockTimeout: Double?
    var at: Int64?
    var tasks: Int
    var profile: String?
}

func parseArguments(_ arguments: [String]) throws -> Options {
    var values: [String: String] = [:]
    var index = 0
    while index < arguments.count {
        let name = arguments[index]
        guard ["--home", "--agent", "--worker", "--ops", "--mode", "--lock-timeout", "--at", "--tasks", "--profile"].contains(name) else {
            throw UsageError(description: "unknown argument '\(name)'")
        }
        guard index + 1 < arguments.count else { throw UsageError(description: "\(name) needs a value") }
        values[name] = arguments[index + 1]
        index += 2
    }
    func required(_ name: String) throws -> String {
        guard let value = values[name] else { throw UsageError(description: "\(name) is required") }
        return value
    }
    guard let worker = Int(try required("--worker")), worker >= 0 else { throw UsageError(description: "--worker must be a whole number") }
    guard let ops = Int(try required("--ops")), ops >= 0 else { throw UsageError(description: "--ops must be a whole number") }
    guard let mode = Mode(rawValue: values["--mode"] ?? "mixed") else { throw UsageError(description: "--mode must be mixed, state, profiles, health or token") }
    var lockTimeout: Double?
    if let text = values["--lock-timeout"] {
        guard let seconds = Double(text), seconds > 0 else { throw UsageError(description: "--lock-timeout must be a positive number of seconds") }
        lockTimeout = seconds
    }
    return Options(
        home: try required("--home"), agent: try required("--agent"), worker: worker, ops: ops, mode: mode, lockTimeout: lockTimeout,
        at: values["--at"].flatMap { Int64($0) }, tasks: values["--tasks"].flatMap { Int($0) } ?? 1, profile: values["--profile"])
}

/// The `health` mode: failures and uses at a fixed time, then one flush.
func recordHealth(_ store: AgentStore, options: Options) async throws {
    let at = options.at ?? WallClock.nowMillis()
    let recorder = HealthRecorder(store: store, policy: CooldownPolicy(), now: { at })
    try recorder.load()
    let a = try ProfileID(parsing: "test:a")
    let b = try ProfileID(parsing: "test:b")
    let u = try ProfileID(parsing: "test:u")
    let own = try ProfileID(parsing: "test:w\(options.worker)")
    if options.ops == 0 { recorder.markGood(a, model: "m") }
    for i in 0..<options.ops {
        recorder.markFailure(a, model: "m", classification: .init(reason: .rateLimit), credentialFingerprint: nil)
        recorder.markFailure(b, model: nil, classification: .init(reason: .overloaded), credentialFingerprint: nil)
        recorder.markFailure(own, model: nil, classification: .init(reason: .timeout), credentialFingerprint: nil)
        recorder.markUsed(u)
        say("op \(i)")
    }
    try await recorder.flush()
}

/// The `token` mode: concurrent tasks asking for one profile's access token.
func fetchTokens(_ home: GatehouseHome, options: Options) async throws {
    guard let text = options.profile else { throw UsageError(description: "--profile is required in token mode") }
    let profile = try ProfileID(parsing: text)
    let providers = try ConfigurationFile.load(home, environment: [:]).resolvedProviders
    let manager = OAuthTokenManager(
        home: home, providers: providers, endpoint: HTTPTokenEndpoint(), backgroundRefresh: false,
        onLoginRequired: { _, message in writeLine(STDERR_FILENO, "login required: \(message)") })
    for round in 0..<max(1, options.ops) {
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<options.tasks {
                group.addTask { try await manager.accessToken(agent: options.agent, profile: profile) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        for token in tokens { say("token \(token)") }
        say("op \(round)")
    }
}

do {
    let options = try parseArguments(Array(CommandLine.arguments.dropFirst()))
    var lockOptions = FileLockOptions.store
    if let seconds = options.lockTimeout { lockOptions.timeout = .milliseconds(Int64(seconds * 1000)) }
    let store = try AgentStore(home: GatehouseHome(path: options.home), agentID: options.agent, lockOptions: lockOptions)
    let n = options.worker
    say("ready")
    switch options.mode {
    case .health:
        try await recordHealth(store, options: options)
        say("done")
        exit(0)
    case .token:
        try await fetchTokens(GatehouseHome(path: options.home), options: options)
        say("done")
        exit(0)
    case .mixed, .state, .profiles:
        break
    }
    for i in 0..<options.ops {
        if options.mode != .state {
            let id = try ProfileID(provider: "test", name: "w\(n)-\(i)")
            try await store.profiles.update { document in
                document.profiles[id] = AuthProfile(id: id, credential: .apiKey(APIKeyCredential(key: "k-\(n)-\(i)")))
            }
        }
        if options.mode != .profiles {
            try await store.state.update { document in
                document.usageStats["test:shared", default: UsageStats()].errorCount += 1
                document.usageStats["test:w\(n)", default: UsageStats()].lastUsed = Int64(i)
            }
        }
        say("op \(i)")
    }
    say("done")
} catch {
    fail("\(error)")
}
