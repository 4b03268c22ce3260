import Foundation

/// The folder that holds the package's built products (next to the test bundle).
public let productsDirectory: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On Linux the test runner is `<products>/<name>.xctest`; elsewhere it may sit inside a bundle.
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("gatehouse").path) && url.path != "/" {
        url = url.deletingLastPathComponent()
    }
    return url.path
}()

/// The path of a built executable of this package, such as `gatehouse`.
public func productPath(_ name: String) -> String { productsDirectory + "/" + name }

/// What a finished child process printed and how it ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Whether the process was ended by a signal (`status` is then the signal number).
    public var signaled: Bool
}

/// A child process started with pipes for its output.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let inPipe = Pipe()
    private var outData = Data()
    private var errData = Data()
    private let lock = NSLock()

    /// Starts `executable` with `arguments`; `environment` is added to this process's environment.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.outData.append(data) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.errData.append(data) }
        }
        try process.run()
        if let stdin {
            inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        }
        try? inPipe.fileHandleForWriting.close()
    }

    public var pid: Int32 { process.processIdentifier }

    /// What the process has printed on standard output so far.
    public var stdoutSoFar: String {
        lock.withLock { String(decoding: outData, as: UTF8.self) }
    }

    /// What the process has printed on standard error so far.
    public var stderrSoFar: String {
        lock.withLock { String(decoding: errData, as: UTF8.self) }
    }

    /// Waits (off the cooperative pool) until the process exits.
    public func wait() async -> ProcessResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume()
            }
        }
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
        let restOut = (try? outPipe.fileHandleForReading.readToEnd()) ?? nil
        let restErr = (try? errPipe.fileHandleForReading.readToEnd()) ?? nil
        return lock.withLock {
            if let restOut { outData.append(restOut) }
            if let restErr { errData.append(restErr) }
            return ProcessResult(
                status: process.terminationStatus,
                stdout: String(decoding: outData, as: UTF8.self),
                stderr: String(decoding: errData, as: UTF8.self),
                signaled: process.terminationReason == .uncaughtSignal)
        }
    }

    /// Sends a signal.
    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }
}

/// Runs a program to the end and returns what it printed.
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
) async throws -> ProcessResult {
    let child = try ChildProcess(executable, arguments, environment: environment, stdin: stdin)
    return await child.wait()
}

/// Runs the `gatehouse` command with `--home` set (options follow the subcommand they belong to).
public func gatehouse(
    home: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
) async throws -> ProcessResult {
    try await run(productPath("gatehouse"), arguments + ["--home", home], environment: environment, stdin: stdin)
}
