import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import GatehouseTestSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatehouseGateway

/// `ModelRouteHandler` on its own, in a `NIOAsyncTestingChannel` (no network): which requests it
/// serves and which it passes on, the order of answers on a pipelined connection, `Connection: close`,
/// HTTP/1.0, a body refused by its `Content-Length`, and `Expect: 100-continue`. Every model request
/// here is answered without an upstream (a wrong or missing gateway token, or a malformed body).
///
/// The channel is a `NIOAsyncTestingChannel`: its loop runs on a queue of its own, which the handler's
/// tasks reach as they would a real connection's loop (an `EmbeddedEventLoop` may only be used from
/// the thread that made it, which an async test cannot promise).
@Suite("gateway: model route handler in a testing channel")
struct ModelRouteHandlerTests {
    static let token = "gh_test-token-0123456789abcdef"

    // MARK: Answers without an upstream

    @Test("A wrong token on /v1/chat/completions gets a 401 with content-length, server, date and an OpenAI error body")
    func wrongTokenOnChatIsRefusedInOpenAIShape() async throws {
        try await withHandler { channel, answers in
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000")],
                body: "{\"model\":\"x\",\"messages\":[]}")

            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_1)
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            #expect(answer.head.headers["server"] == ["gatehouse"])
            #expect(answer.head.headers["date"].count == 1)
            #expect(answer.head.headers["date"].first?.hasSuffix(" GMT") == true)
            #expect(answer.head.headers["content-type"] == ["application/json"])
            #expect(!answer.head.headers.contains(name: "connection"))
            let json = try JSONValue.parse(answer.body)
            let error = try #require(json["error"])
            guard case .object = error else {
                Issue.record("the error is not an object: \(json)")
                return
            }
            #expect(json["type"] == nil, "an OpenAI error has no top-level type: \(json)")
            #expect(try await answers.nothingWritten())
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil, "a model request was passed on")
            #expect(channel.isActive)
        }
    }

    @Test("A missing token on /v1/messages gets a 401 in the Anthropic error shape")
    func missingTokenOnMessagesIsRefusedInAnthropicShape() async throws {
        try await withHandler { channel, answers in
            try await Self.sendPost(channel, "/v1/messages", headers: [], body: "{\"model\":\"x\",\"max_tokens\":1,\"messages\":[]}")

            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            #expect(answer.head.headers["server"] == ["gatehouse"])
            #expect(answer.head.headers["date"].count == 1)
            let json = try JSONValue.parse(answer.body)
            #expect(json["type"] == .string("error"), "\(json)")
            let error = try #require(json["error"])
            guard case .object = error else {
                Issue.record("the error is not an object: \(json)")
                return
            }
            #expect(error["type"] != nil, "\(json)")
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil, "a model request was passed on")
        }
    }

    @Test("Malformed JSON with the right token gets a 400, and the connection stays open for the next request")
    func malformedBodyWithRightTokenIs400() async throws {
        try await withHandler { channel, answers in
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer \(Self.token)")], body: "{\"model\": ")

            let answer = try await answers.next()
            #expect(answer.head.status == .badRequest)
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            let json = try JSONValue.parse(answer.body)
            #expect(json["error"] != nil, "\(json)")
            #expect(channel.isActive)

            // The same connection serves another request.
            try await channel.writeInbound(Self.post("/v1/messages", headers: [("x-api-key", "wrong-key-0000000000000")]))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let second = try await answers.next()
            #expect(second.head.status == .unauthorized)
        }
    }

    // MARK: Requests for the router

    @Test("GET /v1/models is passed on to the next handler unchanged, and nothing is written")
    func otherRoutesArePassedOn() async throws {
        try await withHandler { channel, answers in
            var headers = HTTPHeaders([("authorization", "Bearer \(Self.token)"), ("host", "localhost")])
            headers.add(name: "accept", value: "application/json")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/models", headers: headers)
            try await Self.expectPassedOn(channel, head)
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil)
            #expect(try await answers.nothingWritten())
        }
    }

    @Test("A GET on a model route, and a POST elsewhere, are passed on too")
    func onlyPostOnModelRoutesIsServed() async throws {
        try await withHandler { channel, answers in
            let get = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/chat/completions", headers: ["host": "localhost"])
            try await Self.expectPassedOn(channel, get)
            // The router's answer ends, so the next request is not held back.
            try await Self.writeRouterAnswer(channel, status: .methodNotAllowed)
            #expect(try await answers.next().head.status == .methodNotAllowed)

            let post = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completionsx", headers: ["host": "localhost"])
            try await Self.expectPassedOn(channel, post)
            #expect(try await answers.nothingWritten())
        }
    }

    @Test("The router's answer to a HEAD request goes out without its body (chunked or not); a GET's keeps it")
    func routerAnswerToHeadHasNoBody() async throws {
        try await withHandler { channel, answers in
            let headRequest = HTTPRequestHead(version: .http1_1, method: .HEAD, uri: "/healthz", headers: ["host": "localhost"])
            let getRequest = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz", headers: ["host": "localhost"])
            // Two HEAD answers (one with a length, one chunked), then a GET's: pipelined, answered in order.
            for request in [headRequest, headRequest, getRequest] {
                try await channel.writeInbound(HTTPServerRequestPart.head(request))
                try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            }
            await Self.settle(channel)

            let withLength = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "3"])
            try await channel.writeOutbound(HTTPServerResponsePart.head(withLength))
            try await channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok\n"))))
            try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
            #expect(try await answers.writtenSoFar() == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n")

            try await channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
            try await channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok\n"))))
            try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
            #expect(try await answers.writtenSoFar() == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")

            try await channel.writeOutbound(HTTPServerResponsePart.head(withLength))
            try await channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok\n"))))
            try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
            #expect(try await answers.writtenSoFar() == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")

            // A model request after them is answered as usual.
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000")], body: "{}")
            #expect(try await answers.next().head.status == .unauthorized)
            #expect(try await answers.nothingWritten())
        }
    }

    // MARK: Pipelining

    @Test("Pipelining: a model request behind a router request is answered only after the router's answer ends, and after it")
    func modelAnswerWaitsForRouterAnswer() async throws {
        try await withHandler { channel, answers in
            let health = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz", headers: ["host": "localhost"])
            try await channel.writeInbound(HTTPServerRequestPart.head(health))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000")], body: "{}")
            await Self.settle(channel)

            // The router got its request, and only that one.
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == .head(health))
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil)
            // The model request waits for the router's answer.
            #expect(try await answers.nothingWritten(), "the model answer overtook the router's")

            // The router's head alone does not release it.
            var routerHead = HTTPResponseHead(version: .http1_1, status: .ok)
            routerHead.headers.add(name: "content-length", value: "0")
            try await channel.writeOutbound(HTTPServerResponsePart.head(routerHead))
            await Self.settle(channel)
            #expect(try await answers.writtenSoFar() == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            #expect(try await answers.nothingWritten(), "the model answer started before the router's ended")

            // Its end does: the router's answer, then the model's.
            try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(try await answers.nothingWritten())
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil, "the model request was passed on")
        }
    }

    // MARK: Connection management

    @Test("Connection: close on a model request: the answer says connection: close and the channel closes after it")
    func connectionCloseClosesAfterAnswer() async throws {
        try await withHandler { channel, answers in
            try await channel.writeInbound(
                Self.post("/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000"), ("connection", "close")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_1)
            #expect(answer.head.headers["connection"] == ["close"])
            for _ in 0..<20 where channel.isActive {
                await channel.testingEventLoop.run()
                await Task.yield()
            }
            #expect(!channel.isActive, "the channel is still open after an answer to Connection: close")
        }
    }

    @Test("HTTP/1.0 with Connection: keep-alive: the answer is HTTP/1.0, says connection: keep-alive, and the channel stays open")
    func http10KeepAlive() async throws {
        try await withHandler { channel, answers in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions", version: .http1_0,
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("connection", "keep-alive"), ("content-length", "2")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_0)
            #expect(answer.head.headers["connection"] == ["keep-alive"])
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            await Self.settle(channel)
            #expect(channel.isActive, "an HTTP/1.0 keep-alive connection was closed")
        }
    }

    @Test("HTTP/1.0 without keep-alive: the answer is HTTP/1.0 with no connection header, and the channel closes")
    func http10WithoutKeepAliveCloses() async throws {
        try await withHandler { channel, answers in
            try await channel.writeInbound(
                Self.post("/v1/messages", version: .http1_0, headers: [("x-api-key", "wrong-key-0000000000000"), ("content-length", "2")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_0)
            #expect(!answer.head.headers.contains(name: "connection"), "\(answer.head.headers)")
            for _ in 0..<20 where channel.isActive {
                await channel.testingEventLoop.run()
                await Task.yield()
            }
            #expect(!channel.isActive)
        }
    }

    // MARK: Bodies

    @Test("A Content-Length over maxBodyBytes gets a 413 before any body part is sent")
    func oversizedContentLengthIsRefusedEarly() async throws {
        try await withHandler(maxBodyBytes: 1024) { channel, answers in
            try await channel.writeInbound(
                Self.post("/v1/chat/completions", headers: [("authorization", "Bearer \(Self.token)"), ("content-length", "5000")]))

            let answer = try await answers.next()
            #expect(answer.head.status == .payloadTooLarge)
            #expect(answer.head.headers["connection"] == ["close"])
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            #expect(answer.head.headers["server"] == ["gatehouse"])
            let json = try JSONValue.parse(answer.body)
            let error = try #require(json["error"])
            guard case .string(let message)? = error["message"] else {
                Issue.record("no error message: \(json)")
                return
            }
            #expect(message.contains("1024 bytes"), "\(message)")
            // The rest of the refused body is dropped, not passed on.
            try await channel.writeInbound(Self.body(String(repeating: "x", count: 1000)))
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil)
            #expect(try await answers.nothingWritten())
        }
    }

    @Test("A body that grows over maxBodyBytes without a Content-Length gets a 413")
    func oversizedChunkedBodyIsRefused() async throws {
        try await withHandler(maxBodyBytes: 1024) { channel, answers in
            try await channel.writeInbound(
                Self.post("/v1/messages", headers: [("authorization", "Bearer \(Self.token)"), ("transfer-encoding", "chunked")]))
            try await channel.writeInbound(Self.body(String(repeating: "x", count: 1000)))
            #expect(try await answers.nothingWritten(), "answered before the body went over the limit")
            try await channel.writeInbound(Self.body(String(repeating: "x", count: 100)))

            let answer = try await answers.next()
            #expect(answer.head.status == .payloadTooLarge)
            #expect(answer.head.headers["connection"] == ["close"])
            let json = try JSONValue.parse(answer.body)
            #expect(json["type"] == .string("error"), "not the Anthropic shape: \(json)")
        }
    }

    @Test("Expect: 100-continue on HTTP/1.1: a bare 100 Continue head comes first, then the answer")
    func expectContinueGetsInterimHead() async throws {
        try await withHandler { channel, answers in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions",
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("expect", "100-continue"), ("content-length", "2")]))

            let continueHead = try await answers.next().head
            #expect(continueHead.status == .continue)
            #expect(continueHead.version == .http1_1)
            #expect(!continueHead.headers.contains(name: "server"))
            #expect(!continueHead.headers.contains(name: "date"))
            #expect(try await answers.nothingWritten(), "the final answer came before the body")

            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.headers["server"] == ["gatehouse"])
        }
    }

    @Test("Expect: 100-continue on HTTP/1.0 gets no interim head")
    func expectContinueIgnoredOnHTTP10() async throws {
        try await withHandler { channel, answers in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions", version: .http1_0,
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("expect", "100-continue"), ("content-length", "2")]))
            await Self.settle(channel)
            #expect(try await answers.nothingWritten())
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let answer = try await answers.next()
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_0)
        }
    }

    // MARK: Helpers

    /// A handler over a fresh home (default configuration), in an `NIOAsyncTestingChannel`, behind
    /// NIO's response encoder (as in the gateway's pipeline): what it writes leaves the channel as
    /// bytes, read by `answers` as a client would.
    private func withHandler(maxBodyBytes: Int = 1 << 20, _ body: (NIOAsyncTestingChannel, AnswerReader) async throws -> Void)
        async throws
    {
        try await withTemporaryDirectory { directory in
            let home = directory.home
            try home.create()
            let logger = Logger(label: "gatehouse.test.model-route-handler")
            let configuration = try ConfigurationFile.load(home, environment: [:])
            let state = try GatewayState(home: home, configuration: configuration, environment: [:], logger: logger)
            let tokens = OAuthTokenManager(
                home: home, providers: state.current.providers, endpoint: UnusedTokenEndpoint(), backgroundRefresh: false, logger: logger,
                onLoginRequired: { _, _ in })
            let upstream = UpstreamHTTPClient()
            let engine = ProxyEngine(
                state: state, upstream: upstream, tokens: tokens, access: AccessControl(token: Array(Self.token.utf8)), logger: logger,
                maxBodyBytes: maxBodyBytes)
            let channel = try await NIOAsyncTestingChannel { channel in
                try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder(configuration: .init()))
                try channel.pipeline.syncOperations.addHandler(ModelRouteHandler(engine: engine))
            }
            // As a client's connection: active (closing it makes it inactive).
            try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 40000)).get()
            try #require(channel.isActive)
            do {
                try await body(channel, AnswerReader(channel))
            } catch {
                _ = try? await channel.finish(acceptAlreadyClosed: true)
                await upstream.shutdown()
                throw error
            }
            _ = try? await channel.finish(acceptAlreadyClosed: true)
            await upstream.shutdown()
        }
    }

    private static func post(_ uri: String, version: HTTPVersion = .http1_1, headers: [(String, String)]) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: .POST, uri: uri, headers: HTTPHeaders([("host", "localhost")] + headers)))
    }

    private static func body(_ text: String) -> HTTPServerRequestPart {
        .body(ByteBuffer(string: text))
    }

    /// Writes a whole POST request (head, body, end) into the channel.
    private static func sendPost(_ channel: NIOAsyncTestingChannel, _ uri: String, headers: [(String, String)], body text: String)
        async throws
    {
        try await channel.writeInbound(post(uri, headers: headers))
        try await channel.writeInbound(body(text))
        try await channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    /// Writes a router answer (head, then end) through the channel, as the router would.
    private static func writeRouterAnswer(_ channel: NIOAsyncTestingChannel, status: HTTPResponseStatus) async throws {
        try await channel.writeOutbound(
            HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: ["content-length": "0"])))
        try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    /// Sends a request without a body and checks that it went on to the next handler as it came.
    private static func expectPassedOn(_ channel: NIOAsyncTestingChannel, _ head: HTTPRequestHead) async throws {
        try await channel.writeInbound(HTTPServerRequestPart.head(head))
        try await channel.writeInbound(HTTPServerRequestPart.end(nil))
        await settle(channel)
        #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == .head(head))
        #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
    }

    /// Lets the loop and the tasks the handler started run a little.
    private static func settle(_ channel: NIOAsyncTestingChannel) async {
        for _ in 0..<10 {
            await channel.testingEventLoop.run()
            await Task.yield()
        }
    }

}

