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
        try await withHandler { channel in
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000")],
                body: "{\"model\":\"x\",\"messages\":[]}")

            let answer = try await Self.readAnswer(channel)
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
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil, "a model request was passed on")
            #expect(channel.isActive)
        }
    }

    @Test("A missing token on /v1/messages gets a 401 in the Anthropic error shape")
    func missingTokenOnMessagesIsRefusedInAnthropicShape() async throws {
        try await withHandler { channel in
            try await Self.sendPost(channel, "/v1/messages", headers: [], body: "{\"model\":\"x\",\"max_tokens\":1,\"messages\":[]}")

            let answer = try await Self.readAnswer(channel)
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
        try await withHandler { channel in
            try await Self.sendPost(
                channel, "/v1/chat/completions", headers: [("authorization", "Bearer \(Self.token)")], body: "{\"model\": ")

            let answer = try await Self.readAnswer(channel)
            #expect(answer.head.status == .badRequest)
            #expect(answer.head.headers["content-length"] == [String(answer.body.count)])
            let json = try JSONValue.parse(answer.body)
            #expect(json["error"] != nil, "\(json)")
            #expect(channel.isActive)

            // The same connection serves another request.
            try await channel.writeInbound(Self.post("/v1/messages", headers: [("x-api-key", "wrong-key-0000000000000")]))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let second = try await Self.readAnswer(channel)
            #expect(second.head.status == .unauthorized)
        }
    }

    // MARK: Requests for the router

    @Test("GET /v1/models is passed on to the next handler unchanged, and nothing is written")
    func otherRoutesArePassedOn() async throws {
        try await withHandler { channel in
            var headers = HTTPHeaders([("authorization", "Bearer \(Self.token)"), ("host", "localhost")])
            headers.add(name: "accept", value: "application/json")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/models", headers: headers)
            try await Self.expectPassedOn(channel, head)
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        }
    }

    @Test("A GET on a model route, and a POST elsewhere, are passed on too")
    func onlyPostOnModelRoutesIsServed() async throws {
        try await withHandler { channel in
            let get = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/chat/completions", headers: ["host": "localhost"])
            try await Self.expectPassedOn(channel, get)
            // The router's answer ends, so the next request is not held back.
            try await Self.writeRouterAnswer(channel, status: .methodNotAllowed)
            #expect(try await Self.readOutboundHead(channel)?.status == .methodNotAllowed)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))

            let post = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completionsx", headers: ["host": "localhost"])
            try await Self.expectPassedOn(channel, post)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        }
    }

    // MARK: Pipelining

    @Test("Pipelining: a model request behind a router request is answered only after the router's answer ends, and after it")
    func modelAnswerWaitsForRouterAnswer() async throws {
        try await withHandler { channel in
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
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "the model answer overtook the router's")

            // The router's head alone does not release it.
            var routerHead = HTTPResponseHead(version: .http1_1, status: .ok)
            routerHead.headers.add(name: "content-length", value: "0")
            try await channel.writeOutbound(HTTPServerResponsePart.head(routerHead))
            await Self.settle(channel)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == .head(routerHead))
            #expect(
                try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "the model answer started before the router's ended"
            )

            // Its end does.
            try await channel.writeOutbound(HTTPServerResponsePart.end(nil))
            #expect(try await Self.nextOutbound(channel) == .end(nil), "the router's end is not the next part")
            let answer = try await Self.readAnswer(channel)
            #expect(answer.head.status == .unauthorized)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
            #expect(try await channel.readInbound(as: HTTPServerRequestPart.self) == nil, "the model request was passed on")
        }
    }

    // MARK: Connection management

    @Test("Connection: close on a model request: the answer says connection: close and the channel closes after it")
    func connectionCloseClosesAfterAnswer() async throws {
        try await withHandler { channel in
            try await channel.writeInbound(
                Self.post("/v1/chat/completions", headers: [("authorization", "Bearer wrong-token-0000000000"), ("connection", "close")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await Self.readAnswer(channel)
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
        try await withHandler { channel in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions", version: .http1_0,
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("connection", "keep-alive"), ("content-length", "2")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await Self.readAnswer(channel)
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
        try await withHandler { channel in
            try await channel.writeInbound(
                Self.post("/v1/messages", version: .http1_0, headers: [("x-api-key", "wrong-key-0000000000000"), ("content-length", "2")]))
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))

            let answer = try await Self.readAnswer(channel)
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
        try await withHandler(maxBodyBytes: 1024) { channel in
            try await channel.writeInbound(
                Self.post("/v1/chat/completions", headers: [("authorization", "Bearer \(Self.token)"), ("content-length", "5000")]))

            let answer = try await Self.readAnswer(channel)
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
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        }
    }

    @Test("A body that grows over maxBodyBytes without a Content-Length gets a 413")
    func oversizedChunkedBodyIsRefused() async throws {
        try await withHandler(maxBodyBytes: 1024) { channel in
            try await channel.writeInbound(
                Self.post("/v1/messages", headers: [("authorization", "Bearer \(Self.token)"), ("transfer-encoding", "chunked")]))
            try await channel.writeInbound(Self.body(String(repeating: "x", count: 1000)))
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "answered before the body went over the limit")
            try await channel.writeInbound(Self.body(String(repeating: "x", count: 100)))

            let answer = try await Self.readAnswer(channel)
            #expect(answer.head.status == .payloadTooLarge)
            #expect(answer.head.headers["connection"] == ["close"])
            let json = try JSONValue.parse(answer.body)
            #expect(json["type"] == .string("error"), "not the Anthropic shape: \(json)")
        }
    }

    @Test("Expect: 100-continue on HTTP/1.1: a bare 100 Continue head comes first, then the answer")
    func expectContinueGetsInterimHead() async throws {
        try await withHandler { channel in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions",
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("expect", "100-continue"), ("content-length", "2")]))

            let interim = try #require(try await Self.nextOutbound(channel))
            guard case .head(let continueHead) = interim else {
                Issue.record("the first part is not a head: \(interim)")
                return
            }
            #expect(continueHead.status == .continue)
            #expect(continueHead.version == .http1_1)
            #expect(!continueHead.headers.contains(name: "server"))
            #expect(!continueHead.headers.contains(name: "date"))
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "the final answer came before the body")

            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let answer = try await Self.readAnswer(channel)
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.headers["server"] == ["gatehouse"])
        }
    }

    @Test("Expect: 100-continue on HTTP/1.0 gets no interim head")
    func expectContinueIgnoredOnHTTP10() async throws {
        try await withHandler { channel in
            try await channel.writeInbound(
                Self.post(
                    "/v1/chat/completions", version: .http1_0,
                    headers: [("authorization", "Bearer wrong-token-0000000000"), ("expect", "100-continue"), ("content-length", "2")]))
            await Self.settle(channel)
            #expect(try await channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
            try await channel.writeInbound(Self.body("{}"))
            try await channel.writeInbound(HTTPServerRequestPart.end(nil))
            let answer = try await Self.readAnswer(channel)
            #expect(answer.head.status == .unauthorized)
            #expect(answer.head.version == .http1_0)
        }
    }

    // MARK: Helpers

    /// A handler over a fresh home (default configuration), in an `NIOAsyncTestingChannel`.
    private func withHandler(maxBodyBytes: Int = 1 << 20, _ body: (NIOAsyncTestingChannel) async throws -> Void) async throws {
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
                try channel.pipeline.syncOperations.addHandler(ModelRouteHandler(engine: engine))
            }
            // As a client's connection: active (closing it makes it inactive).
            try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 40000)).get()
            try #require(channel.isActive)
            do {
                try await body(channel)
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

    private static func readOutboundHead(_ channel: NIOAsyncTestingChannel) async throws -> HTTPResponseHead? {
        guard case .head(let head)? = try await channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        return head
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

    /// The next outbound part, waiting for it a little (up to 200 turns).
    private static func nextOutbound(_ channel: NIOAsyncTestingChannel) async throws -> HTTPServerResponsePart? {
        for _ in 0..<200 {
            if let part = try await channel.readOutbound(as: HTTPServerResponsePart.self) { return part }
            await channel.testingEventLoop.run()
            await Task.yield()
        }
        return nil
    }

    /// One whole answer: a head, its body, an end.
    private static func readAnswer(_ channel: NIOAsyncTestingChannel) async throws -> (head: HTTPResponseHead, body: [UInt8]) {
        let first = try #require(try await nextOutbound(channel), "no answer was written")
        guard case .head(let head) = first else {
            Issue.record("the answer does not start with a head: \(first)")
            throw AnswerError.malformed
        }
        var body: [UInt8] = []
        while true {
            let part = try #require(try await nextOutbound(channel), "the answer has no end")
            switch part {
            case .head(let extra):
                Issue.record("a second head inside an answer: \(extra)")
                throw AnswerError.malformed
            case .body(.byteBuffer(let buffer)):
                body += buffer.readableBytesView
            case .body(.fileRegion):
                Issue.record("a file region in an answer")
                throw AnswerError.malformed
            case .end:
                return (head, body)
            }
        }
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
