import GatehouseCore
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The gateway's pooled upstream connections against an upstream that closes a kept-alive
/// connection as the next request arrives on it (as servers with a short keep-alive do): the request
/// never reached it, so it goes again on a new connection, and the client sees one answer. A real
/// `gatehouse gateway` in front of a loopback upstream.
@Suite("gateway: pooled upstream connections", .serialized)
struct PooledUpstreamTests {
    @Test(
        "Pooled connections the upstream closed as they were reused: the request goes again once, on a new connection; no failure is recorded"
    )
    func closedPooledConnectionRetried() async throws {
        let upstream = try await OneAnswerUpstream.start()
        do {
            try await withWorld(extraProviders: { _ in ["openai": ["baseUrl": .string(upstream.baseURL + "/v1"), "requiresAuth": true]] }) {
                world in
                try await world.addKey("openai", "k1", key: "key-1")
                try await GatewayProcess.with(home: world.home) { gateway in
                    // Two requests at once: each gets its own upstream connection (the upstream holds
                    // the first answer until the second request is in), and both stay pooled.
                    let first = try RawConnection(to: gateway)
                    let second = try RawConnection(to: gateway)
                    try first.send(RawRequest.chat(gateway))
                    try second.send(RawRequest.chat(gateway))
                    for answer in [try await first.readAnswer(), try await second.readAnswer()] {
                        #expect(answer.status == 200, "\(answer.summary)")
                    }
                    #expect(upstream.connections.load(ordering: .relaxed) == 2)
                    // Both pooled connections are closed by now for the upstream: the next request
                    // goes on one of them, is dropped, and goes again on a new connection, not on the
                    // other stale one.
                    for round in 0..<2 {
                        try first.send(RawRequest.chat(gateway))
                        let answer = try await first.readAnswer()
                        #expect(answer.status == 200, "round \(round): \(answer.summary)")
                        #expect(answer.json?["object"] == "chat.completion", "round \(round): \(answer.summary)")
                        #expect(
                            answer.header("x-gatehouse-attempts") == "1", "round \(round): a request sent again unsent is no new attempt")
                    }
                }
                // 2 first answers; then per request: one dropped on a pooled connection, one answered on a new one.
                #expect(upstream.requests.load(ordering: .relaxed) == 6)
                #expect(upstream.connections.load(ordering: .relaxed) == 4)
                #expect(world.stats("openai:k1")?["failureCounts"] == nil, "\(String(describing: world.stats("openai:k1")))")
            }
        } catch {
            await upstream.close()
            throw error
        }
        await upstream.close()
    }
}

/// An OpenAI-wire upstream on loopback that answers the first request of each connection (keeping
/// it alive; the first two wait for each other) and closes the connection without an answer when
/// another request comes on it.
private final class OneAnswerUpstream: Sendable {
    let requests = Atomic<Int>(0)
    let connections = Atomic<Int>(0)
    private let server = Mutex<(any Channel)?>(nil)

    var baseURL: String { "http://127.0.0.1:\(server.withLock { $0 }!.localAddress!.port!)" }

    static func start() async throws -> OneAnswerUpstream {
        let upstream = OneAnswerUpstream()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                upstream.connections.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(upstream: upstream))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        upstream.server.withLock { $0 = channel }
        return upstream
    }

    func close() async {
        try? await server.withLock { $0 }?.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let upstream: OneAnswerUpstream
        private var answered = false

        init(upstream: OneAnswerUpstream) { self.upstream = upstream }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            upstream.requests.add(1, ordering: .relaxed)
            guard !answered else { return context.close(promise: nil) }
            answered = true
            let body = ByteBuffer(
                string:
                    #"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}]}"#
            )
            let head = HTTPResponseHead(
                version: .http1_1, status: .ok, headers: ["content-type": "application/json", "content-length": String(body.readableBytes)])
            answerOnceTwoConnectionsAsked(head, body, context: context, deadline: .now() + .seconds(5))
        }

        /// The first answers wait until two connections have each brought a request, so that two
        /// connections are in the pool afterwards however the requests were timed (after 5 s the
        /// answer goes anyway, and the test's counts say what happened).
        private func answerOnceTwoConnectionsAsked(_ head: HTTPResponseHead, _ body: ByteBuffer, context: ChannelHandlerContext, deadline: NIODeadline) {
            guard upstream.requests.load(ordering: .relaxed) >= 2 || NIODeadline.now() > deadline else {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(5)) {
                    self.answerOnceTwoConnectionsAsked(head, body, context: context, deadline: deadline)
                }
                return
            }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
