import NIOCore
import NIOHTTP1
import NIOPosix

/// One request's answer as it arrives: the connection's event loop delivers the head, the body pieces,
/// the end or a failure; the reader of the answer takes them, waiting when nothing is there.
/// Each event returns what the caller must do (resume a waiter, close the connection, read on).
struct UpstreamExchangeStateMachine {
    /// Who waits for the head: a task, or a callback that runs on the loop it names, after the read
    /// that brought the head (so what else that read brought is there too).
    enum HeadWaiter: Sendable {
        case task(UnsafeContinuation<HTTPResponseHead, any Error>)
        case callback(any EventLoop, @Sendable (Result<HTTPResponseHead, any Error>) -> Void)

        func resume(returning head: HTTPResponseHead) { resume(with: .success(head)) }

        func resume(throwing error: any Error) { resume(with: .failure(error)) }

        private func resume(with result: Result<HTTPResponseHead, any Error>) {
            switch self {
            case .task(let continuation):
                continuation.resume(with: result)
            case .callback(let loop, let callback):
                if let here = MultiThreadedEventLoopGroup.currentEventLoop, here !== loop {
                    // The connection's loop finishes the read in progress first (the rest of a small
                    // answer is in it), then the callback runs on its own loop.
                    here.execute { loop.execute { callback(result) } }
                } else {
                    loop.execute { callback(result) }
                }
            }
        }
    }
    typealias BodyWaiter = UnsafeContinuation<ByteBuffer?, any Error>

    struct Body {
        var buffer = CircularBuffer<ByteBuffer>(initialCapacity: 4)
        var bufferedBytes = 0
        /// The end arrived: the connection is free again.
        var ended = false
        /// The answer broke off after its head.
        var error: (any Error)?
        var waiter: BodyWaiter?
        /// The connection holds back its reads until the reader catches up.
        var holdingRead = false

        var isComplete: Bool { ended || error != nil }
    }

    enum State {
        /// The request is out; no head yet.
        case awaitingHead(HeadWaiter?)
        /// The head is in and the reader has not taken it yet; body pieces may be buffered.
        case headReady(HTTPResponseHead, Body)
        /// The reader took the head and reads the body.
        case streaming(Body)
        /// Failed before the head; the reader has not seen it yet.
        case failed(any Error)
        /// The reader saw the end or a failure.
        case finished
        /// The reader or its client gave up.
        case cancelled
    }

    enum ResumeHead {
        case none
        case resume(HeadWaiter, HTTPResponseHead)
        case fail(HeadWaiter, any Error)
    }

    enum ResumeBody {
        case none
        case resume(BodyWaiter, ByteBuffer?)
        case fail(BodyWaiter, any Error)
    }

    enum WaitForHead {
        case stored
        case head(HTTPResponseHead)
        case fail(any Error)
    }

    enum Next {
        /// A piece; `readOn` asks the connection to read again (the reader drained what was held back).
        case piece(ByteBuffer, readOn: Bool)
        case end
        case fail(any Error)
        /// Nothing yet: wait (with `next(waiter:)`).
        case wait
    }

    struct Cancel {
        var head: HeadWaiter?
        var body: BodyWaiter?
        /// The answer was not complete: the connection cannot be used again.
        var close = false
    }

    var state = State.awaitingHead(nil)
    /// Above this many buffered bytes the connection stops reading.
    let highWatermark: Int

    init(highWatermark: Int = 256 * 1024) {
        self.highWatermark = highWatermark
    }

    // MARK: From the connection

    mutating func receivedHead(_ head: HTTPResponseHead) -> ResumeHead {
        guard case .awaitingHead(let waiter) = state else { return .none }
        if let waiter {
            state = .streaming(Body())
            return .resume(waiter, head)
        }
        state = .headReady(head, Body())
        return .none
    }

    mutating func receivedBody(_ piece: ByteBuffer) -> ResumeBody {
        switch state {
        case .headReady(let head, var body):
            state = .finished  // no copy-on-write of the buffer while it changes
            body.buffer.append(piece)
            body.bufferedBytes += piece.readableBytes
            state = .headReady(head, body)
            return .none
        case .streaming(var body):
            if let waiter = body.waiter {
                body.waiter = nil
                state = .streaming(body)
                return .resume(waiter, piece)
            }
            state = .finished
            body.buffer.append(piece)
            body.bufferedBytes += piece.readableBytes
            state = .streaming(body)
            return .none
        case .awaitingHead, .failed, .finished, .cancelled:
            return .none
        }
    }

    mutating func receivedEnd() -> ResumeBody {
        switch state {
        case .headReady(let head, var body):
            body.ended = true
            state = .headReady(head, body)
            return .none
        case .streaming(var body):
            if let waiter = body.waiter {
                state = .finished
                return .resume(waiter, nil)
            }
            body.ended = true
            state = .streaming(body)
            return .none
        case .awaitingHead, .failed, .finished, .cancelled:
            return .none
        }
    }

