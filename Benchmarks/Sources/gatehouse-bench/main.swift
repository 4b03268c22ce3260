// gatehouse-bench: benchmarks of Gatehouse, run apart from its main build.
//
//     swift run -c release --package-path Benchmarks gatehouse-bench store [--processes 4] [--ops 500] [--json]
//
// `store-worker` is the hidden subcommand `store` starts its contending child processes with.
import GatehouseCore
import Glibc

/// Prints `message` to standard error and exits with `status`.
func fail(_ message: String, status: Int32 = 1) -> Never {
    let line = "gatehouse-bench: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(status)
}

// Like the gateway: files created here are for their owner only.
umask(0o077)

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: gatehouse-bench store [--processes 4] [--ops 500] [--tasks 8] [--json]

    store   lock and store throughput: sequential, concurrent tasks, and contending processes
            (default backoff and 5 ms initial backoff), with lost-update check. See Benchmarks/README.md.
    """

do {
    switch arguments.first {
    case "store":
        let options = try StoreBenchmark.Options(arguments: Array(arguments.dropFirst()))
        let commandLine = CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let report = try await StoreBenchmark(options: options, commandLine: commandLine).run()
        print(options.json ? report.json.serializedString(pretty: true) : report.text, terminator: options.json ? "" : "\n")
        if report.lostUpdates != 0 { exit(2) }
    case StoreWorker.command:
        let worker = try StoreWorker(arguments: Array(arguments.dropFirst()))
        try worker.waitForStartSignal()
        try await worker.run()
    case "-h", "--help", "help":
        print(usage)
    default:
        fail(usage, status: 64)
    }
} catch {
    fail("\(error)")
}
