import Glibc

/// A child process started with `posix_spawn`, with pipes on its standard input and output (its
/// standard error is this process's, so a child's complaints reach the terminal).
///
/// All calls block: the parent coordinates its children from the main thread, never from the
/// cooperative pool.
final class ChildProcess {
    /// The child's process id.
    let pid: pid_t
    /// Our end of the child's standard input (closed by `closeInput()`).
    private var inputFD: Int32
    /// Our end of the child's standard output.
    private let outputFD: Int32
    /// Bytes read from the child's output that are not yet consumed.
    private var buffered: [UInt8] = []
    private var reaped = false

    /// Starts `executable` with `arguments` (without the program name) and this process's
    /// environment.
    init(executable: String, arguments: [String]) throws {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw BenchError("pipe: \(Self.errnoText())") }
        guard pipe(&output) == 0 else {
            close(input[0])
            close(input[1])
            throw BenchError("pipe: \(Self.errnoText())")
        }
        // Close-on-exec, so that a child does not inherit its siblings' pipes (pipe2 is not exported).
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 leaves the new descriptors 0 and 1 without O_CLOEXEC; every pipe end is closed on exec.
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var childPID: pid_t = 0
        let status = posix_spawn(&childPID, executable, &actions, nil, argv + [nil], environ)
        close(input[0])
        close(output[1])
        guard status == 0 else {
            close(input[1])
            close(output[0])
            throw BenchError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = childPID
        inputFD = input[1]
        outputFD = output[0]
    }

    deinit {
        if inputFD >= 0 { close(inputFD) }
        close(outputFD)
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    /// Writes `line` and a newline to the child's standard input.
    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(inputFD, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError("cannot write to child \(pid): \(Self.errnoText())")
            }
            offset += n
        }
    }

    /// Closes the child's standard input (it reads end of file).
    func closeInput() {
        if inputFD >= 0 {
            close(inputFD)
            inputFD = -1
        }
    }

    /// The next line the child prints (without its newline), or `nil` at end of file.
    func readLine() throws -> String? {
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            guard try fill() else {
                guard !buffered.isEmpty else { return nil }
                defer { buffered = [] }
                return String(decoding: buffered, as: UTF8.self)
            }
        }
    }

    /// Everything the child prints from now until it closes its output.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffered = [] }
        return buffered
    }

    /// Waits for the child to exit and returns its exit code (128 + the signal when killed).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        return Self.exitCode(status)
    }

    /// Asks the child to stop (`SIGTERM`), gives it `grace` to exit, then kills it (`SIGKILL`).
    /// Returns its exit code as `wait()` does (143 when `SIGTERM` ended it, 137 when it was killed).
    func stop(grace: Duration = .seconds(5)) -> Int32 {
        kill(pid, SIGTERM)
        let deadline = MonotonicTime.now() + UInt64(grace.components.seconds) * 1_000_000_000
            + UInt64(grace.components.attoseconds / 1_000_000_000)
        var status: Int32 = 0
        while MonotonicTime.now() < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                reaped = true
                return Self.exitCode(status)
            }
            if result < 0 && errno != EINTR { break }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        return wait()
    }

    /// The exit code in a `waitpid` status, or 128 + the signal that ended the process.
    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Reads what is available into `buffered`; false at end of file.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError("cannot read from child \(pid): \(Self.errnoText())")
            }
            if n == 0 { return false }
            buffered.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The path of the running executable (`/proc/self/exe` resolved), to start it again.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "/proc/self/exe" }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
