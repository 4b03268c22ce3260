import Glibc
import Logging
import Synchronization

/// Log lines on standard error in `StreamLogHandler`'s format
/// (`2026-01-02T03:04:05+0000 info gatehouse: key=value ... [Module] message`), built for the
/// gateway's one line per request: the timestamp is formatted once a second, metadata is rendered
/// without intermediate strings, and a line goes out in one `write(2)` (no stdio lock or flush).
struct StandardErrorLogHandler: LogHandler {
    /// The formatted local time of the current second.
    private final class Clock: Sendable {
        private let cached = Mutex<(second: Int, text: String)>((-1, ""))

        func timestamp() -> String {
            let now = time(nil)
            return cached.withLock { cached in
                if cached.second == now { return cached.text }
                var seconds = now
                var local = tm()
                var buffer = [CChar](repeating: 0, count: 64)
                guard localtime_r(&seconds, &local) != nil else { return "<unknown>" }
                let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
                let text = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                cached = (now, text)
                return text
            }
        }
    }

    private static let clock = Clock()

    let label: String
    var logLevel: Logger.Level = .info
    var metadataProvider: Logger.MetadataProvider?
    var metadata: Logger.Metadata = [:]

    init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // The request line brings all its metadata: no merge (a copy of every entry) when there is
        // nothing to merge it with.
        var all = event.metadata ?? [:]
        let provided = metadataProvider?.get() ?? [:]
        if !metadata.isEmpty || !provided.isEmpty {
            // Precedence as in StreamLogHandler: the handler's, then the provider's, then the event's.
            let base = provided.isEmpty ? metadata : metadata.merging(provided) { _, new in new }
            all = base.merging(all) { _, new in new }
        }
        if let error = event.error {
            all["error.message"] = "\(error)"
            all["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = Self.clock.timestamp()
        line.reserveCapacity(line.utf8.count + 64 + all.count * 32)
        line += " "
        line += event.level.rawValue
        if !label.isEmpty {
            line += " "
            line += label
        }
        line += ":"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            line += " "
            line += key
            line += "="
            Self.append(value, to: &line)
        }
        line += " ["
        line += event.source
        line += "] "
        line += event.message.description
        line += "\n"
        Self.write(&line)
    }

    private static func append(_ value: Logger.MetadataValue, to line: inout String) {
        switch value {
        case .string(let text): line += text
        case .stringConvertible(let convertible): line += convertible.description
        default: line += value.description
        }
    }

    private static func write(_ line: inout String) {
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
