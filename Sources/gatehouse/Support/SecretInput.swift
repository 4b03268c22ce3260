import Glibc

/// Reads a secret from standard input, so it never appears in a process list or shell history.
enum SecretInput {
    /// At a terminal: prompts on standard error and reads one line without echo. Otherwise: reads all
    /// of standard input. Surrounding white space is removed.
    static func read(what: String) throws -> String {
        let text: String
        if isatty(0) == 1 {
            FileHandleStandardError.write("Paste the \(what), then press Enter (it is not shown): ")
            text = readLineWithoutEcho()
            FileHandleStandardError.write("\n")
        } else {
            text = try readAllStandardInput()
        }
        let secret = text.trimmingCharacters(in: " \t\r\n")
        guard !secret.isEmpty else {
            throw CLIError("no \(what) on standard input; pipe it in, for example: printenv MY_KEY | gatehouse auth add ...")
        }
        guard !secret.contains("\n") else {
            throw CLIError("the \(what) on standard input spans several lines; give exactly one")
        }
        return secret
    }

    /// All of standard input, up to 1 MiB.
    static func readAllStandardInput() throws -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { throw CLIError("standard input holds more than 1 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func readLineWithoutEcho() -> String {
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer { if haveTerminal { tcsetattr(0, TCSANOW, &saved) } }
        return readLine(strippingNewline: true) ?? ""
    }
}

extension String {
    /// The string without the given characters at either end.
    func trimmingCharacters(in set: String) -> String {
        let drop = Set(set.unicodeScalars)
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !drop.contains($0) }),
            let end = scalars.lastIndex(where: { !drop.contains($0) })
        else { return "" }
        return String(scalars[start...end])
    }
}
