import GatehouseHTTP
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

/// The upstream client over https: a loopback server with a certificate made for the test (openssl),
/// trusted by the client's configuration; the host name is verified.
@Suite("upstream client over TLS", .serialized)
struct UpstreamTLSTests {
    @Test("https: the answer arrives through TLS on a pooled connection; a certificate the client does not trust fails with tls")
    func https() async throws {
        try await withTemporaryDirectory { directory in
            let made = try await run(
                "/usr/bin/env",
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.path + "/key.pem", "-out",
                    directory.path + "/cert.pem", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                ])
            try #require(made.status == 0, "openssl is needed for this test: \(made.stderr)")
            let certificate = try #require(try NIOSSLCertificate.fromPEMFile(directory.path + "/cert.pem").first)
            let key = try NIOSSLPrivateKey(file: directory.path + "/key.pem", format: .pem)
            let serverContext = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(HelloResponder())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let url = try UpstreamURL("https://localhost:\(server.localAddress!.port!)/hello")

            var configuration = UpstreamHTTPClient.Configuration()
            configuration.tls.trustRoots = .certificates([certificate])
            let client = UpstreamHTTPClient(configuration: configuration)
            for _ in 0..<3 {
                let response = try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
                #expect(response.status == .ok)
                var text = ""
                for try await piece in response.body { text += String(buffer: piece) }
                #expect(text == "hello over TLS")
            }
            #expect(client.connectionsOpened == 1)
            await client.shutdown()

            // The default trust roots do not know the test's certificate.
            let untrusting = UpstreamHTTPClient()
            let error = await #expect(throws: UpstreamError.self) {
                try await untrusting.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
            }
            #expect(error?.code == .tls || error?.code == .connectionClosed, "\(String(describing: error))")
            await untrusting.shutdown()
            try await server.close()
        }
    }
}

/// Answers every request with `hello over TLS`, keeping the connection open.
private final class HelloResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = ByteBuffer(string: "hello over TLS")
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "\(body.readableBytes)"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    @Test("An https endpoint that accepts the connection but never answers the handshake fails within the connect timeout")
    func stalledHandshake() async throws {
        // A TCP server that accepts and then says nothing.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        var configuration = UpstreamHTTPClient.Configuration()
        configuration.connectTimeout = .milliseconds(300)
        let client = UpstreamHTTPClient(configuration: configuration)
        let start = ContinuousClock.now
        do {
            _ = try await client.execute(
                UpstreamRequest(url: try UpstreamURL("https://127.0.0.1:\(server.localAddress!.port!)/v1/chat/completions"), body: []))
            Issue.record("a stalled handshake gave an answer")
        } catch let error as UpstreamError {
            #expect(error.code == .connectTimeout, "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(5), "it waited for the first-byte timeout instead")
        await client.shutdown()
        try await server.close()
    }
}
