/// `gatehouse-store-worker`: a test tool that contends for one agent's files through the real store
/// API, so that tests can start several at once (or kill one mid-write) and check that no update is
/// lost and no file is left damaged.
///
///     gatehouse-store-worker --home PATH --agent ID --worker N --ops K
///                            [--mode mixed|state|profiles] [--lock-timeout SECONDS]
///
/// For each op `i` in `0..<K`: `profiles`/`mixed` add the profile `test:w<N>-<i>` (an inline API key
/// `k-<N>-<i>`) to auth-profiles.json; `state`/`mixed` add 1 to `usageStats["test:shared"].errorCount`
/// (shared by all workers) and set `usageStats["test:w<N>"].lastUsed = i` in auth-state.json.
/// Prints `ready` before the first op, `op <i>` after each, `done` at the end. Exits 0 on success,
/// 1 with the error on stderr otherwise.
import GatehouseCore
import GatehouseStore
import Glibc

enum Mode: String {
    case mixed, state, profiles
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

func parseArguments(_ arguments: [String]) throws -> (home: String, agent: String, worker: Int, ops: Int, mode: Mode, lockTimeout: Double?) {
    var values: [String: String] = [:]
    var index = 0
    while index < arguments.count {
        let name = arguments[index]
        guard ["--home", "--agent", "--worker", "--ops", "--mode", "--lock-timeout"].contains(name) else {
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
    guard let mode = Mode(rawValue: values["--mode"] ?? "mixed") else { throw UsageError(description: "--mode must be mixed, state or profiles") }
    var lockTimeout: Double?
    if let text = values["--lock-timeout"] {
        guard let seconds = Double(text), seconds > 0 else { throw UsageError(description: "--lock-timeout must be a positive number of seconds") }
        lockTimeout = seconds
    }
    return (try required("--home"), try required("--agent"), worker, ops, mode, lockTimeout)
}

do {
    let options = try parseArguments(Array(CommandLine.arguments.dropFirst()))
    var lockOptions = FileLockOptions.store
    if let seconds = options.lockTimeout { lockOptions.timeout = .milliseconds(Int64(seconds * 1000)) }
    let store = try AgentStore(home: GatehouseHome(path: options.home), agentID: options.agent, lockOptions: lockOptions)
    let n = options.worker
    say("ready")
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
