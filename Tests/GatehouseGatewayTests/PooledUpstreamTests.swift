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
    @Test("A pooled connection the upstream closed as it was reused: the request goes again on a new connection; no failure is recorded")
    func closedPooledConnectionRetried() async throws {
        let upstream = try await OneAnswerUpstream.start()
        do {
            try await withWorld(extraProviders: { _ in ["openai": ["baseUrl": .string(upstream.baseURL + "/v1"), "requiresAuth": true]] }) { world in
                try await world.addKey("openai", "k1", key: "key-1")
                try await GatewayProcess.with(home: world.home) { gateway in
                    // One client connection: its requests are served on one event loop, where the
                    // upstream connection of the previous request is idle.
                    let connection = try RawConnection(to: gateway)
                    for round in 0..<3 {
                        try connection.send(RawRequest.chat(gateway))
                        let answer = try await connection.readAnswer()
                        #expect(answer.status == 200, "round \(round): \(answer.summary)")
                        #expect(answer.json?["object"] == "chat.completion", "round \(round): \(answer.summary)")
                        #expect(answer.header("x-gatehouse-attempts") == "1", "round \(round): a retry of an unsent request is no new attempt")
                    }
                }
                // Each request after the first was sent on the kept-alive connection, dropped, and sent again.
                #expect(upstream.requests.load(ordering: .relaxed) == 5)
                #expect(upstream.connections.load(ordering: .relaxed) == 3)
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
/// it alive) and closes the connection without an answer when another request comes on it.
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
                string: #"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}]}"#)
            let head = HTTPResponseHead(
                version: .http1_1, status: .ok, headers: ["content-type": "application/json", "content-length": String(body.readableBytes)])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
