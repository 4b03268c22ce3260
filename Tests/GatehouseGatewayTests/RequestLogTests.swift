import GatehouseCore
import Logging
import NIOCore
import Synchronization
import Testing

@testable import GatehouseGateway

/// The request line the gateway writes itself must be the line its log handler would write for the
/// same fields: scripts read both alike.
@Suite("Request log line")
struct RequestLogTests {
    /// Hands events to `StandardErrorLogHandler`'s line builder and keeps the lines.
    private struct CapturingHandler: LogHandler {
        let box: Box
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let text = StandardErrorLogHandler(label: "gatehouse", metadataProvider: nil).line(for: event).text
            box.lines.withLock { $0.append(text) }
        }
    }

    private final class Box: Sendable {
        let lines = Mutex<[String]>([])
    }

    /// The line without its timestamp (the two lines may be built in different seconds).
    private func withoutTime(_ line: String) -> Substring {
        line.drop { $0 != " " }
    }

    @Test(
        "The line built directly equals the handler's line, with and without the optional fields",
        arguments: [
            RequestLog(
                requestID: "gh-1f-7", api: .openAIChat, agent: "main", provider: "openai", model: "gpt-4o", profile: "openai:work",
                attempts: 2, status: 200, error: nil),
            RequestLog(requestID: "gh-1f-8", api: .anthropicMessages, status: 401, error: "wrong gateway token"),
            RequestLog(
                requestID: "gh-1f-9", api: .anthropicMessages, agent: "helper", provider: "anthropic", model: "claude-sonnet-4-5",
                profile: "anthropic:default", attempts: 1, status: 200, error: "the upstream cut the answer: reset"),
        ])
    func directLineMatchesHandler(_ log: RequestLog) throws {
        let box = Box()
        let captured = RequestLogger(Logger(label: "gatehouse") { _ in CapturingHandler(box: box) })
        let direct = RequestLogger(Logger(label: "gatehouse") { label in StandardErrorLogHandler(label: label, metadataProvider: nil) })
        let duration = Duration.microseconds(12_345)

        // A handler of another kind gets the line through the logger; ours is built directly.
        #expect(captured.directLine(log, duration: duration) == nil)
        captured.emit(log, duration: duration)
        let viaLogger = try #require(box.lines.withLock { $0.first })
        let built = try #require(direct.directLine(log, duration: duration)).text

        #expect(withoutTime(built) == withoutTime(viaLogger))
        #expect(built.hasSuffix(" [GatehouseGateway] request\n"))
        #expect(built.contains(" duration.ms=12.345 "))
        #expect(built.contains(" status=\(log.status) "))
    }

    @Test(
        "Numbers are written into the line as decimals, durations in milliseconds with three places",
        arguments: [
            (LogLine.Value.integer(0), "0"), (.integer(7), "7"), (.integer(200), "200"), (.integer(-42), "-42"),
            (.integer(Int64.max), "9223372036854775807"), (.integer(Int64.min), "-9223372036854775808"),
            (.thousandths(0), "0.000"), (.thousandths(5), "0.005"), (.thousandths(40), "0.040"), (.thousandths(12_345), "12.345"),
            (.thousandths(1_000_000), "1000.000"), (.thousandths(-1_500), "-1.500"), (.text("openai:work"), "openai:work"),
        ])
    func numbersInTheLine(_ value: LogLine.Value, _ expected: String) {
        #expect(value.text == expected)
        var line = LogLine(level: .info, label: "gatehouse", fields: 1)
        line.field("key", value)
        line.end(source: "Test", message: "m")
        #expect(line.text.hasSuffix(" key=\(expected) [Test] m\n"))
    }

    @Test("A handler with metadata of its own gets the line through the logger, so that metadata is kept")
    func handlerMetadataKeepsLoggerPath() {
        var logger = Logger(label: "gatehouse") { label in StandardErrorLogHandler(label: label, metadataProvider: nil) }
        logger[metadataKey: "instance"] = "a"
        let log = RequestLog(requestID: "gh-1", api: .openAIChat)
        #expect(RequestLogger(logger).directLine(log, duration: .zero) == nil)
    }
}

