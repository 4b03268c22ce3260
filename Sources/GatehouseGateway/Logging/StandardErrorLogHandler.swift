import Glibc
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Log lines on standard error in `StreamLogHandler`'s format
/// (`2026-01-02T03:04:05+0000 info gatehouse: key=value ... [Module] message`, keys in order), built
/// for the gateway's one line per request: the timestamp is formatted once a second, metadata is
/// rendered without intermediate strings, and lines go out through `StandardErrorOutput` (no stdio
/// lock or flush). `LogLine` builds every line, the request line included (see `RequestLogger`).
public struct StandardErrorLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata = [:]

    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Whether this handler adds nothing to an event's own metadata (no handler metadata, no
    /// provider): a line can then be written straight through `LogLine`.
    var addsNoMetadata: Bool { metadata.isEmpty && metadataProvider == nil }

    public func log(event: LogEvent) {
        // A notice or worse goes out at once (with what this thread gathered before it): such lines
        // are few (a reload, a warning), a script may wait for them, and one may be the last thing
        // the process says.
        line(for: event).write(now: event.level >= .notice)
    }

    /// The line an event is written as.
    func line(for event: LogEvent) -> LogLine {
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
        var line = LogLine(level: event.level, label: label, fields: all.count)
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .string(let text): line.field(key, text)
            case .stringConvertible(let convertible): line.field(key, convertible.description)
            default: line.field(key, value.description)
            }
        }
        line.end(source: event.source, message: event.message.description)
        return line
    }
}

/// One line of `StandardErrorLogHandler`'s format, built in place. Fields go in in the order they
/// are given (the handler sorts its keys; a caller that writes a line itself gives them sorted).
struct LogLine {
    private(set) var bytes: [UInt8]

    /// A line of its own.
    init(level: Logger.Level, label: String, fields: Int) {
        self.init(after: [], timestamp: StandardErrorOutput.timestamp(), level: level, label: label, fields: fields)
    }

    /// A line that goes on at the end of `bytes` (lines gathered before it), stamped `timestamp`.
    fileprivate init(after bytes: consuming [UInt8], timestamp: [UInt8], level: Logger.Level, label: String, fields: Int) {
        self.bytes = consume bytes
        // Room grows by doubling, as appends would make it: a reservation of just what this line
        // needs would move every gathered line for each new one.
        let needed = self.bytes.count + 96 + fields * 32
        if self.bytes.capacity < needed { self.bytes.reserveCapacity(Swift.max(needed, 2 * self.bytes.capacity)) }
        self.bytes.append(contentsOf: timestamp)
        self.begin(level: level, label: label)
    }

    /// The bytes, taken out of the line (which is left empty): no copy.
    fileprivate mutating func takeBytes() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    private mutating func begin(level: Logger.Level, label: String) {
        bytes.append(UInt8(ascii: " "))
        append(level.rawValue)
        if !label.isEmpty {
            bytes.append(UInt8(ascii: " "))
            append(label)
        }
        bytes.append(UInt8(ascii: ":"))
    }

