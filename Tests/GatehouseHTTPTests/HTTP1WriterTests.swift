import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseHTTP

/// The heads the gateway writes itself, and the upstream encoder that sends them: byte for byte what
/// NIO's own encoders would send, so a parser reads them back as they were.
@Suite struct HTTP1WriterTests {
    @Test("A request head: request line, headers in order (short and long values, empty ones), the empty line")
    func requestHead() {
        let long = String(repeating: "v", count: 100)
        let head = HTTPRequestHead(
            version: .http1_1, method: .POST, uri: "/v1/chat/completions?x=1",
            headers: HTTPHeaders([
                ("host", "127.0.0.1:8080"), ("authorization", "Bearer \(long)"), ("x-empty", ""), ("content-length", "0"),
            ]))
        var buffer = ByteBuffer(string: "before|")
        HTTP1Writer.writeHead(head, to: &buffer)
        #expect(
            String(buffer: buffer)
                == "before|POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nauthorization: Bearer \(long)\r\n"
                + "x-empty: \r\ncontent-length: 0\r\n\r\n")
    }

    @Test("An answer head: status line with its reason, given headers, numbers of every width")
    func answerHead() {
        for (number, text) in [(0, "0"), (9, "9"), (10, "10"), (1_048_576, "1048576"), (Int.max, String(Int.max))] {
            var buffer = ByteBuffer()
            HTTP1Writer.write(to: &buffer) { head in
                head.statusLine(.http1_0, .tooManyRequests)
                head.headers(["retry-after": "3"])
                head.header("content-length", number)
                head.header("server", "gatehouse")
                head.endOfHead()
            }
            #expect(
                String(buffer: buffer)
                    == "HTTP/1.0 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: \(text)\r\nserver: gatehouse\r\n\r\n")
        }
    }

    @Test("The upstream encoder sends head and small body as one write at the end; a large piece goes out as it is")
    func encoderJoinsSmallBody() throws {
        let channel = EmbeddedChannel(handler: UpstreamRequestEncoder())
        // No `writeOutbound`: it waits for each part's promise, which completes with the request's end.
        func send(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>? = nil) {
            channel.writeAndFlush(part, promise: promise)
        }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/messages", headers: ["content-length": "7"])
        let headWritten = channel.eventLoop.makePromise(of: Void.self)
        // Loop-bound: the embedded loop runs the callback on this thread, at once.
        let headDone = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
        headWritten.futureResult.whenSuccess { headDone.value = true }
        send(.head(head), promise: headWritten)
        send(.body(.byteBuffer(ByteBuffer(string: "{\"a\":1}"))))
        #expect(try channel.readOutbound(as: IOData.self) == nil, "written before the request's end")
        #expect(!headDone.value, "the head's write completed before the head was written")
        send(.end(nil))
        #expect(headDone.value)
        guard case .byteBuffer(let whole)? = try channel.readOutbound(as: IOData.self) else {
            Issue.record("no buffer written")
            return
        }
        #expect(String(buffer: whole) == "POST /v1/messages HTTP/1.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}")
        #expect(try channel.readOutbound(as: IOData.self) == nil)

        let large = ByteBuffer(repeating: UInt8(ascii: "x"), count: UpstreamRequestEncoder.copiedPieceLimit + 1)
        let largeHead = HTTPRequestHead(
            version: .http1_1, method: .POST, uri: "/", headers: ["content-length": String(large.readableBytes + 2)])
        send(.head(largeHead))
        send(.body(.byteBuffer(large)))
        send(.body(.byteBuffer(ByteBuffer(string: "ok"))))
        send(.end(nil))
        var written: [String] = []
        while case .byteBuffer(let piece)? = try channel.readOutbound(as: IOData.self) { written.append(String(buffer: piece)) }
        #expect(written.count == 3, "\(written.map(\.count))")
        #expect(written.first == "POST / HTTP/1.1\r\ncontent-length: \(large.readableBytes + 2)\r\n\r\n")
        #expect(written.dropFirst().first == String(buffer: large))
        #expect(written.last == "ok")
        #expect(try channel.finish().isClean)
    }
}
