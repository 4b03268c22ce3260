import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse-bench store-worker` (hidden): one of the contending processes that `store` starts.
///
/// Protocol on its standard streams: it prints `ready` once its store is open, waits for a `go` line
/// on standard input (so that all children start together), runs its updates, and prints one line of
/// JSON: `{"pid", "startedAt", "finishedAt", "acquireNanos": [...], "updateNanos": [...],
/// "timeouts", "firstTimeout", "errors": [...]}` with `MonotonicTime` timestamps.
struct StoreWorker {
    /// The command name the parent passes.
    static let command = "store-worker"

    let store: AgentStore
    let ops: Int

    /// Reads `--home PATH --agent ID --ops N --initial-backoff-ms MS`.
    init(arguments: [String]) throws {
        var values: [String: String] = [:]
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else {
                throw BenchError("store-worker: unexpected argument '\(flag)'")
            }
            values[String(flag.dropFirst(2))] = value
        }
        guard let home = values["home"], let agent = values["agent"],
            let ops = values["ops"].flatMap(Int.init), let backoff = values["initial-backoff-ms"].flatMap(Int.init)
        else {
            throw BenchError("store-worker needs --home, --agent, --ops and --initial-backoff-ms")
        }
        self.ops = ops
        store = try AgentStore(
            home: GatehouseHome(path: home), agentID: agent,
            lockOptions: FileLockOptions(initialBackoff: .milliseconds(backoff)))
    }

    /// The worker's command-line arguments, for the parent to start one.
    static func arguments(home: String, agent: String, ops: Int, initialBackoff: Duration) -> [String] {
        let millis = initialBackoff.components.seconds * 1000 + initialBackoff.components.attoseconds / 1_000_000_000_000_000
        return [command, "--home", home, "--agent", agent, "--ops", String(ops), "--initial-backoff-ms", String(millis)]
    }

    /// Says `ready` and blocks until the parent's `go` (or end of input). Called on the main thread
    /// before any task runs, so the blocking read holds no cooperative thread.
    func waitForStartSignal() throws {
        try WorkerPipe.sayReadyAndWaitForGo(command: Self.command)
    }

    /// Runs the updates and prints the report line.
    func run() async throws {
        let samples = await CounterUpdates.run(store, count: ops)
        let report: JSONValue = .object([
            "pid": .int(Int64(getpid())),
            "startedAt": .int(Int64(samples.startedAt)),
            "finishedAt": .int(Int64(samples.finishedAt)),
            "acquireNanos": .array(samples.acquireNanos.map { .int(Int64($0)) }),
            "updateNanos": .array(samples.updateNanos.map { .int(Int64($0)) }),
            "timeouts": .int(Int64(samples.timeouts)),
            "firstTimeout": samples.firstTimeout.map(JSONValue.string) ?? .null,
            "errors": .array(samples.errors.map(JSONValue.string)),
        ])
        try Self.writeLine(report.serializedString(pretty: false))
    }

    /// Decodes a report line printed by `run()`.
    static func decodeReport(_ line: String) throws -> WorkerSamples {
        guard let json = try? JSONValue.parse(line), let object = json.objectValue,
            let started = object["startedAt"]?.intValue, let finished = object["finishedAt"]?.intValue,
            let acquire = object["acquireNanos"]?.arrayValue, let update = object["updateNanos"]?.arrayValue,
            let timeouts = object["timeouts"]?.intValue, let errors = object["errors"]?.arrayValue
        else {
            throw BenchError("a store-worker printed an unreadable report: \(line.prefix(200))")
        }
        var samples = WorkerSamples()
        samples.startedAt = UInt64(started)
        samples.finishedAt = UInt64(finished)
        samples.acquireNanos = acquire.compactMap { $0.intValue.map(UInt64.init) }
        samples.updateNanos = update.compactMap { $0.intValue.map(UInt64.init) }
        samples.timeouts = Int(timeouts)
        samples.errors = errors.compactMap(\.stringValue)
        samples.firstTimeout = object["firstTimeout"]?.stringValue
        return samples
    }

    /// Writes a line to standard output unbuffered (stdio would hold it back on a pipe).
    private static func writeLine(_ text: String) throws {
        try WorkerPipe.writeLine(text, command: command)
    }
}