    /// The connection failed (closed, timed out, sent garbage). Returns the waiter to fail, head or body.
    mutating func failed(_ error: any Error) -> (head: ResumeHead, body: ResumeBody) {
        switch state {
        case .awaitingHead(let waiter):
            guard let waiter else {
                state = .failed(error)
                return (.none, .none)
            }
            state = .finished
            return (.fail(waiter, error), .none)
        case .headReady(let head, var body):
            guard !body.isComplete else { return (.none, .none) }
            body.error = error
            state = .headReady(head, body)
            return (.none, .none)
        case .streaming(var body):
            guard !body.isComplete else { return (.none, .none) }
            if let waiter = body.waiter {
                state = .finished
                return (.none, .fail(waiter, error))
            }
            body.error = error
            state = .streaming(body)
            return (.none, .none)
        case .failed, .finished, .cancelled:
            return (.none, .none)
        }
    }

    /// Whether the connection should hold back its next read (the reader is behind); remembers that
    /// it did, so the reader can ask for the read once it caught up.
    mutating func shouldHoldRead() -> Bool {
        switch state {
        case .headReady(let head, var body) where body.bufferedBytes >= highWatermark:
            body.holdingRead = true
            state = .headReady(head, body)
            return true
        case .streaming(var body) where body.bufferedBytes >= highWatermark:
            body.holdingRead = true
            state = .streaming(body)
            return true
        default:
            return false
        }
    }

    // MARK: From the reader

    mutating func waitForHead(_ waiter: HeadWaiter) -> WaitForHead {
        switch state {
        case .awaitingHead(nil):
            state = .awaitingHead(waiter)
            return .stored
        case .awaitingHead(.some):
            preconditionFailure("two tasks wait for the head of one upstream answer")
        case .headReady(let head, let body):
            state = .streaming(body)
            return .head(head)
        case .failed(let error):
            state = .finished
            return .fail(error)
        case .cancelled:
            return .fail(CancellationError())
        case .streaming, .finished:
            preconditionFailure("the head of an upstream answer was taken twice")
        }
    }

    /// The next piece of the body if there is one (or the end, or the failure) without waiting.
    /// Pieces that are all here already come as one (one write to the client, not one per piece).
    mutating func next() -> Next {
        if let (piece, readOn) = nextBuffered() { return .piece(piece, readOn: readOn) }
        switch state {
        case .streaming(let body):
            if body.ended {
                state = .finished
                return .end
            }
            if let error = body.error {
                state = .finished
                return .fail(error)
            }
            return .wait
        case .finished:
            return .end
        case .cancelled:
            return .fail(CancellationError())
        case .awaitingHead, .headReady, .failed:
            preconditionFailure("the body of an upstream answer was read before its head")
        }
    }

    /// Whether `next()` answers without waiting: a piece, the end or a failure is there.
    func nextIsAtHand() -> Bool {
        switch state {
        case .streaming(let body): !body.buffer.isEmpty || body.isComplete
        case .finished, .cancelled: true
        case .awaitingHead, .headReady, .failed: false
        }
    }

    /// Every piece buffered now, joined in order, without waiting; never the end or a failure (those
    /// stay for `next()`). Nil when nothing is buffered.
    mutating func nextBuffered() -> (piece: ByteBuffer, readOn: Bool)? {
        guard case .streaming(var body) = state, !body.buffer.isEmpty else { return nil }
        state = .finished  // no copy-on-write of the buffers while they change
        var piece = body.buffer.removeFirst()
        if !body.buffer.isEmpty {
            piece.reserveCapacity(minimumWritableBytes: body.bufferedBytes - piece.readableBytes)
            while var more = body.buffer.popFirst() { piece.writeBuffer(&more) }
        }
        body.bufferedBytes = 0
        let readOn = body.holdingRead
        body.holdingRead = false
        state = .streaming(body)
        return (piece, readOn)
    }

    /// Waits for the next piece; call after `next()` said `.wait`. Returns what to do when something
    /// arrived in between.
    mutating func next(waiter: BodyWaiter) -> Next {
        let now = next()
        guard case .wait = now, case .streaming(var body) = state else { return now }
        precondition(body.waiter == nil, "two tasks read one upstream answer")
        body.waiter = waiter
        state = .streaming(body)
        return .wait
    }

    /// The whole body when its end has already arrived (nothing to wait for); nil otherwise, and
    /// nothing changes.
    mutating func takeCompleteBody() -> ByteBuffer?? {
        guard case .streaming(var body) = state, body.ended else { return nil }
        state = .finished
        switch body.buffer.count {
        case 0: return .some(nil)
        case 1: return body.buffer.first
        default:
            var all = body.buffer.removeFirst()
            all.reserveCapacity(minimumWritableBytes: body.bufferedBytes - all.readableBytes)
            while var piece = body.buffer.popFirst() { all.writeBuffer(&piece) }
            return all
        }
    }

    mutating func cancel() -> Cancel {
        switch state {
        case .awaitingHead(let waiter):
            state = .cancelled
            return Cancel(head: waiter, close: true)
        case .headReady(_, let body), .streaming(let body):
            state = .cancelled
            return Cancel(body: body.waiter, close: !body.isComplete)
        case .failed:
            state = .cancelled
            return Cancel()
        case .finished, .cancelled:
            return Cancel()
        }
    }
}
