import GatehouseCore

/// The results of `gatehouse-bench refresh`, rendered as a text table or as JSON.
struct RefreshReport {
    /// One stampede: every worker's tasks, the mock's counters around it, and the stored credential
    /// before and after.
    struct Round {
        let number: Int
        /// When the parent sent `go` to the first worker (`MonotonicTime`).
        let start: UInt64
        let workers: [RefreshWorkerReport]
        let countersBefore: [String: Int]
        let countersAfter: [String: Int]
        /// The stored credential when the round started (access token expired) and after it.
        let before: OAuthCredential
        let after: OAuthCredential
        /// When `after` was read (milliseconds since the epoch).
        let checkedAt: Int64

        var results: [RefreshTaskResult] { workers.flatMap(\.tasks) }
        /// Tokens returned.
        var tokens: [String] { results.compactMap(\.token) }
        var errors: [String] { results.compactMap(\.error) }
        /// Different tokens returned.
        var distinctTokens: Set<String> { Set(tokens) }
        /// From `go` to each task's token, over all tasks that got one.
        var timeToToken: LatencySummary {
            LatencySummary(results.filter { $0.token != nil }.map { $0.doneAt >= start ? $0.doneAt - start : 0 })
        }
        /// From `go` to the last task's return.
        var wallNanos: UInt64 { results.map { $0.doneAt >= start ? $0.doneAt - start : 0 }.max() ?? 0 }
        /// From `go` to the last worker reading it.
        var releaseSkewNanos: UInt64 { workers.map { $0.goAt >= start ? $0.goAt - start : 0 }.max() ?? 0 }
        /// Per worker, sorted: from `go` to its last task's return.
        var workersDone: [UInt64] {
            workers.map { worker in worker.tasks.map { $0.doneAt >= start ? $0.doneAt - start : 0 }.max() ?? 0 }.sorted()
        }
        /// Refresh grants the mock received (`oauth.refresh`). Must be 1.
        var refreshCalls: Int { RefreshReport.delta("oauth.refresh", countersBefore, countersAfter) }
        /// Every call to the token endpoint (`oauth.token`).
        var tokenCalls: Int { RefreshReport.delta("oauth.token", countersBefore, countersAfter) }
        /// Refresh grants the mock rejected (`oauth.invalid_grant`). Must be 0.
        var invalidGrants: Int { RefreshReport.delta("oauth.invalid_grant", countersBefore, countersAfter) }
        /// Refresh tokens sent a second time (`oauth.reused_refresh_token`), a subset of `invalidGrants`.
        var reusedRefreshTokens: Int { RefreshReport.delta("oauth.reused_refresh_token", countersBefore, countersAfter) }
        /// The one token every task got, when they all got the same.
        var commonToken: String? { errors.isEmpty && distinctTokens.count == 1 ? distinctTokens.first : nil }
        /// The common token differs from the expired one and is what `auth-profiles.json` holds, unexpired.
        var fileHoldsNewToken: Bool {
            guard let token = commonToken else { return false }
            return token != before.access && after.access == token && (after.expires ?? .max) > checkedAt
        }
        /// Per distinct token (sorted by how many tasks got it): how many tasks and which processes.
        var tokenHolders: [(token: String, tasks: Int, pids: [Int64])] {
            var holders: [String: (tasks: Int, pids: Set<Int64>)] = [:]
            for worker in workers {
                for token in worker.tasks.compactMap(\.token) {
                    holders[token, default: (0, [])].tasks += 1
                    holders[token, default: (0, [])].pids.insert(worker.pid)
                }
            }
            return holders.map { ($0.key, $0.value.tasks, $0.value.pids.sorted()) }.sorted { $0.tasks > $1.tasks }
        }
        /// Every refresh grant sent in the round, with the process that sent it, in time order.
        var refreshes: [(pid: Int64, call: TokenEndpointCall)] {
            workers.flatMap { worker in worker.refreshes.map { (worker.pid, $0) } }.sorted { $0.call.startedAt < $1.call.startedAt }
        }
        /// The refresh token was replaced by the one the refresh returned (the mock's are single use).
        var refreshTokenRotated: Bool { after.refresh != nil && after.refresh != before.refresh }

        /// Everything as it must be.
        var passed: Bool { refreshCalls == 1 && invalidGrants == 0 && fileHoldsNewToken }
    }

    /// Serving a usable token from one process.
    struct Cached {
        let latency: LatencySummary
        /// Token endpoint calls while the cached calls ran. Must be 0.
        let tokenCalls: Int
        /// Calls that returned another token than the stored one. Must be 0.
        let mismatches: Int
    }