/// Reads what the handler wrote as a client does: from the bytes that leave the channel, one
/// answer at a time.
private final class AnswerReader {
    private let channel: NIOAsyncTestingChannel
    /// Bytes written and not read as an answer yet.
    private var bytes: [UInt8] = []

    init(_ channel: NIOAsyncTestingChannel) {
        self.channel = channel
    }

    /// The next answer, waiting for it a little (up to 200 turns of the loop).
    func next(sourceLocation: SourceLocation = #_sourceLocation) async throws -> (head: HTTPResponseHead, body: [UInt8]) {
        for _ in 0..<200 {
            try await take()
            if let answer = try parse() { return answer }
            await channel.testingEventLoop.run()
            await Task.yield()
        }
        Issue.record(
            "no whole answer was written; the bytes so far: \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        throw AnswerError.malformed
    }

    /// Whether nothing more was written.
    func nothingWritten() async throws -> Bool {
        try await take()
        return bytes.isEmpty
    }

    /// The bytes written and not read yet, as text; they are read now.
    func writtenSoFar() async throws -> String {
        try await take()
        defer { bytes.removeAll() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func take() async throws {
        while let data = try await channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { throw AnswerError.malformed }
            bytes += buffer.readableBytesView
        }
    }

    /// The first answer of `bytes` when it is all there (and takes it out of them), parsed as the
    /// raw-socket tests parse answers (`RawConnection.parseAnswer`).
    private func parse() throws -> (head: HTTPResponseHead, body: [UInt8])? {
        guard let (answer, length) = try RawConnection.parseAnswer(bytes, atEnd: false) else { return nil }
        let version: HTTPVersion = bytes.starts(with: Array("HTTP/1.0 ".utf8)) ? .http1_0 : .http1_1
        bytes.removeFirst(length)
        let head = HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: answer.status), headers: HTTPHeaders(answer.headers))
        return (head, answer.body)
    }

    private enum AnswerError: Error {
        case malformed
    }
}

/// No OAuth refresh happens in these tests.
private struct UnusedTokenEndpoint: TokenEndpoint {
    struct Unused: Error {}
    func refresh(_ grant: RefreshGrant) async throws -> TokenEndpointResult {
        throw Unused()
    }
}
