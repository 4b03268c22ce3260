import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// `gatehouse-bench bare-proxy --upstream-port N`: the least an HTTP/1.1 keep-alive proxy on SwiftNIO
/// does, on this machine: each client connection gets one upstream connection on its own event loop;
/// a request goes up with a fixed credential and its answer comes back, with no routing, no
/// credential choice, no health and no log. `Benchmarks/proxy/run.sh` runs it beside the gateway, so
/// the gateway's figures can be read against the floor of the stack it is built on.
enum BareProxy {
    struct Options {
        var upstreamPort = 0

        init(arguments: [String]) throws {
            var parser = BenchArguments(arguments, usage: "usage: gatehouse-bench bare-proxy --upstream-port PORT")
            while let flag = parser.next() {
                switch flag {
                case "--upstream-port": upstreamPort = try parser.count(flag)
                default: throw parser.unknown(flag)
                }
            }
            guard upstreamPort != 0 else { throw BenchError("bare-proxy needs --upstream-port PORT\n\(parser.usage)") }
        }
    }

    /// Listens on a free loopback port, prints `listening on http://127.0.0.1:PORT`, and serves until
    /// killed.
    static func run(_ options: Options) async throws {
        let upstreamPort = options.upstreamPort
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ClientSide(upstreamPort: upstreamPort))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        // One write(2), not buffered: the script waits for this line.
        let line = Array("listening on http://127.0.0.1:\(server.localAddress?.port ?? 0)\n".utf8)
        line.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
        try await server.closeFuture.get()
    }

    /// The client's connection: reads a request whole, sends it up, and lets `UpstreamSide` write the
    /// answer back.
    final class ClientSide: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let upstreamPort: Int
        var target = "/"
        var body = ByteBuffer()
        var upstream: (any Channel)?

        init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                target = head.uri
                body.clear()
            case .body(var piece):
                body.writeBuffer(&piece)
            case .end:
                var headers = HTTPHeaders()
                headers.add(name: "host", value: "127.0.0.1")
                headers.add(name: "content-type", value: "application/json")
                headers.add(name: "authorization", value: "Bearer sk-bench-key")
                headers.add(name: "content-length", value: String(body.readableBytes))
                let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)
                let body = self.body
                let send = { (channel: any Channel) in
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                }
                if let upstream { return send(upstream) }
                let client = NIOLoopBound(context, eventLoop: context.eventLoop)
                ClientBootstrap(group: context.eventLoop)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            try channel.pipeline.syncOperations.addHandler(UpstreamSide(client: client))
                        }
                    }
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .assumeIsolated()
                    .whenComplete { result in
                        switch result {
                        case .success(let channel):
                            self.upstream = channel
                            send(channel)
                        case .failure:
                            context.close(promise: nil)
                        }
                    }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            upstream?.close(promise: nil)
            context.fireChannelInactive()
        }
    }

    /// The upstream connection: writes each part of the answer to the client's connection.
    final class UpstreamSide: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        let client: NIOLoopBound<ChannelHandlerContext>

        init(client: NIOLoopBound<ChannelHandlerContext>) { self.client = client }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let client = self.client.value
            switch unwrapInboundIn(data) {
            case .head(let head):
                var headers = HTTPHeaders()
                for name in ["content-type", "content-length"] {
                    if let value = head.headers.first(name: name) { headers.add(name: name, value: value) }
                }
                client.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: headers))), promise: nil)
            case .body(let piece):
                client.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(piece))), promise: nil)
            case .end:
                client.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            client.value.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}
