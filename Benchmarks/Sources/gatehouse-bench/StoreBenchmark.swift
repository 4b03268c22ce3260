import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse-bench store`: throughput and lock latency of locked read-modify-write updates of
/// `auth-state.json` through the real store API (`AgentStore.state.update`), on a fresh temporary
/// `GATEHOUSE_HOME` under `/tmp` that is removed afterwards.
///
/// Four rows, each on its own agent (so its own file, counter starting at 0):
/// 1. one process, sequential updates;
/// 2. one process, `tasks` concurrent tasks (they queue in the process-local lock table);
/// 3. `processes` contending child processes with the store's default backoff (100 ms doubling to 2 s);
/// 4. the same with a 5 ms initial backoff.
///
/// Main-actor isolated: the parent blocks on its children's pipes, which belongs on the main thread,
/// not on the cooperative pool.
@MainActor
struct StoreBenchmark {
    /// The command-line options of `gatehouse-bench store`.
    struct Options {
        /// Contending child processes in rows 3 and 4.
        var processes = 4
        /// Updates per worker (the process in row 1, each task in row 2, each child in rows 3 and 4).
        var ops = 500
        /// Concurrent tasks in row 2.
        var tasks = 8
        /// Print JSON instead of the text table.
        var json = false

        static let usage = "usage: gatehouse-bench store [--processes 4] [--ops 500] [--tasks 8] [--json]"

        init(arguments: [String]) throws {
            var rest = BenchArguments(arguments, usage: Self.usage)
            while let argument = rest.next() {
                switch argument {
                case "--processes": processes = try rest.count(argument)
                case "--ops": ops = try rest.count(argument)
                case "--tasks": tasks = try rest.count(argument)
                case "--json": json = true
                default: throw rest.unknown(argument)
                }
            }
        }
    }

    let options: Options
    /// The command line as typed, for the report.
    let commandLine: String

    /// Runs all rows and returns the report; the temporary home is removed whatever happens.
    func run() async throws -> StoreReport {
        let temporary = try TemporaryHome()
        defer { temporary.remove() }
        let home = temporary.home
        try home.create()
        let facts = MachineFacts(directory: temporary.root)

        var rows: [StoreReport.Row] = []
        progress("1/4: 1 process, \(options.ops) sequential updates")
        rows.append(try await sequential(home: home))
        progress("2/4: 1 process, \(options.tasks) tasks x \(options.ops) updates")
        rows.append(try await concurrentTasks(home: home))
        progress("3/4: \(options.processes) processes x \(options.ops) updates, default backoff")
        rows.append(
            try await contendingProcesses(
                home: home, agent: "bench-processes-default", lockOptions: .store,
                label: "\(options.processes) process\(options.processes == 1 ? "" : "es"), default backoff 100 ms..2 s"))
        progress("4/4: \(options.processes) processes x \(options.ops) updates, 5 ms initial backoff")
        rows.append(
            try await contendingProcesses(
                home: home, agent: "bench-processes-5ms", lockOptions: FileLockOptions(initialBackoff: .milliseconds(5)),
                label: "\(options.processes) process\(options.processes == 1 ? "" : "es"), 5 ms initial backoff (..2 s)"))

        return StoreReport(
            commandLine: commandLine, facts: facts, homePath: home.path, loadAtEnd: MachineFacts.loadAverage(),
            options: options, rows: rows)
    }

    /// Row 1: `ops` updates one after another in this process.
    private func sequential(home: GatehouseHome) async throws -> StoreReport.Row {
        let store = try AgentStore(home: home, agentID: "bench-sequential")
        try await CounterUpdates.prepare(store)
        let samples = await CounterUpdates.run(store, count: options.ops)
        return StoreReport.Row(
            id: "sequential", label: "1 process, sequential", workers: 1, opsPerWorker: options.ops,
            start: samples.startedAt, samples: [samples], finalCount: try CounterUpdates.finalCount(store))
    }

    /// Row 2: `tasks` tasks of this process, each running `ops` updates of the same file at once.
    private func concurrentTasks(home: GatehouseHome) async throws -> StoreReport.Row {
        let store = try AgentStore(home: home, agentID: "bench-tasks")
        try await CounterUpdates.prepare(store)
        let ops = options.ops
        let start = MonotonicTime.now()
        let samples = await withTaskGroup(of: WorkerSamples.self) { group in
            for _ in 0..<options.tasks {
                group.addTask { await CounterUpdates.run(store, count: ops) }
            }
            var all: [WorkerSamples] = []
            for await samples in group { all.append(samples) }
            return all
        }
        let label = "1 process, \(options.tasks) task\(options.tasks == 1 ? "" : "s") (in-process queue)"
        return StoreReport.Row(
            id: "tasks", label: label, workers: options.tasks, opsPerWorker: ops, start: start, samples: samples,
            finalCount: try CounterUpdates.finalCount(store))
    }

    /// Rows 3 and 4: `processes` copies of this executable (`store-worker`), released together by a
    /// `go` line once all have said `ready`, each running `ops` updates of the same file.
    private func contendingProcesses(
        home: GatehouseHome, agent: String, lockOptions: FileLockOptions, label: String
    ) async throws -> StoreReport.Row {
        let store = try AgentStore(home: home, agentID: agent, lockOptions: lockOptions)
        try await CounterUpdates.prepare(store)

        let arguments = StoreWorker.arguments(
            home: home.path, agent: agent, ops: options.ops, initialBackoff: lockOptions.initialBackoff)
        let children = try WorkerPipe.startWorkers(options.processes, arguments: arguments, command: StoreWorker.command)
        let (start, samples) = try WorkerPipe.release(children, command: StoreWorker.command, decode: StoreWorker.decodeReport)
        let id = lockOptions == .store ? "processes-default-backoff" : "processes-5ms-backoff"
        return StoreReport.Row(
            id: id, label: label, workers: options.processes, opsPerWorker: options.ops, start: start,
            samples: samples, finalCount: try CounterUpdates.finalCount(store), initialBackoff: lockOptions.initialBackoff)
    }

    /// A line on standard error, so a long run shows where it is (and `--json` output stays clean).
}
