import GatehouseCore
import GatehouseStore

/// The results of `gatehouse-bench health`, rendered as a text table or as JSON.
struct HealthReport {
    /// What the file system saw while the request-path calls ran.
    struct DiskCheck {
        /// Calls made between the two `/proc/self/io` snapshots.
        let calls: Int
        /// Read and write system calls between the snapshots, less what a snapshot itself costs;
        /// `nil` when `/proc/self/io` cannot be read.
        let io: (reads: Int64, writes: Int64)?
        /// `auth-state.json` after the calls (`nil`: it does not exist).
        let stateFile: FileIdentity?
        /// Whether `agents/main/agent/` exists after the calls.
        let agentFolderExists: Bool
        /// Whether `auth-state.json.lock` exists after the calls.
        let lockSidecarExists: Bool
        /// `auth-state.json` before the calls, when it existed then.
        let stateFileBefore: FileIdentity?

        /// No system call, the file as it was (no file and no folder when there was none), no lock.
        var untouched: Bool {
            (io.map { $0.reads == 0 && $0.writes == 0 } ?? true) && stateFile == stateFileBefore && !lockSidecarExists
                && (stateFileBefore != nil || !agentFolderExists)
        }
    }

    /// One `flush()` and what it left on disk.
    struct Flush {
        let nanos: UInt64
        let fileBytes: Int64
        /// Entries of `usageStats` in the file.
        let profilesInFile: Int
        /// Profiles whose stats in the file equal the recorder's memory.
        let profilesMatchingMemory: Int
        let profiles: Int
    }

    let commandLine: String
    let facts: MachineFacts
    /// The temporary `GATEHOUSE_HOME` (removed by now).
    let homePath: String
    let loadAtEnd: Double
    let options: HealthBenchmark.Options
    let scenario: HealthScenario
    let plan: CandidatePlan
    /// An empty timed region: the cost of the two clock reads around each call.
    let clock: LatencySummary
    let planEach: LatencySummary
    /// The whole batch of `options.iterations` plans timed as one loop.
    let planLoopNanos: UInt64
    let markUsed: LatencySummary
    let markGood: LatencySummary
    let markFailure: LatencySummary
    /// What `markFailure` returned, by effect.
    let failureEffects: [String: Int]
    /// After `markUsed` and `markGood`, before any flush.
    let marksDisk: DiskCheck
    /// After `markFailure`, with the file written by the first flush.
    let failuresDisk: DiskCheck
    /// After `markUsed` and `markGood`.
    let firstFlush: Flush
    /// After `markFailure`: replays every queued failure.
    let secondFlush: Flush

    /// The request path touched no file, and each flush wrote exactly what the recorder holds.
    var passed: Bool {
        marksDisk.untouched && failuresDisk.untouched
            && [firstFlush, secondFlush].allSatisfy { $0.profilesMatchingMemory == $0.profiles }
    }

    /// The mean of one plan in the timed loop, in nanoseconds.
    var planLoopMean: Double { Double(planLoopNanos) / Double(options.iterations) }
    /// Failures `markFailure` queued for the flush (all but the ignored ones).
    var queuedFailures: Int { options.iterations - (failureEffects["ignored"] ?? 0) }

    private var decisionText: String {
        switch plan.decision {
        case .use(let id, let why): "use \(id): \(why)"
        case .probe(let id, let why): "probe \(id): \(why)"
        case .allUnavailable(let all): "all unavailable (HTTP \(all.status))"
        }
    }

    private var pinText: String {
        switch plan.pinAction {
        case .none: "none"
        case .keep: "keep"
        case .skipUserPin: "skip the user's pin"
        case .replaceAuto: "replace the auto pin"
        case .replaceAutoWith(let id): "replace the auto pin with \(id)"
        case .setAuto(let id): "set auto pin \(id)"
        case .drop(let profile, _, let replacement): "drop \(profile)\(replacement.map { ", pin \($0)" } ?? "")"
        }
    }

    // MARK: - Text

