import NIOCore
import NIOHTTP1
import Synchronization

/// One request on one upstream connection and its answer, shared by the connection's handler (on
/// the connection's event loop) and the reader of the answer (a task, or a callback for the head and
/// then a task for a body that is not complete).
final class UpstreamExchange: Sendable {
    let connection: UpstreamConnection
    let request: UpstreamRequest
    private let state: Mutex<UpstreamExchangeStateMachine>
    /// The token that can cancel this exchange from outside, until the exchange is over.
    let owner = Mutex<UpstreamCancellation?>(nil)
    /// Whether cancelling the reading task cancels the exchange (it does when no token was given;
    /// a token is the one way to cancel otherwise, and saves a cancellation handler per wait).
    private let followsTaskCancellation: Bool

    init(connection: UpstreamConnection, request: UpstreamRequest, followsTaskCancellation: Bool) {
        self.connection = connection
        self.request = request
        self.followsTaskCancellation = followsTaskCancellation
        self.state = Mutex(UpstreamExchangeStateMachine())
    }

    /// Runs `body`, cancelling the exchange when the task is cancelled if it follows the task.
    private func cancellable<T>(_ body: () async throws -> T) async throws -> T {
        guard followsTaskCancellation else { return try await body() }
        return try await withTaskCancellationHandler(operation: body) { self.cancel() }
    }

    // MARK: The reading task

    /// Waits for the response head.
    func head() async throws -> HTTPResponseHead {
        try await cancellable {
            try await withUnsafeThrowingContinuation { continuation in waitForHead(.task(continuation)) }
        }
    }

    /// Calls `callback` with the response head, or the failure before it, on `loop`, after the
    /// connection's read that brought the head: a head at the end of that read when the connection
    /// is on `loop`, anything else through the loops' queues. Cancelling the exchange calls it with
    /// `CancellationError`.
    func whenHead(on loop: any EventLoop, _ callback: @escaping @Sendable (Result<HTTPResponseHead, any Error>) -> Void) {
        waitForHead(.callback(loop, callback))
    }

    private func waitForHead(_ waiter: UpstreamExchangeStateMachine.HeadWaiter) {
        switch state.withLock({ $0.waitForHead(waiter) }) {
        case .stored: break
        case .head(let head): waiter.resume(returning: head)
        case .fail(let error): waiter.resume(throwing: error)
        }
    }

    /// The next body piece, nil at the end.
    func next() async throws -> ByteBuffer? {
        // Most pieces are there already: no continuation, no cancellation handler.
        switch state.withLock({ $0.next() }) {
        case .piece(let piece, let readOn):
            if readOn { connection.readOn() }
            return piece
        case .end: return nil
        case .fail(let error): throw Self.bodyError(error)
        case .wait: break
        }
        let awaited = try await cancellable {
            try await withUnsafeThrowingContinuation { (waiter: UpstreamExchangeStateMachine.BodyWaiter) in
                switch state.withLock({ $0.next(waiter: waiter) }) {
                case .wait: break
                case .piece(let piece, let readOn):
                    if readOn { connection.readOn() }
                    waiter.resume(returning: piece)
                case .end: waiter.resume(returning: nil)
                case .fail(let error): waiter.resume(throwing: Self.bodyError(error))
                }
            }
        }
        // The reader runs after the read that woke it: what else that read brought goes with the piece.
        guard var piece = awaited, let (more, readOn) = state.withLock({ $0.nextBuffered() }) else { return awaited }
        if readOn { connection.readOn() }
        var rest = more
        piece.writeBuffer(&rest)
        return piece
    }

    func nextIsAtHand() -> Bool {
        state.withLock { $0.nextIsAtHand() }
    }

    func takeCompleteBody() -> ByteBuffer? {
        guard let complete = state.withLock({ $0.takeCompleteBody() }) else { return nil }
        return complete ?? ByteBuffer()
    }

    /// Gives up: every wait ends with `CancellationError`, an unfinished answer closes its connection.
    func cancel() {
        let action = state.withLock { $0.cancel() }
        action.head?.resume(throwing: CancellationError())
        action.body?.resume(throwing: CancellationError())
        if action.close { connection.close(ifServing: self) }
    }

    private static func bodyError(_ error: any Error) -> any Error {
        guard var upstream = error as? UpstreamError else { return error }
        upstream.receivedResponse = true
        return upstream
    }

    // MARK: The connection (on its event loop)

    /// The head arrived. A callback waiting for it on the connection's own loop is returned, for the
    /// connection to call after the read in progress (no trip through the loop's queue); any other
    /// waiter is resumed.
    func receivedHead(_ head: HTTPResponseHead) -> HeadCallback? {
        guard case .resume(let waiter, let head) = state.withLock({ $0.receivedHead(head) }) else { return nil }
        if case .callback(let loop, let callback) = waiter, loop === connection.eventLoop {
            return HeadCallback(callback: callback, head: head)
        }
        waiter.resume(returning: head)
        return nil
    }

    /// A head callback that is due after the connection's read in progress.
    struct HeadCallback {
        let callback: @Sendable (Result<HTTPResponseHead, any Error>) -> Void
        let head: HTTPResponseHead

        func run() { callback(.success(head)) }
    }

    func receivedBody(_ piece: ByteBuffer) {
        if case .resume(let waiter, let piece) = state.withLock({ $0.receivedBody(piece) }) { waiter.resume(returning: piece) }
    }

    func receivedEnd() {
        if case .resume(let waiter, let piece) = state.withLock({ $0.receivedEnd() }) { waiter.resume(returning: piece) }
        release()
    }

    func failed(_ error: any Error) {
        let (head, body) = state.withLock { $0.failed(error) }
        if case .fail(let waiter, let error) = head { waiter.resume(throwing: error) }
        if case .fail(let waiter, let error) = body { waiter.resume(throwing: Self.bodyError(error)) }
        release()
    }

    /// Breaks the link with the cancellation token once the exchange is over.
    private func release() {
        owner.withLock { $0.take() }?.finished(self)
    }

    func shouldHoldRead() -> Bool {
        state.withLock { $0.shouldHoldRead() }
    }
}
