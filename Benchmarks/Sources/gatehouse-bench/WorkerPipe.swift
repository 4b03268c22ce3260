import Glibc

/// The child side of the protocol between the bench and the copies of itself it starts: the child
/// prints `ready`, blocks until the parent's `go` line on standard input, works, and prints its report
/// as one line of JSON on standard output.
enum WorkerPipe {
    /// Says `ready` and blocks until the parent's `go` (or end of input). Call it on the main thread
    /// before any task runs, so the blocking read holds no cooperative thread.
    /// - Parameter command: the worker's name, for the error.
    static func sayReadyAndWaitForGo(command: String) throws {
        try writeLine("ready", command: command)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0x0A { break }
            line.append(byte)
        }
        guard String(decoding: line, as: UTF8.self) == "go" else {
            throw BenchError("\(command): expected 'go' on standard input")
        }
    }

    /// Writes a line to standard output unbuffered (stdio would hold it back on a pipe).
    static func writeLine(_ text: String, command: String) throws {
        let bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError("\(command): cannot write to standard output")
            }
            offset += n
        }
    }

    // MARK: The parent side

    /// Starts `count` copies of this executable with `arguments` and waits until each says `ready`.
    /// - Parameter command: the worker's name, for errors.
    static func startWorkers(_ count: Int, arguments: [String], command: String) throws -> [ChildProcess] {
        let executable = ChildProcess.currentExecutable()
        var children: [ChildProcess] = []
        for _ in 0..<count {
            children.append(try ChildProcess(executable: executable, arguments: arguments))
        }
        for child in children {
            let line = try child.readLine()
            guard line == "ready" else {
                let status = child.wait()
                throw BenchError("\(command) \(child.pid) did not start (exit status \(status), said: \(line ?? "nothing"))")
            }
        }
        return children
    }

    /// Sends `go` to every worker at once, then waits for each and decodes its report (the last line
    /// it printed). Returns when `go` went out and the reports in the workers' order.
    static func release<Report>(
        _ children: [ChildProcess], command: String, decode: (String) throws -> Report
    ) throws -> (start: UInt64, reports: [Report]) {
        let start = MonotonicTime.now()
        for child in children {
            try child.send("go")
            child.closeInput()
        }
        var reports: [Report] = []
        for child in children {
            let output = String(decoding: try child.readToEnd(), as: UTF8.self)
            let status = child.wait()
            guard status == 0, let line = output.split(separator: "\n").last else {
                throw BenchError("\(command) \(child.pid) failed (exit status \(status)); its output: \(output.prefix(500))")
            }
            reports.append(try decode(String(line)))
        }
        return (start, reports)
    }
}
