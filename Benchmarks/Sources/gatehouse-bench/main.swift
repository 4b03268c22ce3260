// gatehouse-bench: benchmarks of Gatehouse, run apart from its main build.
//
//     swift run -c release --package-path Benchmarks gatehouse-bench store [--processes 4] [--ops 500] [--json]
//     swift run -c release --package-path Benchmarks gatehouse-bench health [--profiles 20] [--iterations 100000] [--json]
//     swift run -c release --package-path Benchmarks gatehouse-bench refresh [--processes 8] [--tasks 25] [--rounds 1] [--json]
//     swift run -c release --package-path Benchmarks gatehouse-bench models [--providers 40] [--models 1000] [--agents 10] [--json]
//     swift run -c release --package-path Benchmarks gatehouse-bench bare-proxy --upstream-port PORT   (Benchmarks/proxy/run.sh starts it)
//     swift run -c release --package-path Benchmarks gatehouse-bench interleave --target NAME URL TOKEN BODY ... [--duration 10] [--json]   (run.sh too)
//
// `store-worker` and `refresh-worker` are the hidden subcommands `store` and `refresh` start their
// child processes with.
import GatehouseCore
import Glibc
import Logging

/// Prints `message` to standard error and exits with `status`.
func fail(_ message: String, status: Int32 = 1) -> Never {
    let line = "gatehouse-bench: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(status)
}

// Like the gateway: files created here are for their owner only.
umask(0o077)
// The libraries' logs (the token manager's, the health recorder's) go to standard error, warnings and
// worse only: standard output holds the report, and a worker's standard output is its report pipe.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

let arguments = Array(CommandLine.arguments.dropFirst())
let commandLine = CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
let usage = """
    usage: gatehouse-bench store [--processes 4] [--ops 500] [--tasks 8] [--json]
           gatehouse-bench health [--profiles 20] [--iterations 100000] [--json]
           gatehouse-bench refresh [--processes 8] [--tasks 25] [--rounds 1] [--cached-calls 10000] [--mock PATH] [--json]
           gatehouse-bench models [--providers 40] [--models 1000] [--agents 10] [--iterations 100000] [--requests 2000] [--edits 20] [--gateway PATH] [--json]
           gatehouse-bench bare-proxy --upstream-port PORT
           gatehouse-bench interleave --target NAME URL TOKEN BODY [--target ...] [--duration 10] [--warmup 1] [--json]

    store   lock and store throughput: sequential, concurrent tasks, and contending processes
            (default backoff and 5 ms initial backoff), with lost-update check.
    health  hot-path costs of profile health: CandidatePlanner.plan over a realistic mix of profiles,
            HealthRecorder.markUsed/markGood/markFailure (no disk on the request path), flush().
    refresh the OAuth refresh stampede against gatehouse-mock-upstream: P processes x T tasks need a
            token whose access token has expired; exactly one refresh per round, no invalid_grant.
    models  model listing on a 40-provider, 1,000-model, 10-agent fixture: cold builds, the in-process
            lookup, GET /v1/models of a real gateway, and the time from an outside edit to the new answer.
    bare-proxy  the least a keep-alive HTTP proxy on SwiftNIO does (no routing, credentials, health or
            log), on a free loopback port: the floor Benchmarks/proxy/run.sh measures the gateway against.
    interleave  latency at concurrency 1 of several targets taken in turn, one request each, so that all
            meet the same spells of a shared machine; percentiles and what each adds to the first.
    See Benchmarks/README.md.
    """

/// Prints a report as text or JSON.
func printReport(text: String, json: JSONValue, asJSON: Bool) {
    print(asJSON ? json.serializedString(pretty: true) : text, terminator: asJSON ? "" : "\n")
}

do {
    switch arguments.first {
    case "store":
        let options = try StoreBenchmark.Options(arguments: Array(arguments.dropFirst()))
        let report = try await StoreBenchmark(options: options, commandLine: commandLine).run()
        printReport(text: report.text, json: report.json, asJSON: options.json)
        if report.lostUpdates != 0 { exit(2) }
    case StoreWorker.command:
        let worker = try StoreWorker(arguments: Array(arguments.dropFirst()))
        try worker.waitForStartSignal()
        try await worker.run()
    case "health":
        let options = try HealthBenchmark.Options(arguments: Array(arguments.dropFirst()))
        let report = try await HealthBenchmark(options: options, commandLine: commandLine).run()
        printReport(text: report.text, json: report.json, asJSON: options.json)
        if !report.passed { exit(2) }
    case "refresh":
        let options = try RefreshBenchmark.Options(arguments: Array(arguments.dropFirst()))
        let report = try await RefreshBenchmark(options: options, commandLine: commandLine).run()
        printReport(text: report.text, json: report.json, asJSON: options.json)
        if !report.passed { exit(2) }
    case "models":
        let options = try ModelsBenchmark.Options(arguments: Array(arguments.dropFirst()))
        let report = try await ModelsBenchmark(options: options, commandLine: commandLine).run()
        printReport(text: report.text, json: report.json, asJSON: options.json)
    case "bare-proxy":
        try await BareProxy.run(BareProxy.Options(arguments: Array(arguments.dropFirst())))
    case "interleave":
        let options = try InterleavedLatency.Options(arguments: Array(arguments.dropFirst()))
        let benchmark = InterleavedLatency(options: options)
        let results = try benchmark.run()
        printReport(
            text: benchmark.text(results), json: benchmark.json(results, commandLine: commandLine),
            asJSON: options.json)
    case RefreshWorker.command:
        let worker = try RefreshWorker(arguments: Array(arguments.dropFirst()))
        let goAt = try worker.waitForStartSignal()
        try await worker.run(goAt: goAt)
    case "-h", "--help", "help":
        print(usage)
    default:
        fail(usage, status: 64)
    }
} catch {
    fail("\(error)")
}
