import GatehouseCore
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import GatehouseHTTP

/// The gateway's upstream client over real loopback against `gatehouse-mock-upstream`: pooling,
/// streaming, timeouts and cancellation.
@Suite("upstream client", .serialized)
struct UpstreamHTTPClientTests {
    static func chat(_ mock: MockProvider, key: String = "key-1", stream: Bool = false) throws -> UpstreamRequest {
        let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello."}],"stream":\#(stream)}"#
        return UpstreamRequest(
            method: .POST, url: try UpstreamURL(mock.baseURL + "/v1/chat/completions"),
            headers: ["content-type": "application/json", "authorization": "Bearer \(key)"], body: [ByteBuffer(string: body)])
    }

    static func read(_ body: UpstreamResponseBody) async throws -> String {
        var text = ""
        for try await piece in body { text += String(buffer: piece) }
        return text
    }

    /// Runs `body` with the base URL of a loopback HTTP/1.1 server whose connections each get the
    /// handler `makeHandler` returns, and closes the server afterwards.
    static func withServer(
        _ makeHandler: @escaping @Sendable () -> any ChannelInboundHandler & Sendable, _ body: (String) async throws -> Void
    ) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body("http://127.0.0.1:\(server.localAddress!.port!)")
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    static func withClient<T>(
        _ configure: (inout UpstreamHTTPClient.Configuration) -> Void = { _ in }, _ body: (UpstreamHTTPClient) async throws -> T
    ) async throws -> T {
        var configuration = UpstreamHTTPClient.Configuration()
        configure(&configuration)
        let client = UpstreamHTTPClient(configuration: configuration)
        do {
            let value = try await body(client)
            await client.shutdown()
            return value
        } catch {
            await client.shutdown()
            throw error
        }
    }

