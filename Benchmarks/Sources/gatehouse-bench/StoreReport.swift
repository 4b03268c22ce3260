import GatehouseCore
import GatehouseStore

/// The results of `gatehouse-bench store`, rendered as a text table or as JSON.
struct StoreReport {
    /// One scenario's measurements, aggregated over its workers (tasks or processes).
    struct Row {
        /// A stable name for JSON consumers.
        let id: String
        /// What ran, for people.
        let label: String
        /// Tasks or processes that updated the file at once (1 for the sequential row).
        let workers: Int
        /// Updates each worker was asked to do.
        let opsPerWorker: Int
        /// The first backoff step of the lock options used.
        let initialBackoff: Duration
        /// From the start (signal) to the last update of the last worker.
        let wallNanos: UInt64
        /// Over all successful updates of all workers: calling `update` to entering the closure.
        let acquire: LatencySummary
        /// Over all successful updates of all workers: calling `update` to its return.
        let update: LatencySummary
        /// Updates that returned normally.
        let successes: Int
        /// Updates that failed with `lockTimeout`.
        let timeouts: Int
        /// Other failures' messages.
        let errors: [String]
        /// The first `lockTimeout` message of any worker (it names the holder).
        let firstTimeout: String?
        /// The counter read from the file afterwards.
        let finalCount: Int
        /// Per worker, in the order the workers finished: from the start to its last update (how fair
        /// the lock was) and how many of its updates timed out.
        let workerResults: [(doneNanos: UInt64, timeouts: Int)]

        init(
            id: String, label: String, workers: Int, opsPerWorker: Int, start: UInt64, samples: [WorkerSamples],
            finalCount: Int, initialBackoff: Duration = FileLockOptions.store.initialBackoff
        ) {
            self.id = id
            self.label = label
            self.workers = workers
            self.opsPerWorker = opsPerWorker
            self.initialBackoff = initialBackoff
            workerResults = samples.map { ($0.finishedAt >= start ? $0.finishedAt - start : 0, $0.timeouts) }
                .sorted { $0.doneNanos < $1.doneNanos }
            wallNanos = workerResults.last?.doneNanos ?? 0
            acquire = LatencySummary(samples.flatMap(\.acquireNanos))
            update = LatencySummary(samples.flatMap(\.updateNanos))
            successes = samples.reduce(0) { $0 + $1.successes }
            timeouts = samples.reduce(0) { $0 + $1.timeouts }
            errors = samples.flatMap(\.errors)
            firstTimeout = samples.lazy.compactMap(\.firstTimeout).first
            self.finalCount = finalCount
        }

        /// Updates asked for.
        var expected: Int { workers * opsPerWorker }
        /// Increments that returned successfully yet are not in the file. Must be 0. (With no failed
        /// updates this is `expected - finalCount`.)
        var lostUpdates: Int { successes - finalCount }
        /// Successful updates per second of wall-clock time.
        var updatesPerSecond: Double { wallNanos == 0 ? 0 : Double(successes) / (Double(wallNanos) / 1e9) }
    }

    let commandLine: String
    let facts: MachineFacts
    /// The temporary `GATEHOUSE_HOME` (removed by now).
    let homePath: String
    /// The 1-minute load average when the benchmark ended.
    let loadAtEnd: Double
    let options: StoreBenchmark.Options
    let rows: [Row]

    /// Lost updates over all rows.
    var lostUpdates: Int { rows.reduce(0) { $0 + $1.lostUpdates } }

    // MARK: - Text