    /// The line as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func field(_ key: String, _ value: String) {
        field(key, .text(value))
    }

    /// A field's value: text, or a number written straight into the line (no string made for it).
    enum Value {
        case text(String)
        case integer(Int64)
        /// A count of thousandths written as a decimal: 1234 is `1.234`.
        case thousandths(Int64)

        /// The value as the line writes it.
        var text: String {
            var line = LogLine(bytes: [])
            line.append(self)
            return String(decoding: line.bytes, as: UTF8.self)
        }
    }

    mutating func field(_ key: String, _ value: Value) {
        bytes.append(UInt8(ascii: " "))
        append(key)
        bytes.append(UInt8(ascii: "="))
        append(value)
    }

    /// A field whose key is a constant (a request line's).
    mutating func field(_ key: StaticString, _ value: Value) {
        bytes.append(UInt8(ascii: " "))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "="))
        append(value)
    }

    /// Text's bytes, copied from where they are (a short string's from its inline storage) rather
    /// than one by one.
    private mutating func append(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes.append(contentsOf: $0) }
        if copied == nil { bytes.append(contentsOf: text.utf8) }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func append(_ value: Value) {
        switch value {
        case .text(let text):
            append(text)
        case .integer(let number):
            appendDecimal(number)
        case .thousandths(let count):
            if count < 0 { bytes.append(UInt8(ascii: "-")) }
            let magnitude = count.magnitude
            appendDecimal(magnitude / 1000)
            bytes.append(UInt8(ascii: "."))
            let fraction = magnitude % 1000
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        }
    }

    private mutating func appendDecimal(_ number: Int64) {
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(number.magnitude)
    }

    private mutating func appendDecimal(_ number: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = number
        withUnsafeMutableBytes(of: &digits) { digits in
            repeat {
                digits[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(digits[index]) }
        }
    }

    /// Ends the line with its source module and message.
    mutating func end(source: String, message: String) {
        bytes.append(UInt8(ascii: " "))
        bytes.append(UInt8(ascii: "["))
        append(source)
        bytes.append(UInt8(ascii: "]"))
        bytes.append(UInt8(ascii: " "))
        append(message)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Writes the ended line to standard error; `now`: not gathered with others.
    func write(now: Bool = false) {
        StandardErrorOutput.write(bytes, now: now)
    }

    /// The local time of `second` as a line begins with it.
    fileprivate static func format(second: Int) -> [UInt8] {
        var seconds = second
        var local = tm()
        var buffer = [CChar](repeating: 0, count: 64)
        guard localtime_r(&seconds, &local) != nil else { return Array("<unknown>".utf8) }
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return buffer[..<count].map { UInt8(bitPattern: $0) }
    }
}

/// Standard error for log lines. On an event loop's thread, lines are gathered for up to
/// `gatherTime` and go out in one `write(2)` (one request at a time, a line each would cost a
/// system call per request); a notice or worse goes out at once, after what was gathered before
/// it; anywhere else a line is written at once.
enum StandardErrorOutput {
    /// What one thread keeps: the lines it gathered (on a loop thread), and the formatted time of
    /// the current second (made once a second, with no lock shared with the other threads).
    /// Unchecked: each thread has its own (a thread-specific value), and only that thread touches it.
    private final class Pending: @unchecked Sendable {
        var bytes: [UInt8] = []
        var second = -1
        var timestamp: [UInt8] = []
    }

    private static let pending = ThreadSpecificVariable<Pending>()
    /// Gathered lines past this size are written without waiting.
    private static let flushSize = 64 * 1024
    /// How long a line may wait for others.
    static let gatherTime = TimeAmount.milliseconds(10)
    /// One writer at a time: a batch that a slow reader takes in several pieces is never split by
    /// another thread's lines.
    private static let writing = Mutex(())

    /// Writes `line`: within `gatherTime` when called on an event loop, unless `now`.
    static func write(_ line: [UInt8], now: Bool = false) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            writeAll(line)
            return
        }
        let gathered = self.gathered()
        let first = gathered.bytes.isEmpty
        gathered.bytes.append(contentsOf: line)
        wrote(gathered, first: first, now: now, on: loop)
    }

    /// Builds a line (`build` adds its fields and ends it) and writes it as `write` does; on an
    /// event loop it is built in place behind the lines gathered there, stamped with a time that
    /// loop's thread keeps (no buffer of its own, no copy, no lock).
    static func writeLine(level: Logger.Level, label: String, fields: Int, _ build: (inout LogLine) -> Void) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            var line = LogLine(level: level, label: label, fields: fields)
            build(&line)
            return writeAll(line.bytes)
        }
        let gathered = self.gathered()
        let first = gathered.bytes.isEmpty
        var taken: [UInt8] = []
        swap(&taken, &gathered.bytes)
        let built = appending(
            to: consume taken, timestamp: timestamp(in: gathered), level: level, label: label, fields: fields, build)
        // A line written while this one was built (`build` writes none) goes after it.
        let meanwhile = gathered.bytes
        gathered.bytes = consume built
        if !meanwhile.isEmpty { gathered.bytes.append(contentsOf: meanwhile) }
        wrote(gathered, first: first, now: false, on: loop)
    }

    /// `bytes` with a line built at their end: they move into the line and back, so they are not
    /// copied while their room suffices (it grows by doubling).
    static func appending(
        to bytes: consuming [UInt8], timestamp: [UInt8], level: Logger.Level, label: String, fields: Int,
        _ build: (inout LogLine) -> Void
    ) -> [UInt8] {
        var line = LogLine(after: consume bytes, timestamp: timestamp, level: level, label: label, fields: fields)
        build(&line)
        return line.takeBytes()
    }

    /// The local time of the current second as a line begins with it.
    static func timestamp() -> [UInt8] {
        timestamp(in: gathered())
    }

    private static func timestamp(in pending: Pending) -> [UInt8] {
        let second = time(nil)
        if second != pending.second {
            pending.timestamp = LogLine.format(second: second)
            pending.second = second
        }
        return pending.timestamp
    }

    /// What this thread keeps.
    private static func gathered() -> Pending {
        if let existing = pending.currentValue { return existing }
        let made = Pending()
        pending.currentValue = made
        return made
    }

    /// After a line was added to `gathered`: written now when asked or when enough has gathered,
    /// else within `gatherTime` of the first line.
    private static func wrote(_ gathered: Pending, first: Bool, now: Bool, on loop: any EventLoop) {
        if now || gathered.bytes.count >= flushSize {
            flush(gathered)
        } else if first {
            loop.scheduleTask(in: gatherTime) { flush(gathered) }
        }
    }

    /// Writes what every loop of `group` has gathered (at a stop, before the process exits).
    static func flush(_ group: MultiThreadedEventLoopGroup) async {
        for loop in group.makeIterator() {
            try? await loop.submit {
                if let gathered = pending.currentValue { flush(gathered) }
            }.get()
        }
    }

    private static func flush(_ gathered: Pending) {
        guard !gathered.bytes.isEmpty else { return }
        writeAll(gathered.bytes)
        gathered.bytes.removeAll(keepingCapacity: true)
    }

    private static func writeAll(_ bytes: [UInt8]) {
        writing.withLock { _ in
            bytes.withUnsafeBytes { bytes in
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
}