    @Test("Plain and streamed answers arrive whole; requests one after another share one pooled connection")
    func pooledReuse() async throws {
        try await MockProvider.with { mock in
            try await Self.withClient { client in
                for _ in 0..<5 {
                    let response = try await client.execute(try Self.chat(mock))
                    #expect(response.status == .ok)
                    #expect(response.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
                    let json = try JSONValue.parse(Array(try await Self.read(response.body).utf8))
                    #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.")
                }
                let streamed = try await client.execute(try Self.chat(mock, stream: true))
                #expect(streamed.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
                let text = try await Self.read(streamed.body)
                #expect(text.hasSuffix("data: [DONE]\n\n"), "\(text)")
                #expect(client.connectionsOpened == 1, "sequential requests must reuse the pooled connection")
                #expect(client.idleConnections == 1)
                let seen = try await mock.getJSON("/admin/last-request")
                #expect(seen["key"] == "key-1")
                #expect(seen["model"] == "gpt-4o")

                // Concurrent requests each get a connection; afterwards they are all reused.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            let response = try await client.execute(try Self.chat(mock))
                            _ = try await Self.read(response.body)
                        }
                    }
                    try await group.waitForAll()
                }
                let opened = client.connectionsOpened
                #expect(opened >= 1 && opened <= 4)
                for _ in 0..<4 { _ = try await Self.read(try await client.execute(try Self.chat(mock)).body) }
                #expect(client.connectionsOpened == opened)
                #expect(try await mock.counters()["chat.requests"] == 14)
            }
        }
    }

    @Test("A request that borrows another loop's connection gets its own loop one for the requests after it")
    func borrowingLoopGetsItsOwn() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (loopA, loopB) = (group.next(), group.next())
        #expect(loopA !== loopB)
        try await MockProvider.with { mock in
            let client = UpstreamHTTPClient(group: group)
            let request = try Self.chat(mock)
            _ = try await Self.read(try await client.execute(request, on: loopA).body)
            #expect(client.idleLoops(request.url.endpoint) == [ObjectIdentifier(loopA)])

            // B has none: it borrows A's, and one is opened on B beside the request.
            let answer = try await withCheckedThrowingContinuation { continuation in
                let started = client.startOnIdleConnection(request, on: loopB, cancellation: UpstreamCancellation()) { result in
                    #expect(loopB.inEventLoop)
                    continuation.resume(with: result)
                }
                #expect(started)
            }
            #expect(try await Self.read(answer.body).contains("Hello from the mock."))
            #expect(await eventually { client.connectionsOpened == 2 && client.idleLoops(request.url.endpoint).count == 2 })
            #expect(Set(client.idleLoops(request.url.endpoint)) == [ObjectIdentifier(loopA), ObjectIdentifier(loopB)])

            // Each loop now takes its own: no more connections are opened.
            for loop in [loopB, loopA, loopB] { _ = try await Self.read(try await client.execute(request, on: loop).body) }
            #expect(client.connectionsOpened == 2)
            #expect(try await mock.counters()["chat.requests"] == 5)
            await client.shutdown()
        }
        try await group.shutdownGracefully()
    }

    @Test("An answer dropped before its end closes its connection instead of returning it to the pool")
    func droppedBodyIsNotReused() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("slow", ["eventDelayMs": 200])
            try await Self.withClient { client in
                do {
                    let response = try await client.execute(try Self.chat(mock, key: "slow", stream: true))
                    var iterator = response.body.makeAsyncIterator()
                    _ = try await iterator.next()
                }
                // The body is gone: its connection must not serve the next request.
                let next = try await client.execute(try Self.chat(mock))
                #expect(try await Self.read(next.body).contains("Hello from the mock."))
                #expect(client.connectionsOpened == 2)
            }
        }
    }

    @Test("No head within the first-byte timeout: readTimeout, promptly")
    func firstByteTimeout() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("late", ["delayMs": 2000])
            try await Self.withClient({ $0.firstByteTimeout = .milliseconds(200) }) { client in
                let start = ContinuousClock.now
                let error = await #expect(throws: UpstreamError.self) { try await client.execute(try Self.chat(mock, key: "late")) }
                #expect(error?.code == .readTimeout, "\(String(describing: error))")
                #expect(error?.transportFailure == .readTimeout)
                #expect(ContinuousClock.now - start < .milliseconds(1500))
                // The client still works.
                let after = try await client.execute(try Self.chat(mock))
                #expect(after.status == .ok)
            }
        }
    }

    @Test("A pause between two pieces longer than the idle timeout breaks the body off with readTimeout")
    func idleTimeout() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("pausing", ["eventDelayMs": 700])
            try await Self.withClient({ $0.idleTimeout = .milliseconds(200) }) { client in
                let response = try await client.execute(try Self.chat(mock, key: "pausing", stream: true))
                #expect(response.status == .ok)
                let error = await #expect(throws: UpstreamError.self) { _ = try await Self.read(response.body) }
                #expect(error?.code == .readTimeout, "\(String(describing: error))")
            }
        }
    }

    @Test("A stream the upstream cuts ends in connectionClosed after the pieces that came")
    func streamCut() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("cut", ["cutAfterEvents": 2])
            try await Self.withClient { client in
                let response = try await client.execute(try Self.chat(mock, key: "cut", stream: true))
                var pieces = ""
                let error = await #expect(throws: UpstreamError.self) {
                    for try await piece in response.body { pieces += String(buffer: piece) }
                }
                #expect(error?.code == .connectionClosed)
                #expect(error?.transportFailure == .streamCut)
                #expect(pieces.contains("data: ") && !pieces.contains("[DONE]"), "\(pieces)")
            }
        }
    }

    @Test("Cancelling (a client that hung up, or the calling task) ends the wait at once and closes the connection")
    func cancellation() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("slow", ["delayMs": 3000])
            try await Self.withClient { client in
                _ = try await Self.read(try await client.execute(try Self.chat(mock)).body)
                #expect(client.connectionsOpened == 1)

                let cancellation = UpstreamCancellation()
                let start = ContinuousClock.now
                async let cancelled: Void = {
                    try? await Task.sleep(for: .milliseconds(150))
                    cancellation.cancel()
                }()
                await #expect(throws: CancellationError.self) {
                    try await client.execute(try Self.chat(mock, key: "slow"), cancellation: cancellation)
                }
                await cancelled
                #expect(ContinuousClock.now - start < .milliseconds(1500))
                // The cancelled exchange's connection is gone: the next request opens a new one.
                #expect(client.idleConnections == 0)
                _ = try await Self.read(try await client.execute(try Self.chat(mock)).body)
                #expect(client.connectionsOpened == 2)

                // A cancellation that came first: nothing is sent.
                let early = UpstreamCancellation()
                early.cancel()
                await #expect(throws: CancellationError.self) {
                    try await client.execute(try Self.chat(mock, key: "never"), cancellation: early)
                }
                #expect(try await mock.counters()["chat.requests.never"] == nil)

                // Task cancellation.
                let task = Task { try await client.execute(try Self.chat(mock, key: "slow")) }
                try await Task.sleep(for: .milliseconds(150))
                task.cancel()
                let taskStart = ContinuousClock.now
                await #expect(throws: CancellationError.self) { _ = try await task.value }
                #expect(ContinuousClock.now - taskStart < .milliseconds(1500))
            }
        }
    }

    @Test("Connection refused and a bad URL are reported as such")
    func connectFailures() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        try await Self.withClient { client in
            let request = UpstreamRequest(
                url: try UpstreamURL("http://127.0.0.1:\(port)/v1/chat/completions"), body: [ByteBuffer(string: "{}")])
            let error = await #expect(throws: UpstreamError.self) { try await client.execute(request) }
            #expect(error?.code == .connectFailed)
            #expect(error?.transportFailure == .connectionRefused)
        }
    }

    @Test("A URL with a line break, a space or another control character is refused: it would go into the request's head")
    func urlWithControlCharacters() {
        for bad in ["http://api.example\r\nx-injected: 1/v1", "http://api.example/v1 x", "http://api.exa\u{7F}mple/v1", "https://h/\t/v1"] {
            #expect(throws: UpstreamError.self, "\(bad.debugDescription)") { try UpstreamURL(bad) }
        }
        #expect((try? UpstreamURL("https://api.example.com:8443/v1?x=1"))?.target == "/v1?x=1")
    }

    @Test("Idle pooled connections are closed after the pool idle timeout")
    func poolIdleTimeout() async throws {
        try await MockProvider.with { mock in
            try await Self.withClient({ $0.poolIdleTimeout = .milliseconds(200) }) { client in
                _ = try await Self.read(try await client.execute(try Self.chat(mock)).body)
                #expect(client.idleConnections == 1)
                try await Task.sleep(for: .milliseconds(600))
                #expect(client.idleConnections == 0)
                _ = try await Self.read(try await client.execute(try Self.chat(mock)).body)
                #expect(client.connectionsOpened == 2)
            }
        }
    }

    @Test("A pooled connection the upstream closed while idle: the request goes once more on a new connection")
    func staleConnectionRetried() async throws {
        // A server that answers the first request of each connection with keep-alive, and closes the
        // connection without an answer when a second request comes on it.
        try await Self.withServer({ OneAnswerPerConnection() }) { base in
            let url = try UpstreamURL(base + "/answer")
            try await Self.withClient { client in
                for round in 0..<3 {
                    let response = try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
                    #expect(try await Self.read(response.body) == "answer", "round \(round)")
                }
                #expect(client.connectionsOpened == 3)
            }
        }
    }

    @Test("A reused connection that dies long after the request was sent: the request is not sent again")
    func lateCloseNotResent() async throws {
        // The second request on a connection is read, "worked on" for 300 ms, then the connection drops.
        let requests = RequestCounter()
        try await Self.withServer({ OneAnswerPerConnection(closeAfter: TimeAmount.milliseconds(300), requests: requests) }) { base in
            let url = try UpstreamURL(base + "/answer")
            try await Self.withClient { client in
                let first = try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
                #expect(try await Self.read(first.body) == "answer")
                do {
                    _ = try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
                    Issue.record("the second request got an answer")
                } catch let error as UpstreamError {
                    #expect(error.code == .connectionClosed, "\(error)")
                }
                #expect(requests.count.load(ordering: .relaxed) == 2, "the upstream saw the second request once, not twice")
                #expect(client.connectionsOpened == 1)
            }
        }
    }

    /// `startOnIdleConnection`, its callback turned into an awaited result.
    static func startOnIdle(
        _ client: UpstreamHTTPClient, _ request: UpstreamRequest, on loop: any EventLoop,
        cancellation: UpstreamCancellation = UpstreamCancellation()
    ) async -> (started: Bool, result: Result<UpstreamResponse, any Error>?, onLoop: Bool) {
        await withCheckedContinuation { continuation in
            let started = client.startOnIdleConnection(request, on: loop, cancellation: cancellation) { result in
                continuation.resume(returning: (true, result, loop.inEventLoop))
            }
            if !started { continuation.resume(returning: (false, nil, false)) }
        }
    }

    @Test(
        "A request started on an idle pooled connection: nothing is sent without one; with one, the answer comes on the given loop, whole")
    func startOnIdleConnection() async throws {
        try await MockProvider.with { mock in
            try await Self.withClient { client in
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                let none = await Self.startOnIdle(client, try Self.chat(mock), on: loop)
                #expect(!none.started)
                #expect(client.connectionsOpened == 0, "nothing may be sent or opened without an idle connection")
                #expect(try await mock.counters()["chat.requests"] == nil)

                _ = try await Self.read(try await client.execute(try Self.chat(mock), on: loop).body)
                for round in 0..<3 {
                    let started = await Self.startOnIdle(client, try Self.chat(mock), on: loop)
                    #expect(started.started && started.onLoop, "round \(round)")
                    let response = try #require(try started.result?.get(), "round \(round)")
                    #expect(response.status == .ok)
                    let body = try #require(response.body.takeIfComplete(), "a small answer is whole when the callback runs")
                    #expect(String(buffer: body).contains("Hello from the mock."))
                }
                #expect(client.connectionsOpened == 1, "the requests went on the pooled connection")
                #expect(client.idleConnections == 1)
            }
        }
    }

    @Test("A request started on a pooled connection the upstream closed: the failure says it was never sent, and nothing is sent again")
    func startOnClosedIdleConnection() async throws {
        let requests = RequestCounter()
        try await Self.withServer({ OneAnswerPerConnection(requests: requests) }) { base in
            let url = try UpstreamURL(base + "/answer")
            try await Self.withClient { client in
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                _ = try await Self.read(
                    try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]), on: loop).body)
                let started = await Self.startOnIdle(client, UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]), on: loop)
                #expect(started.started && started.onLoop)
                guard case .failure(let error as UpstreamError) = started.result else {
                    Issue.record("expected an UpstreamError, got \(String(describing: started.result))")
                    return
                }
                #expect(error.neverSent && error.code == .connectionClosed, "\(error)")
                #expect(requests.count.load(ordering: .relaxed) == 2)
                #expect(client.connectionsOpened == 1, "the started request is not sent again by the client")
            }
        }
    }

    @Test(
        "A request with a cancelled token is not started; cancelling a started one ends its wait with CancellationError, on the given loop")
    func startCancelled() async throws {
        try await MockProvider.with { mock in
            try await Self.withClient { client in
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                _ = try await Self.read(try await client.execute(try Self.chat(mock), on: loop).body)
                let cancelled = UpstreamCancellation()
                cancelled.cancel()
                let none = await Self.startOnIdle(client, try Self.chat(mock), on: loop, cancellation: cancelled)
                #expect(!none.started)
                #expect(try await mock.counters()["chat.requests"] == 1)
                #expect(client.idleConnections == 1, "the connection goes back to the pool")

                // Started, then cancelled while the upstream takes its time.
                try await mock.setKeyBehaviour("key-1", ["delayMs": 3000])
                let cancellation = UpstreamCancellation()
                let start = ContinuousClock.now
                let request = try Self.chat(mock)
                async let outcome = Self.startOnIdle(client, request, on: loop, cancellation: cancellation)
                try await Task.sleep(for: .milliseconds(100))
                cancellation.cancel()
                let started = await outcome
                #expect(started.started && started.onLoop)
                guard case .failure(let error) = started.result else {
                    Issue.record("expected a failure, got \(String(describing: started.result))")
                    return
                }
                #expect(error is CancellationError, "\(error)")
                #expect(ContinuousClock.now - start < .seconds(2), "the wait ended when the token fired, not with the answer")
                #expect(await eventually { client.idleConnections == 0 }, "a cancelled answer's connection is closed, not pooled")
            }
        }
    }

    @Test("A reader that takes nothing for longer than the idle timeout gives the connection up: readerStalled")
    func stalledReader() async throws {
        try await Self.withServer({ LargeAnswer() }) { base in
            let url = try UpstreamURL(base + "/large")
            try await Self.withClient({ $0.idleTimeout = .milliseconds(200) }) { client in
                let response = try await client.execute(UpstreamRequest(url: url, body: [ByteBuffer(string: "{}")]))
                #expect(response.status == .ok)
                // The reader stalls; the answer piles up to the high watermark and reading stops.
                try await Task.sleep(for: .milliseconds(800))
                let error = await #expect(throws: UpstreamError.self) { _ = try await Self.read(response.body) }
                #expect(error?.code == .readerStalled, "\(String(describing: error))")
            }
        }
    }
}

/// Answers every request with 8 MiB.
private final class LargeAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "\(128 * piece.readableBytes)"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        for _ in 0..<128 { context.write(wrapOutboundOut(.body(.byteBuffer(piece))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Requests a test server has read.
private final class RequestCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// Answers one request per connection, then closes the connection when the next request arrives.
/// With `closeAfter`, it closes that long after the second request instead of at once.
private final class OneAnswerPerConnection: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let answered = Atomic<Bool>(false)
    private let closeAfter: TimeAmount?
    private let requests: RequestCounter?

    init(closeAfter: TimeAmount? = nil, requests: RequestCounter? = nil) {
        self.closeAfter = closeAfter
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        requests?.count.add(1, ordering: .relaxed)
        if answered.exchange(true, ordering: .relaxed) {
            if let closeAfter {
                let channel = context.channel
                context.eventLoop.scheduleTask(in: closeAfter) { channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "6", "content-type": "text/plain"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "answer")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
