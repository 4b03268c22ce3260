import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseHTTP

/// The heads the gateway writes itself and the upstream requests it encodes, byte for byte.
@Suite struct HTTP1WriterTests {
    @Test(
        "A request: request line, Host first, the given headers in order (a Host, Content-Length or Transfer-Encoding replaced), its length, its body"
    )
    func requestEncoding() throws {
        let long = String(repeating: "v", count: 100)
        let url = try UpstreamURL("http://127.0.0.1:8080/v1/chat/completions?x=1")
        let request = UpstreamRequest(
            url: url,
            headers: HTTPHeaders([
                ("Host", "elsewhere"), ("authorization", "Bearer \(long)"), ("x-empty", ""), ("Content-Length", "99"),
                ("transfer-encoding", "chunked"),
            ]),
            body: [ByteBuffer(string: "{\"a\":"), ByteBuffer(string: "1}")])
        #expect(
            request.wire.map { String(buffer: $0) } == [
                "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nauthorization: Bearer \(long)\r\nx-empty: \r\n"
                    + "content-length: 7\r\n\r\n{\"a\":1}"
            ])

        // One head serves several requests, each with its own length; a large body is not copied.
        let head = UpstreamRequest.Head(url: url, headers: ["x-api-key": "k"])
        let large = ByteBuffer(repeating: UInt8(ascii: "x"), count: HTTP1Writer.copiedBodyLimit + 1)
        let big = UpstreamRequest(head: head, body: [large, ByteBuffer(), ByteBuffer(string: "ok")])
        #expect(big.wire.map(\.readableBytes) == [big.wire[0].readableBytes, large.readableBytes, 2])
        #expect(
            String(buffer: big.wire[0])
                == "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-api-key: k\r\ncontent-length: \(large.readableBytes + 2)\r\n\r\n"
        )
        // A request's own headers follow the shared head's.
        let own = UpstreamRequest(head: head, headers: ["idempotency-key": "a1"], body: [ByteBuffer(string: "{}")])
        #expect(String(buffer: own.wire[0]).hasSuffix("x-api-key: k\r\nidempotency-key: a1\r\ncontent-length: 2\r\n\r\n{}"))
        let empty = UpstreamRequest(head: head)
        #expect(String(buffer: empty.wire[0]).hasSuffix("x-api-key: k\r\ncontent-length: 0\r\n\r\n"))
        let get = UpstreamRequest(method: .GET, url: url)
        #expect(String(buffer: get.wire[0]) == "GET /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n")
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

    @Test("The request writer sends the bytes as they come, not the head; a head's promise completes with the first write")
    func writerSendsBytes() throws {
        let channel = EmbeddedChannel(handler: UpstreamRequestWriter())
        // No `writeOutbound`: it waits for each part's promise, and a head's completes with what follows.
        func send(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>? = nil) {
            channel.writeAndFlush(part, promise: promise)
        }
        let request = UpstreamRequest(
            url: try UpstreamURL("http://127.0.0.1/v1/messages"), headers: [:], body: [ByteBuffer(string: "{\"a\":1}")])
        let headWritten = channel.eventLoop.makePromise(of: Void.self)
        // Loop-bound: the embedded loop runs the callback on this thread, at once.
        let headDone = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
        headWritten.futureResult.whenSuccess { headDone.value = true }
        send(.head(request.head.head), promise: headWritten)
        #expect(try channel.readOutbound(as: IOData.self) == nil, "the head was written")
        #expect(!headDone.value, "the head's promise completed before anything was written")
        for piece in request.wire { send(.body(.byteBuffer(piece))) }
        #expect(headDone.value)
        send(.end(nil))
        var written: [String] = []
        while case .byteBuffer(let piece)? = try channel.readOutbound(as: IOData.self) { written.append(String(buffer: piece)) }
        #expect(written == ["POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}"])
        #expect(try channel.finish().isClean)
    }
}
