import GatehouseCore

/// JSON pieces the reports share.
extension MachineFacts {
    /// The machine facts, with the load average at the end of the run.
    func json(loadAtEnd: Double) -> JSONValue {
        .object([
            "nproc": .int(Int64(processors)),
            "cpuModel": .string(cpuModel),
            "memoryBytes": .int(Int64(memoryBytes)),
            "kernel": .string(kernel),
            "fileSystem": .string(fileSystem),
            "loadAverageAtStart": .double((loadAtStart * 100).rounded() / 100),
            "loadAverageAtEnd": .double((loadAtEnd * 100).rounded() / 100),
        ])
    }
}

/// A latency summary in milliseconds, rounded to the microsecond.
func millisecondsJSON(_ summary: LatencySummary) -> JSONValue {
    .object([
        "count": .int(Int64(summary.count)),
        "p50": .double(NumberFormat.millisecondsValue(summary.p50)),
        "p99": .double(NumberFormat.millisecondsValue(summary.p99)),
        "max": .double(NumberFormat.millisecondsValue(summary.max)),
    ])
}
