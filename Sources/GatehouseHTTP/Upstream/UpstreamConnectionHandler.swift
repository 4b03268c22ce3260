import NIOCore
import NIOHTTP1
import NIOSSL

/// Drives one upstream connection on its event loop: writes each request, hands the answer to its
/// exchange, returns the connection to the pool after a complete keep-alive answer, and enforces
/// the first-byte, idle and pool-idle timeouts with one timer per connection. The timer ticks at
/// least every `tick` (the shortest of the three) and is only re-armed when it fires, so requests
/// cost no timer work; each tick checks the deadline of the current phase.
final class UpstreamConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    /// Nothing is written through it (`UpstreamRequestWriter` writes the requests): it takes part in
    /// the outbound direction for `read` alone (an answer's reader sets the pace).
    typealias OutboundIn = Never
    typealias OutboundOut = Never

    private enum Phase {
        case idle(since: NIODeadline)
        case awaitingHead(since: NIODeadline)
        case streaming(lastRead: NIODeadline)
        case closed
    }

    struct Timeouts {
        var firstByte: TimeAmount
        var idle: TimeAmount
        var poolIdle: TimeAmount
        /// The longest gap between two timer checks: no deadline is missed by moving to a phase
        /// whose deadline is earlier than the one the timer was set for.
        var tick: TimeAmount { min(firstByte, idle, poolIdle) }
    }

    private let client: UpstreamHTTPClient
    /// Sends the requests (past the response decoder, which it tells each request's head).
    private let writer: UpstreamRequestWriter
    private let timeouts: Timeouts
    private var phase = Phase.idle(since: .now())
    private var exchange: UpstreamExchange?
    private var keepAlive = true
    private var holdingRead = false
    private var failure: UpstreamError?
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    /// The head callback of the read in progress, called when the read ends (with the rest of a
    /// small answer in the exchange by then).
    private var headCallback: UpstreamExchange.HeadCallback?
    /// Set once the channel exists; cleared when it closes (it refers back to this handler).
    var connection: UpstreamConnection?

    init(client: UpstreamHTTPClient, writer: UpstreamRequestWriter, timeouts: Timeouts) {
        self.client = client
        self.writer = writer
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        // A new connection may go to the pool before it serves anything: the pool-idle clock runs.
        phase = .idle(since: .now())
        arm(.now() + timeouts.tick)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        runHeadCallback()
        self.context = nil
        timer?.cancel()
        timer = nil
        connection = nil
    }

    // MARK: Requests

    func start(_ exchange: UpstreamExchange) {
        guard let context, context.channel.isActive, case .idle = phase else {
            return exchange.failed(Self.closedBeforeSending(exchange))
        }
        self.exchange = exchange
        keepAlive = true
        failure = nil
        let now = NIODeadline.now()
        phase = .awaitingHead(since: now)
        arm(now + timeouts.tick)
        // The writer leaves the pipeline only as the connection closes.
        if !writer.send(exchange.request) { fail(Self.closedBeforeSending(exchange), context: context) }
    }

    /// The failure of a request whose pooled connection was closed before anything was sent: it
    /// goes again, on a new connection.
    private static func closedBeforeSending(_ exchange: UpstreamExchange) -> UpstreamError {
        var error = UpstreamError(.connectionClosed, "\(exchange.request.url.endpoint) closed the pooled connection")
        error.neverSent = true
        return error
    }

    func close(ifServing exchange: UpstreamExchange) {
        guard let context, self.exchange === exchange else { return }
        context.close(promise: nil)
    }

    func readOn() {
        guard holdingRead, let context else { return }
        holdingRead = false
        if case .streaming = phase { phase = .streaming(lastRead: .now()) }
        context.read()
    }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard let exchange, case .awaitingHead = phase else {
                fail(UpstreamError(.invalidResponse, "\(endpointName) answered without a request"), context: context)
                return
            }
            // 100 Continue and other informational answers precede the real one.
            if head.status.code < 200 && head.status != .switchingProtocols { return }
            keepAlive = head.isKeepAlive
            phase = .streaming(lastRead: .now())
            headCallback = exchange.receivedHead(head)
        case .body(let piece):
            phase = .streaming(lastRead: .now())
            exchange?.receivedBody(piece)
        case .end:
            guard let exchange else { return }
            self.exchange = nil
            let now = NIODeadline.now()
            phase = .idle(since: now)
            // Back in the pool before the reader hears of the end, so its next request can reuse it.
            if !keepAlive || !(connection.map(client.park) ?? false) {
                phase = .closed
                context.close(promise: nil)
            } else {
                arm(now + timeouts.tick)
            }
            exchange.receivedEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        runHeadCallback()
        context.fireChannelReadComplete()
    }

    /// Calls the head callback of the read that ended (or of a connection that closed or failed in
    /// that read: the answer's failure is in the exchange by then, or comes after).
    private func runHeadCallback() {
        guard let due = headCallback else { return }
        headCallback = nil
        due.run()
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, exchange.shouldHoldRead() {
            holdingRead = true
            return
        }
        context.read()
    }

    /// How soon after a request a close with no answer counts as the keep-alive race (the upstream
    /// closed the idle connection as the request was sent) rather than a failure of the request.
    static let reuseRace = TimeAmount.milliseconds(100)

    func channelInactive(context: ChannelHandlerContext) {
        let phaseBefore = phase
        phase = .closed
        timer?.cancel()
        timer = nil
        if let exchange {
            self.exchange = nil
            var error = failure ?? UpstreamError(.connectionClosed, "\(endpointName) closed the connection before the answer was complete")
            // Closed with no answer at once after the request went out: a keep-alive connection the
            // upstream was closing as it was reused, so the request was not acted on.
            if failure == nil, case .awaitingHead(let since) = phaseBefore, NIODeadline.now() - since < Self.reuseRace {
                error.neverSent = true
            }
            exchange.failed(error)
        }
        if let connection {
            client.closed(connection)
            self.connection = nil
        }
        // After the pool dropped the connection: the callback may start the client's next request.
        runHeadCallback()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let upstream: UpstreamError
        switch error {
        case let error as UpstreamError: upstream = error
        case is NIOSSLError, is BoringSSLError: upstream = UpstreamError(.tls, "TLS with \(endpointName) failed: \(error)")
        case HTTPParserError.invalidEOFState:
            upstream = UpstreamError(.connectionClosed, "\(endpointName) closed the connection in the middle of the answer")
        case is HTTPParserError: upstream = UpstreamError(.invalidResponse, "\(endpointName) sent an invalid HTTP answer: \(error)")
        default: upstream = UpstreamError(.connectionClosed, "the connection to \(endpointName) failed: \(error)")
        }
        fail(upstream, context: context)
    }

    private func fail(_ error: UpstreamError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    private var endpointName: String { connection?.endpoint.description ?? "the upstream" }

    // MARK: Timeouts

    /// Makes sure the timer fires no later than `deadline`.
    private func arm(_ deadline: NIODeadline) {
        if timer != nil && timerDeadline <= deadline { return }
        guard let context else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard let context else { return }
        let now = NIODeadline.now()
        let nextTick = now + timeouts.tick
        switch phase {
        case .idle(let since):
            let deadline = since + timeouts.poolIdle
            guard now >= deadline else { return arm(min(deadline, nextTick)) }
            // Still idle in the pool (not just leased): close it. A connection a request just took
            // is checked again at the next tick (it may come back to the pool unused).
            if let connection, client.removeIdle(connection) {
                phase = .closed
                context.close(promise: nil)
            } else {
                arm(nextTick)
            }
        case .awaitingHead(let since):
            let deadline = since + timeouts.firstByte
            guard now >= deadline else { return arm(min(deadline, nextTick)) }
            fail(
                UpstreamError(.readTimeout, "\(endpointName) sent no answer within \(Self.describe(timeouts.firstByte))"), context: context)
        case .streaming(let lastRead):
            let deadline = lastRead + timeouts.idle
            guard now >= deadline else { return arm(min(deadline, nextTick)) }
            if holdingRead {
                // The reader took nothing for the whole idle time: the connection is not held forever.
                fail(
                    UpstreamError(
                        .readerStalled, "the answer from \(endpointName) was not read for more than \(Self.describe(timeouts.idle))"),
                    context: context)
                return
            }
            fail(
                UpstreamError(
                    .readTimeout, "\(endpointName) paused for more than \(Self.describe(timeouts.idle)) in the middle of the answer"),
                context: context)
        case .closed:
            break
        }
    }

    private static func describe(_ amount: TimeAmount) -> String {
        let millis = amount.nanoseconds / 1_000_000
        return millis % 1000 == 0 ? "\(millis / 1000) s" : "\(millis) ms"
    }
}
