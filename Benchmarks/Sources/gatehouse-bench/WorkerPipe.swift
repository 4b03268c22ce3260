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
}
