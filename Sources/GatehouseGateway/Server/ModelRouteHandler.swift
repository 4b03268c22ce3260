import GatehouseCore
import GatehouseHTTP
import NIOCore
import NIOHTTP1

/// Serves the model routes (`POST /v1/chat/completions`, `POST /v1/messages`) in the client
/// connection's pipeline, right after the HTTP/1.1 codec and ahead of Hummingbird's router (see
/// `GatewayHTTP1Channel`). The request is read here in NIO's HTTP types; the answer is written here,
/// a complete one as bytes encoded here, a stream through NIO's encoder; every other request passes
/// on to the router unchanged. This keeps the proxied request off
/// the router's per-request plumbing (conversions to and from HTTP types, an async body stream, a
/// response writer that hops for every write), which costs more than the rest of the request.
///
/// On one connection, answers go out in the order of the requests: a request that arrives while
/// another one's answer is still being written waits (HTTP pipelining), whichever path serves it.
/// A client that hangs up cancels its upstream request. On graceful shutdown the connection closes
/// once the answer in progress is written.
final class ModelRouteHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// No model request in progress (requests for the router may be).
        case idle
        /// A model request's head has come; its body is arriving.
        case reading(api: WireAPI, headers: HTTPHeaders, body: ByteBuffer)
        /// The rest of a refused request is dropped; the connection closes after the refusal.
        case discarding
        /// The answer is being produced or written.
        case serving(UpstreamCancellation)
    }

    private let engine: ProxyEngine
    /// What the last model request on this connection resolved to, for the next one.
    private let memo = ConnectionMemo()
    /// A request is being started (and may be answered within `serve`).
    private var startingRequest = false
    /// A part went on to the router since it last heard of the end of a read.
    private var forwardedRead = false
    private var phase = Phase.idle
    /// Requests passed on to the router whose answer has not ended yet.
    private var routerRequestsOpen = 0
    /// For each request passed on to the router whose answer has not begun, whether it is a HEAD
    /// request (whose answer has no body).
    private var routerRequestIsHead = CircularBuffer<Bool>(initialCapacity: 2)
    /// The router's answer in progress answers a HEAD request: its body is not sent.
    private var answeringHead = false
    /// Parts that came while an answer was in progress, in order, served once it ends.
    private var waiting = CircularBuffer<HTTPServerRequestPart>()
    private var waitingBytes = 0
    private var closeAfterAnswer = false
    private var quiesceAfterAnswer = false
    /// False once the client hung up or the gateway is stopping: nothing that waits is served.
    private var servesWaiting = true
    /// The HTTP version the answer in progress is written in (the request's).
    private var answerVersion = HTTPVersion.http1_1
    /// A request was refused before its body was read: its sender may still be sending it.
    private var refusedBeforeBody = false
    /// How long a refused request's sender may go on sending before the connection is closed.
    private static let refusalLinger = TimeAmount.seconds(5)

    /// The context of NIO's response encoder, which this handler follows: a complete answer,
    /// encoded here, is written from it. Kept after the pipeline is taken down (a write from it
    /// then fails, as one from this handler's own context does).
    private var encoderContext: ChannelHandlerContext!

    init(engine: ProxyEngine) {
        self.engine = engine
    }

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            encoderContext = try context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        } catch {
            preconditionFailure("ModelRouteHandler is added after NIO's HTTPResponseEncoder (GatewayHTTP1Channel)")
        }
    }

    private static let chatRoute = "/v1/chat/completions"
    private static let messagesRoute = "/v1/messages"

    /// The wire format of a model route, nil for every other request.
    static func modelRoute(_ request: HTTPRequestHead) -> WireAPI? {
        guard request.method == .POST else { return nil }
        // The two routes as clients send them: one comparison each.
        if request.uri == chatRoute { return .openAIChat }
        if request.uri == messagesRoute { return .anthropicMessages }
        var route = request.uri.utf8[...]
        if let query = route.firstIndex(of: UInt8(ascii: "?")) { route = route[..<query] }
        // As the router matches: a trailing slash does not count.
        while route.count > 1, route.last == UInt8(ascii: "/") { route = route.dropLast() }
        if route.elementsEqual(chatRoute.utf8) { return .openAIChat }
        if route.elementsEqual(messagesRoute.utf8) { return .anthropicMessages }
        return nil
    }

    // MARK: Inbound

    func channelReadComplete(context: ChannelHandlerContext) {
        // The router's side hears of a read only when it was given something to read.
        guard forwardedRead else { return }
        forwardedRead = false
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        // Behind parts that wait, a part waits too (`take` makes it wait while an answer is in progress).
        if waiting.isEmpty { take(part, context: context) } else { wait(part, context: context) }
    }

    private func wait(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        if case .body(let buffer) = part { waitingBytes += buffer.readableBytes }
        waiting.append(part)
        // A client that sends far more than one request's worth ahead is cut off.
        if waitingBytes > engine.maxBodyBytes || waiting.count > 1024 { context.close(promise: nil) }
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch phase {
        case .idle:
            guard case .head(let head) = part, let api = Self.modelRoute(head) else {
                if case .head(let head) = part {
                    routerRequestsOpen += 1
                    routerRequestIsHead.append(head.method == .HEAD)
                }
                forwardedRead = true
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            // Answers go out in order: wait for the router's answers still being written.
            guard routerRequestsOpen == 0 else { return wait(part, context: context) }
            // `Connection: close`, or HTTP/1.0 without keep-alive.
            closeAfterAnswer = !head.isKeepAlive
            answerVersion = head.version
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > engine.maxBodyBytes {
                return refuseTooLarge(api: api, context: context)
            }
            phase = .reading(api: api, headers: head.headers, body: ByteBuffer())
            // A client that waits for leave to send its body (curl does above 1 KiB) gets it now.
            if !Self.isBeforeHTTP11(head.version), head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .reading(let api, let headers, var body):
            switch part {
            case .head:
                // The decoder never sends a head inside a request.
                context.close(promise: nil)
            case .body(var piece):
                phase = .discarding  // no copy of `body` while it grows
                guard body.readableBytes + piece.readableBytes <= engine.maxBodyBytes else {
                    return refuseTooLarge(api: api, context: context)
                }
                if body.readableBytes == 0 { body = piece } else { body.writeBuffer(&piece) }
                phase = .reading(api: api, headers: headers, body: body)
            case .end:
                serve(ModelRequest(api: api, headers: headers, body: body, eventLoop: context.eventLoop), context: context)
            }
        case .discarding:
            break
        case .serving:
            wait(part, context: context)
        }
    }

    /// HTTP/1.0 (or older): no chunked bodies, no interim answers, keep-alive only when asked for.
    static func isBeforeHTTP11(_ version: HTTPVersion) -> Bool {
        version.major < 1 || (version.major == 1 && version.minor == 0)
    }

    /// Drops what waits: nothing more is served on this connection.
    private func stopServing() {
        servesWaiting = false
        waiting.removeAll()
        waitingBytes = 0
    }

    private func refuseTooLarge(api: WireAPI, context: ChannelHandlerContext) {
        phase = .discarding
        closeAfterAnswer = true
        refusedBeforeBody = true
        let error = WireError(
            status: .payloadTooLarge, kind: .tooLarge,
            message:
                "the request body is larger than the gateway's limit of \(Self.describe(bytes: engine.maxBodyBytes)) (gateway.maxBodyBytes in gatehouse.json)"
        )
        write(engine.refuse(error, api: api), context: context)
    }

    /// `32 MiB`, or `5000 bytes` for a limit that is no whole number of MiB.
    static func describe(bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    private func serve(_ request: ModelRequest, context: ChannelHandlerContext) {
        let cancellation = UpstreamCancellation()
        phase = .serving(cancellation)
        let writer = ClientAnswerWriter(
            handler: NIOLoopBound(self, eventLoop: context.eventLoop), context: NIOLoopBound(context, eventLoop: context.eventLoop),
            answerToken: cancellation)
        guard !startingRequest else {
            // An answer that ended at once started the next waiting request: that one waits for the
            // loop's next turn (no recursion through a long pipelined queue).
            let (engine, memo) = (self.engine, NIOLoopBound(memo, eventLoop: context.eventLoop))
            context.eventLoop.execute { engine.serve(request, memo: memo.value, cancellation: cancellation, client: writer) }
            return
        }
        // The request goes upstream from here, on this loop: no turn of the loop between its end and
        // its upstream request. Whatever waits for the upstream resumes on this loop too (a task's
        // jobs run on the loop that enqueued them: `EventLoopConcurrency`).
        startingRequest = true
        engine.serve(request, memo: memo, cancellation: cancellation, client: writer)
        startingRequest = false
    }

    /// Writes a complete answer; the answer has ended. Its head and body go out as one buffer,
    /// encoded here and written past NIO's response encoder (an answer it does not see leaves
    /// nothing behind in it: `GatewayHTTP1Channel`); a large body follows the head as it is. An
    /// answer whose status has no body (1xx, 204, 304) goes out without one, and without a length.
    fileprivate func write(_ answer: ProxyAnswer, context: ChannelHandlerContext) {
        guard case .complete(var body) = answer.body else { return }
        let hasBody = answer.status.mayHaveResponseBody
        if !hasBody { body.clear() }
        let copiesBody = body.readableBytes <= HTTP1Writer.copiedBodyLimit
        let date = AnswerDate.now()
        let connection = connectionHeader(hasLength: true)
        var buffer = context.channel.allocator.buffer(capacity: 0)
        HTTP1Writer.write(to: &buffer, reservingAfter: copiesBody ? body.readableBytes : 0) { [answerVersion] head in
            head.statusLine(answerVersion, answer.status)
            head.headers(answer.headers)
            if hasBody { head.header("content-length", body.readableBytes) }
            head.line(Self.serverLine)
            head.header("date", date)
            if let connection { head.header("connection", connection) }
            head.endOfHead()
        }
        if copiesBody {
            buffer.writeImmutableBuffer(body)
            return answerEnded(context: context, encoded: buffer)
        }
        encoderContext.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
        answerEnded(context: context, encoded: body)
    }

    /// The `Server` header of every answer, as the router's have it.
    private static let serverName = "gatehouse"
    /// The same as the line a complete answer's head has.
    private static let serverLine: StaticString = "server: gatehouse\r\n"

    /// A streamed answer's head, in the request's HTTP version, with `Server` and `Date`; it says
    /// `Connection: close` when the connection ends after it. An HTTP/1.0 client gets a body without
    /// a length delimited by the connection's end, as that version has no chunked encoding.
    fileprivate func streamHead(_ status: HTTPResponseStatus, _ headers: HTTPHeaders) -> HTTPResponseHead {
        // The answer's headers and the gateway's, made in one buffer.
        var all = HTTPHeaders()
        all.reserveCapacity(headers.count + 3)
        all.add(contentsOf: headers)
        all.add(name: "server", value: Self.serverName)
        all.add(name: "date", value: AnswerDate.now())
        if let connection = connectionHeader(hasLength: headers.contains(name: "content-length")) {
            all.add(name: "connection", value: connection)
        }
        return HTTPResponseHead(version: answerVersion, status: status, headers: all)
    }

    /// The `Connection` header of the answer in progress, if it needs one: `close` when the
    /// connection ends after it; `keep-alive` for an HTTP/1.0 client that asked for it, when the
    /// answer has a length (one without ends the connection).
    private func connectionHeader(hasLength: Bool) -> String? {
        if Self.isBeforeHTTP11(answerVersion) {
            if closeAfterAnswer { return nil }
            if hasLength { return "keep-alive" }
            closeAfterAnswer = true
            return nil
        }
        return closeAfterAnswer ? "close" : nil
    }

    /// The answer in progress is written whole (or given up): the connection goes on with what waits.
    /// `encoded`: the rest of a complete answer, encoded already (written past the encoder); else the
    /// answer's end goes through the encoder.
    fileprivate func answerEnded(context: ChannelHandlerContext, encoded: ByteBuffer? = nil) {
        let (writer, last) =
            if let encoded {
                (encoderContext!, NIOAny(IOData.byteBuffer(encoded)))
            } else {
                (context, wrapOutboundOut(.end(nil)))
            }
        guard closeAfterAnswer || quiesceAfterAnswer else {
            // The usual case: nothing waits for the write to complete.
            writer.writeAndFlush(last, promise: nil)
            phase = .idle
            serveWaiting(context: context)
            return
        }
        let ended = writer.writeAndFlush(last).assumeIsolated()
        if closeAfterAnswer {
            phase = .discarding
            stopServing()
            if refusedBeforeBody {
                // The sender of a refused body may still be sending it: closing now would reset the
                // connection and lose the 413. Close the sending side, read and drop the rest.
                ended.whenComplete { _ in
                    context.close(mode: .output, promise: nil)
                    context.eventLoop.assumeIsolated().scheduleTask(in: Self.refusalLinger) { context.close(promise: nil) }
                }
            } else {
                ended.whenComplete { _ in context.close(promise: nil) }
            }
            return
        }
        // Shutting down: requests that wait are not served (none of them went upstream). The
        // connection closes once the end of the answer is written.
        quiesceAfterAnswer = false
        phase = .discarding
        stopServing()
        ended.whenComplete { _ in context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// The answer `answer` (its cancellation) broke off after its head, or its producer
    /// returned without ending it (the client hung up): the connection closes, so the client sees it
    /// cut. Nothing happens when that answer has already ended.
    fileprivate func answerBrokeOff(_ answer: UpstreamCancellation, context: ChannelHandlerContext) {
        guard case .serving(let current) = phase, current === answer else { return }
        phase = .discarding
        // What was written goes first (a stream's head may wait for its first piece): the client sees
        // the answer's status, then its cut end, not a bare close.
        context.flush()
        context.close(promise: nil)
    }

    private func serveWaiting(context: ChannelHandlerContext) {
        guard servesWaiting else { return }
        var took = false
        defer {
            // What was passed on reaches the router now, not at the client's next read.
            if took, forwardedRead {
                forwardedRead = false
                context.fireChannelReadComplete()
            }
        }
        while let part = waiting.first {
            switch phase {
            case .serving, .discarding: return
            case .idle:
                if case .head(let head) = part, routerRequestsOpen > 0, Self.modelRoute(head) != nil { return }
            case .reading: break
            }
            waiting.removeFirst()
            if case .body(let buffer) = part { waitingBytes -= buffer.readableBytes }
            take(part, context: context)
            took = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Shutting down: the router's side closes once its answers are written; ours first ends.
            switch phase {
            case .reading, .serving:
                quiesceAfterAnswer = true
                return
            case .idle, .discarding:
                // Requests that wait behind the router's answers are not served.
                stopServing()
            }
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            if case .discarding = phase, refusedBeforeBody {
                // The refused sender is done: the connection can go.
                context.close(promise: nil)
            }
            hangUp()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangUp()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch phase {
        case .serving where error is HTTPParserError:
            // Bytes after the request being answered do not parse (as anything after a request with
            // `Connection: close` does): that answer still goes out, then the connection closes.
            closeAfterAnswer = true
            stopServing()
        case .reading, .serving:
            // A broken request or connection in the middle of a model request.
            hangUp()
            phase = .discarding
            context.close(promise: nil)
        case .idle, .discarding:
            context.fireErrorCaught(error)
        }
    }

    /// The client is gone: its upstream request is cancelled, and what waits is not served.
    private func hangUp() {
        stopServing()
        if case .serving(let cancellation) = phase { cancellation.cancel() }
    }

    // MARK: Outbound (the router's answers)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            // An informational answer (but 101) comes before the request's own.
            if head.status.code >= 200 || head.status == .switchingProtocols {
                answeringHead = routerRequestIsHead.popFirst() ?? false
            }
            context.write(data, promise: promise)
        case .body:
            // The answer to a HEAD request ends with its head (its headers say what a GET would get).
            guard answeringHead else { return context.write(data, promise: promise) }
            promise?.succeed()
        case .end:
            if answeringHead {
                // Nothing goes out (no chunked end): a write only keeps a promise in order.
                if let promise { encoderContext.write(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise) }
            } else {
                context.write(data, promise: promise)
            }
            answeringHead = false
            // An end that matches no counted request (none should come) cannot leave the count below
            // zero, where the model requests behind it would wait forever.
            if routerRequestsOpen > 0 {
                routerRequestsOpen -= 1
                if routerRequestsOpen == 0 { serveWaiting(context: context) }
            }
        }
    }
}

/// Writes a model route's answer to the client's connection: a complete one from the connection's
/// loop (`deliver`), or from a task (`send`). Every write runs on the connection's loop; a streamed
/// piece waits only while the connection is not writable (the client reads slower than the upstream
/// sends).
struct ClientAnswerWriter: Sendable {
    fileprivate let handler: NIOLoopBound<ModelRouteHandler>
    fileprivate let context: NIOLoopBound<ChannelHandlerContext>
    /// Which answer of the connection this writer writes: its cancellation, held (an identity that
    /// is not held could be a later answer's, whose connection a late `answerBrokeOff` would close).
    fileprivate let answerToken: UpstreamCancellation

    private var eventLoop: any EventLoop { handler.eventLoop }

    /// Sends the answer from the connection's loop: a complete one is written now, a stream from a
    /// task.
    func deliver(_ answer: ProxyAnswer) {
        guard case .complete = answer.body else {
            Task.immediate { await send(answer) }
            return
        }
        handler.value.write(answer, context: context.value)
    }

    /// Sends the whole answer.
    func send(_ answer: ProxyAnswer) async {
        switch answer.body {
        case .complete:
            _ = try? await onLoop { handler, context in handler.write(answer, context: context) }
        case .stream(let produce):
            // The head goes out with the first piece (or the producer's `flush()` before it waits).
            _ = try? await onLoop { handler, context in
                context.write(handler.wrapOutboundOut(.head(handler.streamHead(answer.status, answer.headers))), promise: nil)
            }
            // A throw, or a return without the end (the client hung up): the connection goes.
            _ = try? await produce(self)
            _ = try? await onLoop { [answerToken] handler, context in handler.answerBrokeOff(answerToken, context: context) }
        }
    }

    /// One piece of a streamed body, flushed at once unless `flush` is false (the caller has more at
    /// hand, and the piece goes out with it or with the end). A connection that is not writable is
    /// flushed, and the piece waits for its write.
    func write(_ piece: ByteBuffer, flush: Bool = true) async throws {
        let written = try await onLoop { handler, context -> EventLoopFuture<Void>? in
            guard context.channel.isActive else { throw ChannelError.ioOnClosedChannel }
            let part = handler.wrapOutboundOut(.body(.byteBuffer(piece)))
            if context.channel.isWritable {
                if flush { context.writeAndFlush(part, promise: nil) } else { context.write(part, promise: nil) }
                return nil
            }
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(part, promise: promise)
            return promise.futureResult
        }
        try await written?.get()
    }

    /// Sends what was written (the head of a stream before its producer waits for the first piece).
    func flush() async {
        _ = try? await onLoop { _, context in context.flush() }
    }

    /// Ends a streamed body.
    func finish() async {
        _ = try? await onLoop { handler, context in handler.answerEnded(context: context) }
    }

    /// Runs `body` on the connection's loop: at once on its thread (the usual case), else through it.
    private func onLoop<Result: Sendable>(
        _ body: @escaping @Sendable (ModelRouteHandler, ChannelHandlerContext) throws -> Result
    ) async throws -> Result {
        if eventLoop.inEventLoop { return try body(handler.value, context.value) }
        return try await eventLoop.submit { [handler, context] in try body(handler.value, context.value) }.get()
    }
}
