import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Glibc

/// What one task of a refresh worker got: its token (or its error) and when.
struct RefreshTaskResult: Sendable {
    /// When `accessToken` returned or threw (`MonotonicTime`).
    var doneAt: UInt64
    /// The access token it returned.
    var token: String?
    /// The error it threw.
    var error: String?
}

/// What one refresh worker process reports for one round.
struct RefreshWorkerReport: Sendable {
    var pid: Int64
    /// When the worker read `go` (`MonotonicTime`).
    var goAt: UInt64
    var tasks: [RefreshTaskResult]
    /// The refresh grants this process sent.
    var refreshes: [TokenEndpointCall]
}

/// `gatehouse-bench refresh-worker` (hidden): one of the processes that `refresh` starts.
///
/// It loads `gatehouse.json` of the home, makes the token manager a one-shot command makes
/// (`OAuthTokenManager` with `HTTPTokenEndpoint`, refreshes inline), prints `ready`, waits for `go`,
/// then runs `tasks` concurrent `accessToken` calls for the profile and prints one line of JSON:
/// `{"pid", "goAt", "tasks": [{"doneAt", "token"} or {"doneAt", "error"}], "refreshes": [{"startedAt",
/// "finishedAt", "sent", "received", "outcome"}]}` (`MonotonicTime`; refresh tokens as fingerprints).
struct RefreshWorker {
    /// The command name the parent passes.
    static let command = "refresh-worker"

    let manager: OAuthTokenManager
    /// Records the refresh grants the manager sends (through `HTTPTokenEndpoint`).
    let endpoint: RecordingTokenEndpoint
    let agent: String
    let profile: ProfileID
    let tasks: Int

    /// Reads `--home PATH --agent ID --profile PROVIDER:NAME --tasks T`.
    init(arguments: [String]) throws {
        var values: [String: String] = [:]
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else {
                throw BenchError("\(Self.command): unexpected argument '\(flag)'")
            }
            values[String(flag.dropFirst(2))] = value
        }
        guard let home = values["home"], let agent = values["agent"], let profile = values["profile"],
            let tasks = values["tasks"].flatMap(Int.init), tasks >= 1
        else {
            throw BenchError("\(Self.command) needs --home, --agent, --profile and --tasks")
        }
        self.agent = agent
        self.profile = try ProfileID(parsing: profile)
        self.tasks = tasks
        endpoint = RecordingTokenEndpoint(HTTPTokenEndpoint())
        manager = try Self.tokenManager(home: GatehouseHome(path: home), endpoint: endpoint)
    }

    /// The token manager of a one-shot process, as the bench's parent also makes it: providers from
    /// the home's `gatehouse.json`, the HTTP token endpoint, inline refreshes, nothing done when a
    /// refresh token is rejected (the benchmark counts `invalid_grant` on the mock instead).
    static func tokenManager(home: GatehouseHome, endpoint: any TokenEndpoint = HTTPTokenEndpoint()) throws -> OAuthTokenManager {
        let configuration = try ConfigurationFile.load(home, environment: [:])
        return OAuthTokenManager(
            home: home, providers: configuration.resolvedProviders, endpoint: endpoint, backgroundRefresh: false,
            onLoginRequired: { _, _ in })
    }

    /// The worker's command-line arguments, for the parent to start one.
    static func arguments(home: String, agent: String, profile: ProfileID, tasks: Int) -> [String] {
        [command, "--home", home, "--agent", agent, "--profile", profile.description, "--tasks", String(tasks)]
    }

    /// Says `ready`, blocks until `go`, and returns when `go` was read (`MonotonicTime`).
    func waitForStartSignal() throws -> UInt64 {
        try WorkerPipe.sayReadyAndWaitForGo(command: Self.command)
        return MonotonicTime.now()
    }

    /// Runs the concurrent `accessToken` calls and prints the report line.
    func run(goAt: UInt64) async throws {
        let manager = manager
        let agent = agent
        let profile = profile
        let results = await withTaskGroup(of: RefreshTaskResult.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    do {
                        let token = try await manager.accessToken(agent: agent, profile: profile)
                        return RefreshTaskResult(doneAt: MonotonicTime.now(), token: token)
                    } catch {
                        return RefreshTaskResult(doneAt: MonotonicTime.now(), error: "\(error)")
                    }
                }
            }
            var all: [RefreshTaskResult] = []
            for await result in group { all.append(result) }
            return all
        }
        let report: JSONValue = .object([
            "pid": .int(Int64(getpid())),
            "goAt": .int(Int64(goAt)),
            "tasks": .array(
                results.map { result in
                    var entry: [String: JSONValue] = ["doneAt": .int(Int64(result.doneAt))]
                    if let token = result.token { entry["token"] = .string(token) }
                    if let error = result.error { entry["error"] = .string(error) }
                    return .object(entry)
                }),
            "refreshes": .array(
                endpoint.recorded.map { call in
                    .object([
                        "startedAt": .int(Int64(call.startedAt)), "finishedAt": .int(Int64(call.finishedAt)),
                        "sent": .string(call.sentRefreshToken), "received": call.receivedRefreshToken.map(JSONValue.string) ?? .null,
                        "outcome": .string(call.outcome),
                    ])
                }),
        ])
        try WorkerPipe.writeLine(report.serializedString(pretty: false), command: Self.command)
    }

    /// Decodes a report line printed by `run(goAt:)`.
    static func decodeReport(_ line: String) throws -> RefreshWorkerReport {
        guard let json = try? JSONValue.parse(line), let object = json.objectValue, let pid = object["pid"]?.intValue,
            let goAt = object["goAt"]?.intValue, let tasks = object["tasks"]?.arrayValue
        else {
            throw BenchError("a \(command) printed an unreadable report: \(line.prefix(200))")
        }
        let results = tasks.map { task in
            RefreshTaskResult(
                doneAt: UInt64(task["doneAt"]?.intValue ?? 0), token: task["token"]?.stringValue, error: task["error"]?.stringValue)
        }
        let refreshes = (object["refreshes"]?.arrayValue ?? []).map { call in
            TokenEndpointCall(
                startedAt: UInt64(call["startedAt"]?.intValue ?? 0), finishedAt: UInt64(call["finishedAt"]?.intValue ?? 0),
                sentRefreshToken: call["sent"]?.stringValue ?? "", receivedRefreshToken: call["received"]?.stringValue,
                outcome: call["outcome"]?.stringValue ?? "")
        }
        return RefreshWorkerReport(pid: pid, goAt: UInt64(goAt), tasks: results, refreshes: refreshes)
    }
}