    /// The report as a table with its context and a legend.
    var text: String {
        typealias F = NumberFormat
        let gib = F.fixed(Double(facts.memoryBytes) / 1_073_741_824, decimals: 1)
        var lines: [String] = [
            "gatehouse-bench store, \(facts.date)",
            "command:  \(commandLine)",
            "machine:  \(facts.processors) CPUs (nproc), \(facts.cpuModel), \(gib) GiB, \(facts.kernel)",
            "load:     1-minute load average \(F.fixed(facts.loadAtStart, decimals: 2)) at start, \(F.fixed(loadAtEnd, decimals: 2)) at end",
            "home:     \(homePath) (\(facts.fileSystem), removed)",
            "file:     agents/<row>/agent/auth-state.json; each update increments usageStats[\"\(CounterUpdates.key)\"].errorCount",
            "",
        ]
        let widths = [2, 42, 8, 8, 10, 9, 9, 9, 9, 9, 9, 9, 6]
        func row(_ cells: [String]) -> String {
            var line = ""
            for (index, cell) in cells.enumerated() {
                line += (index == 0 ? "" : " ") + F.pad(cell, widths[index], left: index != 1)
            }
            return line
        }
        // Group headers over the latency columns: acquire and update each span p50, p99, max.
        let lead = widths[0..<5].reduce(5, +)
        let acquireSpan = widths[5..<8].reduce(2, +)
        let updateSpan = widths[8..<11].reduce(2, +)
        lines.append(
            String(repeating: " ", count: lead) + F.center("acquire (ms)", acquireSpan) + " " + F.center("update (ms)", updateSpan))
        lines.append(
            row(["#", "scenario", "updates", "wall s", "updates/s", "p50", "p99", "max", "p50", "p99", "max", "timeouts", "lost"]))
        lines.append(String(repeating: "-", count: widths.reduce(widths.count - 1, +)))
        for (index, item) in rows.enumerated() {
            lines.append(
                row([
                    "\(index + 1)", item.label, "\(item.successes)", F.fixed(Double(item.wallNanos) / 1e9, decimals: 3),
                    F.fixed(item.updatesPerSecond, decimals: 1),
                    F.milliseconds(item.acquire.p50), F.milliseconds(item.acquire.p99), F.milliseconds(item.acquire.max),
                    F.milliseconds(item.update.p50), F.milliseconds(item.update.p99), F.milliseconds(item.update.max),
                    "\(item.timeouts)", "\(item.lostUpdates)",
                ]))
        }
        lines.append("")
        if lostUpdates == 0 {
            lines.append("LOST UPDATES: 0 (in every row the final errorCount in the file equals the updates that returned)")
            let timeouts = rows.reduce(0) { $0 + $1.timeouts }
            if timeouts > 0 {
                lines.append(
                    "  (\(timeouts) update(s) failed with lockTimeout: they threw, were not applied and are not in the file, as it should be)"
                )
            }
        } else {
            lines.append("LOST UPDATES: \(lostUpdates)  <-- the lock contract is broken: see the rows below")
        }
        for (index, item) in rows.enumerated() {
            var detail = "  row \(index + 1): expected \(item.expected), returned \(item.successes), in the file \(item.finalCount)"
            if item.workers > 1 {
                let done = item.workerResults.map { F.fixed(Double($0.doneNanos) / 1e9, decimals: 3) }.joined(separator: ", ")
                detail += "; workers done at \(done) s"
                if item.timeouts > 0 {
                    detail += " with \(item.workerResults.map { String($0.timeouts) }.joined(separator: ", ")) timeouts"
                }
            }
            lines.append(detail)
            if let firstTimeout = item.firstTimeout {
                lines.append("    first timeout: \(firstTimeout)")
            }
            if item.lostUpdates != 0 {
                lines.append("    LOST \(item.lostUpdates) update(s)")
            }
            if let first = item.errors.first {
                lines.append("    \(item.errors.count) error(s), the first: \(first)")
            }
        }
        lines += [
            "",
            "updates/s  successful updates / wall time (rows 3-4: from the start signal to the last child's last update)",
            "acquire    calling update() to entering its closure: in-process queue + file lock wait (backoff sleeps) + re-read",
            "update     the whole update() call: acquire + change + atomic write (fsync of the file and the folder) + release",
            "p50/p99    nearest rank over all successful updates of all workers of the row",
            "timeouts   updates that gave up at the 10 s lock deadline (not applied, so not lost; not in the acquire columns)",
            "lost       updates that returned minus the final errorCount read from the file; must be 0",
        ]
        return lines.joined(separator: "\n")
    }

    // MARK: - JSON

    /// The same report as JSON (milliseconds as numbers rounded to the microsecond).
    var json: JSONValue {
        let rowValues: [JSONValue] = rows.map { row in
            .object([
                "id": .string(row.id),
                "label": .string(row.label),
                "workerCount": .int(Int64(row.workers)),
                "opsPerWorker": .int(Int64(row.opsPerWorker)),
                "initialBackoffMs": .double(NumberFormat.millisecondsValue(UInt64(row.initialBackoff / .nanoseconds(1)))),
                "expected": .int(Int64(row.expected)),
                "updates": .int(Int64(row.successes)),
                "timeouts": .int(Int64(row.timeouts)),
                "errors": .array(row.errors.map(JSONValue.string)),
                "finalCount": .int(Int64(row.finalCount)),
                "lostUpdates": .int(Int64(row.lostUpdates)),
                "wallSeconds": .double((Double(row.wallNanos) / 1e6).rounded() / 1e3),
                "updatesPerSecond": .double((row.updatesPerSecond * 10).rounded() / 10),
                "acquireMs": millisecondsJSON(row.acquire),
                "updateMs": millisecondsJSON(row.update),
                "firstTimeout": row.firstTimeout.map(JSONValue.string) ?? .null,
                "workers": .array(
                    row.workerResults.map {
                        .object([
                            "doneSeconds": .double((Double($0.doneNanos) / 1e6).rounded() / 1e3),
                            "timeouts": .int(Int64($0.timeouts)),
                        ])
                    }),
            ])
        }
        return .object([
            "benchmark": "store",
            "date": .string(facts.date),
            "commandLine": .string(commandLine),
            "machine": facts.json(loadAtEnd: loadAtEnd),
            "settings": .object([
                "processes": .int(Int64(options.processes)),
                "ops": .int(Int64(options.ops)),
                "tasks": .int(Int64(options.tasks)),
            ]),
            "home": .string(homePath),
            "rows": .array(rowValues),
            "lostUpdates": .int(Int64(lostUpdates)),
        ])
    }
}