    /// The report as a table with its context and a legend.
    var text: String {
        typealias F = NumberFormat
        let gib = F.fixed(Double(facts.memoryBytes) / 1_073_741_824, decimals: 1)
        var lines: [String] = [
            "gatehouse-bench health, \(facts.date)",
            "command:  \(commandLine)",
            "machine:  \(facts.processors) CPUs (nproc), \(facts.cpuModel), \(gib) GiB, \(facts.kernel)",
            "load:     1-minute load average \(F.fixed(facts.loadAtStart, decimals: 2)) at start, \(F.fixed(loadAtEnd, decimals: 2)) at end",
            "home:     \(homePath) (\(facts.fileSystem), removed)",
            "input:    " + scenario.summary.joined(separator: "\n          "),
            "plan:     \(decisionText)",
            "          candidates: " + plan.candidates.map(\.shortStatus).joined(separator: ", "),
            "          ineligible: " + (plan.ineligible.isEmpty ? "none" : plan.ineligible.map(\.shortStatus).joined(separator: ", "))
                + "; order source: \(plan.orderSource.rawValue); session pin: \(pinText)",
            "",
        ]
        let widths = [2, 44, 8, 10, 10, 10, 10]
        func row(_ cells: [String]) -> String {
            var line = ""
            for (index, cell) in cells.enumerated() {
                line += (index == 0 ? "" : " ") + F.pad(cell, widths[index], left: index != 1)
            }
            return line
        }
        let lead = widths[0..<3].reduce(3, +)
        lines.append(String(repeating: " ", count: lead) + F.center("per call (µs)", widths[3...].reduce(3, +)))
        lines.append(row(["#", "operation", "calls", "p50", "p99", "max", "mean"]))
        lines.append(String(repeating: "-", count: widths.reduce(widths.count - 1, +)))
        func measured(_ index: String, _ label: String, _ summary: LatencySummary) -> String {
            row([
                index, label, "\(summary.count)", F.microseconds(Double(summary.p50)), F.microseconds(Double(summary.p99)),
                F.microseconds(Double(summary.max)), F.microseconds(summary.mean),
            ])
        }
        lines.append(measured("1", "CandidatePlanner.plan, each call timed", planEach))
        lines.append(row(["2", "CandidatePlanner.plan, one timed loop", "\(options.iterations)", "-", "-", "-", F.microseconds(planLoopMean)]))
        lines.append(measured("3", "HealthRecorder.markUsed", markUsed))
        lines.append(measured("4", "HealthRecorder.markGood", markGood))
        lines.append(measured("5", "HealthRecorder.markFailure", markFailure))
        lines.append(measured("-", "(clock: an empty timed region)", clock))
        lines.append("")

        let difference = planEach.mean - planLoopMean
        lines.append(
            "clock:    the two clock reads around each call cost \(clock.p50) ns (p50 of an empty timed region), "
                + "\(F.fixed(planLoopMean > 0 ? 100 * Double(clock.p50) / planLoopMean : 0, decimals: 2)) % of a plan; "
                + "row 1's mean differs from row 2's by \(F.fixed(difference, decimals: 0)) ns "
                + "(\(F.fixed(planLoopMean > 0 ? 100 * difference / planLoopMean : 0, decimals: 1)) %): "
                + (abs(difference) > 4 * Double(clock.p50) ? "run-to-run noise, larger than the clock's cost" : "the clock's cost"))
        lines.append("disk:     " + diskText(marksDisk, what: "markUsed + markGood"))
        lines.append(
            "flush 1:  \(F.milliseconds(firstFlush.nanos)) ms: lock, re-read, merge, atomic write with fsync of file and folder; "
                + flushText(firstFlush))
        let effects = ["windowStarted", "widened", "insideWindow", "ignored"].map { "\($0) \(failureEffects[$0] ?? 0)" }
        lines.append("failures: markFailure effects: " + effects.joined(separator: ", "))
        lines.append("disk:     " + diskText(failuresDisk, what: "markFailure"))
        lines.append(
            "flush 2:  \(F.milliseconds(secondFlush.nanos)) ms: replays the \(queuedFailures) queued failures on the file; "
                + flushText(secondFlush))
        lines += [
            "",
            "p50/p99    nearest rank over the calls of the row; each call timed on its own with CLOCK_MONOTONIC",
            "mean       row 2: the whole batch timed as one loop / calls; rows 1 and 3-5 include the clock reads",
            "plan       CandidatePlanner.plan(SelectionInput, using: StaticSecretResolver) for one request of the session",
            "marks      cycle over the \(scenario.profileIDs.count) profiles on a HealthRecorder(store: AgentStore(home:agentID:), "
                + "policy: CooldownPolicy()) with no flush service running",
            "syscalls   read/write system calls of this process during the calls (/proc/self/io syscr/syscw, less the snapshot's own)",
        ]
        return lines.joined(separator: "\n")
    }