    let commandLine: String
    let facts: MachineFacts
    /// The temporary `GATEHOUSE_HOME` (removed by now).
    let homePath: String
    let loadAtEnd: Double
    let options: RefreshBenchmark.Options
    let mockExecutable: String
    let mockURL: String
    /// The mock's exit status after `SIGTERM` (0: it shut down gracefully).
    let mockExitStatus: Int32
    let profile: ProfileID
    let rounds: [Round]
    let cached: Cached
    /// The mock's counters at the end.
    let finalCounters: [String: Int]

    /// Every round as it must be, and the cached path without a refresh.
    var passed: Bool { rounds.allSatisfy(\.passed) && cached.tokenCalls == 0 && cached.mismatches == 0 }

    /// How much `name` grew between two readings of the mock's counters.
    static func delta(_ name: String, _ before: [String: Int], _ after: [String: Int]) -> Int {
        (after[name] ?? 0) - (before[name] ?? 0)
    }

    /// Over every round: from `go` to the token.
    private var allTimeToToken: LatencySummary {
        LatencySummary(rounds.flatMap { round in round.results.filter { $0.token != nil }.map { $0.doneAt >= round.start ? $0.doneAt - round.start : 0 } })
    }

    // MARK: - Text

    /// The report as a table with its context and a legend.
    var text: String {
        typealias F = NumberFormat
        let gib = F.fixed(Double(facts.memoryBytes) / 1_073_741_824, decimals: 1)
        let calls = options.processes * options.tasks
        var lines: [String] = [
            "gatehouse-bench refresh, \(facts.date)",
            "command:  \(commandLine)",
            "machine:  \(facts.processors) CPUs (nproc), \(facts.cpuModel), \(gib) GiB, \(facts.kernel)",
            "load:     1-minute load average \(F.fixed(facts.loadAtStart, decimals: 2)) at start, \(F.fixed(loadAtEnd, decimals: 2)) at end",
            "home:     \(homePath) (\(facts.fileSystem), removed)",
            "mock:     \(mockExecutable) --port 0 at \(mockURL), stopped at the end (exit status \(mockExitStatus))",
            "profile:  \(profile) of agent \(RefreshBenchmark.agent), token endpoint \(mockURL)/oauth/token (form); each round starts "
                + "with its access token expired \(RefreshBenchmark.expiredAgo / 1000) s ago",
            "callers:  \(options.processes) processes x \(options.tasks) tasks = \(calls) concurrent "
                + "OAuthTokenManager.accessToken calls per round, released together; \(options.rounds) round(s)",
            "",
        ]
        let widths = [5, 6, 6, 6, 8, 8, 9, 8, 8, 8, 9, 9, 9]
        func row(_ cells: [String]) -> String {
            var line = ""
            for (index, cell) in cells.enumerated() {
                line += (index == 0 ? "" : " ") + F.pad(cell, widths[index])
            }
            return line
        }
        let lead = widths[0..<10].reduce(10, +)
        lines.append(String(repeating: " ", count: lead) + F.center("time to token (ms)", widths[10...].reduce(2, +)))
        lines.append(
            row(["round", "calls", "tokens", "errors", "wall s", "skew ms", "refreshes", "invalid", "distinct", "new+file", "p50", "p99", "max"]))
        lines.append(String(repeating: "-", count: widths.reduce(widths.count - 1, +)))
        for round in rounds {
            let latency = round.timeToToken
            lines.append(
                row([
                    "\(round.number)", "\(round.results.count)", "\(round.tokens.count)", "\(round.errors.count)",
                    F.fixed(Double(round.wallNanos) / 1e9, decimals: 3), F.milliseconds(round.releaseSkewNanos), "\(round.refreshCalls)",
                    "\(round.invalidGrants)", "\(round.distinctTokens.count)", round.fileHoldsNewToken ? "yes" : "NO",
                    F.milliseconds(latency.p50), F.milliseconds(latency.p99), F.milliseconds(latency.max),
                ]))
        }
        if rounds.count > 1 {
            let all = allTimeToToken
            lines.append(
                row([
                    "all", "\(rounds.reduce(0) { $0 + $1.results.count })", "\(rounds.reduce(0) { $0 + $1.tokens.count })",
                    "\(rounds.reduce(0) { $0 + $1.errors.count })", "", "", "\(rounds.reduce(0) { $0 + $1.refreshCalls })",
                    "\(rounds.reduce(0) { $0 + $1.invalidGrants })", "", "", F.milliseconds(all.p50), F.milliseconds(all.p99),
                    F.milliseconds(all.max),
                ]))
        }
        lines.append("")

        let refreshes = rounds.map { String($0.refreshCalls) }.joined(separator: ", ")
        lines.append(
            rounds.allSatisfy({ $0.refreshCalls == 1 })
                ? "REFRESHES: exactly 1 token endpoint call per round (\(refreshes))"
                : "REFRESHES: \(refreshes) per round  <-- must be exactly 1: the stampede was not collapsed into one refresh")
        let invalid = rounds.reduce(0) { $0 + $1.invalidGrants }
        let reused = rounds.reduce(0) { $0 + $1.reusedRefreshTokens }
        lines.append(
            invalid == 0
                ? "INVALID_GRANT: 0 (no refresh token was sent twice)"
                : "INVALID_GRANT: \(invalid) (\(reused) reused refresh tokens)  <-- a used refresh token was sent again")
        lines.append(
            rounds.allSatisfy(\.fileHoldsNewToken)
                ? "TOKENS: in every round every task got the same new token, and auth-profiles.json holds it"
                : "TOKENS: NOT every task got the same new token held by auth-profiles.json: see the rounds below")
        for round in rounds {
            let new = round.distinctTokens.sorted().map(Fingerprint.of).joined(separator: ", ")
            let done = round.workersDone.map { F.fixed(Double($0) / 1e6, decimals: 1) }.joined(separator: ", ")
            var detail =
                "  round \(round.number): token \(round.before.access.map(Fingerprint.of) ?? "-") (expired) -> \(new.isEmpty ? "none" : new); "
                + "file \(round.after.access.map(Fingerprint.of) ?? "-")"
                + (round.after.expires.map { ", expires in \(($0 - round.checkedAt) / 1000) s" } ?? "")
                + (round.refreshTokenRotated ? ", refresh token rotated" : ", refresh token NOT rotated")
                + "; token endpoint calls \(round.tokenCalls)"
            if round.reusedRefreshTokens > 0 { detail += ", reused refresh tokens \(round.reusedRefreshTokens)" }
            lines.append(detail)
            let grants = round.refreshes
            for (index, (pid, call)) in grants.enumerated() {
                var sent = ""
                if call.sentRefreshToken == round.before.refresh.map(Fingerprint.of) {
                    sent = " (the expired credential's)"
                } else if let earlier = grants[..<index].first(where: { $0.call.receivedRefreshToken == call.sentRefreshToken }) {
                    sent = " (the one pid \(earlier.pid)'s refresh returned: a token that was already new was refreshed again)"
                }
                lines.append(
                    "    refresh by pid \(pid) at \(F.milliseconds(call.startedAt >= round.start ? call.startedAt - round.start : 0)) ms "
                        + "to \(F.milliseconds(call.finishedAt >= round.start ? call.finishedAt - round.start : 0)) ms after go: "
                        + "sent refresh token \(call.sentRefreshToken)\(sent), got \(call.outcome)"
                        + (call.receivedRefreshToken.map { ", new refresh token \($0)" } ?? ""))
            }
            lines.append("    processes done at (ms after go): \(done)")
            if round.distinctTokens.count > 1 {
                let holders = round.tokenHolders.map { holder in
                    let pids = holder.pids.count <= 4 ? " (pid \(holder.pids.map(String.init).joined(separator: ", ")))" : ""
                    return "\(Fingerprint.of(holder.token)) to \(holder.tasks) tasks in \(holder.pids.count) process(es)\(pids)"
                }
                lines.append("    tokens given out: " + holders.joined(separator: "; "))
            }
            if let first = round.errors.first {
                lines.append("    \(round.errors.count) error(s), the first: \(first)")
            }
        }
        lines.append("")
        let c = cached.latency
        lines.append(
            "cached:   accessToken on the usable token, \(c.count) calls one after another in one process: p50 \(F.microseconds(Double(c.p50))) µs, "
                + "p99 \(F.microseconds(Double(c.p99))) µs, max \(F.microseconds(Double(c.max))) µs, mean \(F.microseconds(c.mean)) µs; "
                + "token endpoint calls meanwhile: \(cached.tokenCalls); other tokens returned: \(cached.mismatches)")
        lines.append(
            "counters: mock at the end: " + finalCounters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        lines += [
            "",
            "calls      accessToken calls in the round (processes x tasks); tokens: those that returned a token; errors: those that threw",
            "wall s     from the parent's go to the last task's return; skew ms: from go to the last process reading it",
            "refreshes  refresh grants the mock received in the round (oauth.refresh); must be 1",
            "invalid    grants the mock rejected as invalid_grant (unknown or already used refresh token); must be 0",
            "distinct   different tokens the tasks got; new+file: the one token differs from the expired one and is in auth-profiles.json",
            "time to    from the parent's go to each task's token (includes process wake-up); p50/p99 nearest rank over all tasks",
        ]
        return lines.joined(separator: "\n")
    }

    // MARK: - JSON

    /// The same report as JSON (milliseconds as numbers rounded to the microsecond; tokens as their
    /// fingerprints).
    var json: JSONValue {
        let roundValues: [JSONValue] = rounds.map { round in
            .object([
                "round": .int(Int64(round.number)),
                "calls": .int(Int64(round.results.count)),
                "tokens": .int(Int64(round.tokens.count)),
                "errors": .array(round.errors.map(JSONValue.string)),
                "wallSeconds": .double((Double(round.wallNanos) / 1e6).rounded() / 1e3),
                "releaseSkewMs": .double(NumberFormat.millisecondsValue(round.releaseSkewNanos)),
                "refreshCalls": .int(Int64(round.refreshCalls)),
                "tokenEndpointCalls": .int(Int64(round.tokenCalls)),
                "invalidGrants": .int(Int64(round.invalidGrants)),
                "reusedRefreshTokens": .int(Int64(round.reusedRefreshTokens)),
                "distinctTokens": .array(
                    round.tokenHolders.map { holder in
                        .object([
                            "fingerprint": .string(Fingerprint.of(holder.token)), "tasks": .int(Int64(holder.tasks)),
                            "processes": .int(Int64(holder.pids.count)),
                        ])
                    }),
                "expiredToken": .string(round.before.access.map(Fingerprint.of) ?? ""),
                "fileToken": .string(round.after.access.map(Fingerprint.of) ?? ""),
                "fileHoldsNewToken": .bool(round.fileHoldsNewToken),
                "refreshTokenRotated": .bool(round.refreshTokenRotated),
                "timeToTokenMs": millisecondsJSON(round.timeToToken),
                "processesDoneMs": .array(round.workersDone.map { .double(NumberFormat.millisecondsValue($0)) }),
                "refreshGrants": .array(
                    round.refreshes.map { pid, call in
                        .object([
                            "pid": .int(pid),
                            "startedMs": .double(NumberFormat.millisecondsValue(call.startedAt >= round.start ? call.startedAt - round.start : 0)),
                            "finishedMs": .double(NumberFormat.millisecondsValue(call.finishedAt >= round.start ? call.finishedAt - round.start : 0)),
                            "sentRefreshToken": .string(call.sentRefreshToken),
                            "receivedRefreshToken": call.receivedRefreshToken.map(JSONValue.string) ?? .null,
                            "outcome": .string(call.outcome),
                        ])
                    }),
                "passed": .bool(round.passed),
            ])
        }
        return .object([
            "benchmark": "refresh",
            "date": .string(facts.date),
            "commandLine": .string(commandLine),
            "machine": facts.json(loadAtEnd: loadAtEnd),
            "settings": .object([
                "processes": .int(Int64(options.processes)),
                "tasks": .int(Int64(options.tasks)),
                "rounds": .int(Int64(options.rounds)),
                "cachedCalls": .int(Int64(options.cachedCalls)),
            ]),
            "home": .string(homePath),
            "mock": .object([
                "executable": .string(mockExecutable), "url": .string(mockURL), "exitStatus": .int(Int64(mockExitStatus)),
                "counters": .object(finalCounters.mapValues { .int(Int64($0)) }),
            ]),
            "profile": .string(profile.description),
            "rounds": .array(roundValues),
            "timeToTokenMs": millisecondsJSON(allTimeToToken),
            "cached": .object([
                "calls": .int(Int64(cached.latency.count)),
                "p50Us": .double(NumberFormat.microsecondsValue(Double(cached.latency.p50))),
                "p99Us": .double(NumberFormat.microsecondsValue(Double(cached.latency.p99))),
                "maxUs": .double(NumberFormat.microsecondsValue(Double(cached.latency.max))),
                "meanUs": .double(NumberFormat.microsecondsValue(cached.latency.mean)),
                "tokenEndpointCalls": .int(Int64(cached.tokenCalls)),
                "mismatches": .int(Int64(cached.mismatches)),
            ]),
            "passed": .bool(passed),
        ])
    }
}