/// A stream counts as complete only when its final event went by, wherever the pieces split it.
@Suite("Stream end detection")
struct StreamEndTests {
    private func sawEnd(_ pieces: [String], api: WireAPI) -> Bool {
        var tail: [UInt8] = []
        var seen = false
        for piece in pieces where !seen {
            seen = ProxyEngine.containsStreamEnd(ByteBuffer(string: piece), api: api, tail: &tail)
        }
        return seen
    }

    @Test("Partial markers before the real one, and a marker at the very start or end of a piece")
    func falseStarts() {
        #expect(sawEnd(["data: [ [D [DO [DON [DONE [DONE]\n\n"], api: .openAIChat))
        #expect(!sawEnd(["data: [ [D [DO [DON [DONE [DONE\n\n"], api: .openAIChat))
        #expect(sawEnd(["[DONE]"], api: .openAIChat))
        #expect(sawEnd(["x[DONE]"], api: .openAIChat))
        #expect(sawEnd(["[DONE]x"], api: .openAIChat))
        #expect(!sawEnd(["[DONE"], api: .openAIChat))
        #expect(sawEnd(["message_message_stop"], api: .anthropicMessages))
        #expect(!sawEnd(["message_message_sto", "x"], api: .anthropicMessages))
    }

    @Test("The final event is found at every split into two or three pieces, and only the route's own")
    func everySplit() {
        let openAI = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"
        let anthropic = "event: content_block_stop\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        for (text, api, other) in [(openAI, WireAPI.openAIChat, WireAPI.anthropicMessages), (anthropic, .anthropicMessages, .openAIChat)] {
            let bytes = Array(text.utf8)
            #expect(sawEnd([text], api: api))
            #expect(!sawEnd([text], api: other))
            for i in 0...bytes.count {
                let two = [String(decoding: bytes[..<i], as: UTF8.self), String(decoding: bytes[i...], as: UTF8.self)]
                #expect(sawEnd(two, api: api), "split at \(i)")
                for j in i...bytes.count where j % 3 == 0 {
                    let three = [
                        String(decoding: bytes[..<i], as: UTF8.self), String(decoding: bytes[i..<j], as: UTF8.self),
                        String(decoding: bytes[j...], as: UTF8.self),
                    ]
                    #expect(sawEnd(three, api: api), "split at \(i), \(j)")
                }
            }
        }
        // Cut before the end: no final event.
        #expect(!sawEnd(["data: {\"x\":1}\n\ndata: [DON", "E"], api: .openAIChat))
        #expect(!sawEnd(["event: message_st", "art\n"], api: .anthropicMessages))
        // One byte at a time.
        #expect(sawEnd(openAI.map { String($0) }, api: .openAIChat))
    }

    @Test("A request line is built behind the lines gathered before it, in their room: they are not copied, and room grows by doubling")
    func builtInPlace() {
        func build(_ line: inout LogLine) {
            line.field("status", .integer(200))
            line.end(source: "Test", message: "request")
        }
        var gathered: [UInt8] = []
        gathered.reserveCapacity(4096)
        gathered.append(contentsOf: "earlier line\n".utf8)
        let room = gathered.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let built = StandardErrorOutput.appending(
            to: consume gathered, timestamp: Array("T".utf8), level: .info, label: "gatehouse", fields: 1, build)
        #expect(String(decoding: built, as: UTF8.self) == "earlier line\nT info gatehouse: status=200 [Test] request\n")
        #expect(built.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == room, "the gathered lines were copied")

        // Without room for one more line, the room doubles (at least): the next lines go in it.
        var full = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        let capacity = full.capacity
        full = StandardErrorOutput.appending(to: consume full, timestamp: [], level: .info, label: "", fields: 1, build)
        #expect(full.capacity >= 2 * capacity)
        let grownRoom = full.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        full = StandardErrorOutput.appending(to: consume full, timestamp: [], level: .info, label: "", fields: 1, build)
        #expect(full.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == grownRoom)
        #expect(full.count == 1000 + 2 * " info: status=200 [Test] request\n".utf8.count)
    }
}