    private func diskText(_ check: DiskCheck, what: String) -> String {
        let io = check.io.map { "\($0.reads) read and \($0.writes) write system calls" } ?? "(/proc/self/io not readable)"
        var file: String
        if let before = check.stateFileBefore {
            file = check.stateFile == before ? "auth-state.json unchanged (same inode, size, mtime)" : "auth-state.json CHANGED"
        } else {
            file = check.stateFile == nil ? "auth-state.json does not exist" : "auth-state.json EXISTS"
            file += check.agentFolderExists ? ", agents/main/agent/ EXISTS" : " (nor agents/main/agent/)"
        }
        if check.lockSidecarExists { file += ", a lock sidecar EXISTS" }
        let verdict = check.untouched ? "no synchronous disk access" : "THE REQUEST PATH TOUCHED THE DISK"
        return "\(what): \(check.calls) calls made \(io); \(file) before any flush(): \(verdict)"
    }

    private func flushText(_ flush: Flush) -> String {
        "auth-state.json \(flush.fileBytes) bytes, \(flush.profilesInFile) profiles, "
            + "\(flush.profilesMatchingMemory) of \(flush.profiles) equal to the recorder's memory"
    }

    // MARK: - JSON

    /// The same report as JSON (durations in microseconds, rounded to the nanosecond).
    var json: JSONValue {
        func latency(_ summary: LatencySummary) -> JSONValue {
            .object([
                "count": .int(Int64(summary.count)),
                "p50": .double(NumberFormat.microsecondsValue(Double(summary.p50))),
                "p99": .double(NumberFormat.microsecondsValue(Double(summary.p99))),
                "max": .double(NumberFormat.microsecondsValue(Double(summary.max))),
                "mean": .double(NumberFormat.microsecondsValue(summary.mean)),
            ])
        }
        func disk(_ check: DiskCheck) -> JSONValue {
            .object([
                "calls": .int(Int64(check.calls)),
                "readSyscalls": check.io.map { .int($0.reads) } ?? .null,
                "writeSyscalls": check.io.map { .int($0.writes) } ?? .null,
                "stateFileExists": .bool(check.stateFile != nil),
                "stateFileUnchanged": .bool(check.stateFile == check.stateFileBefore),
                "lockSidecarExists": .bool(check.lockSidecarExists),
                "untouched": .bool(check.untouched),
            ])
        }
        func flush(_ flush: Flush) -> JSONValue {
            .object([
                "ms": .double(NumberFormat.millisecondsValue(flush.nanos)),
                "fileBytes": .int(flush.fileBytes),
                "profilesInFile": .int(Int64(flush.profilesInFile)),
                "profilesMatchingMemory": .int(Int64(flush.profilesMatchingMemory)),
            ])
        }
        return .object([
            "benchmark": "health",
            "date": .string(facts.date),
            "commandLine": .string(commandLine),
            "machine": facts.json(loadAtEnd: loadAtEnd),
            "settings": .object([
                "profiles": .int(Int64(options.profiles)),
                "iterations": .int(Int64(options.iterations)),
            ]),
            "home": .string(homePath),
            "input": .array(scenario.summary.map(JSONValue.string)),
            "plan": .object([
                "decision": .string(decisionText),
                "candidates": .array(plan.candidates.map { .string($0.shortStatus) }),
                "ineligible": .array(plan.ineligible.map { .string($0.shortStatus) }),
                "orderSource": .string(plan.orderSource.rawValue),
                "pinAction": .string(pinText),
            ]),
            "microseconds": .object([
                "clock": latency(clock),
                "planEachTimed": latency(planEach),
                "planTimedLoopMean": .double(NumberFormat.microsecondsValue(planLoopMean)),
                "markUsed": latency(markUsed),
                "markGood": latency(markGood),
                "markFailure": latency(markFailure),
            ]),
            "failureEffects": .object(failureEffects.mapValues { .int(Int64($0)) }),
            "disk": .object(["markUsedAndGood": disk(marksDisk), "markFailure": disk(failuresDisk)]),
            "flush": .object(["afterMarks": flush(firstFlush), "afterFailures": flush(secondFlush)]),
            "passed": .bool(passed),
        ])
    }
}
