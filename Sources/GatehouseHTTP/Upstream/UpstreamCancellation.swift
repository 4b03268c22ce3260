import Synchronization

/// Cancels an upstream request from outside the task that waits for it: the gateway cancels the
/// request of a client that hung up. Cancelling before the request starts makes it fail at once with
/// `CancellationError`; cancelling while it runs closes its connection and ends every wait with
/// `CancellationError`; cancelling after it finished does nothing.
public final class UpstreamCancellation: Sendable {
    private enum State {
        case idle
        case running(UpstreamExchange)
        case cancelled
    }

    private let state = Mutex(State.idle)

    public init() {}

    /// Whether `cancel()` was called.
    public var isCancelled: Bool {
        state.withLock { if case .cancelled = $0 { true } else { false } }
    }

    /// Cancels the request this token was given to.
    public func cancel() {
        let exchange = state.withLock { state -> UpstreamExchange? in
            defer { state = .cancelled }
            if case .running(let exchange) = state { return exchange }
            return nil
        }
        exchange?.cancel()
    }

    /// Attaches the running exchange; false when the token is already cancelled.
    func attach(_ exchange: UpstreamExchange) -> Bool {
        let attached = state.withLock { state in
            if case .cancelled = state { return false }
            state = .running(exchange)
            return true
        }
        if attached { exchange.owner.withLock { $0 = self } }
        return attached
    }

    /// The exchange is over (its answer ended or failed): the token lets go of it, and of its request
    /// body, so a keep-alive client that sends nothing more holds nothing.
    func finished(_ exchange: UpstreamExchange) {
        state.withLock { state in
            if case .running(let current) = state, current === exchange { state = .idle }
        }
    }
}
