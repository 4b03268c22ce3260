import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A lean pooled keep-alive HTTP/1.1 client for the provider requests of the gateway's hot path.
///
/// Connections are kept per endpoint and event loop; a request runs on a connection of the event loop
/// it names (the gateway passes its client's) when one is idle there, so the request, the answer and
/// the relay to the client stay on one thread (else on an idle one of another loop, or a new one).
/// Bodies stream in both directions. Timeouts: connect, first byte (request sent to response head),
/// idle (the longest pause between two pieces of the body) and pool idle (how long an unused
/// connection is kept). A request that finds its pooled connection closed by the upstream
/// before any answer is sent once more on a new connection (by `execute`; a caller of
/// `startOnIdleConnection` does that itself).
///
/// OAuth token calls do not use this client: they go through AsyncHTTPClient (`HTTPTokenEndpoint`).
public final class UpstreamHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Establishing a connection (TCP, and TLS for https).
        public var connectTimeout: Duration = .seconds(10)
        /// From sending the request to the response head.
        public var firstByteTimeout: Duration = .seconds(600)
        /// The longest pause between two pieces of a response body.
        public var idleTimeout: Duration = .seconds(300)
        /// How long an unused pooled connection is kept open.
        public var poolIdleTimeout: Duration = .seconds(60)
        /// Idle connections kept per endpoint; more are closed when they become idle.
        public var maximumIdleConnectionsPerEndpoint = 128
        /// TLS for https endpoints.
        public var tls: TLSConfiguration = .makeClientConfiguration()

        public init() {}
    }

    public let configuration: Configuration
    let group: any EventLoopGroup
    private let pool: Mutex<UpstreamPoolStateMachine<UpstreamConnection>>
    private let sslContext = Mutex<NIOSSLContext?>(nil)
    private let nextID = Atomic<Int>(0)
    private let opened = Atomic<Int>(0)
    private let timeouts: UpstreamConnectionHandler.Timeouts

    /// - Parameter group: the event loops connections run on (default: NIO's shared group, which the
    ///   gateway's server also uses).
    public init(configuration: Configuration = Configuration(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.pool = Mutex(UpstreamPoolStateMachine(maximumIdlePerEndpoint: configuration.maximumIdleConnectionsPerEndpoint))
        self.timeouts = .init(
            firstByte: TimeAmount(configuration.firstByteTimeout), idle: TimeAmount(configuration.idleTimeout),
            poolIdle: TimeAmount(configuration.poolIdleTimeout))
    }

    /// Connections opened so far (a measure of pooling).
    public var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    /// The event loops of the connections to `endpoint` idle in the pool now.
    func idleLoops(_ endpoint: UpstreamURL.Endpoint) -> [ObjectIdentifier] {
        pool.withLock { $0.idleLoops(endpoint) }
    }

    /// Connections idle in the pool now.
    public var idleConnections: Int { pool.withLock { $0.idleCount } }

    /// Sends a request and returns once the response head is in; the body streams after.
    ///
    /// - Parameters:
    ///   - eventLoop: where the connection should run (default: any of the group's).
    ///   - newConnection: sends on a new connection, not a pooled one (for a request whose pooled
    ///     connection turned out to be closed: the pool's others may be as old).
    ///   - cancellation: cancels the request from outside (a client that hung up). Without it,
    ///     cancelling the calling task cancels the request; with it, the token is the one way.
    /// - Throws: `UpstreamError`, or `CancellationError` when cancelled.
    public func execute(
        _ request: UpstreamRequest, on eventLoop: (any EventLoop)? = nil, newConnection: Bool = false,
        cancellation: UpstreamCancellation? = nil
    ) async throws -> UpstreamResponse {
        let loop = eventLoop ?? group.any()
        var fresh = newConnection
        while true {
            let (connection, reused) = try await lease(request.url.endpoint, on: loop, isCallersLoop: eventLoop != nil, fresh: fresh)
            let exchange = UpstreamExchange(connection: connection, request: request, followsTaskCancellation: cancellation == nil)
            if let cancellation, !cancellation.attach(exchange) {
                if !park(connection) { connection.close() }
                throw CancellationError()
            }
            connection.start(exchange)
            do {
                let head = try await exchange.head()
                return UpstreamResponse(status: head.status, headers: head.headers, body: UpstreamResponseBody(reader: .init(exchange)))
            } catch let error as UpstreamError where reused && !fresh && error.neverSent {
                // The upstream closed the pooled connection as it was reused: once more, on a new one.
                // A connection that dies later may have carried the request: it is not sent twice.
                fresh = true
            }
        }
    }

    /// Sends a request on an idle pooled connection (one of `eventLoop` when there is one), with no
    /// task to wait in: `onResponse` runs on `eventLoop` once the response head is in (after the
    /// read that brought it, so a small answer is there whole), or with the failure before it
    /// (`CancellationError` when `cancellation` fires). Returns false, having sent nothing, when no
    /// connection to the request's endpoint is idle, the client is shut down, or `cancellation` has
    /// fired already: then use `execute`.
    ///
    /// Unlike `execute`, a request whose pooled connection turns out to be closed is not sent again:
    /// `onResponse` gets an `UpstreamError` whose `neverSent` is true.
    public func startOnIdleConnection(
        _ request: UpstreamRequest, on eventLoop: any EventLoop, cancellation: UpstreamCancellation,
        onResponse: @escaping @Sendable (Result<UpstreamResponse, any Error>) -> Void
    ) -> Bool {
        let endpoint = request.url.endpoint
        guard case .use(let connection, let openHere) = pool.withLock({ $0.lease(endpoint, loop: ObjectIdentifier(eventLoop)) }) else {
            return false
        }
        let exchange = UpstreamExchange(connection: connection, request: request, followsTaskCancellation: false)
        guard cancellation.attach(exchange) else {
            if !park(connection) { connection.close() }
            if openHere { pool.withLock { $0.opened(endpoint, loop: ObjectIdentifier(eventLoop)) } }
            return false
        }
        if openHere { openForLater(endpoint, on: eventLoop) }
        // The pool may lend a connection of another loop when this one has none idle. The callback is
        // in place before the request goes: the head cannot come first.
        exchange.whenHead(on: eventLoop) { result in
            onResponse(
                result.map { UpstreamResponse(status: $0.status, headers: $0.headers, body: UpstreamResponseBody(reader: .init(exchange))) }
            )
        }
        connection.start(exchange)
        return true
    }

    /// Closes the idle connections and refuses new requests; requests in flight finish.
    public func shutdown() async {
        let idle = pool.withLock { $0.shutDown() }
        for connection in idle {
            try? await connection.channel.close()
        }
    }

    // MARK: The pool

    /// A pooled connection (one of `loop` when there is one), or a new one on `loop`.
    /// `isCallersLoop`: the caller named `loop` (else any loop's connection is as good).
    private func lease(_ endpoint: UpstreamURL.Endpoint, on loop: any EventLoop, isCallersLoop: Bool, fresh: Bool) async throws -> (
        UpstreamConnection, reused: Bool
    ) {
        if !fresh {
            switch pool.withLock({ $0.lease(endpoint, loop: isCallersLoop ? ObjectIdentifier(loop) : nil) }) {
            case .use(let connection, let openHere):
                if openHere { openForLater(endpoint, on: loop) }
                return (connection, true)
            case .shutDown: throw UpstreamError(.shutdown, "the upstream client is shut down")
            case .connect: break
            }
        } else if pool.withLock({ $0.isShutDown }) {
            throw UpstreamError(.shutdown, "the upstream client is shut down")
        }
        return (try await open(endpoint, on: loop).get(), false)
    }

    /// Returns a connection after a complete answer; false when it must be closed instead.
    func park(_ connection: UpstreamConnection) -> Bool {
        let action = pool.withLock {
            $0.park(connection, id: connection.id, endpoint: connection.endpoint, loop: ObjectIdentifier(connection.eventLoop))
        }
        return action == .parked
    }

    /// A connection closed.
    func closed(_ connection: UpstreamConnection) {
        _ = pool.withLock { $0.remove(id: connection.id, endpoint: connection.endpoint) }
    }

    /// Takes an idle connection out of the pool to close it; false when a request took it first.
    func removeIdle(_ connection: UpstreamConnection) -> Bool {
        pool.withLock { $0.remove(id: connection.id, endpoint: connection.endpoint) }
    }

    /// Opens a connection on `loop` for the requests that come after this one, and parks it (the
    /// pool lent this loop another loop's connection). A failure is dropped (the request that
    /// borrowed goes on as it is); the next borrow from this loop tries again, a second later at the
    /// soonest.
    private func openForLater(_ endpoint: UpstreamURL.Endpoint, on loop: any EventLoop) {
        let id = ObjectIdentifier(loop)
        open(endpoint, on: loop).whenComplete { result in
            switch result {
            case .success(let connection):
                let parked = self.park(connection)
                self.pool.withLock { $0.opened(endpoint, loop: id) }
                if !parked { connection.close() }
            case .failure:
                loop.scheduleTask(in: .seconds(1)) { self.pool.withLock { $0.opened(endpoint, loop: id) } }
            }
        }
    }

    /// Opens a connection to `endpoint` on `loop` (TCP, and the TLS handshake for https, within the
    /// connect timeout).
    private func open(_ endpoint: UpstreamURL.Endpoint, on loop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let tls: NIOSSLContext?
        do {
            tls = endpoint.isTLS ? try tlsContext() : nil
        } catch {
            return loop.makeFailedFuture(error)
        }
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
        // Several channels may be tried (one per address); the one that connected is the connection.
        let made = NIOLockedValueBox<[(connection: UpstreamConnection, handshake: EventLoopFuture<Void>?)]>([])
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [timeouts] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    var handshake: EventLoopFuture<Void>?
                    if let tls {
                        let serverName = Self.isIPAddress(endpoint.host) ? nil : endpoint.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise(), deadline: deadline)
                        handshake = waiter.promise.futureResult
                        try pipeline.addHandler(waiter)
                    }
                    // Requests go out as `UpstreamRequest` encoded them, written past the decoder
                    // (`UpstreamRequestWriter`); answers are parsed by NIO's decoder, which the
                    // writer tells each request head (it needs the method to frame the answer).
                    let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
                    let writer = UpstreamRequestWriter(decoder: decoder)
                    try pipeline.addHandler(writer)
                    try pipeline.addHandler(ByteToMessageHandler(decoder))
                    let handler = UpstreamConnectionHandler(client: self, writer: writer, timeouts: timeouts)
                    let connection = UpstreamConnection(id: id, endpoint: endpoint, channel: channel, handler: handler)
                    handler.connection = connection
                    try pipeline.addHandler(handler)
                    made.withLockedValue { $0.append((connection, handshake)) }
                }
            }
        let timeout = configuration.connectTimeout
        return bootstrap.connect(host: endpoint.host, port: endpoint.port).flatMapErrorThrowing { error in
            if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                throw UpstreamError(.connectTimeout, "no connection to \(endpoint) within \(timeout)")
            }
            throw UpstreamError(.connectFailed, "could not connect to \(endpoint): \(error)")
        }.flatMap { channel in
            guard let entry = made.withLockedValue({ $0.first { $0.connection.channel === channel } }) else {
                channel.close(promise: nil)
                return loop.makeFailedFuture(
                    UpstreamError(.connectFailed, "could not connect to \(endpoint): the connection was not set up"))
            }
            // The TLS handshake counts toward the connect timeout.
            let ready =
                entry.handshake?.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    if let error = error as? UpstreamError {
                        throw error.code == .connectTimeout
                            ? UpstreamError(.connectTimeout, "no TLS session with \(endpoint) within \(timeout)") : error
                    }
                    throw UpstreamError(.tls, "TLS with \(endpoint) failed: \(error)")
                } ?? loop.makeSucceededVoidFuture()
            return ready.map {
                self.opened.add(1, ordering: .relaxed)
                return entry.connection
            }
        }
    }

    private func tlsContext() throws -> NIOSSLContext {
        try sslContext.withLock { context in
            if let context { return context }
            do {
                let made = try NIOSSLContext(configuration: configuration.tls)
                context = made
                return made
            } catch {
                throw UpstreamError(.tls, "could not set up TLS: \(error)")
            }
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }
}

/// Completes its promise when the TLS handshake is done, fails it when the handshake fails, the
/// connection closes, or `deadline` passes first; then leaves the pipeline.
private final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let promise: EventLoopPromise<Void>
    private let deadline: NIODeadline
    private var timer: Scheduled<Void>?
    private var done = false

    init(promise: EventLoopPromise<Void>, deadline: NIODeadline) {
        self.promise = promise
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (waiter, context) = loopBound.value
            waiter.finish(.failure(UpstreamError(.connectTimeout, "TLS handshake timed out")), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { finish(.success(()), context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error), context: context)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel), context: context)
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, any Error>, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        timer?.cancel()
        timer = nil
        promise.completeWith(result)
        if case .success = result { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}
