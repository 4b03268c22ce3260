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
        // The usual line is written whole; its neighbours the long way.
        for (version, status, line) in [
            (HTTPVersion.http1_1, HTTPResponseStatus.ok, "HTTP/1.1 200 OK"), (.http1_0, .ok, "HTTP/1.0 200 OK"),
            (.http1_1, .created, "HTTP/1.1 201 Created"), (.http1_1, .custom(code: 299, reasonPhrase: "Fine"), "HTTP/1.1 299 Fine"),
            (.http1_1, .custom(code: 200, reasonPhrase: "Fine"), "HTTP/1.1 200 Fine"),
        ] {
            var buffer = ByteBuffer()
            HTTP1Writer.write(to: &buffer) { head in
                head.statusLine(version, status)
                head.line("server: gatehouse\r\n")
                head.endOfHead()
            }
            #expect(String(buffer: buffer) == line + "\r\nserver: gatehouse\r\n\r\n")
        }
    }

    @Test(
        "The request writer sends a request's bytes as they come and tells the response decoder its head: a HEAD request's answer has no body"
    )
    func writerSendsBytes() throws {
        let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
        let writer = UpstreamRequestWriter(decoder: decoder)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(writer)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        func written() throws -> [String] {
            var pieces: [String] = []
            while case .byteBuffer(let piece)? = try channel.readOutbound(as: IOData.self) { pieces.append(String(buffer: piece)) }
            return pieces
        }
        let url = try UpstreamURL("http://127.0.0.1/v1/messages")
        #expect(writer.send(UpstreamRequest(url: url, headers: [:], body: [ByteBuffer(string: "{\"a\":1}")])))
        #expect(try written() == ["POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}"])
        // A body above the copy limit follows the head as it was given.
        let large = ByteBuffer(repeating: UInt8(ascii: "x"), count: HTTP1Writer.copiedBodyLimit + 1)
        #expect(writer.send(UpstreamRequest(url: url, headers: [:], body: [large])))
        let pieces = try written()
        #expect(pieces.count == 2)
        #expect(pieces.first?.hasSuffix("content-length: \(large.readableBytes)\r\n\r\n") == true)
        #expect(pieces.last?.utf8.count == large.readableBytes)
        #expect(writer.send(UpstreamRequest(method: .HEAD, url: url)))
        #expect(try written() == ["HEAD /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"])

        // The answers, framed by the methods the decoder was told: the HEAD's has no body, whatever
        // its length says (without its head the decoder would wait for five bytes).
        try channel.writeInbound(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" + "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"))
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.status.code)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }
        #expect(parts == ["head 200", "body ok", "end", "head 200", "end", "head 200", "end"])
        // Out of the pipeline (its connection closing), it sends nothing and says so.
        try channel.pipeline.syncOperations.removeHandler(writer).wait()
        #expect(!writer.send(UpstreamRequest(url: url, headers: [:], body: [ByteBuffer(string: "{}")])))
        #expect(try written() == [])
        #expect(try channel.finish().isClean)
    }
}
